// Unauthenticated sockets (accepted, CONNECT not yet decided), bounded per source address and in all,
// fairly. At a bound the newcomer is admitted and the oldest pending socket makes room: of its own
// address at the per-address bound, of the address holding the most at the global bound. A flood of
// half-open sockets from one address (which may be a carrier NAT with good devices behind it) then
// recycles its own slots instead of refusing every newcomer: a device finishing its handshake and
// CONNECT within the time the flood needs to open `perAddress` more sockets still gets in, and a
// flood cannot take room from other addresses beyond their fair share. Pure: O(1) per operation.

export type PendingBound = 'address' | 'global';

export interface PendingLimits {
  perAddress: number;
  total: number;
}

export class PendingSockets<T> {
  /** Per address, its pending sockets in arrival order (a Set iterates oldest first). */
  private readonly byAddress = new Map<string, Set<T>>();
  /** Addresses by how many sockets they hold, to find the one holding the most in O(1). */
  private readonly byCount = new Map<number, Set<string>>();
  private maxCount = 0;
  private n = 0;

  constructor(private readonly limits: PendingLimits) {}

  get size(): number {
    return this.n;
  }
  countOf(address: string): number {
    return this.byAddress.get(address)?.size ?? 0;
  }

  /** Admit `item`; returns the sockets that must be closed to make room for it, with the bound that chose them. */
  admit(address: string, item: T): { item: T; bound: PendingBound }[] {
    const evicted: { item: T; bound: PendingBound }[] = [];
    if (this.countOf(address) >= this.limits.perAddress) {
      const old = this.oldestOf(address);
      if (old !== undefined) {
        this.release(address, old);
        evicted.push({ item: old, bound: 'address' });
      }
    }
    if (this.n >= this.limits.total) {
      const victim = this.fullestAddress();
      const old = victim === undefined ? undefined : this.oldestOf(victim);
      if (victim !== undefined && old !== undefined) {
        this.release(victim, old);
        evicted.push({ item: old, bound: 'global' });
      }
    }
    let set = this.byAddress.get(address);
    if (!set) this.byAddress.set(address, (set = new Set()));
    this.move(address, set.size, set.size + 1);
    set.add(item);
    this.n += 1;
    return evicted;
  }

  /** The socket was decided or closed (or evicted): its slot is free. Idempotent. */
  release(address: string, item: T): void {
    const set = this.byAddress.get(address);
    if (!set || !set.delete(item)) return;
    this.n -= 1;
    this.move(address, set.size + 1, set.size);
    if (set.size === 0) this.byAddress.delete(address);
  }

  private oldestOf(address: string): T | undefined {
    const it = this.byAddress.get(address)?.values().next();
    return it && !it.done ? it.value : undefined;
  }

  private fullestAddress(): string | undefined {
    const it = this.byCount.get(this.maxCount)?.values().next();
    return it && !it.done ? it.value : undefined;
  }

  private move(address: string, from: number, to: number): void {
    if (from > 0) {
      const b = this.byCount.get(from)!;
      b.delete(address);
      if (b.size === 0) {
        this.byCount.delete(from);
        if (this.maxCount === from && to < from) this.maxCount = to;
      }
    }
    if (to > 0) {
      let b = this.byCount.get(to);
      if (!b) this.byCount.set(to, (b = new Set()));
      b.add(address);
      if (to > this.maxCount) this.maxCount = to;
    }
  }
}

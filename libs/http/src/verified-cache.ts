// What a service last learned from an owner (a token's principal, an account's ancestry), with the
// time it learned it: reused freely for `freshMs`, and for `graceMs` only while the owner cannot be
// asked. Time is passed in; bounded by `maxEntries`, the entry verified longest ago goes first.
export interface VerifiedCacheOptions {
  /** Reused without asking again for this long (0: always ask). */
  freshMs: number;
  /** Still honoured this long after it was verified, when asking failed for want of an answer. */
  graceMs: number;
  maxEntries: number;
}

export class VerifiedCache<V> {
  private readonly entries = new Map<string, { value: V; verifiedAtMs: number }>();

  constructor(private readonly o: VerifiedCacheOptions) {}

  get size(): number {
    return this.entries.size;
  }

  /** The value when verified less than `freshMs` ago. */
  fresh(key: string, nowMs: number): V | undefined {
    const e = this.entries.get(key);
    return e && nowMs - e.verifiedAtMs < this.o.freshMs ? e.value : undefined;
  }

  /** The value when verified less than `graceMs` ago: for when the owner did not answer. */
  withinGrace(key: string, nowMs: number): V | undefined {
    const e = this.entries.get(key);
    return e && nowMs - e.verifiedAtMs < this.o.graceMs ? e.value : undefined;
  }

  set(key: string, value: V, nowMs: number): void {
    this.entries.delete(key); // re-insert: Map order is verification order
    if (this.entries.size >= this.o.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, verifiedAtMs: nowMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}

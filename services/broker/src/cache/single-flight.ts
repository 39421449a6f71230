// One fetch at a time per key and cache generation: when a change drops a trust set, every device it
// kicked reconnects at once, and without this each of their connects would ask the owner for the
// same set (a thundering herd on cert-registry exactly when it is busiest). A caller that arrives
// after the generation moved (an event invalidated the cache meanwhile) starts a fetch of its own,
// because the one in flight may answer with what the event just changed.
export class SingleFlight<T> {
  private readonly inflight = new Map<string, { gen: number; p: Promise<T> }>();

  run(key: string, gen: number, fetch: () => Promise<T>): Promise<T> {
    const cur = this.inflight.get(key);
    if (cur && cur.gen === gen) return cur.p;
    const p = fetch().finally(() => {
      if (this.inflight.get(key)?.p === p) this.inflight.delete(key);
    });
    this.inflight.set(key, { gen, p });
    return p;
  }

  get size(): number {
    return this.inflight.size;
  }
}

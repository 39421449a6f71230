// A map with a bound: when full, the least recently used entry leaves, one at a time, so a cache at its
// bound keeps its working set (a plain map cleared when full empties at once, and every following
// lookup misses together: a cliff). O(1) per operation: a JavaScript Map keeps insertion order, and a
// hit moves its entry to the most recent end by deleting and inserting it again.
export class LruMap<K, V> {
  private readonly map = new Map<K, V>();
  /** Entries removed to make room (not those deleted, expired or cleared by their owner). */
  evictions = 0;

  /** `max` 0 keeps nothing (caching off). */
  constructor(
    private maxEntries: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new RangeError(`LruMap bound must be a non-negative integer, got ${maxEntries}`);
  }

  get max(): number {
    return this.maxEntries;
  }
  get size(): number {
    return this.map.size;
  }

  /** The value, now the most recently used. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  /** The value, leaving its recency alone. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Store as the most recently used; at the bound the least recently used entry leaves first. */
  set(key: K, value: V): this {
    if (this.map.has(key)) this.map.delete(key);
    else {
      if (this.maxEntries === 0) return this;
      if (this.map.size >= this.maxEntries) this.evictOldest();
    }
    this.map.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  /** The least recently used entry (the next to leave), or undefined when empty. */
  oldest(): [K, V] | undefined {
    const it = this.map.entries().next();
    return it.done ? undefined : it.value;
  }

  /** Change the bound; entries beyond it leave at once, least recently used first. */
  resize(max: number): void {
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`LruMap bound must be a non-negative integer, got ${max}`);
    this.maxEntries = max;
    while (this.map.size > max) this.evictOldest();
  }

  /** Least recently used first. Deleting the current entry while iterating is safe (Map semantics). */
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }
  values(): IterableIterator<V> {
    return this.map.values();
  }
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  private evictOldest(): void {
    const it = this.map.entries().next();
    if (it.done) return;
    const [k, v] = it.value;
    this.map.delete(k);
    this.evictions += 1;
    this.onEvict?.(k, v);
  }
}

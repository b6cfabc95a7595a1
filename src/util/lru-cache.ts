/**
 * A least-recently-used map bounded by the total size of its values: by count when no size is
 * given (each value weighs 1), or by bytes for a cache of files, where one entry may be 200 bytes
 * and the next 2 MB. A value larger than the whole bound is never kept (it would only evict
 * everything else).
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  private used = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly sizeOf: (value: V) => number = () => 1,
  ) {}

  /** The total size held now (bytes, or entries without sizeOf); never above the bound. */
  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      // Map keeps insertion order: re-inserting marks the entry as the freshest.
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  /** Keeps `value` unless it alone exceeds the bound; evicts the least recently used to make room. */
  set(key: K, value: V): boolean {
    this.delete(key);
    const size = this.sizeOf(value);
    if (size > this.maxBytes) return false;
    while (this.used + size > this.maxBytes) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
    this.map.set(key, value);
    this.used += size;
    return true;
  }

  delete(key: K): void {
    const value = this.map.get(key);
    if (value === undefined) return;
    this.map.delete(key);
    this.used -= this.sizeOf(value);
  }
}

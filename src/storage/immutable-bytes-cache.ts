import { InFlight } from '../util/in-flight.ts';
import { LruCache } from '../util/lru-cache.ts';
import { readAllBytes } from './objects.ts';

/**
 * Hot immutable files held in memory, so a warm request is a lookup instead of a store read: the
 * rendered metadata files (named by their sha256) and small packages (stored by their sha256).
 * Both are content-addressed and never change under their key, so entries need no invalidation;
 * the cache is bounded by bytes (REPOD_CACHE_BYTES) and forgets the least recently used. Files
 * above `maxEntryBytes` are never buffered here: they keep streaming (invariant 6).
 */
export interface CachedBytes {
  bytes: Uint8Array;
  /** The validators a response from these bytes carries (a package keeps its store's). */
  etag: string;
  lastModified: Date;
}

export interface CacheLimits {
  /** Total bytes held; 0 turns the cache off. */
  maxBytes: number;
  /** Largest single file held. */
  maxEntryBytes: number;
}

export class ImmutableBytesCache {
  private readonly lru: LruCache<string, CachedBytes>;
  private readonly inflight: InFlight<string, CachedBytes | null>;
  private readonly maxEntryBytes: number;

  constructor(limits: CacheLimits, shareReads = true) {
    this.inflight = new InFlight(shareReads);
    this.lru = new LruCache(limits.maxBytes, (e) => e.bytes.byteLength);
    this.maxEntryBytes = Math.min(limits.maxEntryBytes, limits.maxBytes);
  }

  /** Whether a file of this size is ever held (otherwise the caller streams it). */
  fits(size: number): boolean {
    return size <= this.maxEntryBytes;
  }

  get(key: string): CachedBytes | undefined {
    return this.lru.get(key);
  }

  /** Bytes held now (for tests and diagnostics). */
  get bytes(): number {
    return this.lru.bytes;
  }

  /**
   * The entry for `key`, reading it once with `read` when absent; concurrent misses share one read.
   * Null when `read` finds nothing or the file turns out larger than an entry may be.
   */
  async load(key: string, read: () => Promise<{ body: ReadableStream<Uint8Array>; etag: string; lastModified: Date } | null>): Promise<CachedBytes | null> {
    const hit = this.lru.get(key);
    if (hit) return hit;
    return this.inflight.run(key, () => this.fill(key, read));
  }

  private async fill(key: string, read: () => Promise<{ body: ReadableStream<Uint8Array>; etag: string; lastModified: Date } | null>): Promise<CachedBytes | null> {
    const source = await read();
    if (!source) return null;
    let bytes: Uint8Array;
    try {
      bytes = await readAllBytes(source.body, this.maxEntryBytes);
    } catch (error) {
      if (error instanceof RangeError) return null;
      throw error;
    }
    // A chunk of a stream may be a view of a larger pooled buffer: keep a copy of exactly these
    // bytes, so the byte bound counts what is really retained.
    if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) bytes = bytes.slice();
    const entry: CachedBytes = { bytes, etag: source.etag, lastModified: source.lastModified };
    this.lru.set(key, entry);
    return entry;
  }
}

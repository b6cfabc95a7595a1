/**
 * Descriptors of objects whose bytes never change under their key (content-addressed chunks), kept
 * open between reads by the file store. At 100,000 packages a chunk no longer fits the chunk cache,
 * so a primary.xml.gz download reads about 800 chunk ranges; opening, checking and closing each
 * file (and building a stream for its bytes) took a third of the server's main thread under load,
 * about three times the reads themselves: each call is a round trip through the thread pool.
 *
 * Bounded, and kind to scans: a download walks every chunk in order, which an LRU smaller than the
 * chunk count would evict just before the next download needs it. So a full table evicts nothing:
 * a new object is read and closed at once, as without the table. Room comes from age instead: a
 * descriptor unread for `idleMs` is closed at the next use of the table (chunks of revisions no
 * longer served), and a deleted object's at once (forget), so the space of chunks a GC removed is
 * not held. A descriptor is closed only when no read is using it: a closed number may be reused by
 * the next open, and a read in flight on it would read another file.
 */

export interface OpenDescriptorsOptions {
  /** Descriptors kept open at most. */
  max: number;
  /** A descriptor unread this long is closed. */
  idleMs: number;
  now: () => number;
  /** Opens the object for reading; null when it is missing. */
  open: (key: string) => Promise<number | null>;
  close: (fd: number) => void;
}

interface Entry {
  fd: number;
  readers: number;
  lastUsed: number;
  retired: boolean;
}

export class OpenDescriptors {
  /** Least recently used first (a Map keeps insertion order; a use moves its entry to the end). */
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: OpenDescriptorsOptions) {}

  get size(): number {
    return this.entries.size;
  }

  /** `read` with a descriptor of the object, or null when it is missing. */
  async use<T>(key: string, read: (fd: number) => Promise<T>): Promise<T | null> {
    this.closeIdle();
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    } else {
      const fd = await this.options.open(key);
      if (fd === null) return null;
      // Another read may have opened the same object meanwhile: keep one descriptor.
      entry = this.entries.get(key);
      if (entry) this.options.close(fd);
      else {
        entry = { fd, readers: 0, lastUsed: this.options.now(), retired: false };
        if (!this.admit(key, entry)) entry.retired = true;
      }
    }
    entry.readers++;
    entry.lastUsed = this.options.now();
    try {
      return await read(entry.fd);
    } finally {
      entry.readers--;
      if (entry.retired && entry.readers === 0) this.options.close(entry.fd);
    }
  }

  /** Closes the object's descriptor, if one is kept (the object was deleted). */
  forget(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.retire(entry);
  }

  /** Least recently used first: stops at the first entry used within idleMs. */
  private closeIdle(): void {
    const now = this.options.now();
    for (const [key, entry] of this.entries) {
      if (now - entry.lastUsed < this.options.idleMs) return;
      this.entries.delete(key);
      this.retire(entry);
    }
  }

  private admit(key: string, entry: Entry): boolean {
    if (this.entries.size >= this.options.max) return false;
    this.entries.set(key, entry);
    return true;
  }

  private retire(entry: Entry): void {
    if (entry.retired) return;
    entry.retired = true;
    if (entry.readers === 0) this.options.close(entry.fd);
  }
}

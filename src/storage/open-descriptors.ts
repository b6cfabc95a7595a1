/**
 * Descriptors of objects whose bytes never change under their key (content-addressed chunks), kept
 * open between reads by the file store. At 100,000 packages a chunk no longer fits the chunk cache,
 * so a primary.xml.gz download reads about 800 chunk ranges; opening, checking and closing each
 * file took three quarters of the server's main thread under load (each call is a round trip
 * through the thread pool), the read itself a fifth.
 *
 * Bounded, and kind to scans: a download walks every chunk in order, which an LRU smaller than the
 * chunk count would evict just before the next download needs it. So when the table is full a new
 * descriptor replaces the least recently used one only if that one has been idle for `idleMs`;
 * otherwise the new object is read and closed at once, as without the table. Descriptors of
 * chunks no revision serves any more age out the same way. A descriptor is closed only when no
 * read is using it: a closed number may be reused by the next open, and a read in flight on it
 * would read another file.
 */

export interface OpenDescriptorsOptions {
  /** Descriptors kept open at most. */
  max: number;
  /** How long a descriptor must have gone unread before a new one may replace it. */
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

  private admit(key: string, entry: Entry): boolean {
    if (this.entries.size >= this.options.max) {
      const oldest = this.entries.entries().next().value;
      if (!oldest || this.options.now() - oldest[1].lastUsed < this.options.idleMs) return false;
      this.entries.delete(oldest[0]);
      this.retire(oldest[1]);
    }
    this.entries.set(key, entry);
    return true;
  }

  private retire(entry: Entry): void {
    if (entry.retired) return;
    entry.retired = true;
    if (entry.readers === 0) this.options.close(entry.fd);
  }
}

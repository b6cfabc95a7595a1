/**
 * In-memory BlobStore for unit tests. Honours every semantic of the interface: atomic and
 * conditional writes, ranges, etags that change on every write, code-point list order. Bodies are
 * buffered (it is a test double, not for large objects).
 */
import { NotFoundError, PreconditionFailedError, RepodError, StorageError } from '../errors.ts';
import type { BlobInfo, BlobObject, BlobStore, ByteRange, ListEntry, MoveOptions, PutOptions, StoreCapabilities } from './blob-store.ts';
import { collect, compareKeys, normalizeEtag, resolveRange, sizeMismatch, validateKey, validatePrefix } from './common.ts';

interface Entry {
  bytes: Uint8Array;
  etag: string;
  lastModified: Date;
  contentType?: string;
}

export interface MemoryStoreOptions {
  /** Clock for lastModified (tests). */
  now?: () => Date;
}

let storeCounter = 0;

export class MemoryStore implements BlobStore {
  readonly driver = 'memory';
  readonly capabilities: StoreCapabilities = { conditionalWrites: true, presign: false };
  private readonly objects = new Map<string, Entry>();
  private readonly now: () => Date;
  private readonly id = `${(++storeCounter).toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
  private writes = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.now = options.now ?? (() => new Date());
  }

  async get(key: string, options: { range?: ByteRange } = {}): Promise<BlobObject | null> {
    validateKey(this.driver, key);
    const entry = this.objects.get(key);
    if (!entry) return null;
    let bytes = entry.bytes;
    let range: { start: number; end: number } | undefined;
    if (options.range) {
      range = resolveRange(this.driver, key, options.range, entry.bytes.byteLength);
      bytes = entry.bytes.subarray(range.start, range.end + 1);
    }
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        // A copy: a consumer that mutates its chunks must not corrupt the stored object.
        if (bytes.byteLength > 0) controller.enqueue(bytes.slice());
        controller.close();
      },
    });
    return { ...this.info(key, entry), body, ...(range ? { range } : {}) };
  }

  async head(key: string): Promise<BlobInfo | null> {
    validateKey(this.driver, key);
    const entry = this.objects.get(key);
    return entry ? this.info(key, entry) : null;
  }

  async put(key: string, body: Uint8Array | ReadableStream<Uint8Array>, options: PutOptions = {}): Promise<{ etag: string }> {
    validateKey(this.driver, key);
    let bytes: Uint8Array;
    if (body instanceof Uint8Array) {
      bytes = body.slice();
    } else {
      try {
        // Copied: the producer may reuse its chunks.
        bytes = (await collect(body)).bytes.slice();
      } catch (error) {
        if (error instanceof RepodError) throw error;
        throw new StorageError(this.driver, `reading the body of ${key} failed`, error);
      }
    }
    sizeMismatch(this.driver, key, bytes.byteLength, options.size);
    // Check and write with no await in between: atomic with respect to every other call.
    this.checkConditions(key, options);
    const etag = `m${this.id}-${(++this.writes).toString(36)}`;
    this.objects.set(key, { bytes, etag, lastModified: this.now(), contentType: options.contentType });
    return { etag };
  }

  async delete(key: string): Promise<void> {
    validateKey(this.driver, key);
    this.objects.delete(key);
  }

  async *list(prefix: string): AsyncIterable<ListEntry> {
    validatePrefix(this.driver, prefix);
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort(compareKeys);
    for (const key of keys) {
      const entry = this.objects.get(key);
      if (entry) yield { key, size: entry.bytes.byteLength, lastModified: entry.lastModified };
    }
  }

  async move(from: string, to: string, options: MoveOptions = {}): Promise<void> {
    validateKey(this.driver, from);
    validateKey(this.driver, to);
    const entry = this.objects.get(from);
    if (!entry) throw new NotFoundError(`[storage] [memory] move: ${from} does not exist`);
    if (options.ifNoneMatch === '*' && this.objects.has(to)) throw new PreconditionFailedError(to);
    if (from === to) return;
    this.objects.delete(from);
    this.objects.set(to, { ...entry, etag: `m${this.id}-${(++this.writes).toString(36)}` });
  }

  /** The content type given at the last put (tests). */
  contentTypeOf(key: string): string | undefined {
    return this.objects.get(key)?.contentType;
  }

  private checkConditions(key: string, options: PutOptions): void {
    const current = this.objects.get(key);
    if (options.ifNoneMatch === '*' && current) throw new PreconditionFailedError(key);
    if (options.ifMatch !== undefined && (!current || current.etag !== normalizeEtag(options.ifMatch))) {
      throw new PreconditionFailedError(key);
    }
  }

  private info(key: string, entry: Entry): BlobInfo {
    return { key, size: entry.bytes.byteLength, etag: entry.etag, lastModified: entry.lastModified };
  }
}

export function memoryStore(options?: MemoryStoreOptions): MemoryStore {
  return new MemoryStore(options);
}

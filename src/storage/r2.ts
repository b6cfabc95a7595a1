/**
 * Cloudflare R2 BlobStore over a Worker's bucket binding (`env.BUCKET`). Runs only inside workerd
 * (the binding and FixedLengthStream are its), tested there by test/storage/r2.test.ts.
 *
 * Conditional writes are R2's own `onlyIf`: create-only is `etagDoesNotMatch: '*'`,
 * compare-and-swap `etagMatches: <etag>`, evaluated by R2 when the object is committed; a write
 * that loses answers `null`, which becomes PreconditionFailedError. R2 refuses a quoted etag in a
 * condition, so etags are always bare. A single upload's etag is the MD5 of its bytes, so writes of
 * identical bytes share one (compare-and-swap is by value, as on S3).
 *
 * Bodies. R2 stores a stream only when its length is known up front, so:
 * - a byte array is one put;
 * - a stream of declared size is fed through a FixedLengthStream into one put. R2 commits as soon as
 *   it has the declared number of bytes, so the chunk that completes them is held back until the
 *   body has ended: a body that turns out longer, or fails, is never stored;
 * - any other stream (unknown size; or declared empty, or beyond one put, or no FixedLengthStream)
 *   is read up to one part (`partSize`, 8 MiB): if it ends there, it is one put of those bytes. A
 *   longer one is a multipart upload of equal parts (R2 wants every part but the last of one size),
 *   at most two parts in memory, whose completion makes the object visible at once.
 * Multipart completion takes no condition, so a conditional write of a long stream of unknown size
 * is staged: uploaded (multipart) to a temporary key, then copied by one conditional put streaming
 * the staged object (whose length R2 knows), and the temporary key deleted. That costs the bytes
 * twice but keeps create-only and compare-and-swap exact for any body; a condition already broken
 * before the upload is refused at once. Temporary keys (`.repod-upload//<uuid>` under the prefix)
 * are not valid BlobStore keys, so list never shows them; one left by a crash is garbage (an R2
 * lifecycle rule on that prefix removes it). A single put holds at most MAX_SINGLE_PUT, so a
 * conditional write beyond that is refused (StorageError) rather than done unprotected.
 *
 * `move` streams the object into the new key and deletes the old one. R2 has neither rename nor
 * server-side copy in the binding nor a conditional delete: a crash in between leaves both keys,
 * and a write to the source during the move is lost with it.
 */
import { NotFoundError, PreconditionFailedError, RepodError, StorageError } from '../errors.ts';
import type { BlobInfo, BlobObject, BlobStore, ByteRange, ListEntry, MoveOptions, PresignOptions, PutOptions, StoreCapabilities } from './blob-store.ts';
import { checkLength, checkRange, collect, normalizeEtag, RangeNotSatisfiableError, resolveRange, sizeMismatch, validateKey, validatePrefix } from './common.ts';
import type { Presigner } from './r2-presign.ts';

// The parts of the R2 binding this driver uses, declared here so that the core does not depend on
// @cloudflare/workers-types; a real R2Bucket satisfies them.

/** R2 keeps more (cache-control, content-disposition...); a move passes the whole object on. */
export interface R2HttpMetadataLike {
  contentType?: string;
}

export interface R2ObjectLike {
  key: string;
  size: number;
  /** Without quotes (`httpEtag` has them). */
  etag: string;
  uploaded: Date;
  httpMetadata?: R2HttpMetadataLike;
  customMetadata?: Record<string, string>;
}

export interface R2ObjectBodyLike extends R2ObjectLike {
  body: ReadableStream<Uint8Array>;
}

export interface R2ConditionalLike {
  etagMatches?: string;
  etagDoesNotMatch?: string;
}

export interface R2PutOptionsLike {
  onlyIf?: R2ConditionalLike;
  httpMetadata?: R2HttpMetadataLike;
  customMetadata?: Record<string, string>;
}

export interface R2UploadedPartLike {
  partNumber: number;
  etag: string;
}

export interface R2MultipartUploadLike {
  uploadPart(partNumber: number, value: Uint8Array): Promise<R2UploadedPartLike>;
  complete(parts: R2UploadedPartLike[]): Promise<R2ObjectLike>;
  abort(): Promise<void>;
}

export interface R2BucketLike {
  head(key: string): Promise<R2ObjectLike | null>;
  get(key: string, options?: { range?: { offset: number; length?: number } }): Promise<R2ObjectBodyLike | null>;
  /** `null` when `onlyIf` does not hold. */
  put(key: string, value: ReadableStream<Uint8Array> | Uint8Array, options?: R2PutOptionsLike): Promise<R2ObjectLike | null>;
  delete(key: string): Promise<void>;
  list(options: { prefix?: string; cursor?: string; limit?: number }): Promise<{ objects: R2ObjectLike[]; truncated: boolean; cursor?: string }>;
  createMultipartUpload(key: string, options?: { httpMetadata?: R2HttpMetadataLike; customMetadata?: Record<string, string> }): Promise<R2MultipartUploadLike>;
}

/** workerd's stream whose readable side has a length R2 accepts. */
type FixedLengthStreamClass = new (length: number) => TransformStream<Uint8Array, Uint8Array>;

export interface R2StoreOptions {
  /** Signs URLs for clients to fetch directly (R2's S3 API); without it the store cannot presign. */
  presigner?: Presigner;
  /** Key prefix inside the bucket ('' or 'a/b'). */
  prefix?: string;
  /** Part size of multipart uploads and the most a stream of unknown size is buffered for one put (default 8 MiB, at least 5 MiB). */
  partSize?: number;
}

const MiB = 1024 * 1024;
/** R2 takes at most 4.995 GiB in one upload. */
const MAX_SINGLE_PUT = 5 * 1024 * MiB - 5 * MiB;
const MAX_PARTS = 10_000;
const MIN_PART = 5 * MiB;
const LIST_PAGE = 1000;
/** An empty segment: never a valid key, so list skips staged uploads. */
const STAGING = '.repod-upload//';

const noop = () => undefined;

/** Raised while reading the caller's body, to tell its failures from R2's. */
class BodyFailure {
  constructor(readonly cause: unknown) {}
}

export class R2Store implements BlobStore {
  readonly driver = 'r2';
  readonly capabilities: StoreCapabilities;
  readonly prefix: string;
  readonly presign?: (key: string, options: PresignOptions) => Promise<string>;
  private readonly partSize: number;
  private readonly fixedLengthStream: FixedLengthStreamClass | undefined;

  constructor(
    private readonly bucket: R2BucketLike,
    options: R2StoreOptions = {},
  ) {
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (prefix) validateKey(this.driver, prefix);
    this.prefix = prefix ? `${prefix}/` : '';
    this.partSize = Math.max(Math.ceil(options.partSize ?? 8 * MiB), MIN_PART);
    this.fixedLengthStream = (globalThis as { FixedLengthStream?: FixedLengthStreamClass }).FixedLengthStream;
    const presigner = options.presigner;
    this.capabilities = { conditionalWrites: true, presign: presigner !== undefined };
    if (presigner) {
      // The presigner addresses the bucket, so it gets the key with this store's prefix.
      this.presign = async (key, presignOptions) => presigner(this.fullKey(key), presignOptions);
    }
  }

  // ---------------------------------------------------------------- reads

  async get(key: string, options: { range?: ByteRange } = {}): Promise<BlobObject | null> {
    const full = this.fullKey(key);
    const requested = options.range;
    if (requested) checkRange(this.driver, requested);
    let object: R2ObjectBodyLike | null;
    try {
      object = await this.bucket.get(full, requested ? { range: toR2Range(requested) } : undefined);
    } catch (error) {
      if (requested && isUnsatisfiable(error)) {
        // R2 does not say the size when it refuses a range.
        const info = await this.head(key);
        if (!info) return null;
        throw new RangeNotSatisfiableError(this.driver, key, requested, info.size);
      }
      throw this.fail(`get ${key}`, error);
    }
    if (!object) return null;
    const result: BlobObject = { ...info(key, object), body: object.body };
    if (requested) {
      try {
        result.range = resolveRange(this.driver, key, requested, object.size);
      } catch (error) {
        await object.body.cancel().catch(noop);
        throw error;
      }
    }
    return result;
  }

  async head(key: string): Promise<BlobInfo | null> {
    const full = this.fullKey(key);
    let object: R2ObjectLike | null;
    try {
      object = await this.bucket.head(full);
    } catch (error) {
      throw this.fail(`head ${key}`, error);
    }
    return object ? info(key, object) : null;
  }

  /** R2 lists in UTF-8 byte order, which is the interface's order: pages are passed on as they come. */
  async *list(prefix: string): AsyncIterable<ListEntry> {
    validatePrefix(this.driver, prefix);
    let cursor: string | undefined;
    do {
      let page;
      try {
        page = await this.bucket.list({ prefix: this.prefix + prefix, cursor, limit: LIST_PAGE });
      } catch (error) {
        throw this.fail(`list ${prefix}`, error);
      }
      for (const object of page.objects) {
        if (!object.key.startsWith(this.prefix)) continue;
        const key = object.key.slice(this.prefix.length);
        if (!isValidKey(key)) continue; // a staged upload, or written by something else
        yield { key, size: object.size, lastModified: object.uploaded };
      }
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }

  // ---------------------------------------------------------------- writes

  async put(key: string, body: Uint8Array | ReadableStream<Uint8Array>, options: PutOptions = {}): Promise<{ etag: string }> {
    const full = this.fullKey(key);
    const write = this.writeOptions(options);
    if (body instanceof Uint8Array) {
      sizeMismatch(this.driver, key, body.byteLength, options.size);
      return this.committed(key, await this.putOnce(key, full, body, write));
    }
    const size = options.size;
    if (size !== undefined && size > MAX_SINGLE_PUT && write.onlyIf) {
      await body.cancel().catch(noop);
      throw new StorageError(this.driver, `conditional put of ${key}: ${size} bytes is more than one R2 upload holds (${MAX_SINGLE_PUT}); write it unconditionally`);
    }
    if (size !== undefined && size > 0 && size <= MAX_SINGLE_PUT && this.fixedLengthStream) {
      return this.committed(key, await this.putSized(key, full, body, size, write));
    }
    const checked = checkLength(this.driver, key, body, size);
    let first;
    try {
      first = await collect(checked, this.partSize);
    } catch (error) {
      throw bodyError(this.driver, key, error);
    }
    if (first.complete) return this.committed(key, await this.putOnce(key, full, first.bytes, write));
    const rest = first.rest as ReadableStreamDefaultReader<Uint8Array>;
    const partSize = size === undefined ? this.partSize : Math.max(this.partSize, Math.ceil(size / MAX_PARTS / MiB) * MiB);
    if (!write.onlyIf) return { etag: (await this.putMultipart(key, full, first.bytes, rest, partSize, write)).etag };
    return this.committed(key, await this.putStaged(key, full, first.bytes, rest, options, write));
  }

  async delete(key: string): Promise<void> {
    const full = this.fullKey(key);
    try {
      await this.bucket.delete(full);
    } catch (error) {
      throw this.fail(`delete ${key}`, error);
    }
  }

  async move(from: string, to: string, options: MoveOptions = {}): Promise<void> {
    const fromFull = this.fullKey(from);
    const toFull = this.fullKey(to);
    if (options.ifNoneMatch === '*' && (await this.head(to))) throw new PreconditionFailedError(to);
    if (from === to) {
      if (!(await this.head(from))) throw new NotFoundError(`[storage] [r2] move: ${from} does not exist`);
      return;
    }
    let source: R2ObjectBodyLike | null;
    try {
      source = await this.bucket.get(fromFull);
    } catch (error) {
      throw this.fail(`move ${from} -> ${to}`, error);
    }
    if (!source) throw new NotFoundError(`[storage] [r2] move: ${from} does not exist`);
    const write: R2PutOptionsLike = { httpMetadata: source.httpMetadata, customMetadata: source.customMetadata };
    try {
      if (source.size <= MAX_SINGLE_PUT) {
        // R2 knows the length of its own bodies: one put streams the copy.
        await this.bucket.put(toFull, source.body, write);
      } else {
        const partSize = Math.max(this.partSize, Math.ceil(source.size / MAX_PARTS / MiB) * MiB);
        await this.putMultipart(to, toFull, new Uint8Array(0), source.body.getReader(), partSize, write);
      }
    } catch (error) {
      if (error instanceof RepodError) throw error;
      throw this.fail(`move ${from} -> ${to}`, error);
    }
    await this.delete(from);
  }

  // ---------------------------------------------------------------- internals

  private fullKey(key: string): string {
    validateKey(this.driver, key);
    return this.prefix + key;
  }

  private writeOptions(options: PutOptions): R2PutOptionsLike {
    const write: R2PutOptionsLike = {};
    if (options.contentType) write.httpMetadata = { contentType: options.contentType };
    if (options.ifNoneMatch === '*') write.onlyIf = { etagDoesNotMatch: '*' };
    else if (options.ifMatch !== undefined) write.onlyIf = { etagMatches: normalizeEtag(options.ifMatch) };
    return write;
  }

  /** A write R2 answered `null` for lost its condition. */
  private committed(key: string, object: R2ObjectLike | null): { etag: string } {
    if (!object) throw new PreconditionFailedError(key);
    return { etag: normalizeEtag(object.etag) };
  }

  private async putOnce(key: string, full: string, body: Uint8Array, write: R2PutOptionsLike): Promise<R2ObjectLike | null> {
    try {
      return await this.bucket.put(full, body, write);
    } catch (error) {
      throw this.fail(`put ${key}`, error);
    }
  }

  /**
   * One put of a stream of declared size through a FixedLengthStream. The chunk that completes the
   * size is written only once the body has ended (see the header comment).
   */
  private async putSized(key: string, full: string, body: ReadableStream<Uint8Array>, size: number, write: R2PutOptionsLike): Promise<R2ObjectLike | null> {
    const FixedLength = this.fixedLengthStream as FixedLengthStreamClass;
    const fixed = new FixedLength(size);
    const writer = fixed.writable.getWriter();
    const reader = body.getReader();
    let failure: BodyFailure | undefined;
    const feed = async () => {
      let seen = 0;
      let held: Uint8Array | undefined;
      try {
        for (;;) {
          let next;
          try {
            next = await reader.read();
          } catch (error) {
            throw (failure = new BodyFailure(error));
          }
          if (next.done) break;
          if (next.value.byteLength === 0) continue;
          seen += next.value.byteLength;
          if (seen > size) throw (failure = new BodyFailure(new StorageError(this.driver, `body of ${key} is longer than the declared ${size} bytes`)));
          if (seen === size) held = next.value;
          else await writer.write(next.value);
        }
        if (seen < size) throw (failure = new BodyFailure(new StorageError(this.driver, `body of ${key} is ${seen} bytes, declared ${size}`)));
        if (held) await writer.write(held);
        await writer.close();
      } catch (error) {
        const reason = error instanceof BodyFailure ? error.cause : error;
        await writer.abort(reason).catch(noop);
        await reader.cancel(reason).catch(noop);
      }
    };
    const feeding = feed();
    try {
      const result = await this.bucket.put(full, fixed.readable, write);
      // A lost condition may be answered before the whole body was read.
      if (!result) await writer.abort(new PreconditionFailedError(key)).catch(noop);
      await feeding;
      return result;
    } catch (error) {
      // R2 may have stopped reading with a write still pending: aborting releases the feed.
      await writer.abort(error).catch(noop);
      await feeding;
      if (failure) throw bodyError(this.driver, key, failure.cause);
      throw this.fail(`put ${key}`, error);
    }
  }

  /**
   * A multipart upload of `first` then the rest of the body, in parts of exactly `partSize` bytes
   * (the last one shorter), one part uploading while the next is read. `limit` bounds the total.
   */
  private async putMultipart(
    key: string,
    full: string,
    first: Uint8Array,
    rest: ReadableStreamDefaultReader<Uint8Array>,
    partSize: number,
    write: R2PutOptionsLike,
    limit = Infinity,
  ): Promise<R2ObjectLike> {
    let upload: R2MultipartUploadLike;
    try {
      upload = await this.bucket.createMultipartUpload(full, { httpMetadata: write.httpMetadata, customMetadata: write.customMetadata });
    } catch (error) {
      await rest.cancel().catch(noop);
      throw this.fail(`put ${key} (multipart)`, error);
    }
    const uploaded: R2UploadedPartLike[] = [];
    let inFlight: Promise<unknown> = Promise.resolve();
    try {
      let number = 0;
      let total = 0;
      for await (const part of equalParts(first, rest, partSize)) {
        total += part.byteLength;
        if (++number > MAX_PARTS || total > limit)
          throw new StorageError(this.driver, `put ${key}: the body is longer than an R2 ${limit === Infinity ? 'multipart upload' : 'upload'} holds`);
        await inFlight;
        const n = number;
        inFlight = upload.uploadPart(n, part).then((done) => (uploaded[n - 1] = done));
        // Awaited before the next part or the completion; until then its failure is not unhandled.
        inFlight.catch(noop);
      }
      await inFlight;
      return await upload.complete(uploaded);
    } catch (error) {
      await inFlight.catch(noop);
      await upload.abort().catch(noop);
      await rest.cancel().catch(noop);
      if (error instanceof BodyFailure) throw bodyError(this.driver, key, error.cause);
      if (error instanceof RepodError) throw error;
      throw this.fail(`put ${key} (multipart)`, error);
    }
  }

  /** A conditional write of a long stream of unknown size: staged, then one conditional put (see the header comment). */
  private async putStaged(
    key: string,
    full: string,
    first: Uint8Array,
    rest: ReadableStreamDefaultReader<Uint8Array>,
    options: PutOptions,
    write: R2PutOptionsLike,
  ): Promise<R2ObjectLike | null> {
    let current: R2ObjectLike | null;
    try {
      current = await this.bucket.head(full);
    } catch (error) {
      await rest.cancel().catch(noop);
      throw this.fail(`head ${key}`, error);
    }
    const holds = options.ifNoneMatch === '*' ? current === null : current !== null && current.etag === write.onlyIf?.etagMatches;
    if (!holds) {
      await rest.cancel().catch(noop);
      return null;
    }
    const staging = `${this.prefix}${STAGING}${crypto.randomUUID()}`;
    try {
      await this.putMultipart(key, staging, first, rest, this.partSize, { httpMetadata: write.httpMetadata }, MAX_SINGLE_PUT);
      let staged: R2ObjectBodyLike | null;
      try {
        staged = await this.bucket.get(staging);
        if (!staged) throw new StorageError(this.driver, `put ${key}: the staged upload ${staging} vanished`);
        return await this.bucket.put(full, staged.body, write);
      } catch (error) {
        if (error instanceof RepodError) throw error;
        throw this.fail(`put ${key} (from the staged upload)`, error);
      }
    } finally {
      await this.bucket.delete(staging).catch(noop);
    }
  }

  private fail(what: string, error: unknown): StorageError {
    const message = error instanceof Error ? error.message : String(error);
    return new StorageError(this.driver, `${what} in r2:${this.prefix} failed: ${message}`, error);
  }
}

/** Bytes in parts of exactly `size`, the last one shorter; reader failures come out as BodyFailure. */
async function* equalParts(first: Uint8Array, reader: ReadableStreamDefaultReader<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let part = new Uint8Array(size);
  let filled = 0;
  let pending: Uint8Array | undefined = first;
  for (;;) {
    if (!pending) {
      let next;
      try {
        next = await reader.read();
      } catch (error) {
        throw new BodyFailure(error);
      }
      if (next.done) break;
      pending = next.value;
    }
    while (pending.byteLength > 0) {
      const n = Math.min(size - filled, pending.byteLength);
      part.set(pending.subarray(0, n), filled);
      filled += n;
      pending = pending.subarray(n);
      if (filled === size) {
        yield part;
        part = new Uint8Array(size);
        filled = 0;
      }
    }
    pending = undefined;
  }
  if (filled > 0) yield part.subarray(0, filled);
}

function info(key: string, object: R2ObjectLike): BlobInfo {
  return { key, size: object.size, etag: normalizeEtag(object.etag), lastModified: object.uploaded };
}

function toR2Range(range: ByteRange): { offset: number; length?: number } {
  return range.end === undefined ? { offset: range.start } : { offset: range.start, length: range.end - range.start + 1 };
}

/** R2's "The requested range is not satisfiable (10039)". */
function isUnsatisfiable(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /\(10039\)|not satisfiable/i.test(message);
}

function isValidKey(key: string): boolean {
  try {
    validateKey('r2', key);
    return true;
  } catch {
    return false;
  }
}

function bodyError(driver: string, key: string, error: unknown): RepodError {
  return error instanceof RepodError ? error : new StorageError(driver, `reading the body of ${key} failed`, error);
}

export function r2Store(bucket: R2BucketLike, options?: R2StoreOptions): R2Store {
  return new R2Store(bucket, options);
}

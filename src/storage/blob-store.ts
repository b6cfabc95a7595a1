/**
 * The one storage interface every part above storage/ uses. Keys are '/'-separated relative paths
 * ("pool/sha256/ab/abcd..."), never starting with '/' and never containing '..' segments.
 * A missing object is `null`, not an exception. Bodies are web streams so the same code runs on
 * Node and on Workers.
 */
export interface BlobInfo {
  key: string;
  size: number;
  /** Opaque version token for compare-and-swap, without quotes; compare only with values from the same store. */
  etag: string;
  lastModified: Date;
}

export interface BlobObject extends BlobInfo {
  body: ReadableStream<Uint8Array>;
  /** Set when a byte range was requested: the inclusive range actually returned. */
  range?: { start: number; end: number };
}

export interface ByteRange {
  start: number;
  /** Inclusive; omitted means to the end of the object. */
  end?: number;
}

export interface PutOptions {
  /** Create-only: fail with PreconditionFailedError when the key already exists. */
  ifNoneMatch?: '*';
  /** Compare-and-swap: fail with PreconditionFailedError unless the current etag equals this. */
  ifMatch?: string;
  contentType?: string;
  /** Length of a streamed body when known (lets S3 use a single PUT). */
  size?: number;
  /** S3: a canned ACL for buckets served to anonymous clients (mkrepo's --s3-public-read); other drivers ignore it. */
  acl?: 'public-read';
  /**
   * The object is moved or deleted soon after (a staged upload): a crash may lose it. A store that
   * makes every put durable may skip what only the name's durability needs (the file store: the
   * directory fsync); the bytes are still flushed, so a later move makes them durable under the
   * new name. Stores that are durable anyway ignore it. The key is also one no other writer uses
   * and nothing holds yet (named at random): the file store links it into place as a create-only
   * put does, without the key's lock.
   */
  transient?: boolean;
}

/** `ifNoneMatch: '*'`: a create-only move, which fails with PreconditionFailedError (leaving the source) when `to` exists. */
export type MoveOptions = Pick<PutOptions, 'ifNoneMatch'>;

/** What a copy sets on the new object (its content type, S3's canned ACL); the source's otherwise. */
export type CopyOptions = Pick<PutOptions, 'contentType' | 'acl'>;

export interface PresignOptions {
  expiresInSeconds: number;
  /** GET unless said otherwise. */
  method?: 'GET' | 'PUT';
  /** GET: the file name a browser saves the download as. */
  filename?: string;
  /** GET: the Content-Type the store answers with. */
  contentType?: string;
}

export interface ListEntry {
  key: string;
  size: number;
  lastModified: Date;
  /** Where the listing gives it (S3), without quotes: changes with the content. */
  etag?: string;
}

export interface StoreCapabilities {
  /** Create-only and compare-and-swap writes are enforced by the store (safe for several writers). */
  conditionalWrites: boolean;
  /** `presign` returns URLs a client can fetch directly. */
  presign: boolean;
}

export interface BlobStore {
  /** Short driver name for error messages and logs: "file", "s3", "memory". */
  readonly driver: string;
  readonly capabilities: StoreCapabilities;
  /**
   * A range's end beyond the object is clamped; a start at or beyond its end throws
   * RangeNotSatisfiableError (storage/common.ts: HTTP 416, carries the size). The body must be
   * read to its end or cancelled (the file driver holds a descriptor until then).
   */
  get(key: string, options?: { range?: ByteRange }): Promise<BlobObject | null>;
  head(key: string): Promise<BlobInfo | null>;
  /** Writes atomically: readers see the old object or the whole new one, never a part. */
  put(key: string, body: Uint8Array | ReadableStream<Uint8Array>, options?: PutOptions): Promise<{ etag: string }>;
  delete(key: string): Promise<void>;
  /** Keys under a prefix, in lexicographic order of code points (= UTF-8 bytes, S3's order). */
  list(prefix: string): AsyncIterable<ListEntry>;
  /**
   * Moves an object to a new key, replacing any object there (rename on a file system, server-side
   * copy + delete on S3). A missing source throws NotFoundError. Create-only with `ifNoneMatch`:
   * atomic where the store can link (the file store); elsewhere checked just before the copy, which
   * suits what it is for, content-addressed keys (a racing writer stores the same bytes).
   */
  move(from: string, to: string, options?: MoveOptions): Promise<void>;
  /**
   * Optional: makes `to` a copy of the object `from` inside the store, without its bytes passing
   * through this process (S3 CopyObject), replacing any object there; atomic like put. A missing
   * source throws NotFoundError. Callers fall back to get + put where a store has no copy.
   */
  copy?(from: string, to: string, options?: CopyOptions): Promise<void>;
  /**
   * Optional: bytes [start, end) of an object whose bytes never change under its key (a
   * content-addressed chunk), read whole; fewer when the object ends before `end`, null when it is
   * missing. A store may keep what it needs for the next read of the same object (the file store
   * keeps the file open). Callers fall back to a ranged get. With `into` (end - start bytes long)
   * the bytes are read there and the answer is `into` or its start: a caller joining several
   * ranges into one buffer allocates nothing per range.
   */
  readImmutable?(key: string, start: number, end: number, into?: Uint8Array): Promise<Uint8Array | null>;
  /**
   * A short-lived URL a client uses directly: a GET of the object (the default), or a PUT of its
   * bytes (parts of a large upload go straight to the store). Only when capabilities.presign.
   */
  presign?(key: string, options: PresignOptions): Promise<string>;
}

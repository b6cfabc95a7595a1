/**
 * S3 BlobStore (`s3://bucket/prefix`): AWS S3, Ceph RGW, MinIO, R2's S3 API. Web streams only: the
 * SDK talks through its fetch handler on Node too (its Node handler accepts only node:stream
 * bodies), so the same code runs on Workers.
 *
 * Request bodies are always byte arrays, never a stream handed to fetch: Node's fetch (undici
 * 6, nodejs/undici#4058) tees a streamed request body for a possible redirect and keeps every chunk
 * until the response, i.e. the whole upload in memory. So a stream is either buffered (when at most
 * one part: `partSize`, 5 MiB) and sent as one PutObject, or sent as a multipart upload
 * (lib-storage Upload; in memory about (2 × queueSize + 1) × partSize, 25 MiB by default: the
 * parts in flight, fetch's copy of each, the part being filled). Response bodies do stream.
 *
 * Etags are S3's, without quotes (RGW matches If-Match only without them). A single PUT's etag is
 * the MD5 of the content, so two writes of identical bytes share an etag; compare-and-swap is then
 * by value, which is what its callers need.
 *
 * Conditional writes (`ifNoneMatch: '*'`, `ifMatch`) are always one PutObject with If-None-Match /
 * If-Match: a Uint8Array body as is, a stream buffered up to `maxConditionalBuffer` (8 MiB). A
 * longer stream is refused (StorageError) rather than silently unprotected: it would need a
 * multipart upload, and CompleteMultipartUpload ignores If-None-Match on RGW.
 * Every write carries a random `x-amz-meta-repod-write` nonce. A conditional PUT is sent without
 * SDK retries; when it fails in a way that does not prove a lost race (RGW answers most losers of an
 * If-Match race with 500, AWS may answer 409, a response may be lost after the write landed), a
 * HEAD decides: our nonce is there → success; another object breaks the condition →
 * PreconditionFailedError; the condition still holds → retried (a few times), else StorageError.
 * A 412 is trusted as a lost race unless the HEAD shows our own nonce.
 *
 * `copy` is CopyObject; `move` is the same copy + DeleteObject (not atomic: a crash in between
 * leaves both keys); objects over 5 GiB are copied part by part with UploadPartCopy.
 */
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { FetchHttpHandler } from '@smithy/fetch-http-handler';
import { NotFoundError, PreconditionFailedError, RepodError, StorageError } from '../errors.ts';
import type { BlobInfo, BlobObject, BlobStore, ByteRange, CopyOptions, ListEntry, MoveOptions, PresignOptions, PutOptions, StoreCapabilities } from './blob-store.ts';
import {
  checkLength,
  checkRange,
  collect,
  contentDisposition,
  normalizeEtag,
  RangeNotSatisfiableError,
  resolveRange,
  sizeMismatch,
  validateKey,
  validatePrefix,
} from './common.ts';

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket ('' or 'a/b'; a trailing '/' is added). */
  prefix?: string;
  /** A ready client (then endpoint, region, credentials and forcePathStyle are ignored). */
  client?: S3Client;
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  forcePathStyle?: boolean;
  /** Endpoint written into presigned URLs when clients reach the store by another address. */
  presignEndpoint?: string;
  /** Multipart part size (default 5 MiB, S3's minimum is 5 MiB; raised for a declared size over 10,000 parts). Streams up to one part go as one PUT. */
  partSize?: number;
  /** Parts uploaded in parallel (default 2): at most partSize × queueSize bytes buffered. */
  queueSize?: number;
  /** Largest stream a conditional put buffers to send as one PUT (default 8 MiB); longer ones are refused. */
  maxConditionalBuffer?: number;
  /** Objects larger than this move by multipart copy (default 5 GiB, CopyObject's limit). */
  maxCopyObjectSize?: number;
  /** Part size of a multipart copy (default 512 MiB). */
  copyPartSize?: number;
  /** Retries of a conditional put whose condition still holds after a 5xx/409 (default 3). */
  conditionalRetries?: number;
  /** Send If-Match with quotes (default false: RGW matches only the bare etag; AWS accepts both). */
  quoteIfMatch?: boolean;
}

const MiB = 1024 * 1024;
const MAX_SINGLE_PUT = 5 * 1024 * MiB;
const MAX_PARTS = 10_000;
const NONCE_META = 'repod-write';
const silentLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** An S3 client configured for S3-compatible stores: fetch handler, checksums only when required. */
export function createS3Client(options: Pick<S3StoreOptions, 'endpoint' | 'region' | 'credentials' | 'forcePathStyle'> & { maxAttempts?: number }): S3Client {
  const config: S3ClientConfig = {
    maxAttempts: options.maxAttempts,
    region: options.region ?? 'us-east-1',
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    requestHandler: new FetchHttpHandler(),
    // Default CRC32 trailers (aws-chunked) are not understood by RGW 16 and other S3-compatible stores.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    logger: silentLogger,
  };
  if (options.endpoint) config.endpoint = options.endpoint;
  if (options.credentials) config.credentials = options.credentials;
  return new S3Client(config);
}

interface RawHead {
  etag: string;
  size: number;
  lastModified: Date;
  nonce?: string;
  contentType?: string;
}

function status(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function errorName(error: unknown): string | undefined {
  return (error as { name?: string } | undefined)?.name;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class S3Store implements BlobStore {
  readonly driver = 's3';
  readonly capabilities: StoreCapabilities = { conditionalWrites: true, presign: true };
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  /** Conditional puts go without SDK retries: the driver reconciles their failures itself (see above). */
  private readonly conditionalClient: S3Client;
  private readonly presignClient: S3Client;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly maxConditionalBuffer: number;
  private readonly maxCopyObjectSize: number;
  private readonly copyPartSize: number;
  private readonly conditionalRetries: number;
  private readonly quoteIfMatch: boolean;

  constructor(options: S3StoreOptions) {
    if (!options.bucket) throw new StorageError('s3', 'a bucket name is required');
    this.bucket = options.bucket;
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (prefix) validateKey(this.driver, prefix);
    this.prefix = prefix ? `${prefix}/` : '';
    this.client = options.client ?? createS3Client(options);
    this.conditionalClient = options.client ?? createS3Client({ ...options, maxAttempts: 1 });
    this.presignClient = options.presignEndpoint && !options.client ? createS3Client({ ...options, endpoint: options.presignEndpoint }) : this.client;
    this.partSize = Math.max(options.partSize ?? 5 * MiB, 5 * MiB);
    this.queueSize = options.queueSize ?? 2;
    this.maxConditionalBuffer = Math.min(options.maxConditionalBuffer ?? 8 * MiB, MAX_SINGLE_PUT);
    this.maxCopyObjectSize = options.maxCopyObjectSize ?? MAX_SINGLE_PUT;
    this.copyPartSize = Math.max(options.copyPartSize ?? 512 * MiB, 5 * MiB);
    this.conditionalRetries = options.conditionalRetries ?? 3;
    this.quoteIfMatch = options.quoteIfMatch ?? false;
  }

  // ---------------------------------------------------------------- reads

  async get(key: string, options: { range?: ByteRange } = {}): Promise<BlobObject | null> {
    const full = this.fullKey(key);
    const requested = options.range;
    if (requested) checkRange(this.driver, requested);
    let out;
    try {
      out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: full,
          Range: requested ? `bytes=${requested.start}-${requested.end ?? ''}` : undefined,
        }),
      );
    } catch (error) {
      if (isNotFound(error)) return null;
      if (status(error) === 416 || errorName(error) === 'InvalidRange') {
        const info = await this.head(key);
        if (!info) return null;
        throw new RangeNotSatisfiableError(this.driver, key, requested ?? { start: 0 }, info.size);
      }
      throw this.fail(`get ${key}`, error);
    }
    let body = toWebStream(out.Body);
    const etag = normalizeEtag(out.ETag ?? '');
    const lastModified = out.LastModified ?? new Date(0);
    const contentRange = parseContentRange(out.ContentRange);
    if (!requested) {
      return { key, size: out.ContentLength ?? 0, etag, lastModified, body };
    }
    if (contentRange) {
      return { key, size: contentRange.size, etag, lastModified, body, range: { start: contentRange.start, end: contentRange.end } };
    }
    // The store ignored the Range header (200 with the whole object): cut the range out ourselves.
    const size = out.ContentLength ?? 0;
    let range: { start: number; end: number };
    try {
      range = resolveRange(this.driver, key, requested, size);
    } catch (error) {
      await body.cancel().catch(() => undefined);
      throw error;
    }
    body = sliceStream(body, range.start, range.end + 1);
    return { key, size, etag, lastModified, body, range };
  }

  async head(key: string): Promise<BlobInfo | null> {
    const raw = await this.headRaw(key);
    return raw ? { key, size: raw.size, etag: raw.etag, lastModified: raw.lastModified } : null;
  }

  async *list(prefix: string): AsyncIterable<ListEntry> {
    validatePrefix(this.driver, prefix);
    let token: string | undefined;
    do {
      let out;
      try {
        out = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }));
      } catch (error) {
        throw this.fail(`list ${prefix}`, error);
      }
      for (const item of out.Contents ?? []) {
        if (!item.Key?.startsWith(this.prefix)) continue;
        const key = item.Key.slice(this.prefix.length);
        if (!isValidKey(key)) continue; // written by something else; cannot be addressed through this interface
        yield { key, size: item.Size ?? 0, lastModified: item.LastModified ?? new Date(0), ...(item.ETag ? { etag: normalizeEtag(item.ETag) } : {}) };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  // ---------------------------------------------------------------- writes

  async put(key: string, body: Uint8Array | ReadableStream<Uint8Array>, options: PutOptions = {}): Promise<{ etag: string }> {
    const full = this.fullKey(key);
    const conditional = options.ifNoneMatch === '*' || options.ifMatch !== undefined;
    if (body instanceof Uint8Array) {
      sizeMismatch(this.driver, key, body.byteLength, options.size);
      return this.putOnce(key, full, body, body.byteLength, options);
    }
    const checked = checkLength(this.driver, key, body, options.size);
    if (conditional) {
      // One PUT is the only conditional write every store enforces: buffer a small body, refuse a large one.
      const refuse = () =>
        new StorageError(
          this.driver,
          `conditional put of ${key}: a stream over ${this.maxConditionalBuffer} bytes would need a multipart upload, whose completion does not honour If-None-Match/If-Match on every store (RGW ignores it); pass a Uint8Array or write unconditionally`,
        );
      if (options.size !== undefined && options.size > this.maxConditionalBuffer) {
        await body.cancel().catch(() => undefined);
        throw refuse();
      }
      const buffered = await this.buffer(key, checked, this.maxConditionalBuffer);
      if (!buffered) throw refuse();
      return this.putOnce(key, full, buffered, buffered.byteLength, options);
    }
    if (options.size !== undefined && options.size <= this.partSize) {
      // checkLength ends the stream at the declared size, so it fits.
      const buffered = await this.buffer(key, checked, this.partSize);
      if (!buffered) throw new StorageError(this.driver, `body of ${key} is longer than the declared ${options.size} bytes`);
      return this.putOnce(key, full, buffered, buffered.byteLength, options);
    }
    return this.putMultipart(key, full, checked, options);
  }

  /** Reads a stream of at most `limit` bytes; null (the stream cancelled) when it is longer. */
  private async buffer(key: string, body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array | null> {
    let buffered;
    try {
      buffered = await collect(body, limit);
    } catch (error) {
      throw bodyError(this.driver, key, error);
    }
    if (buffered.complete) return buffered.bytes;
    await buffered.rest?.cancel().catch(() => undefined);
    return null;
  }

  async delete(key: string): Promise<void> {
    const full = this.fullKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: full }));
    } catch (error) {
      if (isNotFound(error)) return;
      throw this.fail(`delete ${key}`, error);
    }
  }

  /** Server-side copy + delete (not atomic). Overwrites `to`. The copy is pinned to the source etag read first. */
  async move(from: string, to: string, options: MoveOptions = {}): Promise<void> {
    if (options.ifNoneMatch === '*' && (await this.headRaw(to))) throw new PreconditionFailedError(to);
    if (!(await this.copyObject('move', from, to, {}))) return;
    await this.delete(from);
  }

  /** Server-side copy, pinned to the source etag read first; `options` replace the content type / set an ACL. */
  async copy(from: string, to: string, options: CopyOptions = {}): Promise<void> {
    await this.copyObject('copy', from, to, options);
  }

  /** CopyObject, or part by part above CopyObject's limit. False when `from` is `to` (nothing to do). */
  private async copyObject(what: 'move' | 'copy', from: string, to: string, options: CopyOptions): Promise<boolean> {
    const fromFull = this.fullKey(from);
    const toFull = this.fullKey(to);
    const source = await this.headRaw(from);
    if (!source) throw new NotFoundError(`[storage] [s3] ${what}: ${from} does not exist`);
    if (from === to && options.contentType === undefined && options.acl === undefined) return false;
    const copySource = encodeCopySource(this.bucket, fromFull);
    try {
      if (source.size <= this.maxCopyObjectSize) {
        const replace = options.contentType !== undefined || from === to;
        await this.client.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: toFull,
            CopySource: copySource,
            CopySourceIfMatch: this.ifMatchValue(source.etag),
            // REPLACE drops the source's user metadata: the write nonce is carried over by hand.
            MetadataDirective: replace ? 'REPLACE' : 'COPY',
            ...(replace ? { ContentType: options.contentType ?? source.contentType, Metadata: source.nonce ? { [NONCE_META]: source.nonce } : undefined } : {}),
            ACL: options.acl,
          }),
        );
      } else {
        await this.multipartCopy(toFull, copySource, source, options);
      }
    } catch (error) {
      if (isNotFound(error) || status(error) === 412) {
        throw new StorageError(this.driver, `${what} ${from} -> ${to}: the source changed or vanished during the copy`, error);
      }
      throw this.fail(`${what} ${from} -> ${to}`, error);
    }
    return true;
  }

  async presign(key: string, options: PresignOptions): Promise<string> {
    const full = this.fullKey(key);
    try {
      if (options.method === 'PUT') {
        return await getSignedUrl(this.presignClient, new PutObjectCommand({ Bucket: this.bucket, Key: full }), { expiresIn: options.expiresInSeconds });
      }
      return await getSignedUrl(
        this.presignClient,
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: full,
          ResponseContentDisposition: options.filename ? contentDisposition(options.filename) : undefined,
          ResponseContentType: options.contentType,
        }),
        { expiresIn: options.expiresInSeconds },
      );
    } catch (error) {
      throw this.fail(`presign ${key}`, error);
    }
  }

  // ---------------------------------------------------------------- internals

  private fullKey(key: string): string {
    validateKey(this.driver, key);
    return this.prefix + key;
  }

  private ifMatchValue(etag: string): string {
    const bare = normalizeEtag(etag);
    return this.quoteIfMatch ? `"${bare}"` : bare;
  }

  private async headRaw(key: string): Promise<RawHead | null> {
    const full = this.fullKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: full }));
      return {
        etag: normalizeEtag(out.ETag ?? ''),
        size: out.ContentLength ?? 0,
        lastModified: out.LastModified ?? new Date(0),
        nonce: out.Metadata?.[NONCE_META],
        contentType: out.ContentType,
      };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw this.fail(`head ${key}`, error);
    }
  }

  /** One PutObject, with the conditional-write reconciliation described in the header comment. */
  private async putOnce(key: string, full: string, body: Uint8Array, size: number, options: PutOptions): Promise<{ etag: string }> {
    const ifMatch = options.ifMatch === undefined ? undefined : normalizeEtag(options.ifMatch);
    const conditional = options.ifNoneMatch === '*' || ifMatch !== undefined;
    const nonce = crypto.randomUUID();
    const client = conditional ? this.conditionalClient : this.client;
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: full,
            Body: body,
            ContentLength: size,
            ContentType: options.contentType,
            ACL: options.acl,
            Metadata: { [NONCE_META]: nonce },
            IfNoneMatch: options.ifNoneMatch,
            IfMatch: ifMatch === undefined ? undefined : this.ifMatchValue(ifMatch),
          }),
        );
        return { etag: normalizeEtag(out.ETag ?? '') };
      } catch (error) {
        const code = status(error);
        if (!conditional) throw this.fail(`put ${key}`, error);
        if (code !== 412 && code !== 409 && code !== undefined && code < 500) throw this.fail(`put ${key}`, error);
        let now: RawHead | null;
        try {
          now = await this.headRaw(key);
        } catch (headError) {
          throw new StorageError(this.driver, `conditional put of ${key} failed (${code ?? errorName(error)}) and the follow-up HEAD too`, new AggregateError([error, headError]));
        }
        if (now?.nonce === nonce) return { etag: now.etag }; // our write landed (a retry or a lost response)
        if (code === 412) throw new PreconditionFailedError(key, error);
        const holds = options.ifNoneMatch === '*' ? now === null : now !== null && now.etag === ifMatch;
        if (!holds) throw new PreconditionFailedError(key, error); // another writer's object is there: we lost
        if (attempt < this.conditionalRetries) {
          await sleep(20 * 2 ** attempt + Math.random() * 20);
          continue;
        }
        throw this.fail(`conditional put of ${key} (the condition still holds)`, error);
      }
    }
  }

  private async putMultipart(key: string, full: string, body: ReadableStream<Uint8Array>, options: PutOptions): Promise<{ etag: string }> {
    const partSize = options.size === undefined ? this.partSize : Math.max(this.partSize, Math.ceil(options.size / MAX_PARTS));
    const nonce = crypto.randomUUID();
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: full, Body: body, ContentType: options.contentType, ACL: options.acl, Metadata: { [NONCE_META]: nonce } },
      partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    let etag: string;
    try {
      etag = normalizeEtag((await upload.done()).ETag ?? '');
    } catch (error) {
      if (error instanceof RepodError) throw error;
      throw this.fail(`put ${key} (multipart)`, error);
    }
    if (etag) return { etag };
    // RGW 16 answers CompleteMultipartUpload with an empty <ETag/>: read it back. If another write
    // replaced ours meanwhile, ours has no current etag: answer one that matches nothing.
    const now = await this.headRaw(key);
    return { etag: now?.nonce === nonce ? now.etag : `superseded-${nonce}` };
  }

  private async multipartCopy(toFull: string, copySource: string, source: RawHead, options: CopyOptions): Promise<void> {
    const created = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: toFull,
        ContentType: options.contentType ?? source.contentType,
        ACL: options.acl,
        Metadata: source.nonce ? { [NONCE_META]: source.nonce } : undefined,
      }),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new StorageError(this.driver, `CreateMultipartUpload for ${toFull} returned no UploadId`);
    try {
      const parts: CompletedPart[] = [];
      const count = Math.ceil(source.size / this.copyPartSize);
      const PARALLEL = 4;
      for (let first = 0; first < count; first += PARALLEL) {
        const batch = [];
        for (let n = first; n < Math.min(first + PARALLEL, count); n++) {
          const start = n * this.copyPartSize;
          const end = Math.min(start + this.copyPartSize, source.size) - 1;
          batch.push(
            this.client
              .send(
                new UploadPartCopyCommand({
                  Bucket: this.bucket,
                  Key: toFull,
                  UploadId: uploadId,
                  PartNumber: n + 1,
                  CopySource: copySource,
                  CopySourceRange: `bytes=${start}-${end}`,
                  CopySourceIfMatch: this.ifMatchValue(source.etag),
                }),
              )
              .then((out) => ({ PartNumber: n + 1, ETag: out.CopyPartResult?.ETag })),
          );
        }
        parts.push(...(await Promise.all(batch)));
      }
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: toFull, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    } catch (error) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: toFull, UploadId: uploadId })).catch(() => undefined);
      throw error;
    }
  }

  private fail(what: string, error: unknown): StorageError {
    const code = status(error);
    const name = errorName(error);
    return new StorageError(
      this.driver,
      `${what} in s3://${this.bucket}/${this.prefix} failed${code ? ` (HTTP ${code}${name ? ` ${name}` : ''})` : name ? ` (${name})` : ''}`,
      error,
    );
  }
}

function isNotFound(error: unknown): boolean {
  const name = errorName(error);
  return status(error) === 404 || name === 'NoSuchKey' || name === 'NotFound';
}

function isValidKey(key: string): boolean {
  try {
    validateKey('s3', key);
    return true;
  } catch {
    return false;
  }
}

function bodyError(driver: string, key: string, error: unknown): RepodError {
  return error instanceof RepodError ? error : new StorageError(driver, `reading the body of ${key} failed`, error);
}

/** The SDK's body (fetch handler: a ReadableStream with the SDK's mixin) as a plain web stream. */
function toWebStream(body: unknown): ReadableStream<Uint8Array> {
  if (!body) return new ReadableStream({ start: (c) => c.close() });
  const mixin = body as { transformToWebStream?: () => ReadableStream<Uint8Array> };
  if (typeof mixin.transformToWebStream === 'function') return mixin.transformToWebStream();
  if (body instanceof ReadableStream) return body as ReadableStream<Uint8Array>;
  throw new StorageError('s3', 'unexpected response body type');
}

function parseContentRange(value: string | undefined): { start: number; end: number; size: number } | null {
  const m = value ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value.trim()) : null;
  return m ? { start: Number(m[1]), end: Number(m[2]), size: Number(m[3]) } : null;
}

/** Bytes [start, end) of a stream. */
function sliceStream(body: ReadableStream<Uint8Array>, start: number, end: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const from = Math.max(start - offset, 0);
        const to = Math.min(end - offset, chunk.byteLength);
        offset += chunk.byteLength;
        if (to > from) controller.enqueue(chunk.subarray(from, to));
        if (offset >= end) controller.terminate();
      },
    }),
  );
}

/** x-amz-copy-source: bucket/key, each segment URL-encoded. */
function encodeCopySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

export function s3Store(options: S3StoreOptions): S3Store {
  return new S3Store(options);
}

import type { Context } from 'hono';
import { routeLabel } from '../metrics/http-metrics.ts';
import type { BlobStore, ByteRange } from '../storage/blob-store.ts';
import type { CachedBytes, ImmutableBytesCache } from '../storage/immutable-bytes-cache.ts';
import { LruCache } from '../util/lru-cache.ts';
import { type ByteInterval, multipartFraming, parseByteRanges, rangesOfStream } from './byte-ranges.ts';

/**
 * Answers for the three kinds of things clients download: small documents from a render,
 * immutable content-addressed metadata files, and package blobs.
 */
export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const REVALIDATE = 'public, max-age=0, must-revalidate';

/** Whether an If-None-Match value names `etag` (weak or strong, or `*`): the one rule of the app and the Node fast path. */
export function ifNoneMatchNames(value: string, etag: string): boolean {
  return value.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}` || t.trim() === '*');
}

function notModified(c: Context, etag: string, lastModified?: Date): boolean {
  const inm = c.req.header('if-none-match');
  if (inm) return ifNoneMatchNames(inm, etag);
  const ims = c.req.header('if-modified-since');
  if (ims && lastModified) {
    const since = Date.parse(ims);
    return !Number.isNaN(since) && Math.floor(lastModified.getTime() / 1000) <= Math.floor(since / 1000);
  }
  return false;
}

export function contentTypeFor(path: string): string {
  if (path.endsWith('.gz')) return 'application/gzip';
  if (path.endsWith('.xz')) return 'application/x-xz';
  if (path.endsWith('.zck')) return 'application/zchunk';
  if (path.endsWith('.xml')) return 'application/xml';
  if (path.endsWith('.asc') || path.endsWith('.key') || path.endsWith('.gpg')) return 'application/pgp-signature';
  if (path.endsWith('.rpm')) return 'application/x-rpm';
  if (path.endsWith('.deb') || path.endsWith('.udeb') || path.endsWith('.ddeb')) return 'application/vnd.debian.binary-package';
  return 'text/plain; charset=utf-8';
}

/**
 * Encoded documents by their text: a warm entry point is answered without encoding it again.
 * Bounded by bytes like every cache of a server; a new revision's documents push out the old ones.
 */
const encoded = new LruCache<string, Uint8Array<ArrayBuffer>>(4 * 1024 * 1024, (bytes) => bytes.length);
function encode(text: string): Uint8Array<ArrayBuffer> {
  let bytes = encoded.get(text);
  if (!bytes) {
    bytes = new TextEncoder().encode(text);
    encoded.set(text, bytes);
  }
  return bytes;
}

/**
 * Ready answers: whole 200 answers to GETs of public repository files, kept by the request's path
 * so that a runtime can send the same bytes again without running the app (src/runtime/node.ts
 * writes them straight to the socket). The app stays the one definition of what is answered: it
 * makes every entry, and an entry holds only while the distribution's settings (the same object:
 * not edited, retired or made private) and its current revision are those it was made under.
 * Requests that ask for something else (ranges, conditions, credentials, a query) go to the app.
 */
export interface ReadyAnswer {
  /** The answer's headers as the app sends them (a request id is added per request). */
  headers: Record<string, string>;
  body: Uint8Array;
  /** The metrics label of the route that made it. */
  route: string;
  distribution: string;
  /** The distribution's settings object it was made under (distributions are replaced, never mutated). */
  settings: object;
  /** The current revision it was made from. */
  revision: string;
  /** The signing key set of the distribution then (an entry point carries its signatures: a rotation voids it). */
  keyset: string;
  /** Runs on each GET answered from the entry, with the request's headers and path (repomd.xml notes which revision a client got). */
  onGet?: (header: (name: string) => string | undefined, path: string) => void;
}

/** Under what an answer may be kept: the distribution and revision a route answered from. */
export interface ReadyScope {
  distribution: string;
  settings: object;
  revision: string;
  keyset: string;
  onGet?: ReadyAnswer['onGet'];
}

/** Request headers that change an answer (or need the app): a request with any of them is never answered from an entry. */
export const ANSWER_CHANGING_HEADERS = ['range', 'if-range', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'authorization'] as const;

export class ReadyAnswers {
  // Off until a runtime that sends them turns them on (a Worker never does: nothing would read them).
  private lru: LruCache<string, ReadyAnswer> | null = null;

  /**
   * Starts keeping answers, at most `maxBytes` of bodies. Bodies are mostly the very arrays the
   * hot-file and document caches hold; the bound caps what entries keep alive after those caches
   * let them go.
   */
  enable(maxBytes: number): void {
    this.lru = maxBytes > 0 ? new LruCache(maxBytes, (a) => a.body.byteLength + 512) : null;
  }

  get(path: string): ReadyAnswer | undefined {
    return this.lru?.get(path);
  }

  delete(path: string): void {
    this.lru?.delete(path);
  }

  /** Answers kept now (for tests and diagnostics). */
  get size(): number {
    return this.lru?.size ?? 0;
  }

  /** Keeps a GET's whole 200 answer when nothing about the request could have shaped it. */
  offer(c: Context, scope: ReadyScope | undefined, headers: Record<string, string>, body: Uint8Array): void {
    if (!this.lru || !scope || c.req.method !== 'GET') return;
    const url = c.req.url;
    const start = url.indexOf('/', url.indexOf('//') + 2);
    const path = start < 0 ? '/' : url.slice(start);
    // The runtime looks entries up by the raw request target: keep only plain paths.
    if (path.includes('?') || path.includes('%')) return;
    for (const name of ANSWER_CHANGING_HEADERS) if (c.req.header(name) !== undefined) return;
    this.lru.set(path, { headers: { ...headers }, body, route: routeLabel(c), ...scope });
  }
}

const readyAnswers = new WeakMap<object, ReadyAnswers>();

/** The ready answers of one core (keyed by its hot-file cache, which each core has one of). */
export function readyAnswersOf(core: { hotFiles: object }): ReadyAnswers {
  let answers = readyAnswers.get(core.hotFiles);
  if (!answers) {
    answers = new ReadyAnswers();
    readyAnswers.set(core.hotFiles, answers);
  }
  return answers;
}

export function serveDocument(
  c: Context,
  path: string,
  text: string,
  etag: string,
  lastModified: Date,
  cacheControl = REVALIDATE,
  ready?: { answers: ReadyAnswers; scope: ReadyScope },
): Response {
  const headers: Record<string, string> = {
    'content-type': contentTypeFor(path),
    etag,
    'last-modified': lastModified.toUTCString(),
    'cache-control': cacheControl,
  };
  // ETag only: two revisions published within one second share a Last-Modified second, and a
  // client revalidating with If-Modified-Since (apt does) must not keep the older index.
  if (notModified(c, etag)) return new Response(null, { status: 304, headers });
  const body = encode(text);
  headers['content-length'] = String(body.length);
  ready?.answers.offer(c, ready.scope, headers, body);
  return new Response(c.req.method === 'HEAD' ? null : body, { status: 200, headers });
}

/**
 * A content-addressed file: its bytes when they are in memory (a small hot file), otherwise a
 * stream made only when the response has a body.
 */
export function serveImmutable(
  c: Context,
  path: string,
  size: number,
  etag: string,
  lastModified: Date,
  body: Uint8Array | (() => ReadableStream<Uint8Array>),
  cacheControl = IMMUTABLE,
  ready?: { answers: ReadyAnswers; scope: ReadyScope },
): Response {
  const headers: Record<string, string> = {
    'content-type': contentTypeFor(path),
    etag,
    'last-modified': lastModified.toUTCString(),
    'cache-control': cacheControl,
    'accept-ranges': 'bytes',
    'content-length': String(size),
  };
  if (notModified(c, etag)) {
    delete headers['content-length'];
    return new Response(null, { status: 304, headers });
  }
  // zchunk clients read a file's header, then the chunks they lack, as ranges (http/byte-ranges.ts).
  const ifRange = c.req.header('if-range');
  const ranges = ifRange && ifRange !== etag ? null : parseByteRanges(c.req.header('range'), size);
  if (ranges === 'invalid') {
    delete headers['content-length'];
    return new Response(null, { status: 416, headers: { ...headers, 'content-range': `bytes */${size}` } });
  }
  if (!ranges) {
    if (c.req.method === 'HEAD') return new Response(null, { status: 200, headers });
    if (body instanceof Uint8Array) {
      ready?.answers.offer(c, ready.scope, headers, body);
      return new Response(asBody(body), { status: 200, headers });
    }
    return new Response(body(), { status: 200, headers });
  }
  const source = () => (body instanceof Uint8Array ? streamOf(body) : body());
  if (ranges.length === 1) {
    const [r] = ranges as [ByteInterval];
    headers['content-range'] = `bytes ${r.start}-${r.end}/${size}`;
    headers['content-length'] = String(r.end - r.start + 1);
    if (c.req.method === 'HEAD') return new Response(null, { status: 206, headers });
    return new Response(body instanceof Uint8Array ? asBody(body.subarray(r.start, r.end + 1)) : rangesOfStream(source(), ranges), { status: 206, headers });
  }
  const boundary = `repod-${crypto.randomUUID()}`;
  const framing = multipartFraming(boundary, headers['content-type']!, ranges, size);
  headers['content-type'] = `multipart/byteranges; boundary=${boundary}`;
  headers['content-length'] = String(framing.length);
  if (c.req.method === 'HEAD') return new Response(null, { status: 206, headers });
  return new Response(rangesOfStream(source(), ranges, framing.heads, framing.tail), { status: 206, headers });
}

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

function parseRange(header: string | undefined, size: number): ByteRange | 'invalid' | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // multi-range and malformed ranges: send everything
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'invalid';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'invalid';
  return { start, end };
}

/**
 * A package file: a redirect to a presigned URL where the store can presign, otherwise sent with
 * Range, ETag and Last-Modified support: from memory when it is small (read once, kept in
 * `hotFiles` by its content-addressed key), streamed from the store when it is not.
 */
export async function serveBlob(
  c: Context,
  store: BlobStore,
  key: string,
  fileName: string,
  presignSeconds: number,
  hotFiles?: ImmutableBytesCache,
  ready?: { answers: ReadyAnswers; scope: ReadyScope },
): Promise<Response> {
  if (store.capabilities.presign && store.presign) {
    const url = await store.presign(key, { expiresInSeconds: presignSeconds, filename: fileName, contentType: contentTypeFor(fileName) });
    return new Response(null, { status: 302, headers: { location: url, 'cache-control': 'private, max-age=60' } });
  }
  const missing = () => c.json({ status: 'error', error: 'not_found', message: `${fileName} is missing from the store` }, 404);
  const hot = hotFiles?.get(key);
  if (hot) return blobFromMemory(c, fileName, hot, ready);
  const info = await store.head(key);
  if (!info) return missing();
  if (hotFiles?.fits(info.size) && c.req.method === 'GET') {
    const loaded = await hotFiles.load(key, () => store.get(key));
    if (loaded) return blobFromMemory(c, fileName, loaded, ready);
  }
  return blobResponse(c, fileName, info.size, info.etag, info.lastModified, async (range) => {
    const object = await store.get(key, range ? { range } : undefined);
    return object ? object.body : missing();
  });
}

function blobFromMemory(c: Context, fileName: string, entry: CachedBytes, ready?: { answers: ReadyAnswers; scope: ReadyScope }): Promise<Response> {
  const { bytes } = entry;
  return blobResponse(c, fileName, bytes.length, entry.etag, entry.lastModified, async (range) => (range ? bytes.subarray(range.start, range.end + 1) : bytes), ready);
}

/** The headers, conditional answers and ranges of a package response, over any source of its bytes. */
async function blobResponse(
  c: Context,
  fileName: string,
  size: number,
  storeEtag: string,
  lastModified: Date,
  body: (range: { start: number; end: number } | null) => Promise<Uint8Array | ReadableStream<Uint8Array> | Response>,
  ready?: { answers: ReadyAnswers; scope: ReadyScope },
): Promise<Response> {
  const etag = `"${storeEtag.replaceAll('"', '')}"`;
  const headers: Record<string, string> = {
    'content-type': contentTypeFor(fileName),
    etag,
    'last-modified': lastModified.toUTCString(),
    'accept-ranges': 'bytes',
    'cache-control': IMMUTABLE,
  };
  if (notModified(c, etag, lastModified)) return new Response(null, { status: 304, headers });
  const ifRange = c.req.header('if-range');
  const range = ifRange && ifRange !== etag ? null : parseRange(c.req.header('range'), size);
  if (range === 'invalid') {
    return new Response(null, { status: 416, headers: { ...headers, 'content-range': `bytes */${size}` } });
  }
  const bounds = range ? { start: range.start, end: range.end! } : null;
  const length = bounds ? bounds.end - bounds.start + 1 : size;
  headers['content-length'] = String(length);
  if (bounds) headers['content-range'] = `bytes ${bounds.start}-${bounds.end}/${size}`;
  const status = bounds ? 206 : 200;
  if (c.req.method === 'HEAD') return new Response(null, { status, headers });
  const content = await body(bounds);
  if (content instanceof Response) return content;
  if (content instanceof Uint8Array) {
    if (status === 200) ready?.answers.offer(c, ready.scope, headers, content);
    return new Response(asBody(content), { status, headers });
  }
  return new Response(content, { status, headers });
}

/** Bytes read from a store are backed by a plain ArrayBuffer (never a shared one): a valid body. */
function asBody(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}

import type { Context } from 'hono';
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

function notModified(c: Context, etag: string, lastModified?: Date): boolean {
  const inm = c.req.header('if-none-match');
  if (inm) return inm.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}` || t.trim() === '*');
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

export function serveDocument(c: Context, path: string, text: string, etag: string, lastModified: Date, cacheControl = REVALIDATE): Response {
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
    return new Response(body instanceof Uint8Array ? asBody(body) : body(), { status: 200, headers });
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
export async function serveBlob(c: Context, store: BlobStore, key: string, fileName: string, presignSeconds: number, hotFiles?: ImmutableBytesCache): Promise<Response> {
  if (store.capabilities.presign && store.presign) {
    const url = await store.presign(key, { expiresInSeconds: presignSeconds, filename: fileName, contentType: contentTypeFor(fileName) });
    return new Response(null, { status: 302, headers: { location: url, 'cache-control': 'private, max-age=60' } });
  }
  const missing = () => c.json({ status: 'error', error: 'not_found', message: `${fileName} is missing from the store` }, 404);
  const hot = hotFiles?.get(key);
  if (hot) return blobFromMemory(c, fileName, hot);
  const info = await store.head(key);
  if (!info) return missing();
  if (hotFiles?.fits(info.size) && c.req.method === 'GET') {
    const loaded = await hotFiles.load(key, () => store.get(key));
    if (loaded) return blobFromMemory(c, fileName, loaded);
  }
  return blobResponse(c, fileName, info.size, info.etag, info.lastModified, async (range) => {
    const object = await store.get(key, range ? { range } : undefined);
    return object ? object.body : missing();
  });
}

function blobFromMemory(c: Context, fileName: string, entry: CachedBytes): Promise<Response> {
  const { bytes } = entry;
  return blobResponse(c, fileName, bytes.length, entry.etag, entry.lastModified, async (range) => (range ? bytes.subarray(range.start, range.end + 1) : bytes));
}

/** The headers, conditional answers and ranges of a package response, over any source of its bytes. */
async function blobResponse(
  c: Context,
  fileName: string,
  size: number,
  storeEtag: string,
  lastModified: Date,
  body: (range: { start: number; end: number } | null) => Promise<Uint8Array | ReadableStream<Uint8Array> | Response>,
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
  return new Response(content instanceof Uint8Array ? asBody(content) : content, { status, headers });
}

/** Bytes read from a store are backed by a plain ArrayBuffer (never a shared one): a valid body. */
function asBody(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}

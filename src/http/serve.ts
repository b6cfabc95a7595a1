import type { Context } from 'hono';
import type { BlobStore, ByteRange } from '../storage/blob-store.ts';

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
  if (path.endsWith('.xml')) return 'application/xml';
  if (path.endsWith('.asc') || path.endsWith('.key') || path.endsWith('.gpg')) return 'application/pgp-signature';
  if (path.endsWith('.rpm')) return 'application/x-rpm';
  if (path.endsWith('.deb') || path.endsWith('.udeb') || path.endsWith('.ddeb')) return 'application/vnd.debian.binary-package';
  return 'text/plain; charset=utf-8';
}

export function serveDocument(c: Context, path: string, text: string, etag: string, lastModified: Date): Response {
  const headers: Record<string, string> = {
    'content-type': contentTypeFor(path),
    etag,
    'last-modified': lastModified.toUTCString(),
    'cache-control': REVALIDATE,
  };
  // ETag only: two revisions published within one second share a Last-Modified second, and a
  // client revalidating with If-Modified-Since (apt does) must not keep the older index.
  if (notModified(c, etag)) return new Response(null, { status: 304, headers });
  const body = new TextEncoder().encode(text);
  headers['content-length'] = String(body.length);
  return new Response(c.req.method === 'HEAD' ? null : body, { status: 200, headers });
}

export function serveImmutable(c: Context, path: string, size: number, etag: string, lastModified: Date, body: () => ReadableStream<Uint8Array>): Response {
  const headers: Record<string, string> = {
    'content-type': contentTypeFor(path),
    etag,
    'last-modified': lastModified.toUTCString(),
    'cache-control': IMMUTABLE,
    'content-length': String(size),
  };
  if (notModified(c, etag)) {
    delete headers['content-length'];
    return new Response(null, { status: 304, headers });
  }
  return new Response(c.req.method === 'HEAD' ? null : body(), { status: 200, headers });
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
 * A package file: a redirect to a presigned URL where the store can presign, otherwise streamed
 * with Range, ETag and Last-Modified support.
 */
export async function serveBlob(c: Context, store: BlobStore, key: string, fileName: string, presignSeconds: number): Promise<Response> {
  if (store.capabilities.presign && store.presign) {
    const url = await store.presign(key, { expiresInSeconds: presignSeconds, filename: fileName, contentType: contentTypeFor(fileName) });
    return new Response(null, { status: 302, headers: { location: url, 'cache-control': 'private, max-age=60' } });
  }
  const info = await store.head(key);
  if (!info) return c.json({ status: 'error', error: 'not_found', message: `${fileName} is missing from the store` }, 404);
  const etag = `"${info.etag.replaceAll('"', '')}"`;
  const headers: Record<string, string> = {
    'content-type': contentTypeFor(fileName),
    etag,
    'last-modified': info.lastModified.toUTCString(),
    'accept-ranges': 'bytes',
    'cache-control': IMMUTABLE,
  };
  if (notModified(c, etag, info.lastModified)) return new Response(null, { status: 304, headers });
  const ifRange = c.req.header('if-range');
  const range = ifRange && ifRange !== etag ? null : parseRange(c.req.header('range'), info.size);
  if (range === 'invalid') {
    return new Response(null, { status: 416, headers: { ...headers, 'content-range': `bytes */${info.size}` } });
  }
  const length = range ? range.end! - range.start + 1 : info.size;
  headers['content-length'] = String(length);
  if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${info.size}`;
  const status = range ? 206 : 200;
  if (c.req.method === 'HEAD') return new Response(null, { status, headers });
  const object = await store.get(key, range ? { range } : undefined);
  if (!object) return c.json({ status: 'error', error: 'not_found', message: `${fileName} is missing from the store` }, 404);
  return new Response(object.body, { status, headers });
}

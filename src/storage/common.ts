/**
 * Helpers shared by every storage driver: key validation, key order, byte ranges, body length
 * checks. Web-standard only (runs on Node and Workers).
 */
import { RepodError, StorageError } from '../errors.ts';
import { concatBytes } from '../util/bytes.ts';
import type { ByteRange } from './blob-store.ts';

/** A key or prefix the store refuses (absolute, `..`, empty segment, NUL...). The caller's fault: 400. */
export class InvalidKeyError extends RepodError {
  constructor(driver: string, key: string, reason: string) {
    super('invalid_key', `[storage] [${driver}] invalid key ${JSON.stringify(key)}: ${reason}`, { status: 400, details: { key } });
  }
}

/**
 * A byte range that starts at or beyond the end of the object (HTTP 416). `details.size` is the
 * object's size, for `Content-Range: bytes *\/size`.
 */
export class RangeNotSatisfiableError extends RepodError {
  readonly size: number;
  constructor(driver: string, key: string, range: ByteRange, size: number) {
    super('range_not_satisfiable', `[storage] [${driver}] range ${range.start}-${range.end ?? ''} of ${key} not satisfiable (size ${size})`, {
      status: 416,
      details: { key, size },
    });
    this.size = size;
  }
}

/**
 * Keys are '/'-separated relative paths: not empty, no leading '/', no empty, '.' or '..' segment,
 * no NUL or backslash, at most 1024 UTF-16 units (S3's limit is 1024 bytes of UTF-8).
 */
export function validateKey(driver: string, key: string): void {
  const reason = keyProblem(key);
  if (reason) throw new InvalidKeyError(driver, key, reason);
}

function keyProblem(key: string): string | undefined {
  if (typeof key !== 'string' || key.length === 0) return 'empty';
  if (key.length > 1024) return 'longer than 1024 characters';
  if (key.startsWith('/')) return 'absolute';
  if (key.endsWith('/')) return 'ends with /';
  if (key.includes('\0')) return 'contains NUL';
  if (key.includes('\\')) return 'contains a backslash';
  for (const segment of key.split('/')) {
    if (segment === '') return 'empty segment';
    if (segment === '.' || segment === '..') return `"${segment}" segment`;
  }
  return undefined;
}

/**
 * A list prefix: '' (everything) or the start of a key. Complete segments follow the key rules; the
 * last, partial segment (after the last '/') may be anything but NUL or backslash.
 */
export function validatePrefix(driver: string, prefix: string): void {
  if (prefix === '') return;
  let reason: string | undefined;
  if (prefix.length > 1024) reason = 'longer than 1024 characters';
  else if (prefix.startsWith('/')) reason = 'absolute';
  else if (prefix.includes('\0')) reason = 'contains NUL';
  else if (prefix.includes('\\')) reason = 'contains a backslash';
  else {
    const complete = prefix.split('/').slice(0, -1);
    const bad = complete.find((s) => s === '' || s === '.' || s === '..');
    if (bad !== undefined) reason = bad === '' ? 'empty segment' : `"${bad}" segment`;
  }
  if (reason) throw new InvalidKeyError(driver, prefix, reason);
}

/**
 * Lexicographic order of keys by Unicode code point, which is the order of their UTF-8 bytes (the
 * order S3 lists in). Plain `<` on JS strings compares UTF-16 units and disagrees for characters
 * beyond U+FFFF versus U+E000..U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Checks a requested range and resolves it against the object size: inclusive [start, end]. */
export function resolveRange(driver: string, key: string, range: ByteRange, size: number): { start: number; end: number } {
  checkRange(driver, range);
  if (range.start >= size) throw new RangeNotSatisfiableError(driver, key, range, size);
  const end = range.end === undefined ? size - 1 : Math.min(range.end, size - 1);
  return { start: range.start, end };
}

/** A malformed range is a programming error, not a store failure. */
export function checkRange(driver: string, range: ByteRange): void {
  const ok = Number.isSafeInteger(range.start) && range.start >= 0 && (range.end === undefined || (Number.isSafeInteger(range.end) && range.end >= range.start));
  if (!ok) throw new RangeError(`[storage] [${driver}] invalid byte range ${JSON.stringify(range)}`);
}

/**
 * Passes a body through while counting it; errors the stream (so the write is abandoned) when it is
 * longer or shorter than `expected`.
 */
export function checkLength(driver: string, key: string, body: ReadableStream<Uint8Array>, expected: number | undefined): ReadableStream<Uint8Array> {
  if (expected === undefined) return body;
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > expected) {
          controller.error(new StorageError(driver, `body of ${key} is longer than the declared ${expected} bytes`));
          return;
        }
        controller.enqueue(chunk);
      },
      flush(controller) {
        if (seen !== expected) controller.error(new StorageError(driver, `body of ${key} is ${seen} bytes, declared ${expected}`));
      },
    }),
  );
}

export function sizeMismatch(driver: string, key: string, actual: number, expected: number | undefined): void {
  if (expected !== undefined && actual !== expected) {
    throw new StorageError(driver, `body of ${key} is ${actual} bytes, declared ${expected}`);
  }
}

/** Reads a whole stream (memory driver, small conditional S3 puts). */
export async function collect(
  stream: ReadableStream<Uint8Array>,
  limit = Infinity,
): Promise<{ bytes: Uint8Array; complete: boolean; rest?: ReadableStreamDefaultReader<Uint8Array> }> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    if (length > limit) return { bytes: joined(parts, length), complete: false, rest: reader };
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    length += value.byteLength;
  }
  return { bytes: joined(parts, length), complete: true };
}

/** The bytes read so far as one array; a body that arrived in one piece is not copied. */
function joined(parts: Uint8Array[], length: number): Uint8Array {
  return parts.length === 1 && parts[0].byteLength === length ? parts[0] : concatBytes(parts, length);
}

/** Etags are compared without quotes and without a weak prefix whatever the store returns. */
export function normalizeEtag(etag: string): string {
  let e = etag.trim();
  if (e.startsWith('W/')) e = e.slice(2);
  if (e.length >= 2 && e.startsWith('"') && e.endsWith('"')) e = e.slice(1, -1);
  return e;
}

/**
 * The Content-Disposition a presigned download asks the store to answer with: the file name as
 * plain ASCII for every client, and the exact UTF-8 name as RFC 6266's filename* where it differs.
 */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const needsExtended = ascii !== filename;
  const encoded = encodeURIComponent(filename).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"${needsExtended ? `; filename*=UTF-8''${encoded}` : ''}`;
}

import { RepodError } from '../errors.ts';

/**
 * A small container for objects made of a JSON header and opaque byte segments (fragments and
 * chunks). The header comes first and is short, so a reader can fetch it with one ranged GET and
 * then fetch only the byte ranges it needs.
 *
 *   "RPDSEG1\n" | u32 big-endian header length | header JSON (UTF-8) | body
 */
const MAGIC = new TextEncoder().encode('RPDSEG1\n');
export const SEGMENTED_PREFIX_LENGTH = MAGIC.length + 4;
/** Headers hold one line per package of a chunk; this bounds a corrupted length field. */
const MAX_HEADER_LENGTH = 64 * 1024 * 1024;

export function encodeSegmented(header: unknown, body: Uint8Array[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const bodyLength = body.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(SEGMENTED_PREFIX_LENGTH + json.length + bodyLength);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(MAGIC.length, json.length);
  out.set(json, SEGMENTED_PREFIX_LENGTH);
  let at = SEGMENTED_PREFIX_LENGTH + json.length;
  for (const b of body) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/** Length of the header JSON, read from the first SEGMENTED_PREFIX_LENGTH bytes. */
export function segmentedHeaderLength(prefix: Uint8Array): number {
  if (prefix.length < SEGMENTED_PREFIX_LENGTH || !MAGIC.every((b, i) => prefix[i] === b)) {
    throw new RepodError('corrupt_object', 'not a segmented object (bad magic)', { status: 500 });
  }
  const length = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength).getUint32(MAGIC.length);
  if (length > MAX_HEADER_LENGTH) throw new RepodError('corrupt_object', `segmented header too long (${length} bytes)`, { status: 500 });
  return length;
}

/** Decodes a whole object (or at least its prefix and header) into header and body offset. */
export function decodeSegmented<T>(bytes: Uint8Array): { header: T; bodyOffset: number } {
  const length = segmentedHeaderLength(bytes);
  const end = SEGMENTED_PREFIX_LENGTH + length;
  if (bytes.length < end) throw new RepodError('corrupt_object', 'segmented object truncated in its header', { status: 500 });
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(SEGMENTED_PREFIX_LENGTH, end))) as T;
  return { header, bodyOffset: end };
}

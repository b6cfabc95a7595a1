/**
 * Small byte helpers shared by the streaming parsers of this folder (ar, tar, xz, zstd guard).
 * Pure code: Uint8Array only.
 */

/**
 * A FIFO of byte chunks fed by a stream. Parsers append what arrives and take whole structures
 * (headers, chunks) once enough bytes are buffered. Appended chunks are referenced, not copied:
 * callers must not modify a chunk after pushing it.
 */
export class ByteQueue {
  #chunks: Uint8Array[] = [];
  #head = 0; // offset into #chunks[0]
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The first `n` bytes (n <= length) as one contiguous array, without consuming them. */
  peek(n: number): Uint8Array {
    if (n > this.#length) throw new RangeError(`peek(${n}) with ${this.#length} bytes buffered`);
    const first = this.#chunks[0];
    if (first !== undefined && first.length - this.#head >= n) return first.subarray(this.#head, this.#head + n);
    const out = new Uint8Array(n);
    let filled = 0;
    let offset = this.#head;
    for (const chunk of this.#chunks) {
      const take = Math.min(n - filled, chunk.length - offset);
      out.set(chunk.subarray(offset, offset + take), filled);
      filled += take;
      offset = 0;
      if (filled === n) break;
    }
    return out;
  }

  /** Drops the first `n` bytes (n <= length). */
  skip(n: number): void {
    if (n > this.#length) throw new RangeError(`skip(${n}) with ${this.#length} bytes buffered`);
    this.#length -= n;
    while (n > 0) {
      const first = this.#chunks[0]!;
      const left = first.length - this.#head;
      if (n < left) {
        this.#head += n;
        return;
      }
      n -= left;
      this.#chunks.shift();
      this.#head = 0;
    }
  }

  /** Takes the first `n` bytes (n <= length) as one contiguous array. */
  take(n: number): Uint8Array {
    const out = this.peek(n);
    this.skip(n);
    return out;
  }

  /**
   * Takes up to `n` bytes without copying: the longest prefix available in the first chunk.
   * Used to pass stream content through in the pieces it arrived in.
   */
  takeSome(n: number): Uint8Array {
    const first = this.#chunks[0];
    if (first === undefined || n <= 0) return new Uint8Array(0);
    const take = Math.min(n, first.length - this.#head);
    const out = first.subarray(this.#head, this.#head + take);
    this.skip(take);
    return out;
  }

  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#length = 0;
  }
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');
const utf8Fatal = new TextDecoder('utf-8', { fatal: true });

/** Bytes up to the first NUL (or the end), decoded as ISO-8859-1 (one char per byte): for ASCII header fields. */
export function asciiField(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return latin1.decode(nul === -1 ? bytes : bytes.subarray(0, nul));
}

/** Bytes up to the first NUL (or the end), decoded as UTF-8 with U+FFFD for invalid sequences: for path names. */
export function utf8Field(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return utf8.decode(nul === -1 ? bytes : bytes.subarray(0, nul));
}

/** Strict UTF-8 decoding: undefined when the bytes are not valid UTF-8. */
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  try {
    return utf8Fatal.decode(bytes);
  } catch {
    return undefined;
  }
}

export function concatBytes(parts: readonly Uint8Array[], total?: number): Uint8Array {
  const length = total ?? parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** CRC-32 (IEEE 802.3, reflected, as in gzip and xz). */
const CRC32_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC32_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * CRC-64 (ECMA-182 polynomial, reflected, as in xz), kept as two 32-bit halves so it runs without
 * BigInt in the hot loop. `update` takes and returns [low, high].
 */
const CRC64_TABLE = (() => {
  const lo = new Uint32Array(256);
  const hi = new Uint32Array(256);
  const polyLo = 0xd7870f42;
  const polyHi = 0xc96c5795;
  for (let n = 0; n < 256; n++) {
    let l = n;
    let h = 0;
    for (let k = 0; k < 8; k++) {
      const bit = l & 1;
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
      h = h >>> 1;
      if (bit) {
        l = (l ^ polyLo) >>> 0;
        h = (h ^ polyHi) >>> 0;
      }
    }
    lo[n] = l;
    hi[n] = h;
  }
  return { lo, hi };
})();

export class Crc64 {
  #lo = 0xffffffff;
  #hi = 0xffffffff;

  update(bytes: Uint8Array): void {
    const tlo = CRC64_TABLE.lo;
    const thi = CRC64_TABLE.hi;
    let lo = this.#lo;
    let hi = this.#hi;
    for (let i = 0; i < bytes.length; i++) {
      const index = (lo ^ bytes[i]!) & 0xff;
      // (crc >>> 8) over 64 bits, then xor the table entry
      const nlo = ((lo >>> 8) | ((hi & 0xff) << 24)) >>> 0;
      const nhi = hi >>> 8;
      lo = (nlo ^ tlo[index]!) >>> 0;
      hi = (nhi ^ thi[index]!) >>> 0;
    }
    this.#lo = lo;
    this.#hi = hi;
  }

  /** The finished CRC as 8 little-endian bytes (the order xz stores it in). */
  digest(): Uint8Array {
    const lo = ~this.#lo >>> 0;
    const hi = ~this.#hi >>> 0;
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    view.setUint32(0, lo, true);
    view.setUint32(4, hi, true);
    return out;
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

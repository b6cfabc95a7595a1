/**
 * One .xz block holding one LZMA2 filter: block header, LZMA2 data, padding, CRC32 check.
 *
 * A block does not depend on anything outside itself (its LZMA2 data starts with a dictionary
 * reset), so blocks for separate slices of a file can be made at different times and placed one
 * after another between `xzStreamHeader()` and `xzStreamTrailer()`. The header records both
 * sizes, which lets a reader locate blocks, and xz --list show them, without decoding.
 *
 * Format: https://tukaani.org/xz/xz-file-format.txt, section 3.
 */
import { crc32 } from '../checksums/crc32.ts';
import { encodeLzma2 } from './lzma2.ts';

export interface XzBlockOptions {
  /**
   * Largest dictionary the block may declare (default 8 MiB). Decoders allocate the declared
   * size, so it is also their memory need; a block never declares more than its data length
   * rounded up to a valid size.
   */
  maxDictSize?: number;
  /** Match length that ends a search early, 2..273 (default 273). */
  niceLength?: number;
  /** Hash chain links followed per search (default 8): more is slower and a little smaller. */
  depth?: number;
}

export interface XzBlock {
  /** Block header + LZMA2 data + block padding + CRC32 check. */
  bytes: Uint8Array;
  /** What the index records: header + LZMA2 data + check, without the padding. */
  unpaddedSize: number;
  uncompressedSize: number;
}

export const DEFAULT_MAX_DICT_SIZE = 8 << 20;
const MIN_DICT_SIZE = 4096;
/** 1.5 GiB: larger valid sizes exist, but not inputs that would need them here. */
const MAX_DICT_SIZE = 3 << 29;
const FILTER_LZMA2 = 0x21;
/** Blocks carry a CRC32 of their uncompressed data (stream check type 0x01). */
export const CHECK_CRC32_SIZE = 4;

export function encodeXzBlock(data: Uint8Array, options: XzBlockOptions = {}): XzBlock {
  const maxDict = options.maxDictSize ?? DEFAULT_MAX_DICT_SIZE;
  if (!(maxDict >= MIN_DICT_SIZE && maxDict <= MAX_DICT_SIZE)) {
    throw new RangeError(`maxDictSize must be between ${MIN_DICT_SIZE} and ${MAX_DICT_SIZE}`);
  }
  // The smallest valid size that holds the whole input, but no more than the caller allows
  // (a maxDictSize between two valid sizes rounds down).
  let dictProp = dictSizeProperty(Math.max(data.length, MIN_DICT_SIZE));
  while (dictSizeFromProperty(dictProp) > maxDict) dictProp--;
  const lzma2 = encodeLzma2(data, {
    dictSize: dictSizeFromProperty(dictProp),
    niceLength: options.niceLength,
    depth: options.depth,
  });

  const header = blockHeader(lzma2.length, data.length, dictProp);
  const padding = (4 - (lzma2.length % 4)) % 4;
  const bytes = new Uint8Array(header.length + lzma2.length + padding + CHECK_CRC32_SIZE);
  bytes.set(header, 0);
  bytes.set(lzma2, header.length);
  writeU32(bytes, bytes.length - CHECK_CRC32_SIZE, crc32(data));
  return {
    bytes,
    unpaddedSize: header.length + lzma2.length + CHECK_CRC32_SIZE,
    uncompressedSize: data.length,
  };
}

function blockHeader(compressedSize: number, uncompressedSize: number, dictProp: number): Uint8Array {
  const fields = [
    0x40 | 0x80, // one filter; compressed and uncompressed sizes present
    ...encodeVarint(compressedSize),
    ...encodeVarint(uncompressedSize),
    ...encodeVarint(FILTER_LZMA2),
    ...encodeVarint(1), // size of the filter properties
    dictProp,
  ];
  // Size byte + fields + zero padding + CRC32, in a multiple of four bytes.
  const size = Math.ceil((1 + fields.length + 4) / 4) * 4;
  const header = new Uint8Array(size);
  header[0] = size / 4 - 1;
  header.set(fields, 1);
  writeU32(header, size - 4, crc32(header.subarray(0, size - 4)));
  return header;
}

/** Dictionary sizes are 2^n or 3 * 2^(n-1) from 4 KiB: the smallest code whose size is >= `size` (up to 1.5 GiB). */
export function dictSizeProperty(size: number): number {
  let prop = 0;
  while (dictSizeFromProperty(prop) < size) prop++;
  return prop;
}

export function dictSizeFromProperty(prop: number): number {
  return (2 | (prop & 1)) * 2 ** ((prop >>> 1) + 11);
}

/** xz variable-length integer: 7 bits per byte, least significant first, high bit = more. */
export function encodeVarint(value: number): number[] {
  const out: number[] = [];
  // Division rather than shifts: sizes may exceed 2^32.
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
  return out;
}

export function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
  bytes[offset + 2] = (value >>> 16) & 0xff;
  bytes[offset + 3] = (value >>> 24) & 0xff;
}

/**
 * The .xz stream around the blocks: stream header, then (after the blocks) the index and the
 * stream footer. Kept apart from block encoding so that blocks made at different times can be
 * joined into one stream: header + block bytes in order + trailer listing the same blocks.
 *
 * Every stream uses check type CRC32, which is what `encodeXzBlock` writes.
 *
 * Format: https://tukaani.org/xz/xz-file-format.txt, sections 2 and 4.
 */
import { crc32 } from '../checksums/crc32.ts';
import { encodeVarint, encodeXzBlock, writeU32, type XzBlockOptions } from './block.ts';

const HEADER_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const FOOTER_MAGIC = [0x59, 0x5a];
/** Stream flags: no reserved bits, check type 0x01 (CRC32). */
const STREAM_FLAGS = [0x00, 0x01];

export function xzStreamHeader(): Uint8Array {
  const out = new Uint8Array(12);
  out.set(HEADER_MAGIC, 0);
  out.set(STREAM_FLAGS, 6);
  writeU32(out, 8, crc32(out.subarray(6, 8)));
  return out;
}

/** Index (one record per block, in stream order) and stream footer. */
export function xzStreamTrailer(blocks: ReadonlyArray<{ unpaddedSize: number; uncompressedSize: number }>): Uint8Array {
  const fields: number[] = [0x00, ...encodeVarint(blocks.length)];
  for (const block of blocks) {
    if (!Number.isSafeInteger(block.unpaddedSize) || block.unpaddedSize < 5) throw new RangeError(`bad unpadded size ${block.unpaddedSize}`);
    if (!Number.isSafeInteger(block.uncompressedSize) || block.uncompressedSize < 0) {
      throw new RangeError(`bad uncompressed size ${block.uncompressedSize}`);
    }
    fields.push(...encodeVarint(block.unpaddedSize), ...encodeVarint(block.uncompressedSize));
  }
  const indexSize = Math.ceil(fields.length / 4) * 4 + 4;
  const out = new Uint8Array(indexSize + 12);
  out.set(fields, 0);
  writeU32(out, indexSize - 4, crc32(out.subarray(0, indexSize - 4)));

  // Footer: CRC32 of the backward size and flags, backward size (index size / 4 - 1), flags, magic.
  const footer = indexSize;
  writeU32(out, footer + 4, indexSize / 4 - 1);
  out.set(STREAM_FLAGS, footer + 8);
  out.set(FOOTER_MAGIC, footer + 10);
  writeU32(out, footer, crc32(out.subarray(footer + 4, footer + 10)));
  return out;
}

/** A whole .xz file holding `data` in one block (no block at all when `data` is empty). */
export function encodeXz(data: Uint8Array, options?: XzBlockOptions): Uint8Array {
  const header = xzStreamHeader();
  const blocks = data.length > 0 ? [encodeXzBlock(data, options)] : [];
  const trailer = xzStreamTrailer(blocks);
  const out = new Uint8Array(header.length + blocks.reduce((n, b) => n + b.bytes.length, 0) + trailer.length);
  let offset = 0;
  for (const part of [header, ...blocks.map((b) => b.bytes), trailer]) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

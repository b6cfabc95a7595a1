/**
 * LZMA2 framing: the LZMA stream is cut into chunks of at most 2 MiB of input and 64 KiB of
 * range-coded output, each with a control byte saying what the decoder resets before it:
 *
 *   0x00               end of the LZMA2 data
 *   0x01 / 0x02        uncompressed chunk (<= 64 KiB), with / without a dictionary reset
 *   0x80 | bits 5-6    LZMA chunk: 0 = nothing reset, 1 = state reset,
 *                      2 = state reset + new properties byte, 3 = that + dictionary reset
 *   bits 0-4           (uncompressed size - 1) >> 16 for LZMA chunks
 *
 * Data that does not compress is stored in uncompressed chunks instead. The decoder never sees
 * the discarded LZMA symbols, so the encoder's state is reset and the next LZMA chunk says so.
 * The first chunk of the data resets the dictionary, which makes every LZMA2 stream (and so every
 * xz block) decodable on its own.
 */
import { concatBytes } from '../../util/bytes.ts';
import { LzmaEncoder, PROPS_BYTE } from './lzma-encoder.ts';

const CHUNK_UNPACKED_MAX = 1 << 21;
const CHUNK_PACKED_MAX = 1 << 16;
const UNCOMPRESSED_CHUNK_MAX = 1 << 16;

export interface Lzma2Options {
  /** Dictionary size the stream declares; matches never reach further back. */
  dictSize: number;
  /** Match length that ends the search early (default 273). */
  niceLength?: number;
  /** Hash chain links followed per search (default 8). */
  depth?: number;
}

export const DEFAULT_NICE_LENGTH = 273;
export const DEFAULT_DEPTH = 8;

/** The LZMA2 data for `data`, end marker included. */
export function encodeLzma2(data: Uint8Array, options: Lzma2Options): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  const push = (part: Uint8Array): void => {
    parts.push(part);
    total += part.length;
  };

  if (data.length > 0) {
    const encoder = new LzmaEncoder(data, {
      dictSize: options.dictSize,
      niceLength: options.niceLength ?? DEFAULT_NICE_LENGTH,
      depth: options.depth ?? DEFAULT_DEPTH,
    });
    const buffer = new Uint8Array(CHUNK_PACKED_MAX);
    let needDictReset = true;
    let needProps = true;
    let needStateReset = false;

    while (encoder.position < data.length) {
      const start = encoder.position;
      const packed = encoder.encodeChunk(buffer, CHUNK_PACKED_MAX, CHUNK_UNPACKED_MAX);
      const unpacked = encoder.position - start;
      const lzmaSize = packed + (needProps ? 6 : 5);
      const storedSize = unpacked + 3 * Math.ceil(unpacked / UNCOMPRESSED_CHUNK_MAX);

      if (lzmaSize < storedSize) {
        const header = new Uint8Array(needProps ? 6 : 5);
        const reset = needDictReset ? 0x60 : needProps ? 0x40 : needStateReset ? 0x20 : 0x00;
        const u = unpacked - 1;
        const p = packed - 1;
        header[0] = 0x80 | reset | (u >>> 16);
        header[1] = (u >>> 8) & 0xff;
        header[2] = u & 0xff;
        header[3] = p >>> 8;
        header[4] = p & 0xff;
        if (needProps) header[5] = PROPS_BYTE;
        push(header);
        push(buffer.slice(0, packed));
        needDictReset = needProps = needStateReset = false;
      } else {
        for (let offset = start; offset < start + unpacked; offset += UNCOMPRESSED_CHUNK_MAX) {
          const size = Math.min(UNCOMPRESSED_CHUNK_MAX, start + unpacked - offset);
          const header = new Uint8Array(3);
          header[0] = needDictReset ? 0x01 : 0x02;
          header[1] = (size - 1) >>> 8;
          header[2] = (size - 1) & 0xff;
          push(header);
          push(data.subarray(offset, offset + size));
          needDictReset = false;
        }
        encoder.resetState();
        needStateReset = true;
      }
    }
  }
  push(new Uint8Array(1)); // end marker
  return concatBytes(parts, total);
}

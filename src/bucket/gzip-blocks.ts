import { concatBytes } from '../util/bytes.ts';
import type { EntryWithSegments } from './chunk.ts';
import type { BlockFacts, BlockPieces, BlockSum, GzipBlockCache } from './gzip-block-cache.ts';
import { crc32, crc32Combine } from './gzip-crc32.ts';

/**
 * A chunk's gzip group (one stream of one architecture or component) as one gzip member built
 * from blocks, so a change compresses only the block it lands in (invariant 5 down to the block).
 *
 * The group's entries are cut into blocks at content-defined boundaries: a block ends after an
 * entry whose key hashes to a multiple of GZIP_BLOCK_SPACING, or once it holds
 * GZIP_BLOCK_MAX_BYTES uncompressed. An insert or a removal therefore moves no boundary but those
 * of its own block. Each block is compressed on its own as raw deflate ended by a sync flush, so
 * the pieces join into one deflate stream (RFC 1951: blocks follow each other; a sync flush ends
 * on a byte boundary without a final block). Separate gzip members would each start with an empty
 * window (measured on the benchmark's packages: 16% larger with blocks of 32 entries, 35% with 16);
 * instead each block is primed with the fragment just before it (the previous block's last entry)
 * as its dictionary, which recovers all of that (the group is as small as one made in one pass):
 * neighbours in key order are versions and subpackages of one name. Only that one fragment, not
 * the whole window, so a block's segment depends on its own bytes and on one entry before it: a
 * change compresses one block, two when it changes a block's last entry or inserts one that ends
 * a block. The member is a fixed gzip header, the segments, an empty final block, and the CRC-32
 * and length of the whole (RFC 1952), the CRC-32 combined from the blocks' own.
 */
export const GZIP_BLOCK_SPACING = 16;
export const GZIP_BLOCK_MAX_BYTES = 64 * 1024;
/** Deflate looks back at most 32 KiB: more dictionary than that is never used. */
const WINDOW = 32 * 1024;

/**
 * Raw deflate of `data` (no zlib or gzip wrapper), primed with `dictionary` when given, ended by a
 * sync flush and no final block: Node's deflateRawSync with `finishFlush: Z_SYNC_FLUSH` and
 * `dictionary`. (fflate 0.8.3's `flush(true)` gave invalid streams on small inputs here: not usable as it is.)
 */
export type DeflateSegment = (data: Uint8Array, dictionary?: Uint8Array) => Uint8Array;

export interface GzipBlockCompressor {
  deflate: DeflateSegment;
  /** Segments of earlier encodes; without it every block is compressed (the bytes are the same). */
  cache?: GzipBlockCache;
}

/** Header of every group member: no file name, no time, deflate, Unix (RFC 1952 §2.3). */
const GZIP_HEADER = Uint8Array.of(0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03);
/** An empty final block with fixed codes: BFINAL 1, BTYPE 01, end-of-block, padding. */
const FINAL_BLOCK = Uint8Array.of(0x03, 0x00);

/** Whether a gzip block ends after the entry with this key (FNV-1a over UTF-16 units, then murmur3's finalizer to mix the low bits). */
export function endsGzipBlock(key: string): boolean {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % GZIP_BLOCK_SPACING === 0;
}

/** A group's entries (in order) cut into the blocks of stream s. */
export function gzipBlocks(members: readonly EntryWithSegments[], s: number): EntryWithSegments[][] {
  const blocks: EntryWithSegments[][] = [];
  let block: EntryWithSegments[] = [];
  let bytes = 0;
  for (const item of members) {
    block.push(item);
    bytes += item.segments[s].length;
    if (bytes >= GZIP_BLOCK_MAX_BYTES || endsGzipBlock(item.entry.key)) {
      blocks.push(block);
      block = [];
      bytes = 0;
    }
  }
  if (block.length > 0) blocks.push(block);
  return blocks;
}

/**
 * The gzip member of a group's entries in stream s, as parts to concatenate, with its length and
 * uncompressed length. `stream` (the stream's name) keeps cache keys of different streams apart.
 */
export function gzipGroupMember(
  stream: string,
  members: readonly EntryWithSegments[],
  s: number,
  compressor: GzipBlockCompressor,
): { parts: Uint8Array[]; length: number; rawLength: number } {
  const parts: Uint8Array[] = [GZIP_HEADER];
  let length = GZIP_HEADER.length;
  let crc = 0;
  let rawLength = 0;
  /** The entry before the block, which primes its compressor: its fragment, sum and identity. */
  let primer: { bytes: Uint8Array; sum: BlockSum; identity: string } | null = null;
  const cache = compressor.cache;
  for (const block of gzipBlocks(members, s)) {
    const pieces = block.map((m) => m.segments[s]);
    const last = pieces.length - 1;
    const made: BlockPieces = { pieces, primer: primer?.bytes ?? null };
    // Identities are JSON: no raw line breaks, so the parts of a slot cannot run into each other.
    const slot: string = cache ? `${stream}\n${primer?.identity ?? ''}\n${cache.entryIdentity(block[0].entry)}\n${cache.entryIdentity(block[last].entry)}` : '';
    let found: { segment: Uint8Array; sum: BlockSum; lastSum: BlockSum } | undefined = cache?.sameObjects(slot, made);
    if (!found) {
      const identity = cache ? block.map((m) => cache.entryIdentity(m.entry)).join('\n') : '';
      // The last fragment's own sum is needed to check the next block's primer; the rest run through.
      let head = 0;
      let headLength = 0;
      for (let i = 0; i < last; i++) {
        head = crc32(pieces[i], head);
        headLength += pieces[i].length;
      }
      const lastSum: BlockSum = { crc: crc32(pieces[last]), length: pieces[last].length };
      const sum: BlockSum = { crc: crc32Combine(head, lastSum.crc, lastSum.length), length: headLength + lastSum.length };
      const facts: BlockFacts = { identity, sum, lastSum, primer: primer?.sum ?? null };
      let segment = cache?.get(slot, facts);
      if (!segment) {
        segment = compressor.deflate(concatBytes(pieces, sum.length), primer ? primer.bytes.subarray(Math.max(0, primer.bytes.length - WINDOW)) : undefined);
        cache?.set(slot, facts, made, segment);
      }
      found = { segment, sum, lastSum };
    }
    parts.push(found.segment);
    length += found.segment.length;
    crc = crc32Combine(crc, found.sum.crc, found.sum.length);
    rawLength += found.sum.length;
    primer = { bytes: pieces[last], sum: found.lastSum, identity: cache ? cache.entryIdentity(block[last].entry) : '' };
  }
  const trailer = new Uint8Array(8);
  const view = new DataView(trailer.buffer);
  view.setUint32(0, crc, true);
  view.setUint32(4, rawLength >>> 0, true);
  parts.push(FINAL_BLOCK, trailer);
  length += FINAL_BLOCK.length + trailer.length;
  return { parts, length, rawLength };
}

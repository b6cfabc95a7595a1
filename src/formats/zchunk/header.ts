import type { Hasher } from '../../capabilities.ts';
import { concatBytes } from '../../util/bytes.ts';

/**
 * The header of a zchunk file (zchunk_format.txt of the zchunk project, version 1): the lead
 * ("\0ZCK1", overall checksum type, header length, header checksum), the preface (data checksum,
 * flags, compression type, index size), the index (chunk checksum type, chunk count, then per
 * chunk its checksum, compressed and uncompressed length) and an empty signature list.
 *
 * The writer takes chunks already compressed and hashed, so a file can be assembled from stored
 * per-package chunks: only the header is computed per file. The first chunk of every zchunk file
 * is the dictionary; repod writes none (an all-zero checksum and zero lengths, as `zck` does
 * without `-D`), so every data chunk is a plain zstd frame that decompresses on its own.
 */

/** Checksum types, as zck.h numbers them. */
export const ZCK_HASH_SHA256 = 1;
/** SHA-512 truncated to its first 16 bytes: what zck uses for chunk checksums by default. */
export const ZCK_HASH_SHA512_128 = 3;
/** Compression types. */
export const ZCK_COMP_ZSTD = 2;

const MAGIC = [0x00, 0x5a, 0x43, 0x4b, 0x31]; // "\0ZCK1"
/** Length of a SHA-512/128 chunk checksum. */
export const CHUNK_CHECKSUM_BYTES = 16;

/** One data chunk as the index lists it. */
export interface ZchunkChunk {
  /** SHA-512/128 of the compressed bytes. */
  checksum: Uint8Array;
  /** Compressed length. */
  length: number;
  /** Uncompressed length. */
  openLength: number;
}

export interface ZchunkHeader {
  bytes: Uint8Array;
  /** Hex SHA-256 of the header without its checksum field: repomd's header-checksum. */
  checksum: string;
  /** Lead, preface, index and signatures: repomd's header-size. */
  size: number;
}

/**
 * A "compressed integer": seven bits a byte, least significant first, the last byte marked by its
 * top bit (the opposite of LEB128, where the top bit marks continuation).
 */
export function compressedInt(value: number): number[] {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`zchunk integer out of range: ${value}`);
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push(v % 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v | 0x80);
  return out;
}

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * The header of a file whose data (the empty dictionary, then `chunks` in order) has the given
 * SHA-256 (hex). `sha256` makes a fresh hasher for the header checksum.
 */
export async function zchunkHeader(chunks: readonly ZchunkChunk[], dataSha256: string, sha256: () => Hasher): Promise<ZchunkHeader> {
  const index: number[] = [...compressedInt(ZCK_HASH_SHA512_128), ...compressedInt(chunks.length + 1)];
  // The dictionary entry: no dictionary.
  for (let i = 0; i < CHUNK_CHECKSUM_BYTES; i++) index.push(0);
  index.push(...compressedInt(0), ...compressedInt(0));
  const indexBytes = new Uint8Array(index.length + chunks.length * (CHUNK_CHECKSUM_BYTES + 8));
  indexBytes.set(index);
  let at = index.length;
  for (const c of chunks) {
    if (c.checksum.length !== CHUNK_CHECKSUM_BYTES) throw new RangeError('a zchunk chunk checksum is 16 bytes (SHA-512/128)');
    const lengths = [...compressedInt(c.length), ...compressedInt(c.openLength)];
    if (at + CHUNK_CHECKSUM_BYTES + lengths.length > indexBytes.length) throw new RangeError('zchunk chunk length too large');
    indexBytes.set(c.checksum, at);
    at += CHUNK_CHECKSUM_BYTES;
    indexBytes.set(lengths, at);
    at += lengths.length;
  }
  const indexPart = indexBytes.subarray(0, at);

  // Flags (a compressed integer since zchunk 1.0; the early draft's four bytes are gone): none set,
  // so no data streams, no uncompressed chunk checksums, no optional elements.
  const preface = concatBytes([fromHex(dataSha256), Uint8Array.from([...compressedInt(0), ...compressedInt(ZCK_COMP_ZSTD), ...compressedInt(indexPart.length)]), indexPart]);
  const signatures = Uint8Array.from(compressedInt(0));
  const headerLength = preface.length + signatures.length;
  const leadStart = Uint8Array.from([...MAGIC, ...compressedInt(ZCK_HASH_SHA256), ...compressedInt(headerLength)]);

  // The header checksum covers everything from the start of the file to the end of the
  // signatures except the checksum field itself, which sits at the end of the lead.
  const hasher = sha256();
  hasher.update(leadStart);
  hasher.update(preface);
  hasher.update(signatures);
  const checksum = await hasher.digest();
  const bytes = concatBytes([leadStart, fromHex(checksum), preface, signatures]);
  return { bytes, checksum, size: bytes.length };
}

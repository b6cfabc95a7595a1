import type { Hasher } from '../../capabilities.ts';
import { CHUNK_CHECKSUM_BYTES, type ZchunkChunk } from './header.ts';

/** A compressed data chunk with its index entry. */
export interface CompressedChunk extends ZchunkChunk {
  bytes: Uint8Array;
}

/**
 * One data chunk of a zchunk file: `raw` compressed on its own as one zstd frame (no dictionary),
 * and checksummed with SHA-512/128 (the first 16 bytes of its SHA-512), which is how zck tells
 * chunks apart when it fetches only the changed ones.
 */
export async function zchunkChunk(raw: Uint8Array, zstd: (data: Uint8Array) => Promise<Uint8Array>, sha512: () => Hasher): Promise<CompressedChunk> {
  const bytes = await zstd(raw);
  const hasher = sha512();
  hasher.update(bytes);
  const hex = await hasher.digest();
  const checksum = new Uint8Array(CHUNK_CHECKSUM_BYTES);
  for (let i = 0; i < CHUNK_CHECKSUM_BYTES; i++) checksum[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return { bytes, checksum, length: bytes.length, openLength: raw.length };
}

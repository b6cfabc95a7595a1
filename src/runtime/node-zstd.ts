import * as zlib from 'node:zlib';
import { compress, init } from '@bokuweb/zstd-wasm';

/**
 * zstd for the Node runtime: node:zlib's encoder where this Node has one (22.15 and later), the
 * reference library compiled to wasm otherwise (Node 20 has none). Level 9 is close to what zck
 * uses for its chunks; per-package chunks are small, so the level costs little time.
 */
const LEVEL = 9;

type ZstdSync = (data: Uint8Array, options: { params: Record<number, number> }) => Uint8Array;
const native = (zlib as unknown as { zstdCompressSync?: ZstdSync }).zstdCompressSync;
const levelParam = (zlib.constants as unknown as Record<string, number>).ZSTD_c_compressionLevel;

async function load(): Promise<(data: Uint8Array) => Uint8Array> {
  if (native && levelParam !== undefined) return (data) => new Uint8Array(native(data, { params: { [levelParam]: LEVEL } }));
  await init();
  return (data) => compress(data, LEVEL);
}

/** Ready when this module has loaded: the core's compressors are synchronous. */
export const nodeZstd: (data: Uint8Array) => Uint8Array = await load();

import * as zlib from 'node:zlib';

/**
 * zstd for the Node runtime: node:zlib's encoder where this Node has one (22.15 and later), the
 * reference library compiled to wasm otherwise (Node 20 has none). Level 9 is close to what zck
 * uses for its chunks; per-package chunks are small, so the level costs little time.
 *
 * The wasm encoder is loaded at its first use, not at startup: its instance held about 7 MiB of
 * resident memory in every server, and only distributions that serve zchunk metadata need it.
 */
const LEVEL = 9;

type ZstdSync = (data: Uint8Array, options: { params: Record<number, number> }) => Uint8Array;
const native = (zlib as unknown as { zstdCompressSync?: ZstdSync }).zstdCompressSync;
const levelParam = (zlib.constants as unknown as Record<string, number>).ZSTD_c_compressionLevel;

async function load(): Promise<(data: Uint8Array) => Uint8Array> {
  if (native && levelParam !== undefined) return (data) => new Uint8Array(native(data, { params: { [levelParam]: LEVEL } }));
  const { compress, init } = await import('@bokuweb/zstd-wasm');
  await init();
  return (data) => compress(data, LEVEL);
}

let encoder: Promise<(data: Uint8Array) => Uint8Array> | undefined;

/** One zstd frame of `data`. A failed load is tried again at the next call. */
export function nodeZstd(data: Uint8Array): Promise<Uint8Array> {
  encoder ??= load().catch((error: unknown) => {
    encoder = undefined;
    throw error;
  });
  return encoder.then((compress) => compress(data));
}

/**
 * The tests' one seeded pseudo-random generator (mulberry32): fuzzers, chunkings and generated
 * contents are the same on every run, so a failure names a seed that replays it.
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` pseudo-random bytes from `seed` (incompressible file contents). */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const next = prng(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 4) {
    const word = (next() * 4294967296) >>> 0;
    for (let k = 0; k < 4 && i + k < length; k++) out[i + k] = word >>> (8 * k);
  }
  return out;
}

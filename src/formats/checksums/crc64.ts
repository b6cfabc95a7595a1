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

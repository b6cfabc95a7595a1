/**
 * Hash-chain match finder over an input that is entirely in memory.
 *
 * The encoder always has the whole block at hand, so positions are plain indexes into the input
 * and no sliding window is copied around. One table of heads, keyed by a hash of the next six
 * bytes, starts a chain of earlier positions with the same hash, walked newest first to a bounded
 * depth.
 *
 * Why six bytes, so that shorter matches are never found: for the text this encoder is for (APT
 * and RPM metadata) they do not pay. A 4- or 5-byte match at a typical distance costs about as
 * many bits as the literals it replaces, and taking it greedily often hides a better parse. With
 * 4-byte keys the hex digests in a Packages file also put thousands of unrelated positions on
 * each chain, and walking them took half the encoding time to find nothing worth coding. On 10 MB
 * of the Debian bookworm Packages file, 6-byte keys gave 5-7% smaller output than 4- or 5-byte
 * keys (with or without extra 3- and 4-byte tables for near matches) and walked fewer links;
 * 7- and 8-byte keys were within 1% either way and slower. Repeats of recent distances, from two
 * bytes up, are still found by the encoder's repeat-distance check.
 *
 * The chain is a ring of the next power of two >= min(input length, max distance) entries, so
 * memory is bounded by the input (4 bytes per byte at most) plus the fixed-size heads. A candidate
 * older than the ring is never followed: its slot may have been reused by a newer position.
 *
 * Every position must be inserted exactly once, in order: `find` inserts the position it looks
 * at, `skip` inserts the positions a chosen match covers. Inserting twice would link a position to
 * itself and waste the chain walk.
 */

export const MATCH_LEN_MIN = 2;
export const MATCH_LEN_MAX = 273;
/** Bytes hashed to pick a chain, hence the shortest match `find` reports. */
const KEY_LEN = 6;
/** See `skip`. */
const SKIP_EDGE = 16;

export interface MatchFinderOptions {
  /** Largest distance a match may have (the LZMA dictionary size). */
  maxDistance: number;
  /** A match at least this long ends the search early. */
  niceLength: number;
}

// Multiplicative hashing: the high bits of the product are the best mixed, so they are kept.
const HASH_MUL = 0x9e3779b1 | 0;
const HASH_MIX = 0x2c1b3c6d;

export class MatchFinder {
  /** Pairs (length, distance) by increasing length, filled by `find`; distances are >= 1. */
  readonly matches = new Int32Array(2 * (MATCH_LEN_MAX + 1));

  readonly #data: Uint8Array;
  readonly #head: Int32Array;
  readonly #chain: Int32Array;
  readonly #chainMask: number;
  readonly #shift: number;
  /** Below both the ring size (stale links) and the dictionary size. */
  readonly #maxDistance: number;
  readonly #nice: number;
  /** Positions from here on have fewer than KEY_LEN bytes left and are not hashed. */
  readonly #hashEnd: number;
  #next = 0;

  constructor(data: Uint8Array, options: MatchFinderOptions) {
    this.#data = data;
    const n = data.length;
    // Heads scale with the input so small blocks do not pay for big tables; one head per two
    // input bytes keeps collisions rare up to the 1M-entry cap.
    const bits = clamp(ceilLog2(n) - 1, 10, 20);
    this.#head = new Int32Array(1 << bits).fill(-1);
    this.#shift = 32 - bits;
    const ring = 1 << clamp(ceilLog2(Math.min(Math.max(n, 1), options.maxDistance)), 0, 30);
    this.#chain = new Int32Array(ring);
    this.#chainMask = ring - 1;
    this.#maxDistance = Math.min(options.maxDistance, ring - 1);
    this.#nice = Math.min(options.niceLength, MATCH_LEN_MAX);
    this.#hashEnd = n - KEY_LEN + 1;
  }

  /**
   * Inserts `pos` (which must be the next position not yet inserted) and collects matches no
   * longer than `avail` into `matches`, following at most `depth` chain links; returns how many
   * pairs were found.
   */
  find(pos: number, avail: number, depth: number): number {
    this.#next = pos + 1;
    if (pos >= this.#hashEnd) return 0;
    const d = this.#data;
    const h = hash(d, pos) >>> this.#shift;
    let cand = this.#head[h]!;
    this.#head[h] = pos;
    const chain = this.#chain;
    const mask = this.#chainMask;
    chain[pos & mask] = cand;
    if (avail < KEY_LEN) return 0;

    const matches = this.matches;
    const minPos = pos - this.#maxDistance;
    const nice = this.#nice < avail ? this.#nice : avail;
    let count = 0;
    // A candidate counts only when longer than the best so far, so the list grows in length
    // (and, walking newest first, in distance).
    let best = KEY_LEN - 1;
    while (cand >= 0 && cand >= minPos) {
      // The byte that would make this candidate longer than the best so far is the cheapest
      // rejection test; most candidates fail it. The first byte catches hash collisions.
      if (d[cand + best] === d[pos + best] && d[cand] === d[pos]) {
        let len = 1;
        while (len < avail && d[cand + len] === d[pos + len]) len++;
        if (len > best) {
          matches[2 * count] = len;
          matches[2 * count + 1] = pos - cand;
          count++;
          best = len;
          if (len >= nice) break;
        }
      }
      // Checked before loading the next link: it is usually a cache miss.
      if (--depth === 0) break;
      cand = chain[cand & mask]!;
    }
    return count;
  }

  /**
   * Inserts the positions not yet inserted below `end` (those a chosen match covers), without
   * searching. Of a long match only the first and last SKIP_EDGE positions go in: a random table
   * write per byte is a large part of the cost on repetitive input, and the middle of a repeated
   * region is already reachable through its earlier copy.
   */
  skip(end: number): void {
    const d = this.#data;
    const head = this.#head;
    const chain = this.#chain;
    const mask = this.#chainMask;
    const shift = this.#shift;
    const stop = end < this.#hashEnd ? end : this.#hashEnd;
    let from = this.#next;
    if (stop - from > 2 * SKIP_EDGE) {
      for (const edge = from + SKIP_EDGE; from < edge; from++) {
        const h = hash(d, from) >>> shift;
        chain[from & mask] = head[h]!;
        head[h] = from;
      }
      from = stop - SKIP_EDGE;
    }
    for (let pos = from; pos < stop; pos++) {
      const h = hash(d, pos) >>> shift;
      chain[pos & mask] = head[h]!;
      head[h] = pos;
    }
    if (end > this.#next) this.#next = end;
  }
}

/** 32 well-mixed bits from the KEY_LEN bytes at `pos`. */
function hash(d: Uint8Array, pos: number): number {
  const lo = d[pos]! | (d[pos + 1]! << 8) | (d[pos + 2]! << 16) | (d[pos + 3]! << 24);
  const hi = d[pos + 4]! | (d[pos + 5]! << 8);
  return Math.imul(lo ^ Math.imul(hi, HASH_MIX), HASH_MUL);
}

function ceilLog2(n: number): number {
  return n <= 1 ? 0 : 32 - Math.clz32(n - 1);
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

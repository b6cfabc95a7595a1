/**
 * LZMA encoder for the LZMA2 filter: range coder, symbol coding and a fast greedy/lazy parser.
 *
 * The parser follows the idea of xz's "fast" mode (levels 0-3): take the longest match the hash
 * chain offers, prefer a repeated distance when it is nearly as long (it costs far fewer bits),
 * step down to a slightly shorter match when it is much closer, and look one byte ahead before
 * committing, emitting a literal when the next position starts a clearly better match. No price
 * tables are needed, which keeps the encoder simple and fast; the cost is some ratio compared
 * with an optimal parser. The match finder only reports matches of six bytes or more (see
 * match-finder.ts); shorter ones come from the repeat distances.
 *
 * Properties are fixed at lc=3, lp=0, pb=2 (the xz defaults, good for text).
 *
 * The encoder works in chunks for LZMA2: `encodeChunk` range-codes symbols until the chunk's
 * input or output limit is near, and the caller frames the result. State (probabilities, state
 * machine, repeat distances) carries over between chunks unless `resetState` is called.
 */
import { MATCH_LEN_MAX, MATCH_LEN_MIN, MatchFinder } from './match-finder.ts';

// Local copies: a transpiler may turn each read of an imported binding into a getter call.
const LEN_MIN = MATCH_LEN_MIN;
const LEN_MAX = MATCH_LEN_MAX;

const LC = 3;
const LP = 0;
const PB = 2;
/** The LZMA2 properties byte for lc/lp/pb. */
export const PROPS_BYTE = (PB * 5 + LP) * 9 + LC;

// ---- range coder ------------------------------------------------------------------------------

const PROB_BITS = 11;
const PROB_INIT = 1 << (PROB_BITS - 1);
const PROB_ONE = 1 << PROB_BITS;
const MOVE_BITS = 5;
const TWO_32 = 2 ** 32;

/**
 * `low` needs 33 bits (a carry may ripple into bytes already decided), so it is a plain number
 * rather than an int32; the last decided byte waits in `cache`, followed by `cacheSize - 1`
 * pending 0xFF bytes, until it is known whether a carry reaches them.
 *
 * `range` is an unsigned 32-bit value kept in an int32 (`-1` is 2^32 - 1), which V8 handles as a
 * small integer; `Math.imul` forms the bound. The multi-bit methods work on local copies of
 * `range` and `low` and select the outcome of each bit with masks rather than branches: the bits
 * of literals are close to random, and mispredicted branches made literal coding twice as slow.
 * A probability stays within [31, 2017], so after one bit `range` is still >= 2^17 and one 8-bit
 * shift restores it.
 */
class RangeEncoder {
  out: Uint8Array = new Uint8Array(0);
  outPos = 0;
  low = 0;
  range = -1;
  cache = 0;
  cacheSize = 1;

  /** Starts a new range-coded stream (one per LZMA2 chunk) writing into `out` from offset 0. */
  reset(out: Uint8Array): void {
    this.out = out;
    this.outPos = 0;
    this.low = 0;
    this.range = -1;
    this.cache = 0;
    this.cacheSize = 1;
  }

  /** Bytes the stream would take if it were finished now. */
  pending(): number {
    return this.outPos + this.cacheSize + 4;
  }

  bit(probs: Uint16Array, i: number, bit: number): void {
    const p = probs[i]!;
    const bound = Math.imul(this.range >>> PROB_BITS, p);
    if (bit === 0) {
      this.range = bound;
      probs[i] = p + ((PROB_ONE - p) >>> MOVE_BITS);
    } else {
      this.low += bound >>> 0;
      this.range = (this.range - bound) | 0;
      probs[i] = p - (p >>> MOVE_BITS);
    }
    if (this.range >>> 24 === 0) {
      this.range <<= 8;
      this.shiftLow();
    }
  }

  /** A `count`-bit value, most significant bit first, through a binary tree of probabilities rooted at probs[base + 1]. */
  tree(probs: Uint16Array, base: number, count: number, value: number): void {
    let range = this.range;
    let low = this.low;
    let m = 1;
    for (let i = count - 1; i >= 0; i--) {
      const b = (value >>> i) & 1;
      const p = probs[base + m]!;
      const mask = -b;
      const bound = Math.imul(range >>> PROB_BITS, p);
      low += (bound & mask) >>> 0;
      range = (bound + ((range - bound - bound) & mask)) | 0;
      probs[base + m] = p + ((((PROB_ONE - p) >>> MOVE_BITS) & ~mask) - ((p >>> MOVE_BITS) & mask));
      if (range >>> 24 === 0) {
        range <<= 8;
        this.low = low;
        this.shiftLow();
        low = this.low;
      }
      m = (m << 1) | b;
    }
    this.range = range;
    this.low = low;
  }

  /** Like `tree`, least significant bit first (distance footers and align bits). */
  reverseTree(probs: Uint16Array, base: number, count: number, value: number): void {
    let range = this.range;
    let low = this.low;
    let m = 1;
    for (let i = 0; i < count; i++) {
      const b = (value >>> i) & 1;
      const p = probs[base + m]!;
      const mask = -b;
      const bound = Math.imul(range >>> PROB_BITS, p);
      low += (bound & mask) >>> 0;
      range = (bound + ((range - bound - bound) & mask)) | 0;
      probs[base + m] = p + ((((PROB_ONE - p) >>> MOVE_BITS) & ~mask) - ((p >>> MOVE_BITS) & mask));
      if (range >>> 24 === 0) {
        range <<= 8;
        this.low = low;
        this.shiftLow();
        low = this.low;
      }
      m = (m << 1) | b;
    }
    this.range = range;
    this.low = low;
  }

  /**
   * A literal after a match: while its bits agree with those of `matchByte` (the byte at rep0),
   * they are coded with a separate set of probabilities, which learn how often that happens.
   */
  matchedLiteral(probs: Uint16Array, base: number, symbol: number, matchByte: number): void {
    let range = this.range;
    let low = this.low;
    let offs = 0x100;
    let m = 1;
    for (let i = 7; i >= 0; i--) {
      matchByte <<= 1;
      const matchBit = matchByte & offs;
      const b = (symbol >>> i) & 1;
      const k = base + offs + matchBit + m;
      const p = probs[k]!;
      const mask = -b;
      const bound = Math.imul(range >>> PROB_BITS, p);
      low += (bound & mask) >>> 0;
      range = (bound + ((range - bound - bound) & mask)) | 0;
      probs[k] = p + ((((PROB_ONE - p) >>> MOVE_BITS) & ~mask) - ((p >>> MOVE_BITS) & mask));
      // Agreeing bits keep offs (0x100); the first disagreement clears it for the rest.
      offs = matchBit ^ (offs & ~mask);
      if (range >>> 24 === 0) {
        range <<= 8;
        this.low = low;
        this.shiftLow();
        low = this.low;
      }
      m = (m << 1) | b;
    }
    this.range = range;
    this.low = low;
  }

  /** `count` bits of `value`, most significant first, each with probability one half. */
  direct(value: number, count: number): void {
    let range = this.range;
    let low = this.low;
    for (let i = count - 1; i >= 0; i--) {
      range = range >>> 1;
      if ((value >>> i) & 1) low += range;
      if (range >>> 24 === 0) {
        range <<= 8;
        this.low = low;
        this.shiftLow();
        low = this.low;
      }
    }
    this.range = range;
    this.low = low;
  }

  shiftLow(): void {
    const low = this.low;
    // The top byte is final once no carry can reach it: low is below the carry zone, or the
    // carry already happened.
    if (low < 0xff000000 || low >= TWO_32) {
      const carry = low >= TWO_32 ? 1 : 0;
      const out = this.out;
      let pos = this.outPos;
      out[pos++] = (this.cache + carry) & 0xff;
      for (let n = this.cacheSize - 1; n > 0; n--) out[pos++] = (0xff + carry) & 0xff;
      this.outPos = pos;
      this.cacheSize = 0;
      this.cache = (low >>> 24) & 0xff;
    }
    this.cacheSize++;
    this.low = (low & 0x00ffffff) * 256;
  }

  /** Writes out everything still held; returns the stream's length. */
  finish(): number {
    for (let i = 0; i < 5; i++) this.shiftLow();
    return this.outPos;
  }
}

// ---- probability layout ----------------------------------------------------------------------

const STATES = 12;
const POS_STATES = 1 << PB;
const LIT_STATE_MATCHED = 7; // states >= 7 follow a match: literals are coded against the match byte
const IS_MATCH = 0;
const IS_REP = IS_MATCH + (STATES << 4);
const IS_REP0 = IS_REP + STATES;
const IS_REP1 = IS_REP0 + STATES;
const IS_REP2 = IS_REP1 + STATES;
const IS_REP0_LONG = IS_REP2 + STATES;
const DIST_SLOT = IS_REP0_LONG + (STATES << 4);
const DIST_SPECIAL = DIST_SLOT + 4 * 64;
const DIST_ALIGN = DIST_SPECIAL + 114;
const LEN_CHOICE = 0;
const LEN_CHOICE2 = 1;
const LEN_LOW = 2;
const LEN_MID = LEN_LOW + (POS_STATES << 3);
const LEN_HIGH = LEN_MID + (POS_STATES << 3);
const LEN_SIZE = LEN_HIGH + 256;
const MATCH_LEN = DIST_ALIGN + 16;
const REP_LEN = MATCH_LEN + LEN_SIZE;
const LITERAL = REP_LEN + LEN_SIZE;
const PROBS_SIZE = LITERAL + (0x300 << (LC + LP));

/**
 * Upper bound of one symbol's output: at most 22 probability-coded bits (a probability never
 * drops below 31/2048, about 6.1 bits each) plus 26 direct bits, about 20 bytes; doubled.
 */
const SYMBOL_MAX_BYTES = 40;

export interface LzmaEncoderOptions {
  /** Declared dictionary size: no match reaches further back. */
  dictSize: number;
  /** A match this long is taken without looking further (2..273). */
  niceLength: number;
  /** Hash chain links followed per search. */
  depth: number;
}

export class LzmaEncoder {
  readonly #data: Uint8Array;
  readonly #mf: MatchFinder;
  readonly #rc = new RangeEncoder();
  readonly #probs = new Uint16Array(PROBS_SIZE);
  readonly #nice: number;
  readonly #depth: number;
  #pos = 0;
  #state = 0;
  #rep0 = 0;
  #rep1 = 0;
  #rep2 = 0;
  #rep3 = 0;
  /** The match finder already holds the matches at `#pos` (found while looking ahead). */
  #ahead = false;
  #aheadCount = 0;
  /** Consecutive positions where the search found nothing. */
  #misses = 0;

  constructor(data: Uint8Array, options: LzmaEncoderOptions) {
    this.#data = data;
    this.#nice = Math.max(LEN_MIN, Math.min(options.niceLength, LEN_MAX));
    this.#depth = Math.max(1, options.depth);
    this.#mf = new MatchFinder(data, { maxDistance: options.dictSize, niceLength: this.#nice });
    this.resetState();
  }

  /** Input bytes encoded so far. */
  get position(): number {
    return this.#pos;
  }

  /** What an LZMA2 state reset does on the decoding side. */
  resetState(): void {
    this.#probs.fill(PROB_INIT);
    this.#state = 0;
    this.#rep0 = this.#rep1 = this.#rep2 = this.#rep3 = 0;
  }

  /**
   * Encodes from the current position until `maxUnpacked` input bytes are consumed, the input
   * ends, or the output could exceed `maxPacked` bytes. Returns the range-coded length written
   * to `out`, which must hold `maxPacked` bytes; `position` tells how much input went in.
   */
  encodeChunk(out: Uint8Array, maxPacked: number, maxUnpacked: number): number {
    const rc = this.#rc;
    rc.reset(out);
    const data = this.#data;
    const mf = this.#mf;
    const matches = mf.matches;
    const nice = this.#nice;
    const end = Math.min(data.length, this.#pos + maxUnpacked);
    const outLimit = maxPacked - SYMBOL_MAX_BYTES;
    let pos = this.#pos;

    while (pos < end && rc.pending() <= outLimit) {
      const avail = Math.min(LEN_MAX, end - pos);
      let count: number;
      if (this.#ahead) {
        this.#ahead = false;
        count = this.#aheadCount;
      } else {
        // Inside a run of literals (hex digests, random bytes) deep searches keep finding
        // nothing: one link is enough to notice when the data turns repetitive again.
        count = mf.find(pos, avail, this.#misses >= MISSES_BEFORE_SHALLOW ? 1 : this.#depth);
      }

      // Longest repeat-distance match.
      let repLen = 0;
      let repIndex = 0;
      if (avail >= LEN_MIN) {
        for (let i = 0; i < 4; i++) {
          const src = pos - 1 - (i === 0 ? this.#rep0 : i === 1 ? this.#rep1 : i === 2 ? this.#rep2 : this.#rep3);
          if (src < 0 || data[src] !== data[pos] || data[src + 1] !== data[pos + 1]) continue;
          let len = 2;
          while (len < avail && data[src + len] === data[pos + len]) len++;
          if (len > repLen) {
            repLen = len;
            repIndex = i;
            if (len >= nice) break;
          }
        }
      }

      let mainLen = 0;
      let mainDist = 0;
      if (count > 0) {
        mainLen = matches[2 * count - 2]!;
        mainDist = matches[2 * count - 1]!;
        // One byte shorter but much closer is usually cheaper.
        while (count > 1 && matches[2 * count - 4]! + 1 === mainLen && mainDist >>> 7 > matches[2 * count - 3]!) {
          count--;
          mainLen = matches[2 * count - 2]!;
          mainDist = matches[2 * count - 1]!;
        }
      }

      // A repeat distance costs a few bits against a dozen or more for a new distance, so it
      // wins unless the new match is clearly longer.
      if (
        repLen >= nice ||
        (repLen >= LEN_MIN && mainLen < nice && (repLen + 1 >= mainLen || (repLen + 2 >= mainLen && mainDist > 1 << 9) || (repLen + 3 >= mainLen && mainDist > 1 << 15)))
      ) {
        this.#misses = 0;
        this.#encodeRep(pos, repIndex, repLen);
        pos += repLen;
        mf.skip(pos);
        continue;
      }
      if (mainLen === 0) {
        this.#misses++;
        this.#encodeLiteralOrShortRep(pos);
        pos++;
        continue;
      }
      this.#misses = 0;

      // Lazy step: would starting one byte later give a clearly better match? Not worth a search
      // after a long match, which the next position rarely beats by much.
      if (mainLen < LAZY_MAX_LEN && mainLen < nice && mainLen < avail) {
        const nextAvail = Math.min(LEN_MAX, end - pos - 1);
        const nextCount = mf.find(pos + 1, nextAvail, this.#depth);
        this.#ahead = true;
        this.#aheadCount = nextCount;
        if (nextCount > 0) {
          const nextLen = matches[2 * nextCount - 2]!;
          const nextDist = matches[2 * nextCount - 1]!;
          if (
            nextLen > mainLen + 1 ||
            (nextLen >= mainLen && nextDist < mainDist) ||
            (nextLen === mainLen + 1 && mainDist >>> 7 <= nextDist) ||
            (nextLen + 1 >= mainLen && mainDist >>> 7 > nextDist)
          ) {
            this.#encodeLiteralOrShortRep(pos);
            pos++;
            continue;
          }
        }
        if (this.#repAt(pos + 1, mainLen - 1, nextAvail)) {
          this.#encodeLiteralOrShortRep(pos);
          pos++;
          continue;
        }
        this.#ahead = false;
      }

      this.#encodeMatch(pos, mainDist, mainLen);
      pos += mainLen;
      mf.skip(pos);
    }

    this.#pos = pos;
    return rc.finish();
  }

  /** Whether some repeat distance matches at least `need` bytes at `pos`. */
  #repAt(pos: number, need: number, avail: number): boolean {
    if (need > avail) return false;
    const data = this.#data;
    for (let i = 0; i < 4; i++) {
      const src = pos - 1 - (i === 0 ? this.#rep0 : i === 1 ? this.#rep1 : i === 2 ? this.#rep2 : this.#rep3);
      if (src < 0) continue;
      let len = 0;
      while (len < need && data[src + len] === data[pos + len]) len++;
      if (len === need) return true;
    }
    return false;
  }

  #encodeLiteralOrShortRep(pos: number): void {
    const data = this.#data;
    const rep0Src = pos - 1 - this.#rep0;
    if (rep0Src >= 0 && data[rep0Src] === data[pos] && this.#state >= LIT_STATE_MATCHED) {
      this.#encodeShortRep(pos);
    } else {
      this.#encodeLiteral(pos);
    }
  }

  #encodeLiteral(pos: number): void {
    const rc = this.#rc;
    const probs = this.#probs;
    const data = this.#data;
    const state = this.#state;
    rc.bit(probs, IS_MATCH + (state << 4) + (pos & (POS_STATES - 1)), 0);
    const prev = pos > 0 ? data[pos - 1]! : 0;
    const base = LITERAL + 0x300 * (prev >>> (8 - LC));
    const symbol = data[pos]!;
    if (state < LIT_STATE_MATCHED) {
      rc.tree(probs, base, 8, symbol);
      this.#state = state < 4 ? 0 : state - 3;
    } else {
      rc.matchedLiteral(probs, base, symbol, data[pos - 1 - this.#rep0]!);
      this.#state = state < 10 ? state - 3 : state - 6;
    }
  }

  #encodeShortRep(pos: number): void {
    const rc = this.#rc;
    const probs = this.#probs;
    const state = this.#state;
    const posState = pos & (POS_STATES - 1);
    rc.bit(probs, IS_MATCH + (state << 4) + posState, 1);
    rc.bit(probs, IS_REP + state, 1);
    rc.bit(probs, IS_REP0 + state, 0);
    rc.bit(probs, IS_REP0_LONG + (state << 4) + posState, 0);
    this.#state = state < 7 ? 9 : 11;
  }

  #encodeRep(pos: number, index: number, len: number): void {
    const rc = this.#rc;
    const probs = this.#probs;
    const state = this.#state;
    const posState = pos & (POS_STATES - 1);
    rc.bit(probs, IS_MATCH + (state << 4) + posState, 1);
    rc.bit(probs, IS_REP + state, 1);
    if (index === 0) {
      rc.bit(probs, IS_REP0 + state, 0);
      rc.bit(probs, IS_REP0_LONG + (state << 4) + posState, 1);
    } else {
      rc.bit(probs, IS_REP0 + state, 1);
      let dist: number;
      if (index === 1) {
        rc.bit(probs, IS_REP1 + state, 0);
        dist = this.#rep1;
      } else {
        rc.bit(probs, IS_REP1 + state, 1);
        rc.bit(probs, IS_REP2 + state, index - 2);
        if (index === 3) {
          dist = this.#rep3;
          this.#rep3 = this.#rep2;
        } else {
          dist = this.#rep2;
        }
        this.#rep2 = this.#rep1;
      }
      this.#rep1 = this.#rep0;
      this.#rep0 = dist;
    }
    this.#encodeLength(REP_LEN, len, posState);
    this.#state = state < 7 ? 8 : 11;
  }

  /** A match at `distance` (>= 1) bytes back. */
  #encodeMatch(pos: number, distance: number, len: number): void {
    const rc = this.#rc;
    const probs = this.#probs;
    const state = this.#state;
    const posState = pos & (POS_STATES - 1);
    rc.bit(probs, IS_MATCH + (state << 4) + posState, 1);
    rc.bit(probs, IS_REP + state, 0);
    this.#encodeLength(MATCH_LEN, len, posState);

    const dist = distance - 1;
    const slot = distSlot(dist);
    const lenState = len < 5 ? len - 2 : 3;
    rc.tree(probs, DIST_SLOT + (lenState << 6), 6, slot);
    if (slot >= 4) {
      const footerBits = (slot >>> 1) - 1;
      const base = (2 | (slot & 1)) << footerBits;
      const reduced = dist - base;
      if (slot < 14) {
        rc.reverseTree(probs, DIST_SPECIAL + base - slot - 1, footerBits, reduced);
      } else {
        rc.direct(reduced >>> 4, footerBits - 4);
        rc.reverseTree(probs, DIST_ALIGN, 4, reduced & 15);
      }
    }
    this.#rep3 = this.#rep2;
    this.#rep2 = this.#rep1;
    this.#rep1 = this.#rep0;
    this.#rep0 = dist;
    this.#state = state < 7 ? 7 : 10;
  }

  #encodeLength(base: number, len: number, posState: number): void {
    const rc = this.#rc;
    const probs = this.#probs;
    const l = len - LEN_MIN;
    if (l < 8) {
      rc.bit(probs, base + LEN_CHOICE, 0);
      rc.tree(probs, base + LEN_LOW + (posState << 3), 3, l);
    } else {
      rc.bit(probs, base + LEN_CHOICE, 1);
      if (l < 16) {
        rc.bit(probs, base + LEN_CHOICE2, 0);
        rc.tree(probs, base + LEN_MID + (posState << 3), 3, l - 8);
      } else {
        rc.bit(probs, base + LEN_CHOICE2, 1);
        rc.tree(probs, base + LEN_HIGH, 8, l - 16);
      }
    }
  }
}

/** Matches at least this long are taken without looking one byte ahead. */
const LAZY_MAX_LEN = 64;
/** Failed searches in a row after which searches follow a single chain link. */
const MISSES_BEFORE_SHALLOW = 4;

/** Distance slot: 0-3 for distances 0-3, then two slots per power of two (top two bits). */
function distSlot(dist: number): number {
  if (dist < 4) return dist;
  const n = 31 - Math.clz32(dist);
  return (n << 1) | ((dist >>> (n - 1)) & 1);
}

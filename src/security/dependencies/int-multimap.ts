/**
 * A multimap from small non-negative integers (30-bit hashes) to small non-negative integers
 * (package slots), held in typed arrays instead of a Map of arrays.
 *
 * Why: a distribution's dependency index is kept for as long as the server runs, and V8 lets its
 * heap grow to a multiple of what is live before it collects. At 100,000 packages a heap snapshot
 * put the index's three maps at about 17 MiB. Typed arrays are memory V8 does not trace, and hold
 * an entry in 8 bytes (at most half the cells used) where a Map entry took about 20, plus an array
 * for each key with several packages.
 *
 * Layout: an open-addressing table of distinct keys (linear probing, at most half full, backward
 * shift on removal, so no tombstones). A key with one value holds it in the table; a key with more
 * holds the index of a list (a plain array of slots: the few names most packages require, like
 * `libc.so.6()(64bit)`, have one long list each).
 */
export class IntMultimap {
  private keys = new Int32Array(16); // key + 1; 0 is an empty cell
  private values = new Int32Array(16); // >= 0: the one value; < 0: -(list index + 1)
  private used = 0;
  private readonly lists: Array<number[] | undefined> = [];
  private readonly freeLists: number[] = [];

  /** Distinct keys held. */
  get size(): number {
    return this.used;
  }

  /** Bytes of the typed arrays of the table (lists of several values are on the heap). */
  get bufferBytes(): number {
    return this.keys.byteLength + this.values.byteLength;
  }

  /** The values of `key` (a list the caller must not change), empty when none. */
  get(key: number): readonly number[] {
    const cell = this.find(key);
    if (cell < 0) return NONE;
    const v = this.values[cell]!;
    return v >= 0 ? [v] : this.lists[-v - 1]!;
  }

  /** Adds `value` under `key` (a value already there is added again: callers add each once). */
  add(key: number, value: number): void {
    checkInt(key);
    checkInt(value);
    if ((this.used + 1) * 2 > this.keys.length) this.grow();
    const mask = this.keys.length - 1;
    let cell = mix(key) & mask;
    while (this.keys[cell] !== 0 && this.keys[cell] !== key + 1) cell = (cell + 1) & mask;
    if (this.keys[cell] === 0) {
      this.keys[cell] = key + 1;
      this.values[cell] = value;
      this.used++;
      return;
    }
    const v = this.values[cell]!;
    if (v < 0) {
      this.lists[-v - 1]!.push(value);
      return;
    }
    const list = [v, value];
    const at = this.freeLists.pop() ?? this.lists.length;
    this.lists[at] = list;
    this.values[cell] = -(at + 1);
  }

  /** Removes one `value` from under `key`; false when it was not there. */
  delete(key: number, value: number): boolean {
    const cell = this.find(key);
    if (cell < 0) return false;
    const v = this.values[cell]!;
    if (v >= 0) {
      if (v !== value) return false;
      this.removeCell(cell);
      return true;
    }
    const list = this.lists[-v - 1]!;
    const i = list.indexOf(value);
    if (i < 0) return false;
    list[i] = list[list.length - 1]!;
    list.pop();
    if (list.length === 1) {
      this.values[cell] = list[0]!;
      this.lists[-v - 1] = undefined;
      this.freeLists.push(-v - 1);
    }
    return true;
  }

  private find(key: number): number {
    const mask = this.keys.length - 1;
    for (let cell = mix(key) & mask; ; cell = (cell + 1) & mask) {
      const k = this.keys[cell]!;
      if (k === key + 1) return cell;
      if (k === 0) return -1;
    }
  }

  /** Empties a cell and moves later cells of its run back, so every key stays reachable from its home cell. */
  private removeCell(cell: number): void {
    const mask = this.keys.length - 1;
    let hole = cell;
    for (let next = (cell + 1) & mask; this.keys[next] !== 0; next = (next + 1) & mask) {
      const home = mix(this.keys[next]! - 1) & mask;
      // The entry at `next` may fill the hole unless its home lies cyclically in (hole, next].
      const stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (stays) continue;
      this.keys[hole] = this.keys[next]!;
      this.values[hole] = this.values[next]!;
      hole = next;
    }
    this.keys[hole] = 0;
    this.values[hole] = 0;
    this.used--;
  }

  private grow(): void {
    const keys = this.keys;
    const values = this.values;
    this.keys = new Int32Array(keys.length * 2);
    this.values = new Int32Array(keys.length * 2);
    const mask = this.keys.length - 1;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === 0) continue;
      let cell = mix(keys[i]! - 1) & mask;
      while (this.keys[cell] !== 0) cell = (cell + 1) & mask;
      this.keys[cell] = keys[i]!;
      this.values[cell] = values[i]!;
    }
  }
}

const NONE: readonly number[] = Object.freeze([]);

/** Keys are hashes already, but callers may also use small counters: spread them over the table. */
function mix(key: number): number {
  return Math.imul(key ^ (key >>> 15), 0x2c1b3c6d) >>> 0;
}

function checkInt(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0x3fffffff) throw new RangeError(`IntMultimap holds integers from 0 to 2^30 - 1, not ${n}`);
}

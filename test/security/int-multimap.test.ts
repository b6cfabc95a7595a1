/**
 * IntMultimap (the dependency index's name, path and requirer maps) against a plain model: random
 * adds and deletes over few keys (long probe runs, so removals shift entries back across the
 * table's end) and over many (growth), keys with one value and with many.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IntMultimap } from '../../src/security/dependencies/int-multimap.ts';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Runs `steps` random operations on both and compares every key after each removal and at the end. */
function compare(keys: number[], values: number, steps: number, seed: number): IntMultimap {
  const random = prng(seed);
  const map = new IntMultimap();
  const model = new Map<number, number[]>();
  const check = () => {
    assert.equal(map.size, model.size);
    for (const key of keys) assert.deepEqual([...map.get(key)].sort(), [...(model.get(key) ?? [])].sort(), `key ${key}`);
  };
  for (let step = 0; step < steps; step++) {
    const key = keys[Math.floor(random() * keys.length)]!;
    const value = Math.floor(random() * values);
    const held = model.get(key) ?? [];
    if (random() < 0.55 && !held.includes(value)) {
      map.add(key, value);
      model.set(key, [...held, value]);
    } else {
      const i = held.indexOf(value);
      assert.equal(map.delete(key, value), i >= 0, `delete ${key} ${value}`);
      if (i >= 0) {
        const rest = held.filter((v) => v !== value);
        if (rest.length > 0) model.set(key, rest);
        else model.delete(key);
      }
      if (step % 50 === 0) check();
    }
  }
  check();
  return map;
}

describe('IntMultimap', () => {
  it('agrees with a Map of lists over few keys, many values each', () => {
    compare([0, 1, 2, 3, 17, 1 << 29, 2 ** 30 - 1], 40, 20_000, 1);
  });

  it('agrees with a Map of lists in small tables (runs that wrap around the end)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = prng(seed * 31);
      compare(
        Array.from({ length: 7 + (seed % 6) }, () => Math.floor(random() * 2 ** 30)),
        2,
        400,
        seed,
      );
    }
  });

  it('agrees with a Map of lists over many keys (growth, probe runs, backward shifts)', () => {
    const random = prng(7);
    const keys = Array.from({ length: 3000 }, () => Math.floor(random() * 2 ** 30));
    const map = compare(keys, 3, 60_000, 2);
    assert.ok(map.size > 500);
  });

  it('empties to nothing and fills again', () => {
    const map = new IntMultimap();
    for (let k = 0; k < 1000; k++) for (let v = 0; v < (k % 3) + 1; v++) map.add(k * 7919, v);
    assert.equal(map.size, 1000);
    for (let k = 0; k < 1000; k++) for (let v = 0; v < (k % 3) + 1; v++) assert.ok(map.delete(k * 7919, v));
    assert.equal(map.size, 0);
    for (let k = 0; k < 1000; k++) assert.deepEqual(map.get(k * 7919), []);
    map.add(5, 1);
    assert.deepEqual(map.get(5), [1]);
  });

  it('refuses what it cannot hold', () => {
    const map = new IntMultimap();
    assert.throws(() => map.add(-1, 0), RangeError);
    assert.throws(() => map.add(2 ** 30, 0), RangeError);
    assert.throws(() => map.add(1, 1.5), RangeError);
    assert.equal(map.delete(3, 3), false);
  });
});

/**
 * RecordArena (the dependency index's package records and requirement texts) against a Map of
 * byte arrays: random adds and deletes, with enough deletes that the buffer is compacted many
 * times, and records of every size from empty to larger than the first buffer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecordArena } from '../../src/security/dependencies/record-arena.ts';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function bytesOf(random: () => number, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => Math.floor(random() * 256));
}

describe('RecordArena', () => {
  it('agrees with a Map of byte arrays through adds and deletes (ids reused, buffer compacted)', () => {
    const random = prng(7);
    const arena = new RecordArena(64);
    const model = new Map<number, Uint8Array>();
    const check = () => {
      assert.equal(arena.size, model.size);
      assert.deepEqual(
        [...arena.ids()],
        [...model.keys()].sort((a, b) => a - b),
      );
      for (const [id, bytes] of model) assert.deepEqual(arena.view(id), bytes, `record ${id}`);
    };
    let peakBuffer = 0;
    for (let step = 0; step < 20_000; step++) {
      if (model.size === 0 || random() < 0.5) {
        const length = random() < 0.02 ? 100 + Math.floor(random() * 400) : Math.floor(random() * 40);
        const bytes = bytesOf(random, length);
        // Reserves more than it writes, as a UTF-8 encoder does.
        const id = arena.add(length + 8, (into) => {
          into.set(bytes);
          return length;
        });
        assert.equal(model.has(id), false, `id ${id} given out twice`);
        model.set(id, bytes);
      } else {
        const ids = [...model.keys()];
        const id = ids[Math.floor(random() * ids.length)]!;
        assert.equal(arena.delete(id), true);
        assert.equal(arena.delete(id), false);
        assert.equal(arena.has(id), false);
        model.delete(id);
      }
      peakBuffer = Math.max(peakBuffer, arena.bufferBytes);
      if (step % 500 === 0) check();
    }
    check();
    // Memory follows what is held: with almost everything deleted, records added and deleted
    // over and over (far more bytes than the buffer) reuse the holes, and the buffer shrinks.
    for (const id of [...model.keys()].slice(1)) {
      arena.delete(id);
      model.delete(id);
    }
    const before = arena.bufferBytes;
    for (let round = 0; round < 200; round++) {
      const bytes = bytesOf(random, 600);
      const id = arena.add(600, (into) => {
        into.set(bytes);
        return 600;
      });
      assert.deepEqual(arena.view(id), bytes);
      if (round % 2 === 0) arena.delete(id);
      else model.set(id, bytes);
      if (model.size > 4) for (const old of [...model.keys()].slice(1, 3)) arena.delete(old) && model.delete(old);
    }
    check();
    assert.ok(arena.bufferBytes < before, `${arena.bufferBytes} bytes of buffers, ${before} before the deletes`);
    assert.ok(peakBuffer >= before);
  });

  it('refuses a record longer than it reserved', () => {
    const arena = new RecordArena();
    assert.throws(() => arena.add(4, () => 5), RangeError);
    assert.equal(arena.size, 0);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReadAhead } from '../../src/util/read-ahead.ts';

describe('ReadAhead', () => {
  it('keeps up to the window of reads started ahead of the item taken, and gives items in order', async () => {
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const ahead = new ReadAhead(10, 3, async (i) => {
      started.push(i);
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return i * 10;
    });
    assert.deepEqual(started, []);
    const out: number[] = [];
    for (let i = 0; i < 10; i++) {
      out.push(await ahead.take(i));
      assert.ok(started.length <= Math.min(10, i + 3), `at most the window started (${started.length} after item ${i})`);
    }
    assert.deepEqual(out, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(most, 3, 'the window of reads waited side by side');
  });

  it('reports a failed read when its item is taken, not as an unhandled rejection', async () => {
    let unhandled = 0;
    const onUnhandled = () => unhandled++;
    process.on('unhandledRejection', onUnhandled);
    try {
      const ahead = new ReadAhead(4, 4, async (i) => {
        if (i === 2) throw new Error('read 2 failed');
        await new Promise((r) => setTimeout(r, 20));
        return i;
      });
      assert.equal(await ahead.take(0), 0);
      assert.equal(await ahead.take(1), 1);
      await assert.rejects(ahead.take(2), /read 2 failed/);
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(unhandled, 0);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('refuses an item taken out of order', () => {
    const ahead = new ReadAhead(3, 2, async (i) => i);
    assert.throws(() => ahead.take(1), /out of order/);
  });
});

/**
 * The file driver's readImmutable (chunk ranges at scale): the right bytes, fewer at the end of
 * the object, null when missing, and the descriptor kept open between reads of the same object.
 */
import assert from 'node:assert/strict';
import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { measuredStore } from '../../src/storage/measured-store.ts';
import { freshFileStores } from './fresh-file-stores.ts';
import { decode, text } from './util.ts';

/** Descriptors this process holds on objects under `root` (not the store's own token files). */
async function openUnder(root: string): Promise<number> {
  let n = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(join('/proc/self/fd', fd)).catch(() => '');
    if (target.startsWith(root) && !target.startsWith(join(root, '.repod'))) n++;
  }
  return n;
}

describe('file store: readImmutable', () => {
  const stores = freshFileStores('repod-immutable-');
  after(stores.cleanup);

  it('reads a range, fewer bytes past the end, null for a missing object', async () => {
    const { store } = await stores.fresh();
    await store.put('chunks/ab/abc', text('0123456789'), { ifNoneMatch: '*' });
    assert.equal(decode((await store.readImmutable('chunks/ab/abc', 2, 6))!), '2345');
    assert.equal(decode((await store.readImmutable('chunks/ab/abc', 8, 20))!), '89');
    assert.equal((await store.readImmutable('chunks/ab/abc', 12, 20))!.length, 0);
    assert.equal(await store.readImmutable('chunks/ab/none', 0, 4), null);
  });

  it('reads into a buffer it is given, small ranges and large ones, and answers with that buffer', async () => {
    const { store } = await stores.fresh();
    const large = new Uint8Array(200_000).map((_, i) => i % 251);
    await store.put('chunks/cd/large', large, { ifNoneMatch: '*' });
    const joined = new Uint8Array(12);
    const first = await store.readImmutable('chunks/cd/large', 1000, 1004, joined.subarray(0, 4));
    const second = await store.readImmutable('chunks/cd/large', 5, 13, joined.subarray(4));
    assert.equal(first!.buffer, joined.buffer);
    assert.equal(second!.byteOffset, 4);
    assert.deepEqual([...joined], [...large.subarray(1000, 1004), ...large.subarray(5, 13)]);
    // Past 64 KiB the read goes through the thread pool, into the buffer all the same.
    const into = new Uint8Array(150_000);
    assert.equal(await store.readImmutable('chunks/cd/large', 40_000, 190_000, into), into);
    assert.deepEqual(into, large.subarray(40_000, 190_000));
    // Past the end: the start of the buffer, as long as what was read.
    const tail = await store.readImmutable('chunks/cd/large', 199_990, 200_010, new Uint8Array(20));
    assert.deepEqual([...tail!], [...large.subarray(199_990)]);
  });

  it('keeps one descriptor per object open between reads, also through the measured store', async () => {
    const { root, store } = await stores.fresh();
    for (const key of ['chunks/aa/one', 'chunks/bb/two']) await store.put(key, text(`bytes of ${key}`), { ifNoneMatch: '*' });
    const counted: string[] = [];
    const meter = {
      now: () => 0,
      storeOperations: { inc: (l: { operation: string; outcome: string }) => void counted.push(`${l.operation} ${l.outcome}`) },
      storeErrors: { inc: () => undefined },
      storeDuration: { observe: () => undefined },
    };
    const measured = measuredStore(store, meter);
    assert.equal(await openUnder(root), 0);
    for (let i = 0; i < 5; i++) {
      assert.equal(decode((await measured.readImmutable!('chunks/aa/one', 9, 12))!), 'chu');
      assert.equal(decode((await measured.readImmutable!('chunks/bb/two', 0, 5))!), 'bytes');
    }
    assert.equal(await openUnder(root), 2, 'two objects, two descriptors, after ten reads');
    assert.equal(counted.length, 10);
    assert.ok(counted.every((c) => c === 'get ok'));
    // A delete (a GC) closes the object's descriptor: its space is not held.
    await store.delete('chunks/aa/one');
    assert.equal(await openUnder(root), 1);
    assert.equal(await store.readImmutable('chunks/aa/one', 0, 5), null);
  });
});

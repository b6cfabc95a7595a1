/** The hot-file cache: one read per key however many ask at once, bounded entries and totals. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImmutableBytesCache } from '../../src/storage/immutable-bytes-cache.ts';

function source(parts: Uint8Array[]) {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const p of parts) controller.enqueue(p);
      controller.close();
    },
  });
}
const lastModified = new Date(0);

describe('ImmutableBytesCache', () => {
  it('reads a key once for concurrent misses and serves the same bytes after', async () => {
    const cache = new ImmutableBytesCache({ maxBytes: 1000, maxEntryBytes: 500 });
    let reads = 0;
    const read = async () => {
      reads++;
      return { body: source([new Uint8Array([1, 2]), new Uint8Array([3])]), etag: 'e1', lastModified };
    };
    const entries = await Promise.all([cache.load('k', read), cache.load('k', read), cache.load('k', read)]);
    assert.equal(reads, 1);
    for (const e of entries) assert.deepEqual([...e!.bytes], [1, 2, 3]);
    assert.equal(cache.get('k')?.etag, 'e1');
    assert.equal(cache.bytes, 3);
  });

  it('keeps nothing for a file larger than an entry may be, and stays within its total', async () => {
    const cache = new ImmutableBytesCache({ maxBytes: 1000, maxEntryBytes: 300 });
    assert.equal(cache.fits(301), false);
    const big = await cache.load('big', async () => ({ body: source([new Uint8Array(200), new Uint8Array(200)]), etag: 'b', lastModified }));
    assert.equal(big, null);
    assert.equal(cache.bytes, 0);
    for (let i = 0; i < 20; i++) {
      await cache.load(`k${i}`, async () => ({ body: source([new Uint8Array(250)]), etag: String(i), lastModified }));
      assert.ok(cache.bytes <= 1000, `${cache.bytes} bytes held`);
    }
    assert.ok(cache.get('k19'));
    assert.equal(cache.get('k0'), undefined);
  });

  it('holds a copy of exactly the file, not the larger buffer a stream chunk is a view of', async () => {
    const cache = new ImmutableBytesCache({ maxBytes: 1000, maxEntryBytes: 1000 });
    const pool = new Uint8Array(65536).fill(9);
    const entry = await cache.load('v', async () => ({ body: source([pool.subarray(10, 20)]), etag: 'v', lastModified }));
    assert.equal(entry!.bytes.buffer.byteLength, 10);
    assert.equal(cache.bytes, 10);
  });

  it('a read that finds nothing is not remembered', async () => {
    const cache = new ImmutableBytesCache({ maxBytes: 1000, maxEntryBytes: 1000 });
    assert.equal(await cache.load('gone', async () => null), null);
    const entry = await cache.load('gone', async () => ({ body: source([new Uint8Array([5])]), etag: 'x', lastModified }));
    assert.deepEqual([...entry!.bytes], [5]);
  });
});

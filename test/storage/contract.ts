/**
 * The BlobStore contract: one suite run against every driver (memory, file, s3 on RGW).
 * Each test works under its own key prefix, so one store serves the whole suite.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { NotFoundError, PreconditionFailedError, RepodError, StorageError } from '../../src/errors.ts';
import type { BlobStore } from '../../src/storage/blob-store.ts';
import { InvalidKeyError, RangeNotSatisfiableError } from '../../src/storage/common.ts';
import { probeConditionalWrites } from '../../src/storage/probe.ts';
import { casIncrement, decode, generated, getText, listKeys, peakMemoryGrowth, readAll, rejectsWith, streamOf, text } from './util.ts';

export * from './util.ts';

export interface ContractOptions {
  /** The driver streams (memory does not): check that a large object does not grow memory by its size. */
  boundedMemory: boolean;
  /** Size of the large streamed object (default 64 MiB). */
  largeSize?: number;
  /** Writes of identical bytes get different etags (file, memory; not S3, whose etag is the MD5). */
  etagPerWrite: boolean;
  skip?: string | false;
}

export interface ContractFixture {
  store: BlobStore;
  close?(): Promise<void>;
}

export function blobStoreContract(name: string, open: () => Promise<ContractFixture>, options: ContractOptions): void {
  describe(`BlobStore contract: ${name}`, { skip: options.skip }, () => {
    let fixture: ContractFixture;
    let store: BlobStore;
    let n = 0;
    /** A fresh prefix per test. */
    const p = () => `c${++n}-${Date.now().toString(36)}/`;

    before(async () => {
      fixture = await open();
      store = fixture.store;
    });
    after(async () => {
      await fixture?.close?.();
    });

    // First, while the process's RSS is still low: a driver that buffered the object would show.
    it('streams a large object in and out', async () => {
      const key = `${p()}large.bin`;
      const size = options.largeSize ?? 64 * 1024 * 1024;
      const { stream, sha256 } = generated(size);
      const put = await peakMemoryGrowth(() => store.put(key, stream));
      assert.equal((await store.head(key))?.size, size);
      const get = await peakMemoryGrowth(async () => {
        const object = await store.get(key);
        assert.ok(object);
        const hash = createHash('sha256');
        for await (const chunk of object.body as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
        return hash.digest('hex');
      });
      assert.equal(get.result, sha256);
      const ranged = await store.get(key, { range: { start: size - 5 } });
      assert.equal((await readAll(ranged!.body)).length, 5);
      const MiB = 1024 * 1024;
      if (options.boundedMemory) {
        assert.ok(put.growth < size / 2, `put grew live memory by ${(put.growth / MiB).toFixed(1)} MiB for a ${size / MiB} MiB object`);
        assert.ok(get.growth < size / 2, `get grew live memory by ${(get.growth / MiB).toFixed(1)} MiB for a ${size / MiB} MiB object`);
      }
      await store.delete(key);
      if (process.env.REPOD_TEST_VERBOSE) console.log(`${name}: put +${(put.growth / MiB).toFixed(1)} MiB, get +${(get.growth / MiB).toFixed(1)} MiB live memory`);
    });

    it('puts, gets and heads an object; etags agree', async () => {
      const key = `${p()}dir/hello.txt`;
      const { etag } = await store.put(key, text('hello world'), { contentType: 'text/plain' });
      assert.ok(etag && !etag.includes('"'), 'etag without quotes');
      const info = await store.head(key);
      assert.ok(info);
      assert.equal(info.key, key);
      assert.equal(info.size, 11);
      assert.equal(info.etag, etag);
      assert.ok(info.lastModified instanceof Date && Math.abs(info.lastModified.getTime() - Date.now()) < 60_000);
      const object = await store.get(key);
      assert.ok(object);
      assert.equal(object.size, 11);
      assert.equal(object.etag, etag);
      assert.equal(object.range, undefined);
      assert.equal(decode(await readAll(object.body)), 'hello world');
    });

    it('answers null for a missing object; deleting one is not an error', async () => {
      const key = `${p()}missing`;
      assert.equal(await store.get(key), null);
      assert.equal(await store.get(key, { range: { start: 0 } }), null);
      assert.equal(await store.head(key), null);
      await store.delete(key);
      assert.deepEqual(await listKeys(store, key), []);
    });

    it('stores empty objects', async () => {
      const key = `${p()}empty`;
      await store.put(key, new Uint8Array(0));
      assert.equal((await store.head(key))?.size, 0);
      assert.equal(await getText(store, key), '');
      await store.put(`${key}2`, streamOf());
      assert.equal((await store.head(`${key}2`))?.size, 0);
    });

    it('streams a body in, with and without a declared size', async () => {
      const prefix = p();
      await store.put(`${prefix}a`, streamOf(text('ab'), text('cd'), text('e')));
      await store.put(`${prefix}b`, streamOf(text('ab'), text('cd'), text('e')), { size: 5 });
      assert.equal(await getText(store, `${prefix}a`), 'abcde');
      assert.equal(await getText(store, `${prefix}b`), 'abcde');
    });

    it('refuses a body whose length differs from the declared size, writing nothing', async () => {
      const prefix = p();
      await rejectsWith(store.put(`${prefix}short`, streamOf(text('abc')), { size: 5 }), StorageError);
      await rejectsWith(store.put(`${prefix}long`, streamOf(text('abcdefg')), { size: 5 }), StorageError);
      await rejectsWith(store.put(`${prefix}bytes`, text('abc'), { size: 4 }), StorageError);
      assert.equal(await store.head(`${prefix}short`), null);
      assert.equal(await store.head(`${prefix}long`), null);
      assert.equal(await store.head(`${prefix}bytes`), null);
    });

    it('passes a body stream error through and writes nothing', async () => {
      const key = `${p()}failing`;
      const failure = new RepodError('invalid_package', 'bad package', { status: 422 });
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (!sent) {
            sent = true;
            controller.enqueue(text('partial'));
          } else controller.error(failure);
        },
      });
      const error = await rejectsWith(store.put(key, body), RepodError);
      assert.equal(error, failure);
      assert.equal(await store.head(key), null);
    });

    it('overwrites: the etag changes', async () => {
      const key = `${p()}x`;
      const a = await store.put(key, text('one'));
      const b = await store.put(key, text('two'));
      assert.notEqual(a.etag, b.etag);
      assert.equal(await getText(store, key), 'two');
      if (options.etagPerWrite) {
        const c = await store.put(key, text('two'));
        assert.notEqual(c.etag, b.etag, 'identical bytes written again get a new etag');
        assert.equal((await store.head(key))?.etag, c.etag);
      }
    });

    it('deletes', async () => {
      const key = `${p()}gone`;
      await store.put(key, text('x'));
      await store.delete(key);
      assert.equal(await store.head(key), null);
      assert.equal(await store.get(key), null);
    });

    it('lists keys under a prefix in code-point (UTF-8 byte) order with size and date', async () => {
      const prefix = p();
      const names = ['b', 'a/b', 'a-c', 'a.b', 'a0', 'a/c/d', 'ab', 'z/\u{1F600}', 'z/\uFFFD', 'z/\uE000', 'z/é', 'Z'];
      for (const name of names) await store.put(prefix + name, text(name));
      const expected = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))).map((n) => prefix + n);
      assert.deepEqual(await listKeys(store, prefix), expected);
      const entries = [];
      for await (const e of store.list(`${prefix}a-`)) entries.push(e);
      assert.equal(entries.length, 1);
      assert.equal(entries[0].key, `${prefix}a-c`);
      assert.equal(entries[0].size, 3);
      assert.ok(entries[0].lastModified instanceof Date);
      // a partial last segment matches names and directories alike; a trailing '/' only the directory
      assert.deepEqual(
        await listKeys(store, `${prefix}a`),
        expected.filter((k) => k.startsWith(`${prefix}a`)),
      );
      assert.deepEqual(await listKeys(store, `${prefix}a/`), [`${prefix}a/b`, `${prefix}a/c/d`]);
      assert.deepEqual(await listKeys(store, `${prefix}a/c/`), [`${prefix}a/c/d`]);
      assert.deepEqual(await listKeys(store, `${prefix}nothing/`), []);
      const all = await listKeys(store, '');
      for (const key of expected) assert.ok(all.includes(key), `list('') includes ${key}`);
    });

    it('lists more than one page (1000 keys per S3 page)', async () => {
      const prefix = p();
      const count = 1005;
      const keys = Array.from({ length: count }, (_, i) => `${prefix}k${String(i).padStart(5, '0')}`);
      for (let i = 0; i < count; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, text('.'))));
      assert.deepEqual(await listKeys(store, prefix), keys);
    });

    it('moves an object, overwriting the target; a missing source is NotFoundError', async () => {
      const prefix = p();
      await store.put(`${prefix}from/a`, text('payload'));
      await store.move(`${prefix}from/a`, `${prefix}to/deep/b`);
      assert.equal(await store.head(`${prefix}from/a`), null);
      assert.equal(await getText(store, `${prefix}to/deep/b`), 'payload');
      assert.deepEqual(await listKeys(store, prefix), [`${prefix}to/deep/b`]);

      await store.put(`${prefix}c`, text('new'));
      const old = await store.put(`${prefix}d`, text('old'));
      await store.move(`${prefix}c`, `${prefix}d`);
      assert.equal(await getText(store, `${prefix}d`), 'new');
      assert.notEqual((await store.head(`${prefix}d`))?.etag, old.etag);

      await rejectsWith(store.move(`${prefix}nope`, `${prefix}e`), NotFoundError);
      assert.equal(await store.head(`${prefix}e`), null);
    });

    it('moves create-only: an existing target stays and so does the source; a missing source is NotFoundError', async () => {
      const prefix = p();
      await store.put(`${prefix}from/a`, text('payload'));
      await store.move(`${prefix}from/a`, `${prefix}to/deep/a`, { ifNoneMatch: '*' });
      assert.equal(await store.head(`${prefix}from/a`), null);
      assert.equal(await getText(store, `${prefix}to/deep/a`), 'payload');
      assert.deepEqual(await listKeys(store, prefix), [`${prefix}to/deep/a`]);

      await store.put(`${prefix}b`, text('second'));
      await rejectsWith(store.move(`${prefix}b`, `${prefix}to/deep/a`, { ifNoneMatch: '*' }), PreconditionFailedError);
      assert.equal(await getText(store, `${prefix}to/deep/a`), 'payload');
      assert.equal(await getText(store, `${prefix}b`), 'second');

      await rejectsWith(store.move(`${prefix}nope`, `${prefix}c`, { ifNoneMatch: '*' }), NotFoundError);
      assert.equal(await store.head(`${prefix}c`), null);
    });

    it('reads byte ranges: start only, start-end, end beyond the end; a start beyond is 416', async () => {
      const key = `${p()}digits`;
      await store.put(key, text('0123456789'));
      const cases: [{ start: number; end?: number }, string, { start: number; end: number }][] = [
        [{ start: 3 }, '3456789', { start: 3, end: 9 }],
        [{ start: 2, end: 4 }, '234', { start: 2, end: 4 }],
        [{ start: 0, end: 0 }, '0', { start: 0, end: 0 }],
        [{ start: 9 }, '9', { start: 9, end: 9 }],
        [{ start: 7, end: 100 }, '789', { start: 7, end: 9 }],
      ];
      for (const [range, expected, actual] of cases) {
        const object = await store.get(key, { range });
        assert.ok(object);
        assert.equal(decode(await readAll(object.body)), expected, JSON.stringify(range));
        assert.deepEqual(object.range, actual);
        assert.equal(object.size, 10, 'size is the whole object');
      }
      const error = (await rejectsWith(store.get(key, { range: { start: 10 } }), RangeNotSatisfiableError)) as RangeNotSatisfiableError;
      assert.equal(error.size, 10);
      assert.equal(error.status, 416);
      await rejectsWith(store.get(key, { range: { start: 50, end: 60 } }), RangeNotSatisfiableError);
      await store.put(`${key}-empty`, new Uint8Array(0));
      await rejectsWith(store.get(`${key}-empty`, { range: { start: 0 } }), RangeNotSatisfiableError);
      await rejectsWith(store.get(key, { range: { start: 5, end: 2 } }), RangeError);
    });

    it('refuses invalid keys', async () => {
      for (const key of ['', '/abs', 'a/../b', '..', 'a//b', 'a/', './a', 'a\\b', 'a\0b']) {
        await rejectsWith(store.put(key, text('x')), InvalidKeyError);
        await rejectsWith(store.get(key), InvalidKeyError);
        await rejectsWith(store.head(key), InvalidKeyError);
        await rejectsWith(store.delete(key), InvalidKeyError);
      }
      await rejectsWith(store.move('a/../b', 'c'), InvalidKeyError);
      await rejectsWith(listKeys(store, '/x'), InvalidKeyError);
      await rejectsWith(listKeys(store, '../x'), InvalidKeyError);
    });

    it('create-only: the second put fails with PreconditionFailedError, the first stays', async () => {
      const key = `${p()}once`;
      const first = await store.put(key, text('first'), { ifNoneMatch: '*' });
      await rejectsWith(store.put(key, text('second'), { ifNoneMatch: '*' }), PreconditionFailedError);
      await rejectsWith(store.put(key, streamOf(text('third')), { ifNoneMatch: '*' }), PreconditionFailedError);
      await rejectsWith(store.put(key, streamOf(text('fourth')), { ifNoneMatch: '*', size: 6 }), PreconditionFailedError);
      assert.equal(await getText(store, key), 'first');
      assert.equal((await store.head(key))?.etag, first.etag);
      await store.put(`${key}-s`, streamOf(text('str'), text('eam')), { ifNoneMatch: '*' });
      assert.equal(await getText(store, `${key}-s`), 'stream');
    });

    it('compare-and-swap: a stale etag fails, the fresh one succeeds, quotes do not matter', async () => {
      const key = `${p()}ref`;
      const v1 = await store.put(key, text('v1'));
      const v2 = await store.put(key, text('v2'), { ifMatch: v1.etag });
      await rejectsWith(store.put(key, text('v3'), { ifMatch: v1.etag }), PreconditionFailedError);
      assert.equal(await getText(store, key), 'v2');
      const v3 = await store.put(key, text('v3'), { ifMatch: `"${v2.etag}"` });
      assert.equal(await getText(store, key), 'v3');
      await store.put(key, streamOf(text('v'), text('4')), { ifMatch: v3.etag, size: 2 });
      assert.equal(await getText(store, key), 'v4');
      await rejectsWith(store.put(`${key}-missing`, text('x'), { ifMatch: v1.etag }), PreconditionFailedError);
      assert.equal(await store.head(`${key}-missing`), null);
    });

    it('race: 50 concurrent create-only puts have exactly one winner', async () => {
      const key = `${p()}contended`;
      const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => store.put(key, text(`writer ${i}`), { ifNoneMatch: '*' })));
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(winners.length, 1, `winners: ${winners}`);
      for (const r of results) {
        if (r.status === 'rejected') assert.ok(r.reason instanceof PreconditionFailedError, `loser got ${r.reason}`);
      }
      assert.equal(await getText(store, key), `writer ${winners[0]}`);
    });

    it('race: 20 concurrent compare-and-swap increments with retry lose no update', async () => {
      const key = `${p()}counter`;
      const conflicts = await Promise.all(Array.from({ length: 20 }, () => casIncrement(store, key)));
      assert.equal(await getText(store, key), '20');
      assert.ok(conflicts.reduce((a, b) => a + b, 0) > 0, 'the increments did race');
    });

    it('probeConditionalWrites answers true', async () => {
      assert.equal(await probeConditionalWrites(store, `${p()}probe/`), true);
    });
  });
}

/**
 * The file driver's create-only puts (`ifNoneMatch: '*'`): link(2) decides, no lock is taken; and
 * the etags of every kind of write keep increasing per key.
 */
import assert from 'node:assert/strict';
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PreconditionFailedError, StorageError } from '../../src/errors.ts';
import { child, killChildren } from './file-spawn.ts';
import { freshFileStores } from './fresh-file-stores.ts';
import { getText, rejectsWith, text } from './util.ts';

after(killChildren);

/** The mtime (ns) an etag of the file store carries. */
const mtimeOf = (etag: string) => [...etag.split('.')[0]].reduce((n, c) => n * 36n + BigInt(Number.parseInt(c, 36)), 0n);

describe('file store: create-only puts', () => {
  const stores = freshFileStores('repod-create-');
  const { fresh } = stores;
  after(stores.cleanup);

  it('take no lock: the etag comes with the link and matches head', async () => {
    const locked: string[] = [];
    const { root, store } = await fresh({ hooks: { locked: (key) => void locked.push(key) } });
    const { etag } = await store.put('a/b/new', text('x'), { ifNoneMatch: '*' });
    assert.equal((await store.head('a/b/new'))?.etag, etag);
    await rejectsWith(store.put('a/b/new', text('y'), { ifNoneMatch: '*' }), PreconditionFailedError);
    assert.equal(await getText(store, 'a/b/new'), 'x');
    assert.deepEqual(locked, [], 'no create-only put took the lock');
    assert.deepEqual(await readdir(join(root, '.repod', 'tokens')), [], 'no token file was needed');
    assert.deepEqual(await readdir(join(root, '.repod', 'tmp')), []);
  });

  it('a transient put (a staged upload under a random key) is linked the same way, without the lock', async () => {
    const locked: string[] = [];
    const { root, store } = await fresh({ hooks: { locked: (key) => void locked.push(key) } });
    const body = new Blob([text('staged bytes')]).stream() as ReadableStream<Uint8Array>;
    const { etag } = await store.put('uploads/r4nd0m', body, { transient: true });
    assert.equal((await store.head('uploads/r4nd0m'))?.etag, etag);
    assert.equal(await getText(store, 'uploads/r4nd0m'), 'staged bytes');
    // Its key is fresh by contract: one that is taken is refused, never replaced.
    await rejectsWith(store.put('uploads/r4nd0m', text('other'), { transient: true }), PreconditionFailedError);
    assert.equal(await getText(store, 'uploads/r4nd0m'), 'staged bytes');
    assert.deepEqual(locked, [], 'no transient put took the lock');
    assert.deepEqual(await readdir(join(root, '.repod', 'tmp')), []);
  });

  it('processes racing create-only puts of the same keys: one winner each, the others PreconditionFailed, objects whole', async () => {
    const { root, store } = await fresh();
    const keys = Array.from({ length: 30 }, (_, i) => `race/${i % 3}/k${i}`);
    const size = 200_000;
    const startAt = Date.now() + 1500;
    const ids = ['a', 'b', 'c'];
    const children = ids.map((id) => child('create', root, keys.join(','), String(startAt), id, String(size)));
    const results = await Promise.all(children.map((c) => c.exit));
    for (const r of results) assert.equal(r.code, 0, r.stderr); // any error but PreconditionFailedError fails the child
    for (const key of keys) {
      const winners = ids.filter((_, i) => results[i].stdout.includes(`${key}=won`));
      const losers = ids.filter((_, i) => results[i].stdout.includes(`${key}=lost`));
      assert.equal(winners.length, 1, `${key}: ${results.map((r) => r.stdout.trim()).join(' | ')}`);
      assert.equal(losers.length, 2);
      assert.equal(await getText(store, key), winners[0].repeat(size), `${key} holds the whole body of its winner`);
    }
    assert.deepEqual(await readdir(join(root, '.repod', 'tmp')), [], 'losers removed their temp files');
    assert.deepEqual(await readdir(join(root, '.repod', 'tokens')), [], 'nobody locked');
  });

  it('next to locked writers of the same key: every create wins or fails cleanly, the object is whole', async () => {
    const { store } = await fresh();
    for (let round = 0; round < 10; round++) {
      const key = `mixed/${round}`;
      const body = (i: number) => text(String(i).repeat(10_000));
      const results = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => (i % 2 ? store.put(key, body(i)) : store.put(key, body(i), { ifNoneMatch: '*' }))));
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof PreconditionFailedError, String(r.reason));
      const value = await getText(store, key);
      assert.ok(value && /^(\d+)$/.test(value) && Array.from({ length: 16 }, (_, i) => String(i).repeat(10_000)).includes(value));
      const head = await store.head(key);
      const won = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ etag: string }>).value.etag);
      assert.ok(won.includes(head!.etag), 'the object there is one a put reported');
      assert.equal(new Set(won).size, won.length, 'each write its own etag');
    }
  });

  it('a directory at the key, or a file above it, is a key conflict, not a failed precondition', async () => {
    const { root, store } = await fresh();
    await store.put('d/e/f', text('x'));
    const onDir = await rejectsWith(store.put('d/e', text('x'), { ifNoneMatch: '*' }), StorageError);
    assert.ok(!(onDir instanceof PreconditionFailedError));
    assert.match(onDir.message, /conflicts with another key/);
    const underFile = await rejectsWith(store.put('d/e/f/g', text('x'), { ifNoneMatch: '*' }), StorageError);
    assert.match(underFile.message, /conflicts with another key/);
    assert.deepEqual(await readdir(join(root, '.repod', 'tmp')), []);
  });

  it('creates into parent directories that concurrent deletes keep pruning', async () => {
    const { store } = await fresh();
    for (let round = 0; round < 40; round++) {
      await store.put(`p/${round}/q/old`, text('old'));
      await Promise.all([store.delete(`p/${round}/q/old`), store.put(`p/${round}/q/new`, text('new'), { ifNoneMatch: '*' })]);
      assert.equal(await getText(store, `p/${round}/q/new`), 'new');
    }
  });

  it('etags increase per key across creates, rewrites and moves, also past an mtime ahead of the clock', async () => {
    const { root, store } = await fresh();
    const etags = [(await store.put('k', text('1'), { ifNoneMatch: '*' })).etag];
    for (let i = 0; i < 20; i++) etags.push((await store.put('k', text('1'))).etag);
    await store.put('src', text('1'));
    await store.move('src', 'k');
    etags.push((await store.head('k'))!.etag);
    for (let i = 1; i < etags.length; i++) assert.ok(mtimeOf(etags[i]) > mtimeOf(etags[i - 1]), `write ${i}: ${etags[i - 1]} -> ${etags[i]}`);
    // The object's mtime is ahead of this process's clock (another host's, a clock step back).
    const ahead = new Date(Date.now() + 60_000);
    await utimes(join(root, 'k'), ahead, ahead);
    const aheadEtag = (await store.head('k'))!.etag;
    const next = (await store.put('k', text('1'))).etag;
    assert.ok(mtimeOf(next) > mtimeOf(aheadEtag), 'a put steps above it');
    await utimes(join(root, 'k'), ahead, ahead);
    await store.put('src', text('1'));
    const before = (await store.head('k'))!.etag;
    await store.move('src', 'k');
    assert.ok(mtimeOf((await store.head('k'))!.etag) > mtimeOf(before), 'so does a move');
    // Deleted and re-created: not an etag the key had before.
    await store.delete('k');
    const again = (await store.put('k', text('1'), { ifNoneMatch: '*' })).etag;
    assert.ok(!etags.includes(again) && again !== next && again !== before);
  });
});

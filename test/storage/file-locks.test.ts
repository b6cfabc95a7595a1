/**
 * The file driver's key locks: links of pooled token files (no inode per lock), read and broken
 * across processes, in the current form and the symlink form older versions left behind.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { StorageError } from '../../src/errors.ts';
import { FileStore } from '../../src/storage/file.ts';
import { child, fabricateLock, killChildren, LOCK_FORMS, lockPath, processStart, sameMachineToken } from './file-spawn.ts';
import { freshFileStores } from './fresh-file-stores.ts';
import { getText, listKeys, rejectsWith, text } from './util.ts';

after(killChildren);

/** Every entry under DIR/.repod/ with its inode: the same set means no inode was allocated there. */
async function internalInodes(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const dir of ['tmp', 'locks', 'tokens']) {
    for (const name of await readdir(join(root, '.repod', dir))) {
      out.push(`${dir}/${name}@${(await lstat(join(root, '.repod', dir, name))).ino}`);
    }
  }
  return out.sort();
}

const tokenFilesOf = async (root: string, pid: number) => (await readdir(join(root, '.repod', 'tokens'))).filter((n) => n.startsWith(`${pid}-`));

describe('file store locks', () => {
  const stores = freshFileStores('repod-locks-');
  const { fresh } = stores;
  after(stores.cleanup);

  it('taking a lock allocates no inode: puts, moves and deletes leave .repod/ as it was', async () => {
    const root = await stores.root();
    const seen: { key: string; file: boolean; links: number; ino: number }[] = [];
    const store = await FileStore.open({
      root,
      hooks: {
        locked: async (key) => {
          const s = await lstat(lockPath(root, key));
          seen.push({ key, file: s.isFile(), links: s.nlink, ino: s.ino });
        },
      },
    });
    const round = async (r: number) => {
      for (let i = 0; i < 25; i++) {
        await store.put(`pool/${r}/c${i}`, text(`c${i}`), { ifNoneMatch: '*' });
        await store.put(`refs/${i % 3}`, text(`r${r}.${i}`));
        await store.put(`uploads/u${i}`, text(`u${i}`));
        await store.move(`uploads/u${i}`, `moved/${r}/u${i}`);
        if (i % 5 === 0) await store.delete(`moved/${r}/u${i}`);
      }
    };
    await round(0);
    const before = await internalInodes(root);
    assert.ok(
      before.some((e) => e.startsWith('tokens/')),
      'token files are made once',
    );
    assert.ok(!before.some((e) => e.startsWith('locks/') || e.startsWith('tmp/')), 'no lock or temp file left');
    for (let r = 1; r <= 3; r++) await round(r);
    assert.deepEqual(await internalInodes(root), before, 'the same entries with the same inodes: nothing created or deleted in .repod/');
    const tokenInodes = new Set(await Promise.all((await readdir(join(root, '.repod', 'tokens'))).map(async (name) => (await stat(join(root, '.repod', 'tokens', name))).ino)));
    assert.equal(seen.length, 200, 'two locked puts per step');
    for (const lock of seen) {
      assert.ok(lock.file && lock.links === 2 && tokenInodes.has(lock.ino), `lock of ${lock.key} is a link of a token file: ${JSON.stringify(lock)}`);
    }
    // A burst of concurrent locks grows the pool; it shrinks back to its cap afterwards.
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.put(`burst/${i}`, text('b'))));
    assert.ok((await readdir(join(root, '.repod', 'tokens'))).length <= 64);
    assert.deepEqual(await readdir(join(root, '.repod', 'locks')), []);
  });

  it('a lock held by a killed process is broken at once; its token files go when a store opens', async () => {
    const { root, store } = await fresh({ lockTimeoutMs: 5000 });
    await store.put('ref', text('before'));
    const c = child('hold', root, 'ref');
    await c.line(/^locked$/);
    const held = await lstat(lockPath(root, 'ref'));
    assert.ok(held.isFile() && held.nlink === 2, 'the lock is a second link of a token file');
    assert.equal(JSON.parse(await readFile(lockPath(root, 'ref'), 'utf8')).pid, c.process.pid);
    assert.equal((await tokenFilesOf(root, c.process.pid!)).length, 1);
    c.process.kill('SIGKILL');
    assert.equal((await c.exit).signal, 'SIGKILL');
    assert.equal(await getText(store, 'ref'), 'before', 'the killed write never became visible');
    const t0 = Date.now();
    await store.put('ref', text('after'));
    assert.ok(Date.now() - t0 < 2000, `recovered in ${Date.now() - t0} ms`);
    assert.equal(await getText(store, 'ref'), 'after');
    assert.deepEqual(await readdir(join(root, '.repod', 'locks')), [], 'stale lock and guard removed');
    assert.deepEqual(await listKeys(store, ''), ['ref']);
    assert.equal(await store.sweepTemp(0), 1, "the killed writer's temp file");
    await FileStore.open({ root });
    assert.deepEqual(await tokenFilesOf(root, c.process.pid!), [], 'token files of the dead process removed');
    assert.ok((await readdir(join(root, '.repod', 'tokens'))).length > 0, 'ours kept');
  });

  it('a live holder in another process is waited for, never broken; a live process keeps its token files', async () => {
    const { root, store } = await fresh({ staleLockMs: 10, lockTimeoutMs: 10_000 });
    const c = child('hold', root, 'ref', '1500');
    await c.line(/^locked$/);
    const impatient = await FileStore.open({ root, staleLockMs: 10, lockTimeoutMs: 300 });
    const error = await rejectsWith(impatient.put('ref', text('impatient')), StorageError);
    assert.match(error.message, new RegExp(`timed out .* lock of ref .* pid ${c.process.pid} `));
    let childDone = false;
    c.line(/^done$/).then(() => (childDone = true));
    await store.put('ref', text('parent'));
    const exit = await c.exit;
    assert.equal(exit.code, 0, exit.stderr);
    assert.ok(childDone || exit.stdout.includes('done'), 'the holder finished first');
    assert.equal(await getText(store, 'ref'), 'parent', 'the waiting put landed after the holder');

    const idle = child('idle', root, '4');
    await idle.line(/^idle$/);
    const files = await tokenFilesOf(root, idle.process.pid!);
    assert.ok(files.length >= 1 && files.length <= 4, `${files.length} token files`);
    assert.equal(await (await FileStore.open({ root })).sweepTokenFiles(), 0);
    assert.deepEqual(await tokenFilesOf(root, idle.process.pid!), files, 'a live process keeps its token files');
    idle.process.kill('SIGKILL');
    await idle.exit;
    assert.equal(await store.sweepTokenFiles(), files.length);
    assert.deepEqual(await tokenFilesOf(root, idle.process.pid!), []);
  });

  for (const form of LOCK_FORMS) {
    describe(`a lock written as a ${form}`, () => {
      it('of a dead owner is broken, and so is a stale guard left by a breaker that died too', async () => {
        const { root, store } = await fresh({ lockTimeoutMs: 3000 });
        const dead = child('cas', root, 'unused', '0', '0');
        const deadPid = dead.process.pid!;
        await dead.exit;
        const lock = lockPath(root, 'k');
        const staleToken = await sameMachineToken(deadPid, 'whatever');
        await fabricateLock(form, lock, staleToken);
        const guard = `${lock}.${createHash('sha256').update(staleToken).digest('hex').slice(0, 16)}`;
        await fabricateLock('symlink', guard, await sameMachineToken(deadPid, 'whatever'));
        await store.put('k', text('v'));
        assert.equal(await getText(store, 'k'), 'v');
        assert.deepEqual(await readdir(join(root, '.repod', 'locks')), []);
      });

      it('whose owner cannot be checked (another host) is broken after staleLockMs only', async () => {
        const { root, store } = await fresh({ staleLockMs: 60_000, lockTimeoutMs: 300 });
        const token = (t: number) => JSON.stringify({ v: 1, host: 'elsewhere', boot: 'b', ns: 'n', pid: 1, start: '1', t, r: crypto.randomUUID() });
        await fabricateLock(form, lockPath(root, 'k'), token(Date.now()));
        const error = await rejectsWith(store.put('k', text('v')), StorageError);
        assert.match(error.message, /timed out .* lock of k .* pid 1 on elsewhere/);
        assert.equal(await store.head('k'), null);
        await rm(lockPath(root, 'k'));
        await fabricateLock(form, lockPath(root, 'k'), token(Date.now() - 120_000));
        await store.put('k', text('v'));
        assert.equal(await getText(store, 'k'), 'v');
      });

      it('held by a live process is never broken, whatever its age', async () => {
        const { root, store } = await fresh({ staleLockMs: 10, lockTimeoutMs: 300 });
        // the test runner (our parent) is alive; its lock claims to be an hour old
        const start = await processStart(process.ppid);
        if (!start) return; // no /proc: liveness cannot be checked here
        await fabricateLock(form, lockPath(root, 'k'), await sameMachineToken(process.ppid, start, Date.now() - 3_600_000));
        await rejectsWith(store.put('k', text('v')), StorageError);
        assert.equal(await store.head('k'), null);
        await rm(lockPath(root, 'k'));
      });
    });
  }
});

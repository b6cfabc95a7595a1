import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { StorageError } from '../../src/errors.ts';
import { InvalidKeyError } from '../../src/storage/common.ts';
import { FileStore } from '../../src/storage/file.ts';
import { blobStoreContract } from './contract.ts';
import { casIncrement, getText, listKeys, rejectsWith, text } from './util.ts';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'file-child.ts');

blobStoreContract(
  'file',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'repod-file-'));
    return { store: await FileStore.open({ root: join(dir, 'data') }), close: () => rm(dir, { recursive: true, force: true }) };
  },
  { boundedMemory: true, etagPerWrite: true },
);

interface Child {
  process: ChildProcess;
  /** Resolves with the first stdout line matching. */
  line(match: RegExp): Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

const running = new Set<ChildProcess>();
after(() => {
  for (const proc of running) proc.kill('SIGKILL'); // a failed test must not leave a child hanging
});

function child(...args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  proc.on('exit', () => running.delete(proc));
  let stdout = '';
  let stderr = '';
  const waiters: { match: RegExp; resolve: (line: string) => void }[] = [];
  proc.stdout!.on('data', (d) => {
    stdout += d;
    for (const w of [...waiters]) {
      const line = stdout.split('\n').find((l) => w.match.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  proc.stderr!.on('data', (d) => (stderr += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    process: proc,
    exit,
    line: (match) =>
      new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        exit.then(({ code, stderr: err }) => reject(new Error(`child exited (${code}) before printing ${match}: ${err}`)));
      }),
  };
}

function lockPath(root: string, key: string): string {
  return join(root, '.repod', 'locks', `${createHash('sha256').update(key).digest('hex').slice(0, 40)}.lock`);
}

async function sameMachineToken(pid: number, start: string, t = Date.now()): Promise<string> {
  return JSON.stringify({
    v: 1,
    host: hostname(),
    boot: (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim(),
    ns: await readlink('/proc/self/ns/pid').catch(() => ''),
    pid,
    start,
    t,
    r: crypto.randomUUID(),
  });
}

describe('file driver', () => {
  let dir: string;
  let n = 0;
  const fresh = async (options: Partial<ConstructorParameters<typeof FileStore>[0]> = {}) => {
    const root = join(dir, `s${++n}`);
    return { root, store: await FileStore.open({ root, ...options }) };
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repod-file-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps objects at their natural path, bookkeeping under .repod/ (never listed, never a key)', async () => {
    const { root, store } = await fresh();
    await store.put('pool/ab/abc.rpm', text('x'));
    assert.equal(await readFile(join(root, 'pool/ab/abc.rpm'), 'utf8'), 'x');
    assert.ok(existsSync(join(root, '.repod', 'tmp')));
    assert.deepEqual(await listKeys(store, ''), ['pool/ab/abc.rpm']);
    assert.deepEqual(await listKeys(store, '.'), []);
    assert.deepEqual(await listKeys(store, '.repod/'), []);
    assert.deepEqual(await listKeys(store, '.repod/tmp/'), []);
    await rejectsWith(store.put('.repod/tmp/x', text('x')), InvalidKeyError);
    await rejectsWith(store.get('.repod'), InvalidKeyError);
    assert.deepEqual(await readdir(join(root, '.repod', 'tmp')), [], 'no temp file left behind');
    assert.deepEqual(await readdir(join(root, '.repod', 'locks')), [], 'no lock left behind');
  });

  it('a write in progress is invisible: no partial object, no temp file under the key or in a listing', async () => {
    const { root, store } = await fresh();
    await store.put('k', text('old'));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        pulls++;
        if (pulls === 1) controller.enqueue(new Uint8Array(300_000).fill(65));
        else if (pulls === 2) {
          await gate;
          controller.enqueue(new Uint8Array(10).fill(66));
        } else controller.close();
      },
    });
    const writing = store.put('k', body);
    while (pulls < 2) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await getText(store, 'k'), 'old');
    assert.equal((await store.head('k'))?.size, 3);
    assert.deepEqual(await listKeys(store, ''), ['k']);
    assert.equal((await readdir(join(root, '.repod', 'tmp'))).length, 1, 'the body goes to a temp file');
    release();
    await writing;
    assert.equal((await store.head('k'))?.size, 300_010);
    assert.deepEqual(await readdir(join(root, '.repod', 'tmp')), []);
  });

  it('a key cannot also be a directory of other keys; deletes prune empty directories', async () => {
    const { root, store } = await fresh();
    await store.put('a', text('file'));
    await rejectsWith(store.put('a/b', text('x')), StorageError);
    await store.put('d/e/f', text('x'));
    await rejectsWith(store.put('d/e', text('x')), StorageError);
    assert.equal(await store.head('d/e'), null);
    assert.equal(await store.get('d'), null);
    await store.delete('d/e'); // a directory is not an object: nothing to delete
    await store.delete('d/e/f');
    assert.ok(!existsSync(join(root, 'd')), 'empty parents removed');
    assert.ok(existsSync(root));
    await store.put('d/e/f', text('again'));
    assert.equal(await getText(store, 'd/e/f'), 'again');
  });

  it('two processes: compare-and-swap increments from several processes lose no update', async () => {
    const { root, store } = await fresh();
    const startAt = Date.now() + 1500;
    const children = Array.from({ length: 3 }, () => child('cas', root, 'counter', '15', String(startAt)));
    while (Date.now() < startAt) await new Promise((r) => setTimeout(r, 5));
    let conflicts = 0;
    for (let i = 0; i < 15; i++) conflicts += await casIncrement(store, 'counter');
    const results = await Promise.all(children.map((c) => c.exit));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    assert.equal(await getText(store, 'counter'), '60');
    conflicts += results.reduce((sum, r) => sum + Number(/conflicts=(\d+)/.exec(r.stdout)?.[1] ?? 0), 0);
    assert.ok(conflicts > 0, 'the processes did race');
  });

  it('two store objects on one directory in one process: create-only still has one winner', async () => {
    // A lock held by the other object of this process is alive, not a leaked lock to break.
    const { root } = await fresh();
    for (let round = 0; round < 20; round++) {
      const stores = [await FileStore.open({ root }), await FileStore.open({ root })];
      const key = `twin/${round}/new-dir/key`;
      const results = await Promise.allSettled(Array.from({ length: 24 }, (_, i) => stores[i % 2].put(key, text(String(i)), { ifNoneMatch: '*' })));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}: exactly one create wins`);
    }
  });

  it('two processes: create-only has exactly one winner per key across processes', async () => {
    const { root, store } = await fresh();
    const keys = Array.from({ length: 20 }, (_, i) => `once/${i}`);
    const startAt = Date.now() + 1500;
    const children = ['a', 'b', 'c'].map((id) => child('create', root, keys.join(','), String(startAt), id));
    const results = await Promise.all(children.map((c) => c.exit));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    for (const key of keys) {
      const winners = results.filter((r) => r.stdout.includes(`${key}=won`));
      assert.equal(winners.length, 1, `${key}: ${results.map((r) => r.stdout.trim()).join(' | ')}`);
      assert.ok(['a', 'b', 'c'].includes((await getText(store, key))!));
    }
  });

  it('a writer killed (kill -9) while holding a key lock does not wedge the key', async () => {
    const { root, store } = await fresh({ lockTimeoutMs: 5000 });
    await store.put('ref', text('before'));
    const c = child('hold', root, 'ref');
    await c.line(/^locked$/);
    assert.ok((await lstat(lockPath(root, 'ref'))).isSymbolicLink(), 'the child holds the lock');
    c.process.kill('SIGKILL');
    assert.equal((await c.exit).signal, 'SIGKILL');
    assert.equal(await getText(store, 'ref'), 'before', 'the killed write never became visible');
    const t0 = Date.now();
    await store.put('ref', text('after'));
    assert.ok(Date.now() - t0 < 2000, `recovered in ${Date.now() - t0} ms`);
    assert.equal(await getText(store, 'ref'), 'after');
    assert.deepEqual(await readdir(join(root, '.repod', 'locks')), [], 'stale lock and guard removed');
    // the killed writer's temp file stays in .repod/tmp until swept; it is never listed
    assert.deepEqual(await listKeys(store, ''), ['ref']);
    assert.equal(await store.sweepTemp(0), 1);
  });

  it('a writer killed mid-stream leaves only a temp file, never listed, swept later', async () => {
    const { root, store } = await fresh();
    const c = child('stream', root, 'big');
    await c.line(/^streaming$/);
    c.process.kill('SIGKILL');
    await c.exit;
    assert.equal(await store.head('big'), null);
    assert.deepEqual(await listKeys(store, ''), []);
    assert.equal((await readdir(join(root, '.repod', 'tmp'))).length, 1);
    assert.equal(await store.sweepTemp(60_000), 0, 'a recent temp file may belong to a live writer');
    assert.equal(await store.sweepTemp(0), 1);
    assert.deepEqual(await readdir(join(root, '.repod', 'tmp')), []);
  });

  it('breaks a lock of a dead owner, and a stale guard left by a breaker that died too', async () => {
    const { root, store } = await fresh({ lockTimeoutMs: 3000 });
    const dead = child('cas', root, 'unused', '0', '0');
    const deadPid = dead.process.pid!;
    await dead.exit;
    const lock = lockPath(root, 'k');
    const staleToken = await sameMachineToken(deadPid, 'whatever');
    await symlink(staleToken, lock);
    const guard = `${lock}.${createHash('sha256').update(staleToken).digest('hex').slice(0, 16)}`;
    await symlink(await sameMachineToken(deadPid, 'whatever'), guard);
    await store.put('k', text('v'));
    assert.equal(await getText(store, 'k'), 'v');
    assert.deepEqual(await readdir(join(root, '.repod', 'locks')), []);
  });

  it('a lock whose owner cannot be checked (another host) is broken after staleLockMs only', async () => {
    const { root, store } = await fresh({ staleLockMs: 60_000, lockTimeoutMs: 300 });
    const token = (t: number) => JSON.stringify({ v: 1, host: 'elsewhere', boot: 'b', ns: 'n', pid: 1, start: '1', t, r: crypto.randomUUID() });
    await symlink(token(Date.now()), lockPath(root, 'k'));
    const error = await rejectsWith(store.put('k', text('v')), StorageError);
    assert.match(error.message, /timed out .* lock of k .* pid 1 on elsewhere/);
    assert.equal(await store.head('k'), null);
    await rm(lockPath(root, 'k'));
    await symlink(token(Date.now() - 120_000), lockPath(root, 'k'));
    await store.put('k', text('v'));
    assert.equal(await getText(store, 'k'), 'v');
  });

  it('a lock held by a live process is never broken, whatever its age', async () => {
    const { root, store } = await fresh({ staleLockMs: 10, lockTimeoutMs: 300 });
    // the test runner (our parent) is alive; its lock claims to be an hour old
    const parentStat = await readFile(`/proc/${process.ppid}/stat`, 'utf8').catch(() => null);
    if (!parentStat) return; // no /proc: liveness cannot be checked here
    const parentStart = parentStat.slice(parentStat.lastIndexOf(')') + 2).split(' ')[19];
    await symlink(await sameMachineToken(process.ppid, parentStart, Date.now() - 3_600_000), lockPath(root, 'k'));
    await rejectsWith(store.put('k', text('v')), StorageError);
    await rm(lockPath(root, 'k'));
  });

  it('etags change on every write, even of identical bytes in the same millisecond', async () => {
    const { store } = await fresh();
    const etags = new Set<string>();
    for (let i = 0; i < 50; i++) etags.add((await store.put('same', text('same bytes'))).etag);
    assert.equal(etags.size, 50);
  });

  it('opens an existing tree and serves what is there', async () => {
    const root = join(dir, 'existing');
    await mkdir(join(root, 'pool'), { recursive: true });
    await writeFile(join(root, 'pool', 'a.rpm'), 'bytes');
    const store = await FileStore.open({ root });
    assert.equal(await getText(store, 'pool/a.rpm'), 'bytes');
    const info = await store.head('pool/a.rpm');
    assert.ok(info);
    await store.put('pool/a.rpm', text('new'), { ifMatch: info.etag });
    assert.equal(await getText(store, 'pool/a.rpm'), 'new');
  });
});

describe('file store: directories pruned under concurrent writers', () => {
  it('moves out of a shared directory on two store instances never fail when a neighbour empties it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'repod-prune-'));
    const a = await FileStore.open({ root: dir });
    const b = await FileStore.open({ root: dir });
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const store = i % 2 ? a : b;
          await store.put(`uploads/r${round}-${i}`, new TextEncoder().encode(`x${i}`));
          await store.move(`uploads/r${round}-${i}`, `pool/${i % 3}/r${round}-${i}`);
        }),
      );
    }
    assert.equal((await listKeys(a, 'pool/')).length, 200);
    await rm(dir, { recursive: true, force: true });
  });
});

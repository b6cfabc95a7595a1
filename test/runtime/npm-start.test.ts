/**
 * `npm start` as an operator runs it: npm's prestart builds dist/server.mjs from src/ when it is
 * missing or older than its sources (scripts/build-server.mjs), and the server runs under plain
 * node, without tsx's loader; REPOD_WORKERS forks workers from the same bundle.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/paths.ts';

const BUNDLE = join(REPO_ROOT, 'dist/server.mjs');

/** `npm start` in its own process group (npm, its shell and node stop together), with its output. */
function npmStart(env: Record<string, string>): { child: ChildProcess; logs: () => string; stop: () => Promise<void> } {
  const child = spawn('npm', ['start'], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        resolve();
      }
    });
  return { child, logs: () => text, stop };
}

async function waitFor<T>(what: string, find: () => T | null | undefined, logs: () => string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = find();
    if (found) return found;
    if (Date.now() > deadline) assert.fail(`${what}; output:\n${logs().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function commandLine(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
}

describe('npm start', { timeout: 180_000 }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('builds the bundle when it is older than src/ and serves the store with plain node workers', async () => {
    // An old bundle (as after a git pull) is rebuilt before the server starts.
    execFileSync(process.execPath, ['scripts/build-server.mjs'], { cwd: REPO_ROOT });
    execFileSync('touch', ['-d', '2000-01-01', BUNDLE]);
    assert.equal(spawnSync(process.execPath, ['scripts/build-server.mjs', '--check'], { cwd: REPO_ROOT }).status, 1, 'the bundle is seen as stale');
    const dir = await mkdtemp(join(tmpdir(), 'repod-npm-start-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const server = npmStart({ REPOD_PORT: '0', REPOD_HOST: '127.0.0.1', REPOD_STORAGE: `file:${dir}`, REPOD_WORKERS: '2', REPOD_ADMIN_TOKEN: 'npm-start-admin-token-0123456789' });
    cleanups.push(server.stop);
    const pids = await waitFor(
      'two workers listen',
      () => {
        const found = [...server.logs().matchAll(/"repod listening".*?"pid":(\d+)/g)].map((m) => Number(m[1]));
        return found.length >= 2 ? found : null;
      },
      server.logs,
    );
    assert.ok((await stat(BUNDLE)).mtimeMs > Date.parse('2001-01-01'), 'prestart rebuilt the bundle');
    // The node options of the start script, if it has any, reach the workers (cluster forks with execArgv).
    const start = (JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(/\s+/);
    const options = start.slice(1, start.indexOf('dist/server.mjs'));
    for (const pid of pids) {
      const argv = await commandLine(pid);
      assert.deepEqual(argv.slice(1), [...options, BUNDLE], `worker ${pid} runs the bundle with the start script's options: ${argv.join(' ')}`);
      assert.ok(!argv.some((a) => a.includes('tsx')), `no tsx in ${argv.join(' ')}`);
    }
    // Port 0 in a cluster: the workers share the one port the primary picked.
    const url = /"repod listening","url":"(http:\/\/[^"]+)"/.exec(server.logs())![1]!;
    const health = await fetch(`${url}/api/v1/health`);
    assert.equal(health.status, 200);
    const key = await fetch(`${url}/repos/gpg.key`);
    assert.equal(key.status, 200);
    assert.match(await key.text(), /BEGIN PGP PUBLIC KEY BLOCK/);
    assert.equal(spawnSync(process.execPath, ['scripts/build-server.mjs', '--check'], { cwd: REPO_ROOT }).status, 0, 'a fresh bundle is not rebuilt');
  });
});

/**
 * kill -9 in the middle of `repod export` and of `repod scan` (the real bin, as a child process,
 * SIGKILLed while it copies a large package): the previous published state stays as it was
 * (`latest` and the exported tree a client reads; the distribution's revision in the store), and
 * a second run completes. The scan's lease, left behind by the killed run, refuses a second scan
 * until it expires (REPOD_SCAN_LEASE_SECONDS), and is then taken over.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, repod } from '../cli/run-cli.ts';
import { buildLargeRpm, buildRpms } from '../helpers/rpmbuild.ts';
import { hasCommand } from '../helpers/run.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';

const skip = !hasCommand('rpmbuild') ? 'rpmbuild is needed' : false;
const EPOCH = 1700000000;
const LARGE_MIB = 300;

/** The real bin as a child we can kill; only the REPOD_* variables given reach it. */
function startRepod(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('REPOD_')) base[k] = v;
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, exited };
}

/** Polls until `probe` is true; false when the child exited first. */
async function whileRunning(child: ChildProcess, probe: () => Promise<boolean>): Promise<boolean> {
  while (child.exitCode === null && child.signalCode === null) {
    if (await probe().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}

async function namedFiles(root: string, repomdPath: string): Promise<string[]> {
  const repomd = await readFile(join(root, repomdPath), 'utf8');
  const missing: string[] = [];
  for (const [, href] of repomd.matchAll(/href="([^"]+)"/g)) {
    await readFile(join(root, repomdPath, '../..', href)).catch(() => missing.push(href));
  }
  return missing;
}

describe('kill -9 during export and scan', { skip }, () => {
  let work: string;
  let small: string[];
  let large: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'repod-kill9-'));
    small = await buildRpms(
      [1, 2].map((n) => ({ name: `repod-k9small${n}`, version: '1.0', arch: 'noarch', files: [{ path: `/usr/share/repod-k9small${n}/x` }], sourceDateEpoch: EPOCH })),
      join(work, 'small'),
    );
    large = await buildLargeRpm(join(work, 'large'), 'repod-k9large', LARGE_MIB);
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  describe('export', () => {
    let server: RunningServer;
    before(async () => {
      server = await startServer();
    });
    after(async () => {
      await server?.stop();
    });

    it('leaves latest and the tree it points at intact, and the next run completes', async () => {
      const out = join(work, 'export-out');
      for (const f of small) assert.equal((await uploadFile(server, 'rocky9', f)).status, 201);
      const first = await repod(['export', 'rocky9', '--to', out, '--storage', server.storage, '--json'], { timeoutMs: 120_000 });
      assert.equal(first.code, 0, first.stderr);
      const before = first.json().revision.number;
      assert.equal(await readlink(join(out, 'rocky9/latest')), String(before));
      const repomdBefore = await readFile(join(out, 'rocky9/latest/x86_64/repodata/repomd.xml'), 'utf8');

      assert.equal((await uploadFile(server, 'rocky9', large)).status, 201);
      const next = before + 1;
      const packages = join(out, `rocky9/${next}/x86_64/Packages`);
      const run = startRepod(['export', 'rocky9', '--to', out, '--storage', server.storage]);
      // Killed while the large package is being written (its temporary file exists).
      const caught = await whileRunning(run.child, async () => (await readdir(packages)).some((n) => n.startsWith('.repod-k9large') && n.includes('.tmp-')));
      if (!caught) assert.fail(`the export ended before it could be killed:\n${(await run.exited).stderr}`);
      run.child.kill('SIGKILL');
      const killed = await run.exited;
      assert.equal(killed.signal, 'SIGKILL', JSON.stringify(killed));

      assert.equal(await readlink(join(out, 'rocky9/latest')), String(before), 'latest did not move');
      assert.equal(await readFile(join(out, 'rocky9/latest/x86_64/repodata/repomd.xml'), 'utf8'), repomdBefore);
      assert.deepEqual(await namedFiles(join(out, 'rocky9/latest/x86_64'), 'repodata/repomd.xml'), [], 'every file the entry point names is there');
      await assert.rejects(readFile(join(out, `rocky9/${next}/x86_64/repodata/repomd.xml`)), 'the killed run wrote no entry point');
      await assert.rejects(readFile(join(out, `rocky9/.repod/${next}.json`)));

      const again = await repod(['export', 'rocky9', '--to', out, '--storage', server.storage, '--json'], { timeoutMs: 180_000 });
      assert.equal(again.code, 0, again.stderr);
      const report = again.json();
      assert.equal(report.revision.number, next);
      assert.deepEqual(report.latest, { from: String(before), to: String(next), switched: true });
      assert.ok(report.files.unchanged + report.packages.unchanged > 0, `the rerun used what the killed one wrote: ${JSON.stringify(report)}`);
      assert.equal(await readlink(join(out, 'rocky9/latest')), String(next));
      assert.equal(
        await readFile(join(out, 'rocky9/latest/x86_64/repodata/repomd.xml'), 'utf8'),
        await (await fetch(`${server.url}/repos/rocky9/x86_64/repodata/repomd.xml`)).text(),
      );
      const leftovers = (await readdir(packages)).filter((n) => n.includes('.tmp-'));
      // Only the killed run's temporary files (one per write it had in flight, 4 at most) stay behind.
      assert.ok(leftovers.length <= 4, `at most the killed run's temporary files stay: ${leftovers}`);
    });
  });

  describe('scan', () => {
    it("leaves the distribution's revision as it was; the lease is taken over once it expires and the next scan completes", async () => {
      const tree = join(work, 'scan-tree');
      const store = join(work, 'scan-store');
      await mkdir(join(tree, 'Packages'), { recursive: true });
      for (const f of small) await copyFile(f, join(tree, 'Packages', basename(f)));
      // Long enough that the next command (tsx start-up on a loaded machine) finds the lease alive.
      const LEASE_SECONDS = 15;
      const env = { REPOD_SCAN_LEASE_SECONDS: String(LEASE_SECONDS) };
      const scan = () => repod(['scan', tree, '--dist', 'rocky9', '--storage', `file:${store}`, '--json'], { env, timeoutMs: 180_000 });
      const first = await scan();
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.json().revision.number, 1);
      const ref = () => readFile(join(store, 'dists/rocky9/refs/current.json'), 'utf8');
      const refBefore = await ref();

      await copyFile(large, join(tree, 'Packages', basename(large)));
      const run = startRepod(['scan', tree, '--dist', 'rocky9', '--storage', `file:${store}`], env);
      // Killed while the large package is being read into the store (a large temporary file there).
      const caught = await whileRunning(run.child, async () => {
        for (const name of await readdir(join(store, '.repod/tmp'))) if (((await stat(join(store, '.repod/tmp', name)).catch(() => null))?.size ?? 0) > 1024 * 1024) return true;
        return false;
      });
      if (!caught) assert.fail(`the scan ended before it could be killed:\n${(await run.exited).stderr}`);
      run.child.kill('SIGKILL');
      const killedAt = Date.now();
      assert.equal((await run.exited).signal, 'SIGKILL');
      assert.equal(await ref(), refBefore, 'the revision did not change');

      const busy = await scan();
      assert.equal(busy.code, 1, busy.stdout);
      assert.match(busy.stderr, /another scan of this location is running/);

      await new Promise((r) => setTimeout(r, Math.max(0, killedAt + LEASE_SECONDS * 1000 + 500 - Date.now())));
      const again = await scan();
      assert.equal(again.code, 0, again.stderr);
      const report = again.json();
      assert.deepEqual({ status: report.status, number: report.revision.number, added: report.added, read: report.read }, { status: 'published', number: 2, added: 1, read: 1 });
    });
  });
});

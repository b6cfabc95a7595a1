/**
 * Bulk push (bench/bulk.ts; .bench/results-bulk.json): `repod push` of a directory of N RPMs
 * (--bulk-files, default 2000; 20000 for the larger figure; the benchrev-* packages of
 * bench/revisions.ts, built once and cached) against a fresh server (file store): wall time of the
 * whole command and the server's peak resident set (VmHWM from /proc/<pid>/status, which also
 * covers the server's start, shown beside it), next to createrepo_c's full run over the same files.
 * The point is that the server's peak does not grow with N (issue 11, part 2).
 */
import { spawn } from 'node:child_process';
import { link, mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { REPO_ROOT } from '../test/helpers/paths.ts';
import { startServer } from '../test/helpers/server.ts';
import { ADMIN_TOKEN } from './lib/common.ts';
import { procStatus, runTimed } from './lib/proc.ts';
import { prepareRevPackages } from './lib/rev-common.ts';
import { fmtMs, table } from './lib/stats.ts';

const DIST = 'rocky9';

export interface BulkBenchConfig {
  workDir: string;
  rpmsDir: string;
  files: number;
  /** `repod push --batch-files` (default: the CLI's). */
  batchFiles?: number;
  keep: boolean;
  log: (message: string) => void;
}

/** Runs `repod` (bin/repod.mjs) to completion. */
export function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/repod.mjs'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export async function runBulkBench(config: BulkBenchConfig): Promise<{ lines: string[]; json: unknown }> {
  const { log } = config;
  await mkdir(config.workDir, { recursive: true });
  const set = await prepareRevPackages(config.rpmsDir, config.files, log);
  // The directory the push names: exactly the N files (the cache directory holds a marker too).
  const tree = join(config.workDir, 'bulk-files');
  await rm(tree, { recursive: true, force: true });
  await mkdir(tree, { recursive: true });
  const paths = set.files.slice(0, config.files).map((f) => join(set.dir, f));
  await Promise.all(paths.map((p) => link(p, join(tree, basename(p)))));

  const store = join(config.workDir, 'bulk-store');
  await rm(store, { recursive: true, force: true });
  const server = await startServer({ REPOD_STORAGE: `file:${store}`, REPOD_ADMIN_TOKEN: ADMIN_TOKEN });
  const pid = server.process.pid!;
  let push: { ms: number; summary: string; peakKiB: number; startKiB: number };
  try {
    const startKiB = (await procStatus(pid))?.VmHWM ?? 0;
    log(`bulk: repod push of ${config.files} RPMs (server at ${(startKiB / 1024).toFixed(0)} MiB after start)`);
    const started = performance.now();
    const r = await runCli(['push', '--dist', DIST, '--no-progress', ...(config.batchFiles ? ['--batch-files', String(config.batchFiles)] : []), tree], {
      REPOD_URL: server.url,
      REPOD_TOKEN: ADMIN_TOKEN,
    });
    const ms = performance.now() - started;
    if (r.code !== 0) throw new Error(`repod push exited with ${r.code}:\n${r.stderr.slice(-2000)}\n${r.stdout.slice(-2000)}`);
    const peakKiB = (await procStatus(pid))?.VmHWM ?? 0;
    const summary = r.stdout.split('\n').find((l) => /published|unchanged/.test(l)) ?? '';
    push = { ms, summary: summary.trim(), peakKiB, startKiB };
    log(`  ${fmtMs(ms)}, server peak RSS ${(peakKiB / 1024).toFixed(0)} MiB; ${push.summary}`);
  } finally {
    await server.stop();
    if (!config.keep) await rm(store, { recursive: true, force: true });
  }

  const createrepo = await runTimed('createrepo_c', ['--quiet', tree], { measureRss: true });
  log(`  createrepo_c full run: ${fmtMs(createrepo.ms)}, peak RSS ${((createrepo.maxRssKiB ?? 0) / 1024).toFixed(0)} MiB`);
  if (!config.keep) await rm(tree, { recursive: true, force: true });

  const mib = (kib: number | null) => (kib === null ? '-' : `${(kib / 1024).toFixed(0)} MiB`);
  const lines = [
    '',
    `## Bulk push: ${config.files} RPMs in one \`repod push\` of a directory, fresh server (file store)`,
    '',
    table([
      ['what', 'wall time', 'peak RSS', 'time / createrepo_c'],
      ['repod push (client + server, to published)', fmtMs(push.ms), `${mib(push.peakKiB)} (server; ${mib(push.startKiB)} at start)`, (push.ms / createrepo.ms).toFixed(2)],
      ['createrepo_c (full run, same files)', fmtMs(createrepo.ms), mib(createrepo.maxRssKiB), '1.00'],
    ]),
    '',
    `repod: ${push.summary}`,
  ];
  return {
    lines,
    json: {
      files: config.files,
      repod: { ms: push.ms, serverPeakRssKiB: push.peakKiB, serverStartRssKiB: push.startKiB, summary: push.summary },
      createrepo: { ms: createrepo.ms, peakRssKiB: createrepo.maxRssKiB },
    },
  };
}

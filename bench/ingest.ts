/**
 * Per-file ingest (bench/ingest.ts; .bench/results-ingest.json): how fast uploads one package per
 * request become published metadata, the way CI fleets upload.
 *
 * N RPMs (--ingest-files, default 2000; the benchrev-* packages of bench/revisions.ts, built once
 * and cached) are uploaded with POST /api/v1/upload by --ingest-clients (default 8) concurrent
 * clients to a fresh server (file store) until every upload is answered 201 and the served
 * primary.xml lists all N: uploads/s over that whole time. Once with group commit (the default) and
 * once with REPOD_GROUP_COMMIT=0 (every upload its own revision, racing on the ref), and beside
 * them `createrepo_c` run once over the same N files in a directory (what a plain file tree does
 * after copying them in), all in the same run.
 *
 * The server runs as `npm start` runs it (dist/server.mjs under plain node, rebuilt first when
 * stale), since that is what users measure; each run also reports the server's CPU time per upload
 * (from /proc), which stays comparable on a shared machine where the wall time does not.
 */
import { link, mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { startBenchServer } from './lib/bundle-server.ts';
import { ADMIN_TOKEN } from './lib/common.ts';
import { cpuMs, runTimed } from './lib/proc.ts';
import { fmtMs, table } from './lib/stats.ts';
import { revUploadBodies, untilListed, uploadAll } from './lib/uploads.ts';

const DIST = 'rocky9';

export interface IngestBenchConfig {
  workDir: string;
  rpmsDir: string;
  files: number;
  clients: number;
  keep: boolean;
  log: (message: string) => void;
  /** Directory for .cpuprofile files of the servers (--profile), or null. */
  profileDir?: string | null;
  /**
   * What runs the server: `bundle` (the default) is what `npm start` runs, dist/server.mjs under
   * plain node; `tsx` is src/runtime/node.ts under tsx's loader, as the tests start it.
   */
  runtime?: 'bundle' | 'tsx';
  /** Another build of the server to run instead of dist/server.mjs (an older checkout's bundle, to compare on the same machine at the same time). */
  bundlePath?: string;
  /** Which runs to make: group commit on, off (default both). */
  modes?: Array<'group' | 'single'>;
}

interface IngestRun {
  groupCommit: boolean;
  files: number;
  /** First request sent to the primary listing every file. */
  ms: number;
  uploadsPerSecond: number;
  /** Revisions the uploads made (fewer than files when group commit joined them). */
  revisions: number;
  failures: number;
  /**
   * CPU time (user + system) the server process spent from the first upload until the primary
   * listed every file, per upload, from /proc (null elsewhere): the figure that holds on a busy
   * machine, where the wall time depends on what else runs.
   */
  serverCpuMsPerUpload: number | null;
}

async function ingestRun(config: IngestBenchConfig, bodies: Array<{ body: Buffer; contentType: string }>, groupCommit: boolean): Promise<IngestRun> {
  const store = join(config.workDir, `ingest-${groupCommit ? 'group' : 'single'}`);
  await rm(store, { recursive: true, force: true });
  const env = { REPOD_STORAGE: `file:${store}`, REPOD_ADMIN_TOKEN: ADMIN_TOKEN, ...(groupCommit ? {} : { REPOD_GROUP_COMMIT: '0' }) };
  const profile = config.profileDir ? ['--cpu-prof', '--cpu-prof-dir', config.profileDir, '--cpu-prof-name', `server-ingest-${groupCommit ? 'group' : 'single'}.cpuprofile`] : [];
  const server = await startBenchServer(env, { runtime: config.runtime ?? 'bundle', nodeArgs: profile, ...(config.bundlePath ? { script: config.bundlePath } : {}) });
  const revisions = new Set<number>();
  try {
    const cpuBefore = await cpuMs(server.process.pid);
    const started = performance.now();
    const failures = await uploadAll(server.url, bodies, config.clients, config.log, (answer) => revisions.add((answer.revision as { number: number }).number));
    await untilListed(server.url, DIST, bodies.length - failures);
    const ms = performance.now() - started;
    const cpuAfter = await cpuMs(server.process.pid);
    const serverCpuMsPerUpload = cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / bodies.length;
    return { groupCommit, files: bodies.length, ms, uploadsPerSecond: (bodies.length / ms) * 1000, revisions: revisions.size, failures, serverCpuMsPerUpload };
  } finally {
    await server.stop();
  }
}

export async function runIngestBench(config: IngestBenchConfig): Promise<{ lines: string[]; json: unknown }> {
  const { log } = config;
  await mkdir(config.workDir, { recursive: true });
  const { paths, bodies } = await revUploadBodies(config.rpmsDir, config.files, DIST, log);
  if (config.profileDir) await mkdir(config.profileDir, { recursive: true });

  const runs: IngestRun[] = [];
  for (const groupCommit of [true, false]) {
    if (config.modes && !config.modes.includes(groupCommit ? 'group' : 'single')) continue;
    log(`ingest: ${config.files} uploads by ${config.clients} clients, group commit ${groupCommit ? 'on' : 'off'}`);
    const run = await ingestRun(config, bodies, groupCommit);
    const cpu = run.serverCpuMsPerUpload === null ? '' : `, server CPU ${run.serverCpuMsPerUpload.toFixed(1)} ms/upload`;
    log(`  ${run.uploadsPerSecond.toFixed(1)} uploads/s (${fmtMs(run.ms)}, ${run.revisions} revisions, ${run.failures} failures${cpu})`);
    runs.push(run);
  }

  // createrepo_c's full run over the same files, hard-linked into a fresh directory.
  const tree = join(config.workDir, 'ingest-createrepo');
  await rm(tree, { recursive: true, force: true });
  await mkdir(tree, { recursive: true });
  await Promise.all(paths.map((p) => link(p, join(tree, basename(p)))));
  const createrepo = await runTimed('createrepo_c', ['--quiet', tree]);
  log(`  createrepo_c full run: ${fmtMs(createrepo.ms)}`);
  // Stores are removed only now: a removal of thousands of files right before a run slows the
  // file creates of that run (ext4 without a journal scans past recently freed inodes).
  if (!config.keep) for (const dir of [tree, join(config.workDir, 'ingest-group'), join(config.workDir, 'ingest-single')]) await rm(dir, { recursive: true, force: true });

  const on = runs.find((r) => r.groupCommit);
  const off = runs.find((r) => !r.groupCommit);
  const perSecond = (n: number, ms: number) => `${((n / ms) * 1000).toFixed(1)}/s`;
  const row = (label: string, r: IngestRun | undefined) => [
    label,
    ...(r
      ? [fmtMs(r.ms), perSecond(r.files, r.ms), String(r.revisions), String(r.failures), r.serverCpuMsPerUpload === null ? '-' : `${r.serverCpuMsPerUpload.toFixed(1)} ms`]
      : ['-', '-', '-', '-', '-']),
  ];
  const lines = [
    '',
    `per-file ingest — ${config.files} RPMs, one per POST /api/v1/upload, ${config.clients} concurrent clients, until the served primary.xml lists all (server: ${config.runtime === 'tsx' ? 'src/runtime/node.ts under tsx' : config.bundlePath ? config.bundlePath : 'dist/server.mjs, as npm start runs it'})`,
    table([
      ['', 'time', 'files/s', 'revisions', 'failures', 'server CPU/upload'],
      row('repod, group commit on', on),
      row('repod, group commit off (REPOD_GROUP_COMMIT=0)', off),
      ['createrepo_c, one full run over the same files', fmtMs(createrepo.ms), perSecond(config.files, createrepo.ms), '-', '-', '-'],
    ]),
    ...(on && off ? [`group commit: ${(on.uploadsPerSecond / off.uploadsPerSecond).toFixed(1)}x the uploads/s of one revision per upload.`] : []),
    'createrepo_c indexes files already in place (no upload, no signing, no revision history) and must run again for every later change.',
  ];
  return { lines, json: { files: config.files, clients: config.clients, runs, createrepoMs: createrepo.ms } };
}

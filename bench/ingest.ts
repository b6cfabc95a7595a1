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
 */
import { link, mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { startServer } from '../test/helpers/server.ts';
import { ADMIN_TOKEN } from './lib/common.ts';
import { runTimed } from './lib/proc.ts';
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
}

async function ingestRun(config: IngestBenchConfig, bodies: Array<{ body: Buffer; contentType: string }>, groupCommit: boolean): Promise<IngestRun> {
  const store = join(config.workDir, `ingest-${groupCommit ? 'group' : 'single'}`);
  await rm(store, { recursive: true, force: true });
  const server = await startServer({ REPOD_STORAGE: `file:${store}`, REPOD_ADMIN_TOKEN: ADMIN_TOKEN, ...(groupCommit ? {} : { REPOD_GROUP_COMMIT: '0' }) });
  const revisions = new Set<number>();
  try {
    const started = performance.now();
    const failures = await uploadAll(server.url, bodies, config.clients, config.log, (answer) => revisions.add((answer.revision as { number: number }).number));
    await untilListed(server.url, DIST, bodies.length - failures);
    const ms = performance.now() - started;
    return { groupCommit, files: bodies.length, ms, uploadsPerSecond: (bodies.length / ms) * 1000, revisions: revisions.size, failures };
  } finally {
    await server.stop();
    if (!config.keep) await rm(store, { recursive: true, force: true });
  }
}

export async function runIngestBench(config: IngestBenchConfig): Promise<{ lines: string[]; json: unknown }> {
  const { log } = config;
  await mkdir(config.workDir, { recursive: true });
  const { paths, bodies } = await revUploadBodies(config.rpmsDir, config.files, DIST, log);

  const runs: IngestRun[] = [];
  for (const groupCommit of [true, false]) {
    log(`ingest: ${config.files} uploads by ${config.clients} clients, group commit ${groupCommit ? 'on' : 'off'}`);
    const run = await ingestRun(config, bodies, groupCommit);
    log(`  ${run.uploadsPerSecond.toFixed(1)} uploads/s (${fmtMs(run.ms)}, ${run.revisions} revisions, ${run.failures} failures)`);
    runs.push(run);
  }

  // createrepo_c's full run over the same files, hard-linked into a fresh directory.
  const tree = join(config.workDir, 'ingest-createrepo');
  await rm(tree, { recursive: true, force: true });
  await mkdir(tree, { recursive: true });
  await Promise.all(paths.map((p) => link(p, join(tree, basename(p)))));
  const createrepo = await runTimed('createrepo_c', ['--quiet', tree]);
  log(`  createrepo_c full run: ${fmtMs(createrepo.ms)}`);
  if (!config.keep) await rm(tree, { recursive: true, force: true });

  const [on, off] = runs;
  const perSecond = (n: number, ms: number) => `${((n / ms) * 1000).toFixed(1)}/s`;
  const lines = [
    '',
    `per-file ingest — ${config.files} RPMs, one per POST /api/v1/upload, ${config.clients} concurrent clients, until the served primary.xml lists all`,
    table([
      ['', 'time', 'files/s', 'revisions', 'failures'],
      ['repod, group commit on', fmtMs(on.ms), perSecond(on.files, on.ms), String(on.revisions), String(on.failures)],
      ['repod, group commit off (REPOD_GROUP_COMMIT=0)', fmtMs(off.ms), perSecond(off.files, off.ms), String(off.revisions), String(off.failures)],
      ['createrepo_c, one full run over the same files', fmtMs(createrepo.ms), perSecond(config.files, createrepo.ms), '-', '-'],
    ]),
    `group commit: ${(on.uploadsPerSecond / off.uploadsPerSecond).toFixed(1)}x the uploads/s of one revision per upload; ` +
      `createrepo_c indexes files already in place (no upload, no signing, no revision history) and must run again for every later change.`,
  ];
  return { lines, json: { files: config.files, clients: config.clients, runs, createrepoMs: createrepo.ms } };
}

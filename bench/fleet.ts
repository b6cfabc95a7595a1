/**
 * A fleet on one bucket (bench/fleet.ts; .bench/results-fleet.json): two repod servers on one
 * bucket of a real S3 server (a throwaway Ceph RADOS Gateway, scripts/rgw-up.sh), N RPMs pushed by
 * P concurrent pushers, one package per POST /api/v1/upload, pusher i always to server i % 2.
 * Every upload must be answered 201/200; then the served primary.xml of BOTH servers (each after
 * its own ref TTL) must list all N. Beside it, in the same run on the same gateway, the same
 * uploads to ONE server on a fresh bucket (the ratio says what the second writer costs or gains),
 * and createrepo_c's full run over the same files as the reference tool's line.
 *
 * The two servers race on one ref: each publishes by compare-and-swap and, on a lost race,
 * composes again on the winner's revision (src/revisions/repository.ts). Those lost races are not
 * in the answers; /metrics counts them among the conditional puts that lost
 * (`repod_store_operations_total{operation="put",outcome="precondition_failed"}`, which also counts
 * create-only puts that found their object already written), and publishes given up after too many
 * lost races as `repod_publishes_total{outcome="conflict"}`. Both are reported as deltas over the
 * run, per server, as they are; the one-server run on the same gateway is the baseline for them.
 *
 * Servers run as `npm start` runs them (dist/server.mjs), like bench/ingest.ts, and CPU time per
 * upload is read from /proc for each server and for the Ceph daemons (mon, osd, radosgw), since on
 * a 2-core machine shared by all of them the wall time alone says little.
 */
import { link, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { basename, join } from 'node:path';
import { type Family, parsePrometheusText } from '../test/helpers/prometheus-text.ts';
import { type Rgw, rgwSkipReason, startRgw } from '../test/helpers/rgw.ts';
import type { RunningServer } from '../test/helpers/server.ts';
import { benchServerRuntime, startBenchServer } from './lib/bundle-server.ts';
import { ADMIN_TOKEN } from './lib/common.ts';
import { cpuMs, runTimed } from './lib/proc.ts';
import { fmtMs, table } from './lib/stats.ts';
import { primaryCount, revUploadBodies } from './lib/uploads.ts';

const DIST = 'rocky9';
/** How long an upload may take before it counts as failed (a hung server must not hang the bench). */
const UPLOAD_TIMEOUT_MS = 120_000;
/** How long the served primary.xml may take to list every acknowledged upload once all are answered. */
const LISTED_TIMEOUT_MS = 120_000;

export interface FleetBenchConfig {
  workDir: string;
  /** Where the benchrev-* RPMs are built once and cached (bench/lib/rev-common.ts). */
  rpmsDir: string;
  /** RPMs uploaded (--fleet-files, default 1000). */
  files: number;
  /** Concurrent pushers (--fleet-pushers, default 20); pusher i sends to server i % servers. */
  pushers: number;
  keep: boolean;
  log: (message: string) => void;
  /** Servers of the fleet run (default 2). */
  servers?: number;
  /** Also run createrepo_c once over the same files (default true). */
  createrepo?: boolean;
  /** REPOD_REF_TTL_MS of every server; unset: the server's default. */
  refTtlMs?: number;
  /** What runs the servers (default: REPOD_BENCH_SERVER's choice, the bundle as `npm start` runs it unless it says tsx). */
  runtime?: 'bundle' | 'tsx';
}

/** What /metrics tells about one server over a run (counter deltas). */
export interface FleetServerMetrics {
  /** repod_publishes_total by outcome (published, unchanged, conflict, error). */
  publishes: Record<string, number>;
  /** repod_ingest_total by outcome. */
  ingest: Record<string, number>;
  /** Conditional puts that lost: lost ref swaps plus create-only puts that found their object there. */
  conditionalPutsLost: number;
  /** repod_store_errors_total: failures of the store itself. */
  storeErrors: number;
  /** repod_http_requests_total of POST /api/v1/upload by status. */
  uploadAnswers: Record<string, number>;
  /** repod_store_operations_total by operation (get, head, put, ...): what one upload costs the store. */
  storeOperations: Record<string, number>;
  /** Mean of repod_publish_duration_seconds (lost races and retries included), in ms; null without publishes. */
  publishMeanMs: number | null;
}

export interface FleetServerResult {
  url: string;
  /** Uploads sent to this server. */
  uploads: number;
  acknowledged: number;
  failures: number;
  /** CPU time (user + system) of the server over the run, per upload it took; null without /proc. */
  cpuMsPerUpload: number | null;
  /** Packages its primary.xml listed at the end. */
  listed: number;
  /** Milliseconds from the first upload until its primary.xml listed every acknowledged upload; null if it never did. */
  listedMs: number | null;
  /** Counter deltas from /metrics; null when the scrape failed. */
  metrics: FleetServerMetrics | null;
  /** The server's current revision number from /metrics at the end (repod_distribution_revision). */
  finalRevision: number | null;
  /** Log lines of the server mentioning an error (the first few), when anything failed. */
  errorLogs: string[];
}

export interface FleetFailure {
  server: number;
  file: string;
  status: number | null;
  body: string;
}

export interface FleetRun {
  label: string;
  servers: number;
  files: number;
  pushers: number;
  /** First upload sent until every upload was answered. */
  pushMs: number;
  /** First upload sent until every server's primary.xml listed every acknowledged upload. */
  ms: number;
  uploadsPerSecond: number;
  acknowledged: number;
  /** Of the acknowledged, how many were answered 200 (already in the distribution) instead of 201. */
  answered200: number;
  failures: number;
  /** Failures by status (or by the network error). */
  failuresByKind: Record<string, number>;
  /** The first few failures, with their answers. */
  failureSamples: FleetFailure[];
  /** Distinct revision numbers in the answers. */
  revisions: number;
  /** Whether every server's primary.xml listed all `files`. */
  allListed: boolean;
  /** CPU time of the Ceph daemons (mon, osd, radosgw) over the run per upload; null without /proc. */
  cephCpuMsPerUpload: number | null;
  perServer: FleetServerResult[];
}

export interface FleetResults {
  files: number;
  pushers: number;
  refTtlMs: number | null;
  runs: FleetRun[];
  createrepoMs: number | null;
  skipped?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Total CPU time of the Ceph daemons of the gateway (their pid files under run/). */
async function cephCpuMs(rgw: Rgw): Promise<number | null> {
  const runDir = join(rgw.dir, 'run');
  const names = (await readdir(runDir).catch(() => [] as string[])).filter((n) => n.endsWith('.pid'));
  if (names.length === 0) return null;
  let total = 0;
  for (const name of names) {
    const pid = Number((await readFile(join(runDir, name), 'utf8').catch(() => '')).trim());
    const ms = Number.isInteger(pid) && pid > 0 ? await cpuMs(pid) : null;
    if (ms === null) return null;
    total += ms;
  }
  return total;
}

interface UploadAnswer {
  status: number | null;
  body: string;
}

/** One POST /api/v1/upload; a network error or a timeout is an answer with status null. */
function postUpload(url: string, agent: Agent, upload: { body: Buffer; contentType: string }): Promise<UploadAnswer> {
  return new Promise((resolve) => {
    const req = request(
      `${url}/api/v1/upload`,
      {
        method: 'POST',
        agent,
        timeout: UPLOAD_TIMEOUT_MS,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': upload.contentType, 'content-length': String(upload.body.length) },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => parts.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
        res.on('error', (error) => resolve({ status: null, body: String(error) }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${UPLOAD_TIMEOUT_MS} ms`)));
    req.on('error', (error) => resolve({ status: null, body: String(error) }));
    req.end(upload.body);
  });
}

async function scrape(url: string): Promise<Family[] | null> {
  try {
    const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(30_000) });
    if (response.status !== 200) return null;
    return parsePrometheusText(await response.text());
  } catch {
    return null;
  }
}

/** Sums of the samples named `name` whose labels include `match`, keyed by the value of label `by`. */
function byLabel(families: Family[], name: string, by: string, match: Record<string, string> = {}): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of families.flatMap((f) => f.samples)) {
    if (s.name !== name || !Object.entries(match).every(([k, v]) => s.labels[k] === v)) continue;
    const key = s.labels[by] ?? '';
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

function total(families: Family[], name: string, match: Record<string, string> = {}): number {
  return Object.values(byLabel(families, name, '__none__', match)).reduce((a, b) => a + b, 0);
}

function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) !== 0) out[k] = v - (before[k] ?? 0);
  return out;
}

function metricsDelta(before: Family[] | null, after: Family[] | null): FleetServerMetrics | null {
  if (!before || !after) return null;
  const both = (name: string, by: string, match: Record<string, string> = {}) => delta(byLabel(after, name, by, match), byLabel(before, name, by, match));
  const lost = { operation: 'put', outcome: 'precondition_failed' };
  return {
    publishes: both('repod_publishes_total', 'outcome', { distribution: DIST }),
    ingest: both('repod_ingest_total', 'outcome'),
    conditionalPutsLost: total(after, 'repod_store_operations_total', lost) - total(before, 'repod_store_operations_total', lost),
    storeErrors: total(after, 'repod_store_errors_total') - total(before, 'repod_store_errors_total'),
    uploadAnswers: both('repod_http_requests_total', 'status', { method: 'POST', route: '/api/v1/upload' }),
    storeOperations: both('repod_store_operations_total', 'operation'),
    publishMeanMs: (() => {
      const count = total(after, 'repod_publish_duration_seconds_count', { distribution: DIST }) - total(before, 'repod_publish_duration_seconds_count', { distribution: DIST });
      const sum = total(after, 'repod_publish_duration_seconds_sum', { distribution: DIST }) - total(before, 'repod_publish_duration_seconds_sum', { distribution: DIST });
      return count > 0 ? (sum / count) * 1000 : null;
    })(),
  };
}

function finalRevision(families: Family[] | null): number | null {
  const sample = families?.flatMap((f) => f.samples).find((s) => s.name === 'repod_distribution_revision' && s.labels.distribution === DIST);
  return sample ? sample.value : null;
}

/**
 * One run: `servers` repod servers on bucket `bucket`, the uploads from `pushers` concurrent
 * pushers (pusher i to server i % servers), then every server's primary.xml polled until it lists
 * every acknowledged upload.
 */
async function fleetRun(
  config: FleetBenchConfig,
  rgw: Rgw,
  bucket: string,
  servers: number,
  label: string,
  bodies: Array<{ body: Buffer; contentType: string; name: string }>,
): Promise<FleetRun> {
  const { log } = config;
  const env: Record<string, string> = {
    ...rgw.env,
    REPOD_STORAGE: `s3://${bucket}`,
    REPOD_ADMIN_TOKEN: ADMIN_TOKEN,
    ...(config.refTtlMs === undefined ? {} : { REPOD_REF_TTL_MS: String(config.refTtlMs) }),
  };
  const runtime = config.runtime ?? benchServerRuntime();
  const started: RunningServer[] = [];
  const agents: Agent[] = [];
  try {
    // The first server bootstraps the fresh bucket (signing key, settings) alone; the others find it ready.
    started.push(await startBenchServer(env, { runtime }));
    started.push(...(await Promise.all(Array.from({ length: servers - 1 }, () => startBenchServer(env, { runtime })))));
    for (let s = 0; s < servers; s++) agents.push(new Agent({ keepAlive: true, maxSockets: config.pushers }));

    const metricsBefore = await Promise.all(started.map((s) => scrape(s.url)));
    const cpuBefore = await Promise.all(started.map((s) => cpuMs(s.process.pid)));
    const cephBefore = await cephCpuMs(rgw);
    const perServer = started.map(() => ({ uploads: 0, acknowledged: 0, failures: 0 }));
    const revisions = new Set<number>();
    const failures: FleetFailure[] = [];
    const failuresByKind: Record<string, number> = {};
    let answered200 = 0;

    const t0 = performance.now();
    let next = 0;
    const pusher = async (p: number) => {
      const s = p % servers;
      while (next < bodies.length) {
        const upload = bodies[next++];
        perServer[s].uploads++;
        const answer = await postUpload(started[s].url, agents[s], upload);
        if (answer.status === 201 || answer.status === 200) {
          perServer[s].acknowledged++;
          if (answer.status === 200) answered200++;
          const number = (JSON.parse(answer.body) as { revision?: { number?: number } | null }).revision?.number;
          if (typeof number === 'number') revisions.add(number);
          continue;
        }
        perServer[s].failures++;
        const kind = answer.status === null ? answer.body.slice(0, 80) : String(answer.status);
        failuresByKind[kind] = (failuresByKind[kind] ?? 0) + 1;
        if (failures.length < 10) failures.push({ server: s, file: upload.name, status: answer.status, body: answer.body.slice(0, 600) });
        if (failures.length <= 3) log(`  upload of ${upload.name} to server ${s + 1} answered ${answer.status ?? 'nothing'}: ${answer.body.slice(0, 300)}`);
      }
    };
    await Promise.all(Array.from({ length: config.pushers }, (_, p) => pusher(p)));
    const pushMs = performance.now() - t0;
    const acknowledged = perServer.reduce((n, s) => n + s.acknowledged, 0);

    // Every server must list every acknowledged upload (another server's only after its ref TTL).
    const listed = started.map(() => 0);
    const listedMs: Array<number | null> = started.map(() => null);
    const deadline = performance.now() + LISTED_TIMEOUT_MS;
    await Promise.all(
      started.map(async (server, s) => {
        for (;;) {
          listed[s] = await primaryCount(server.url, DIST).catch(() => listed[s]);
          if (listed[s] >= acknowledged) {
            listedMs[s] = performance.now() - t0;
            return;
          }
          if (performance.now() > deadline) return;
          await sleep(20);
        }
      }),
    );
    const ms = performance.now() - t0;
    const cpuAfter = await Promise.all(started.map((s) => cpuMs(s.process.pid)));
    const cephAfter = await cephCpuMs(rgw);
    const metricsAfter = await Promise.all(started.map((s) => scrape(s.url)));

    const failed = failures.length > 0 || listed.some((n) => n !== bodies.length);
    const runs: FleetServerResult[] = started.map((server, s) => {
      const before = cpuBefore[s];
      const after = cpuAfter[s];
      return {
        url: server.url,
        ...perServer[s],
        cpuMsPerUpload: before === null || after === null || perServer[s].uploads === 0 ? null : (after - before) / perServer[s].uploads,
        listed: listed[s],
        listedMs: listedMs[s],
        metrics: metricsDelta(metricsBefore[s], metricsAfter[s]),
        finalRevision: finalRevision(metricsAfter[s]),
        errorLogs: failed
          ? server.logs
              .join('')
              .split('\n')
              .filter((l) => /"level":"(error|warn)"|error/i.test(l))
              .slice(0, 10)
              .map((l) => l.slice(0, 600))
          : [],
      };
    });
    return {
      label,
      servers,
      files: bodies.length,
      pushers: config.pushers,
      pushMs,
      ms,
      uploadsPerSecond: (bodies.length / ms) * 1000,
      acknowledged,
      answered200,
      failures: bodies.length - acknowledged,
      failuresByKind,
      failureSamples: failures,
      revisions: revisions.size,
      allListed: listed.every((n) => n === bodies.length),
      cephCpuMsPerUpload: cephBefore === null || cephAfter === null ? null : (cephAfter - cephBefore) / bodies.length,
      perServer: runs,
    };
  } finally {
    for (const agent of agents) agent.destroy();
    await Promise.all(started.map((s) => s.stop()));
  }
}

function describeRun(run: FleetRun): string {
  const cpu = run.perServer.map((s) => (s.cpuMsPerUpload === null ? '-' : s.cpuMsPerUpload.toFixed(1))).join(' / ');
  const lost = run.perServer.map((s) => s.metrics?.conditionalPutsLost ?? '-').join(' / ');
  return `  ${run.uploadsPerSecond.toFixed(1)} uploads/s (${fmtMs(run.ms)}; all answered after ${fmtMs(run.pushMs)}), ${run.revisions} revisions, ${run.failures} failures, listed ${run.perServer.map((s) => s.listed).join(' / ')}, server CPU ${cpu} ms/upload, conditional puts lost ${lost}`;
}

/** What the store saw per upload and how long a publish took, summed over the run's servers, from /metrics. */
function storeSummary(run: FleetRun): string {
  const measured = run.perServer.filter((s) => s.metrics !== null);
  if (measured.length === 0) return '/metrics could not be read';
  const ops: Record<string, number> = {};
  for (const s of measured) for (const [op, n] of Object.entries(s.metrics!.storeOperations)) ops[op] = (ops[op] ?? 0) + n;
  const perUpload = Object.entries(ops)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([op, n]) => `${(n / run.files).toFixed(1)} ${op}`)
    .join(', ');
  const publishes = measured.reduce((n, s) => n + (s.metrics!.publishes.published ?? 0), 0);
  const mean = measured.map((s) => (s.metrics!.publishMeanMs === null ? '-' : fmtMs(s.metrics!.publishMeanMs))).join(' / ');
  return `store operations per upload ${perUpload}; ${publishes} publishes, mean publish time (races and retries included) ${mean}`;
}

/**
 * The fleet section: starts a Ceph RGW, runs the uploads against two servers on one bucket and
 * against one server on a fresh bucket, then createrepo_c over the same files; always stops the
 * gateway. Without ceph installed it reports the section as skipped.
 */
export async function runFleetBench(config: FleetBenchConfig): Promise<{ lines: string[]; results: FleetResults }> {
  const { log } = config;
  const servers = config.servers ?? 2;
  const skip = rgwSkipReason();
  if (skip) {
    log(`fleet: skipped, ${skip}`);
    return {
      lines: ['', `fleet — skipped: ${skip}`],
      results: { files: config.files, pushers: config.pushers, refTtlMs: config.refTtlMs ?? null, runs: [], createrepoMs: null, skipped: skip },
    };
  }
  await mkdir(config.workDir, { recursive: true });
  const { paths, bodies } = await revUploadBodies(config.rpmsDir, config.files, DIST, log);
  const named = bodies.map((b, i) => ({ ...b, name: basename(paths[i]) }));

  const runs: FleetRun[] = [];
  log('fleet: starting a Ceph RGW (scripts/rgw-up.sh)');
  const rgw = await startRgw({ bucket: 'repod-fleet' });
  try {
    log(`fleet: ${config.files} uploads by ${config.pushers} pushers to ${servers} servers on one bucket`);
    const fleet = await fleetRun(config, rgw, rgw.bucket, servers, `repod, ${servers} servers on one bucket`, named);
    log(describeRun(fleet));
    runs.push(fleet);
    const single = await rgw.createBucket('repod-fleet-single');
    log(`fleet: ${config.files} uploads by ${config.pushers} pushers to 1 server on a fresh bucket`);
    const one = await fleetRun(config, rgw, single, 1, 'repod, 1 server (fresh bucket, same gateway)', named);
    log(describeRun(one));
    runs.push(one);
  } finally {
    await rgw.stop();
  }

  let createrepoMs: number | null = null;
  if (config.createrepo ?? true) {
    // createrepo_c's full run over the same files, hard-linked into a fresh directory (as bench/ingest.ts).
    const tree = join(config.workDir, 'fleet-createrepo');
    await rm(tree, { recursive: true, force: true });
    await mkdir(tree, { recursive: true });
    await Promise.all(paths.map((p) => link(p, join(tree, basename(p)))));
    createrepoMs = (await runTimed('createrepo_c', ['--quiet', tree])).ms;
    log(`  createrepo_c full run: ${fmtMs(createrepoMs)}`);
    if (!config.keep) await rm(tree, { recursive: true, force: true });
  }

  const perSecond = (n: number, ms: number) => `${((n / ms) * 1000).toFixed(1)}/s`;
  const joined = (run: FleetRun, value: (s: FleetServerResult) => string) => run.perServer.map(value).join(' / ');
  const row = (run: FleetRun) => [
    run.label,
    fmtMs(run.ms),
    perSecond(run.files, run.ms),
    String(run.revisions),
    String(run.failures),
    joined(run, (s) => String(s.listed)),
    joined(run, (s) => (s.metrics ? String(s.metrics.conditionalPutsLost) : '-')),
    joined(run, (s) => (s.metrics ? String(s.metrics.publishes.conflict ?? 0) : '-')),
    joined(run, (s) => (s.cpuMsPerUpload === null ? '-' : `${s.cpuMsPerUpload.toFixed(1)} ms`)),
    run.cephCpuMsPerUpload === null ? '-' : `${run.cephCpuMsPerUpload.toFixed(1)} ms`,
  ];
  const [fleet, one] = runs;
  const lines = [
    '',
    `fleet — ${config.files} RPMs, one per POST /api/v1/upload, ${config.pushers} concurrent pushers (pusher i to server i % ${servers}), on one Ceph RGW (memstore), until every server's primary.xml lists all (server: ${(config.runtime ?? benchServerRuntime()) === 'tsx' ? 'src/runtime/node.ts under tsx' : 'dist/server.mjs, as npm start runs it'}; REPOD_REF_TTL_MS ${config.refTtlMs ?? 'default'})`,
    table([
      ['', 'time', 'files/s', 'revisions', 'failures', 'listed', 'cond. puts lost', 'gave up', 'server CPU/upload', 'ceph CPU/upload'],
      ...runs.map(row),
      [
        'createrepo_c, one full run over the same files',
        fmtMs(createrepoMs),
        createrepoMs === null ? '-' : perSecond(config.files, createrepoMs),
        '-',
        '-',
        '-',
        '-',
        '-',
        '-',
        '-',
      ],
    ]),
    ...(fleet && one ? [`${servers} servers on one bucket: ${(fleet.uploadsPerSecond / one.uploadsPerSecond).toFixed(2)}x the uploads/s of one server on the same gateway.`] : []),
    'listed: packages in each server\'s primary.xml at the end; cond. puts lost: repod_store_operations_total{operation="put",outcome="precondition_failed"} over the run (lost ref swaps, retried, plus create-only puts that found their object there); gave up: repod_publishes_total{outcome="conflict"}; values per server.',
    ...runs.map((run) => `${run.label}: ${storeSummary(run)}`),
    ...runs.flatMap((run) =>
      run.failures === 0
        ? []
        : [
            `${run.label}: ${run.failures} uploads failed (${JSON.stringify(run.failuresByKind)}); first: ${run.failureSamples.map((f) => `${f.file} → ${f.status ?? 'no answer'} ${f.body}`).join(' | ')}`,
          ],
    ),
  ];
  return { lines, results: { files: config.files, pushers: config.pushers, refTtlMs: config.refTtlMs ?? null, runs, createrepoMs } };
}

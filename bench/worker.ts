/**
 * The Worker's figures (`npm run bench -- --only worker`; .bench/results-worker.json): the same
 * app as `npm start` (Node, file store) and as `npm run start:worker` (workerd, R2 emulated on
 * disk), each filled with the same N RPMs by one `repod push`, then:
 *   1. time to the first repomd.xml after a publish: one more package is uploaded, and repomd.xml
 *      is asked for as soon as the upload is answered (the Worker renders in waitUntil right after
 *      the publish; Node renders on that request);
 *   2. the sqlite build: the first GET of the hashed variant's repomd.xml builds primary, filelists
 *      and other sqlite databases of all N packages; its time and the serving process's peak RSS
 *      growth (VmHWM of workerd or node; an isolate's limit is 128 MB);
 *   3. CPU per warm repomd.xml request: the CPU time (utime + stime from /proc) the serving
 *      processes spent over K requests from 8 concurrent keep-alive clients, per request. For the
 *      Worker that is every workerd process of `wrangler dev` (the Worker and wrangler's proxy
 *      worker), for Node the server process;
 *   4. a 110 MiB package uploaded in parts of 40 MiB (more than a Worker request body may be):
 *      the completion's wall time and the serving processes' CPU time. Locally most of the
 *      Worker's figure is miniflare's R2 emulation (it writes 110 MiB in about 5 s of CPU), which
 *      on Cloudflare is R2's I/O, not the request's CPU time.
 */
import { link, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningServer, type Runtime, sendInParts, startServer, uploadFile } from '../test/helpers/server.ts';
import { runCli } from './bulk.ts';
import { ADMIN_TOKEN } from './lib/common.ts';
import { httpRequest, keepAliveAgent } from './lib/http.ts';
import { procStatus } from './lib/proc.ts';
import { prepareRevPackages } from './lib/rev-common.ts';
import { fmtMs, table } from './lib/stats.ts';

const DIST = 'rocky9';
const CLOCK_TICKS_PER_SECOND = 100;

export interface WorkerBenchConfig {
  rpmsDir: string;
  /** A large RPM (built once) and its size in MiB, uploaded in parts of 40 MiB. */
  large: { path: string; mib: number };
  files: number;
  requests: number;
  log: (message: string) => void;
}

interface RuntimeFigures {
  runtime: Runtime;
  pushMs: number;
  uploadMs: number;
  firstRepomdMs: number;
  sqliteMs: number;
  /** Uncompressed primary + filelists + other: what REPOD_SQLITE_MAX_METADATA_BYTES bounds. */
  xmlOpenBytes: number;
  sqlitePeakGrowthKiB: number;
  peakKiB: number;
  cpuMsPerRequest: number;
  requestsPerSecond: number;
  /** Completing a large upload in parts: wall time and the serving processes' CPU time. */
  largeUpload: { mib: number; wallMs: number; cpuMs: number };
}

/** Every process under `pid` (itself included), from /proc. */
async function processTree(pid: number): Promise<Array<{ pid: number; name: string }>> {
  const all: Array<{ pid: number; ppid: number; name: string }> = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      all.push({ pid: Number(entry), ppid: Number(fields[1]), name: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      // gone meanwhile
    }
  }
  const out: Array<{ pid: number; name: string }> = [];
  const visit = (p: number) => {
    for (const child of all.filter((x) => x.ppid === p)) {
      out.push({ pid: child.pid, name: child.name });
      visit(child.pid);
    }
  };
  const self = all.find((x) => x.pid === pid);
  if (self) out.push({ pid, name: self.name });
  visit(pid);
  return out;
}

/** utime + stime of a process, in clock ticks. */
async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** The processes that serve: workerd for the Worker, the node server otherwise. */
async function servingPids(server: RunningServer, runtime: Runtime): Promise<number[]> {
  const tree = await processTree(server.process.pid!);
  return runtime === 'worker' ? tree.filter((p) => p.name === 'workerd').map((p) => p.pid) : [server.process.pid!];
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** Uploads a file in parts of 40 MiB and times the completion, which reads, hashes and stores it. */
async function uploadInParts(server: RunningServer, large: { path: string; mib: number }, pids: number[]): Promise<{ mib: number; wallMs: number; cpuMs: number }> {
  const size = (await stat(large.path)).size;
  const sent = await sendInParts(server, DIST, large.path, 40 * 1024 * 1024);
  const before = sum(await Promise.all(pids.map(cpuTicks)));
  const started = performance.now();
  const done = await sent.complete();
  if (done.status !== 201) throw new Error(`complete: ${done.status} ${await done.text()}`);
  const wallMs = performance.now() - started;
  const cpuMs = ((sum(await Promise.all(pids.map(cpuTicks))) - before) * 1000) / CLOCK_TICKS_PER_SECOND;
  return { mib: Math.round(size / 1048576), wallMs, cpuMs };
}

async function peakKiB(pids: number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) total += (await procStatus(pid))?.VmHWM ?? 0;
  return total;
}

async function measure(runtime: Runtime, dir: string, extra: string, config: WorkerBenchConfig): Promise<RuntimeFigures> {
  const { log } = config;
  const server = await startServer({ REPOD_ADMIN_TOKEN: ADMIN_TOKEN }, runtime);
  try {
    const pids = await servingPids(server, runtime);
    log(`worker bench (${runtime}): push of ${config.files} RPMs`);
    const pushStarted = performance.now();
    const push = await runCli(['push', '--dist', DIST, '--no-progress', dir], { REPOD_URL: server.url, REPOD_TOKEN: ADMIN_TOKEN });
    if (push.code !== 0) throw new Error(`repod push (${runtime}) exited with ${push.code}: ${push.stderr.slice(-1000)}`);
    const pushMs = performance.now() - pushStarted;
    const base = `${server.url}/repos/${DIST}/x86_64/repodata/repomd.xml`;
    await fetch(base).then((r) => r.text());

    const uploadStarted = performance.now();
    const upload = await uploadFile(server, DIST, extra);
    if (upload.status !== 201) throw new Error(`upload (${runtime}): ${upload.status} ${JSON.stringify(upload.body)}`);
    const uploaded = performance.now();
    const repomd = await fetch(base).then((r) => r.text());
    const firstRepomdMs = performance.now() - uploaded;
    if (!repomd.includes('primary')) throw new Error(`repomd.xml (${runtime}) has no primary`);

    const before = await peakKiB(pids);
    const sqliteStarted = performance.now();
    const hashed = await fetch(`${server.url}/hashed/${DIST}/x86_64/repodata/repomd.xml`).then((r) => r.text());
    const sqliteMs = performance.now() - sqliteStarted;
    if ((hashed.match(/_db"/g) ?? []).length !== 3) throw new Error(`hashed repomd.xml (${runtime}) lacks the sqlite databases`);
    let xmlOpenBytes = 0;
    for (const m of hashed.matchAll(/<data type="(primary|filelists|other)">[\s\S]*?<open-size>(\d+)<\/open-size>/g)) xmlOpenBytes += Number(m[2]);
    const after = await peakKiB(pids);

    const agent = keepAliveAgent(8);
    await httpRequest(base, { agent, keep: false });
    const ticksBefore = await Promise.all(pids.map(cpuTicks));
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next++ < config.requests) {
          const r = await httpRequest(base, { agent });
          if (r.status !== 200) throw new Error(`repomd.xml (${runtime}): ${r.status}`);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const ticksAfter = await Promise.all(pids.map(cpuTicks));
    agent.destroy();
    const ticks = ticksAfter.reduce((a, b) => a + b, 0) - ticksBefore.reduce((a, b) => a + b, 0);
    const largeUpload = await uploadInParts(server, config.large, pids);
    return {
      runtime,
      pushMs,
      uploadMs: uploaded - uploadStarted,
      firstRepomdMs,
      sqliteMs,
      xmlOpenBytes,
      sqlitePeakGrowthKiB: after - before,
      peakKiB: after,
      cpuMsPerRequest: (ticks * 1000) / CLOCK_TICKS_PER_SECOND / config.requests,
      requestsPerSecond: config.requests / seconds,
      largeUpload,
    };
  } finally {
    await server.stop();
  }
}

export async function runWorkerBench(config: WorkerBenchConfig): Promise<{ lines: string[]; json: unknown }> {
  const set = await prepareRevPackages(config.rpmsDir, config.files + 1, config.log);
  // The push takes a directory: all but the last file; the last is the "one more package".
  const dir = await mkdtemp(join(tmpdir(), 'repod-bench-worker-'));
  const files = set.files.slice(0, config.files);
  await Promise.all(files.map((f) => link(join(set.dir, f), join(dir, f.replaceAll('/', '_')))));
  const extra = join(set.dir, set.files[config.files]!);
  const figures: RuntimeFigures[] = [];
  try {
    for (const runtime of ['node', 'worker'] as Runtime[]) figures.push(await measure(runtime, dir, extra, config));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const [node, worker] = figures as [RuntimeFigures, RuntimeFigures];
  const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
  const ratio = (w: number, n: number) => (n > 0 ? `${(w / n).toFixed(2)}×` : '-');
  const lines = [
    '',
    `## The Worker (workerd, R2 on disk) beside Node (file store): ${config.files} RPMs, rocky9/x86_64`,
    '',
    table([
      ['what', 'Worker', 'Node', 'Worker / Node'],
      ['repod push of all (one revision per batch)', fmtMs(worker.pushMs), fmtMs(node.pushMs), ratio(worker.pushMs, node.pushMs)],
      ['one more upload, answered', fmtMs(worker.uploadMs), fmtMs(node.uploadMs), ratio(worker.uploadMs, node.uploadMs)],
      ['then the first repomd.xml (render)', fmtMs(worker.firstRepomdMs), fmtMs(node.firstRepomdMs), ratio(worker.firstRepomdMs, node.firstRepomdMs)],
      ['sqlite build (first hashed repomd.xml)', fmtMs(worker.sqliteMs), fmtMs(node.sqliteMs), ratio(worker.sqliteMs, node.sqliteMs)],
      [`  for ${mib(worker.xmlOpenBytes / 1024)} of uncompressed XML: peak RSS growth`, mib(worker.sqlitePeakGrowthKiB), mib(node.sqlitePeakGrowthKiB), ''],
      ['  peak RSS of the serving process', mib(worker.peakKiB), mib(node.peakKiB), ''],
      [
        `CPU per warm repomd.xml (${config.requests} requests)`,
        `${worker.cpuMsPerRequest.toFixed(3)} ms`,
        `${node.cpuMsPerRequest.toFixed(3)} ms`,
        ratio(worker.cpuMsPerRequest, node.cpuMsPerRequest),
      ],
      ['  requests per second (8 clients)', worker.requestsPerSecond.toFixed(0), node.requestsPerSecond.toFixed(0), ''],
      [
        `completing a ${worker.largeUpload.mib} MiB upload in parts (wall)`,
        fmtMs(worker.largeUpload.wallMs),
        fmtMs(node.largeUpload.wallMs),
        ratio(worker.largeUpload.wallMs, node.largeUpload.wallMs),
      ],
      [
        '  CPU time of the serving processes (Worker: with the emulated R2)',
        fmtMs(worker.largeUpload.cpuMs),
        fmtMs(node.largeUpload.cpuMs),
        ratio(worker.largeUpload.cpuMs, node.largeUpload.cpuMs),
      ],
    ]),
  ];
  return { lines, json: { files: config.files, requests: config.requests, figures } };
}

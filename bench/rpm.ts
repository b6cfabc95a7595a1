/**
 * RPM publishing benchmark for one repository size: repod against createrepo_c on the same files.
 *
 *  1. initial build: repod (child process: stage all, one publishBatch, first repomd + metadata GETs)
 *     vs createrepo_c (defaults, --workers 2, --no-database);
 *  2. one more package with metadata servable: upload to a running server, GET repomd.xml and the
 *     new primary.xml.gz (median of N runs after one warm-up) vs createrepo_c --update;
 *  3. server RSS and requests/s while 32 clients download repomd.xml, primary, filelists, other;
 *     then RSS while 32 clients each hold primary, filelists and other open without reading.
 */
import { spawn } from 'node:child_process';
import { link, mkdir, readFile, rm } from 'node:fs/promises';
import { Agent, type ClientRequest, type IncomingMessage, request } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { REPO_ROOT } from '../test/helpers/paths.ts';
import type { RunningServer } from '../test/helpers/server.ts';
import { startBenchServer } from './lib/bundle-server.ts';
import { ADMIN_TOKEN, ARCH, DIST } from './lib/common.ts';
import { httpRequest, keepAliveAgent, multipart } from './lib/http.ts';
import type { PackageSet } from './lib/packages.ts';
import { procStatus, runTimed } from './lib/proc.ts';
import { median } from './lib/stats.ts';

export interface RpmBenchOptions {
  workDir: string;
  stageConcurrency: number;
  updateRuns: number;
  createrepoRuns: number;
  clients: number;
  rounds: number;
  loadMaxMs: number;
  /** Directory for .cpuprofile files of the repod processes, or null. */
  profileDir: string | null;
  keep: boolean;
  log: (message: string) => void;
}

export interface RepodInitial {
  packages: number;
  concurrency: number;
  setupMs: number;
  stageMs: number;
  publishMs: number;
  repomdMs: number;
  serveMs: number;
  totalMs: number;
  metadataBytes: Record<string, number>;
  peakRssKiB: number | null;
}

export interface CreaterepoRun {
  args: string[];
  ms: number;
  maxRssKiB: number | null;
  /** Compressed size of each metadata file, by type (primary, filelists, other, *_db). */
  metadataBytes: Record<string, number>;
}

export interface UpdateSeries {
  warmupMs: number;
  runsMs: number[];
  medianMs: number;
}

export interface RepodUpdate extends UpdateSeries {
  /** Medians of the parts of a run: upload answered, repomd.xml read, primary.xml.gz read. */
  uploadMs: number;
  repomdMs: number;
  primaryMs: number;
  primaryBytes: number;
}

export interface MemoryFigures {
  VmRSS: number;
  VmHWM: number;
}

export interface LoadResult {
  clients: number;
  roundsPerClient: number;
  roundsDone: number;
  requests: number;
  failures: number;
  durationMs: number;
  requestsPerSecond: number;
  mibPerSecond: number;
  bytes: number;
  atStart: MemoryFigures | null;
  before: MemoryFigures | null;
  after: MemoryFigures | null;
  sampledMaxRssKiB: number;
}

export interface StalledResult {
  /** Responses opened and left unread (clients x primary, filelists, other). */
  streams: number;
  /** Bytes of those files: what the server would hold if it buffered instead of streaming. */
  fileBytes: number;
  before: MemoryFigures | null;
  /** Highest VmRSS seen while the responses stalled. */
  stalledRssKiB: number;
}

export interface RpmSizeResult {
  packages: number;
  initial: { repod: RepodInitial; createrepo: Record<string, CreaterepoRun> };
  update: { repod: RepodUpdate; createrepo: Record<string, UpdateSeries> };
  load: LoadResult;
  stalled: StalledResult;
}

const CREATEREPO_INITIAL: Record<string, string[]> = {
  // defaults last: its repodata stays in place for --update
  'workers 2': ['--workers', '2'],
  'no-database': ['--no-database'],
  defaults: [],
};
const CREATEREPO_UPDATE: Record<string, string[]> = {
  defaults: ['--update'],
  'no-database': ['--update', '--no-database'],
};

interface RepomdRecord {
  type: string;
  href: string;
  size: number;
}

function parseRepomd(xml: string): RepomdRecord[] {
  return [...xml.matchAll(/<data type="([^"]+)">([\s\S]*?)<\/data>/g)].map((m) => ({
    type: m[1],
    href: /<location href="([^"]+)"/.exec(m[2])![1],
    size: Number(/<size>(\d+)<\/size>/.exec(m[2])![1]),
  }));
}

function nodeArgs(profileDir: string | null, name: string): string[] {
  return profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${name}.cpuprofile`] : [];
}

async function repodInitialBuild(set: PackageSet, storeDir: string, options: RpmBenchOptions): Promise<RepodInitial> {
  const args = [...nodeArgs(options.profileDir, `initial-${set.files.length}`), '--import', 'tsx', 'bench/lib/repod-build.ts', set.dir, storeDir, String(options.stageConcurrency)];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`repod initial build failed (${code}):\n${stderr.slice(-4000)}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as RepodInitial);
    });
  });
}

async function createrepoInitial(dir: string, options: RpmBenchOptions): Promise<Record<string, CreaterepoRun>> {
  const out: Record<string, CreaterepoRun> = {};
  for (const [name, extra] of Object.entries(CREATEREPO_INITIAL)) {
    await rm(join(dir, 'repodata'), { recursive: true, force: true });
    const args = [...extra, dir];
    const run = await runTimed('createrepo_c', args, { measureRss: true });
    const repomd = parseRepomd(await readFile(join(dir, 'repodata', 'repomd.xml'), 'utf8'));
    out[name] = { args, ms: run.ms, maxRssKiB: run.maxRssKiB, metadataBytes: Object.fromEntries(repomd.map((r) => [r.type, r.size])) };
    options.log(`  createrepo_c ${extra.join(' ') || '(defaults)'}: ${run.ms.toFixed(0)} ms`);
  }
  return out;
}

async function createrepoUpdates(dir: string, extra: PackageSet, options: RpmBenchOptions): Promise<Record<string, UpdateSeries>> {
  const out: Record<string, UpdateSeries> = {};
  let nextExtra = 0;
  for (const [name, args] of Object.entries(CREATEREPO_UPDATE)) {
    const times: number[] = [];
    for (let i = 0; i <= options.createrepoRuns; i++) {
      const file = extra.files[nextExtra++];
      if (!file) throw new Error('not enough extra packages for the createrepo_c --update runs');
      await link(join(extra.dir, file), join(dir, file));
      const run = await runTimed('createrepo_c', [...args, dir]);
      times.push(run.ms);
    }
    const [warmupMs, ...runsMs] = times;
    out[name] = { warmupMs, runsMs, medianMs: median(runsMs) };
    options.log(`  createrepo_c ${args.join(' ')}: median ${median(runsMs).toFixed(0)} ms of ${runsMs.map((t) => t.toFixed(0)).join(', ')} (warm-up ${warmupMs.toFixed(0)})`);
  }
  return out;
}

/**
 * Upload one new package, then GET repomd.xml and the new primary.xml.gz, timed to the last byte;
 * `packages`: how many the distribution holds before the first upload. Also bench/scale.ts's.
 */
export async function repodUpdates(server: RunningServer, packages: number, extra: PackageSet, options: Pick<RpmBenchOptions, 'updateRuns' | 'log'>): Promise<RepodUpdate> {
  const agent = keepAliveAgent(1);
  const base = `${server.url}/repos/${DIST}/${ARCH}/repodata/`;
  const rows: Array<{ total: number; upload: number; repomd: number; primary: number; bytes: number }> = [];
  let previousPrimary = '';
  for (let i = 0; i <= options.updateRuns; i++) {
    const file = extra.files[i];
    if (!file) throw new Error('not enough extra packages for the repod update runs');
    const { body, contentType } = await multipart({ distribution: DIST }, { field: 'file', name: file, bytes: await readFile(join(extra.dir, file)) });
    const t0 = performance.now();
    const upload = await httpRequest(`${server.url}/api/v1/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': contentType, 'content-length': String(body.length) },
      body,
      agent,
      keep: true,
    });
    const t1 = performance.now();
    const repomd = await httpRequest(`${base}repomd.xml`, { agent, keep: true });
    const t2 = performance.now();
    const primaryRecord = parseRepomd(repomd.body.toString()).find((r) => r.type === 'primary');
    const primary = primaryRecord ? await httpRequest(`${server.url}/repos/${DIST}/${ARCH}/${primaryRecord.href}`, { agent, keep: true }) : null;
    const t3 = performance.now();

    // Checked after the clock stopped: a real publish with new, complete metadata.
    const answer = JSON.parse(upload.body.toString()) as { status?: string };
    if (upload.status !== 201 || answer.status !== 'published') throw new Error(`upload of ${file}: ${upload.status} ${upload.body.toString().slice(0, 500)}`);
    if (repomd.status !== 200 || !primaryRecord || !primary || primary.status !== 200) throw new Error(`metadata after upload of ${file}: ${repomd.status} ${primary?.status}`);
    if (primaryRecord.href === previousPrimary) throw new Error('repomd.xml still names the previous primary.xml.gz');
    previousPrimary = primaryRecord.href;
    if (primary.bytes !== primaryRecord.size) throw new Error(`primary.xml.gz: ${primary.bytes} bytes, repomd.xml says ${primaryRecord.size}`);
    const xml = gunzipSync(primary.body).toString();
    const count = Number(/packages="(\d+)"/.exec(xml.slice(0, 400))?.[1]);
    const name = file.replace(/-[^-]+-[^-]+\.[^.]+\.rpm$/, '');
    if (count !== packages + i + 1 || !xml.includes(`<name>${name}</name>`))
      throw new Error(`primary.xml after upload of ${file}: ${count} packages, ${name} ${xml.includes(name) ? 'present' : 'missing'}`);
    rows.push({ total: t3 - t0, upload: t1 - t0, repomd: t2 - t1, primary: t3 - t2, bytes: primary.bytes });
  }
  agent.destroy();
  const [warmup, ...runs] = rows;
  const result: RepodUpdate = {
    warmupMs: warmup.total,
    runsMs: runs.map((r) => r.total),
    medianMs: median(runs.map((r) => r.total)),
    uploadMs: median(runs.map((r) => r.upload)),
    repomdMs: median(runs.map((r) => r.repomd)),
    primaryMs: median(runs.map((r) => r.primary)),
    primaryBytes: runs[runs.length - 1].bytes,
  };
  options.log(
    `  repod upload+repomd+primary: median ${result.medianMs.toFixed(0)} ms of ${result.runsMs.map((t) => t.toFixed(0)).join(', ')} (warm-up ${result.warmupMs.toFixed(0)}); ` +
      `upload ${result.uploadMs.toFixed(0)}, repomd ${result.repomdMs.toFixed(0)}, primary ${result.primaryMs.toFixed(0)} ms`,
  );
  return result;
}

/** `clients` loops, each `rounds` times: repomd.xml, then primary, filelists and other, read to the end. Also bench/scale.ts's. */
export async function loadTest(server: RunningServer, options: Pick<RpmBenchOptions, 'clients' | 'rounds' | 'loadMaxMs' | 'log'>): Promise<LoadResult> {
  const pid = server.process.pid!;
  const base = `${server.url}/repos/${DIST}/${ARCH}/`;
  const atStart = await procStatus(pid);
  // One sequential warm-up round (the server loads the render manifest); not counted.
  const warmAgent = keepAliveAgent(1);
  const warm = parseRepomd((await httpRequest(`${base}repodata/repomd.xml`, { agent: warmAgent, keep: true })).body.toString());
  for (const r of warm) await httpRequest(base + r.href, { agent: warmAgent });
  warmAgent.destroy();
  await new Promise((r) => setTimeout(r, 200));
  const before = await procStatus(pid);

  let sampledMax = before?.VmRSS ?? 0;
  const sampler = setInterval(async () => {
    const s = await procStatus(pid);
    if (s && s.VmRSS > sampledMax) sampledMax = s.VmRSS;
  }, 50);
  const agent = keepAliveAgent(options.clients);
  let requests = 0;
  let failures = 0;
  let bytes = 0;
  let roundsDone = 0;
  const started = performance.now();
  const deadline = started + options.loadMaxMs;
  await Promise.all(
    Array.from({ length: options.clients }, async () => {
      for (let round = 0; round < options.rounds && performance.now() < deadline; round++) {
        const repomd = await httpRequest(`${base}repodata/repomd.xml`, { agent, keep: true });
        requests++;
        bytes += repomd.bytes;
        if (repomd.status !== 200) {
          failures++;
          continue;
        }
        for (const record of parseRepomd(repomd.body.toString())) {
          const response = await httpRequest(base + record.href, { agent });
          requests++;
          bytes += response.bytes;
          if (response.status !== 200 || response.bytes !== record.size) failures++;
        }
        roundsDone++;
      }
    }),
  );
  const durationMs = performance.now() - started;
  clearInterval(sampler);
  agent.destroy();
  const after = await procStatus(pid);
  if (after && after.VmRSS > sampledMax) sampledMax = after.VmRSS;
  const result: LoadResult = {
    clients: options.clients,
    roundsPerClient: options.rounds,
    roundsDone,
    requests,
    failures,
    durationMs,
    requestsPerSecond: (requests * 1000) / durationMs,
    mibPerSecond: (bytes / 1048576) * (1000 / durationMs),
    bytes,
    atStart,
    before,
    after,
    sampledMaxRssKiB: sampledMax,
  };
  options.log(
    `  load: ${requests} requests (${failures} failed) in ${durationMs.toFixed(0)} ms, ${result.requestsPerSecond.toFixed(0)} req/s, ${result.mibPerSecond.toFixed(0)} MiB/s; ` +
      `RSS ${((before?.VmRSS ?? 0) / 1024).toFixed(0)} -> ${((after?.VmRSS ?? 0) / 1024).toFixed(0)} MiB, peak ${((after?.VmHWM ?? 0) / 1024).toFixed(0)} MiB`,
  );
  if (failures > 0) throw new Error(`${failures} failed requests under load`);
  return result;
}

/**
 * Slow clients: every client opens primary, filelists and other and reads nothing for two seconds.
 * A streaming server holds a bounded buffer per response whatever the file size (invariant 6).
 */
async function stalledTest(server: RunningServer, options: RpmBenchOptions): Promise<StalledResult> {
  const pid = server.process.pid!;
  const base = `${server.url}/repos/${DIST}/${ARCH}/`;
  const records = parseRepomd((await httpRequest(`${base}repodata/repomd.xml`, { keep: true })).body.toString());
  const before = await procStatus(pid);
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const open: Array<{ req: ClientRequest; res?: IncomingMessage }> = [];
  for (let c = 0; c < options.clients; c++) {
    for (const record of records) {
      const item: { req: ClientRequest; res?: IncomingMessage } = {
        req: request(base + record.href, { agent }, (res) => {
          res.pause();
          item.res = res;
        }),
      };
      item.req.on('error', () => undefined);
      item.req.end();
      open.push(item);
    }
  }
  let stalledRssKiB = before?.VmRSS ?? 0;
  for (let t = 0; t < 20; t++) {
    await new Promise((r) => setTimeout(r, 100));
    const s = await procStatus(pid);
    if (s && s.VmRSS > stalledRssKiB) stalledRssKiB = s.VmRSS;
  }
  const started = open.filter((o) => o.res?.statusCode === 200).length;
  for (const o of open) o.req.destroy();
  agent.destroy();
  await new Promise((r) => setTimeout(r, 300));
  if (started !== open.length) throw new Error(`only ${started} of ${open.length} stalled downloads got a 200 answer`);
  const result = { streams: open.length, fileBytes: options.clients * records.reduce((n, r) => n + r.size, 0), before, stalledRssKiB };
  options.log(
    `  ${open.length} stalled downloads (${(result.fileBytes / 1048576).toFixed(0)} MiB of files): RSS ${((before?.VmRSS ?? 0) / 1024).toFixed(0)} -> ${(stalledRssKiB / 1024).toFixed(0)} MiB`,
  );
  return result;
}

export async function benchRpmSize(set: PackageSet, extra: PackageSet, options: RpmBenchOptions): Promise<RpmSizeResult> {
  const n = set.files.length;
  const work = join(options.workDir, `rpm-${n}`);
  const storeDir = join(work, 'store');
  const crDir = join(work, 'createrepo');
  await rm(work, { recursive: true, force: true });
  await mkdir(crDir, { recursive: true });
  // createrepo_c gets its own directory of hard links to the same files (it writes repodata/ there).
  for (const f of set.files) await link(join(set.dir, f), join(crDir, f));
  // Both tools read the files from the page cache: read them all once first.
  for (const f of set.files) await readFile(join(set.dir, f));

  try {
    options.log(`[${n}] 1. initial build`);
    const repodInitial = await repodInitialBuild(set, storeDir, options);
    options.log(
      `  repod: ${repodInitial.totalMs.toFixed(0)} ms (stage ${repodInitial.stageMs.toFixed(0)}, publish ${repodInitial.publishMs.toFixed(0)}, ` +
        `first repomd ${repodInitial.repomdMs.toFixed(0)}, all metadata ${repodInitial.serveMs.toFixed(0)} ms)`,
    );
    const crInitial = await createrepoInitial(crDir, options);

    options.log(`[${n}] 3. metadata downloads under load (server on the store of step 1)`);
    const server = await startBenchServer({ REPOD_STORAGE: `file:${storeDir}`, REPOD_ADMIN_TOKEN: ADMIN_TOKEN }, { nodeArgs: nodeArgs(options.profileDir, `server-${n}`) });
    let load: LoadResult;
    let stalled: StalledResult;
    let repodUpdate: RepodUpdate;
    try {
      load = await loadTest(server, options);
      stalled = await stalledTest(server, options);
      options.log(`[${n}] 2. one more package, metadata servable`);
      repodUpdate = await repodUpdates(server, n, extra, options);
    } finally {
      await server.stop();
    }
    const crUpdate = await createrepoUpdates(crDir, extra, options);
    return { packages: n, initial: { repod: repodInitial, createrepo: crInitial }, update: { repod: repodUpdate, createrepo: crUpdate }, load, stalled };
  } finally {
    if (!options.keep) await rm(work, { recursive: true, force: true });
  }
}

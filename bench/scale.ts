/**
 * One distribution at 1,000 / 10,000 / 100,000 RPMs (issue 11: "publish +1 flat to 100,000, and
 * reported at 1k, 10k and 100k"; "server RSS under 300 MB while 32 clients download metadata";
 * "the hashed variant's sqlite build at 100k off the publish path, within a bounded memory figure
 * that you measure and report").
 *
 * Filling: synthetic packages (bench/lib/synthetic-rpms.ts: a record and index entry each, no
 * bytes in the pool), 10,000 per revision. rpmbuild cannot make 100,000 RPMs in a bench run, and
 * what a publish and a render read is the records and chunks, which these are like a real
 * package's. The packages published on top are real RPMs (the benchextra-* set), uploaded through
 * POST /api/v1/upload with every ingest step on.
 *
 * Measuring, on the real server (dist/server.mjs) and the file store (fsync on), per size:
 *  1. the first repomd.xml of a fresh process (render of the filled revision) and its RSS;
 *  2. publish +1 (bench/rpm.ts repodUpdates: upload, GET repomd.xml, GET the new primary.xml.gz),
 *     the first upload of the process apart (it builds the dependency index);
 *  3. 32 clients downloading repomd.xml and the three metadata files (bench/rpm.ts loadTest): the
 *     server's RSS, sampled every 50 ms;
 *  4. the hashed variant's first repomd.xml, which builds its three sqlite databases (requested
 *     after the publishes: no upload waits for it), timed, with the RSS sampled while it builds.
 * createrepo_c has no figure at 100,000 here (it needs the RPM files); bench/rpm.ts compares at
 * the sizes it builds real RPMs for.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunningServer } from '../test/helpers/server.ts';
import { startBenchServer } from './lib/bundle-server.ts';
import { ADMIN_TOKEN, ARCH, DIST, machineInfo } from './lib/common.ts';
import { httpRequest, keepAliveAgent } from './lib/http.ts';
import type { PackageSet } from './lib/packages.ts';
import { procStatus } from './lib/proc.ts';
import { fmtMiB, fmtMs, table } from './lib/stats.ts';
import { openSyntheticFiller, type SyntheticEntry, syntheticPackage } from './lib/synthetic-rpms.ts';
import { type LoadResult, loadTest, type RepodUpdate, repodUpdates } from './rpm.ts';

const BATCH = 10_000;

export interface ScaleBenchConfig {
  workDir: string;
  sizes: number[];
  /** Measured publish +1 runs per size (after the first upload of the process). */
  runs: number;
  clients: number;
  rounds: number;
  loadMaxMs: number;
  extra: PackageSet;
  profileDir: string | null;
  keep: boolean;
  log: (message: string) => void;
}

interface Sampled {
  ms: number;
  /** Highest VmRSS seen while it ran (KiB). */
  peakRssKiB: number;
}

interface ScaleResult {
  packages: number;
  fillMs: number;
  startRssKiB: number;
  firstRender: Sampled;
  update: RepodUpdate;
  load: LoadResult;
  hashed: Sampled & { bytes: number };
  /** The server's VmHWM when it stopped (KiB). */
  peakRssKiB: number;
}

/** Runs `task` while sampling the server's RSS every 50 ms. */
async function sampled<T>(pid: number, task: () => Promise<T>): Promise<Sampled & { value: T }> {
  let peak = (await procStatus(pid))?.VmRSS ?? 0;
  const timer = setInterval(async () => {
    const s = await procStatus(pid);
    if (s && s.VmRSS > peak) peak = s.VmRSS;
  }, 50);
  const t0 = performance.now();
  try {
    const value = await task();
    const ms = performance.now() - t0;
    const s = await procStatus(pid);
    if (s && s.VmRSS > peak) peak = s.VmRSS;
    return { ms, peakRssKiB: peak, value };
  } finally {
    clearInterval(timer);
  }
}

async function fill(storeDir: string, count: number, log: (m: string) => void): Promise<void> {
  const filler = await openSyntheticFiller(storeDir);
  for (let start = 0; start < count; start += BATCH) {
    const end = Math.min(count, start + BATCH);
    const add: SyntheticEntry[] = [];
    for (let n = start; n < end; n++) add.push(await filler.describe(syntheticPackage(n)));
    const revision = await filler.publish(DIST, add, [], `${end - start} synthetic packages`);
    if (revision.packageCount !== end) throw new Error(`revision ${revision.number} holds ${revision.packageCount} packages, expected ${end}`);
    log(`  ${end.toLocaleString('en-US')}/${count.toLocaleString('en-US')} packages published`);
  }
}

async function get(server: RunningServer, path: string): Promise<{ status: number; body: Buffer }> {
  const agent = keepAliveAgent(1);
  try {
    return await httpRequest(`${server.url}${path}`, { agent, keep: true });
  } finally {
    agent.destroy();
  }
}

async function measureSize(count: number, config: ScaleBenchConfig): Promise<ScaleResult> {
  const { log } = config;
  const storeDir = join(config.workDir, `scale-${count}`);
  await rm(storeDir, { recursive: true, force: true });
  await mkdir(storeDir, { recursive: true });
  log(`[scale ${count}] filling ${DIST} with synthetic packages`);
  const t0 = performance.now();
  await fill(storeDir, count, log);
  const fillMs = performance.now() - t0;

  const nodeArgs = config.profileDir ? ['--cpu-prof', '--cpu-prof-dir', config.profileDir, '--cpu-prof-name', `scale-${count}.cpuprofile`] : [];
  const server = await startBenchServer({ REPOD_STORAGE: `file:${storeDir}`, REPOD_ADMIN_TOKEN: ADMIN_TOKEN }, { nodeArgs });
  const pid = server.process.pid!;
  try {
    const startRssKiB = (await procStatus(pid))?.VmRSS ?? 0;
    const repodata = `/repos/${DIST}/${ARCH}/repodata/repomd.xml`;
    const first = await sampled(pid, () => get(server, repodata));
    if (first.value.status !== 200) throw new Error(`repomd.xml: ${first.value.status}`);
    log(`[scale ${count}] first repomd.xml ${fmtMs(first.ms)}, RSS ${fmtMiB(first.peakRssKiB)}`);

    const update = await repodUpdates(server, count, config.extra, { updateRuns: config.runs, log });
    const load = await loadTest(server, config);

    const hashed = await sampled(pid, () => get(server, `/hashed/${DIST}/${ARCH}/repodata/repomd.xml`));
    const xml = hashed.value.body.toString();
    if (hashed.value.status !== 200 || !xml.includes('<data type="primary_db">')) throw new Error(`hashed repomd.xml: ${hashed.value.status} ${xml.slice(0, 300)}`);
    const dbBytes = [...xml.matchAll(/<data type="\w+_db">[\s\S]*?<size>(\d+)<\/size>/g)].reduce((n, m) => n + Number(m[1]), 0);
    log(`[scale ${count}] hashed repomd.xml (3 sqlite databases) ${fmtMs(hashed.ms)}, RSS peak ${fmtMiB(hashed.peakRssKiB)}`);
    const peakRssKiB = (await procStatus(pid))?.VmHWM ?? 0;
    return {
      packages: count,
      fillMs,
      startRssKiB,
      firstRender: { ms: first.ms, peakRssKiB: first.peakRssKiB },
      update,
      load,
      hashed: { ms: hashed.ms, peakRssKiB: hashed.peakRssKiB, bytes: dbBytes },
      peakRssKiB,
    };
  } finally {
    await server.stop();
    if (!config.keep) await rm(storeDir, { recursive: true, force: true });
  }
}

export async function runScaleBench(config: ScaleBenchConfig): Promise<{ lines: string[]; json: unknown }> {
  const started = Date.now();
  const results: ScaleResult[] = [];
  for (const size of config.sizes) results.push(await measureSize(size, config));

  const m = machineInfo();
  const lines: string[] = ['', `repod at scale (one distribution) — ${new Date().toISOString()}`];
  lines.push(`machine: ${m.cores} cores, ${m.cpuModel}, ${m.memoryMiB} MiB RAM; node ${m.node}`);
  lines.push(
    `method: ${DIST} filled with synthetic RPM records (${BATCH.toLocaleString('en-US')} per revision), then real RPMs uploaded one at a time to dist/server.mjs on the file store (fsync on); ` +
      `publish +1 = upload answered + GET repomd.xml + GET the new primary.xml.gz, median of ${config.runs}; load: ${config.clients} clients x repomd.xml + 3 metadata files; ` +
      'RSS sampled every 50 ms. Targets: publish +1 flat from 1k to 100k; RSS under 300 MB under load.',
  );
  const col = (f: (r: ScaleResult) => string) => results.map(f);
  lines.push(
    table([
      ['packages', ...col((r) => r.packages.toLocaleString('en-US'))],
      ['fill (synthetic, setup)', ...col((r) => fmtMs(r.fillMs))],
      ['server RSS at start', ...col((r) => fmtMiB(r.startRssKiB))],
      ['first repomd.xml of the process (render)', ...col((r) => `${fmtMs(r.firstRender.ms)}, ${fmtMiB(r.firstRender.peakRssKiB)}`)],
      ['first upload of the process (dependency index)', ...col((r) => fmtMs(r.update.warmupMs))],
      ['publish +1, median', ...col((r) => fmtMs(r.update.medianMs))],
      ['   upload answered', ...col((r) => fmtMs(r.update.uploadMs))],
      ['   GET repomd.xml (render)', ...col((r) => fmtMs(r.update.repomdMs))],
      ['   GET primary.xml.gz', ...col((r) => `${fmtMs(r.update.primaryMs)} (${(r.update.primaryBytes / 1024).toFixed(0)} KiB)`)],
      [`${config.clients} downloaders: req/s`, ...col((r) => r.load.requestsPerSecond.toFixed(0))],
      [`${config.clients} downloaders: peak RSS (target 300 MB)`, ...col((r) => fmtMiB(r.load.sampledMaxRssKiB))],
      ['hashed repomd.xml, 3 sqlite dbs built', ...col((r) => `${fmtMs(r.hashed.ms)} (${(r.hashed.bytes / 1048576).toFixed(1)} MiB gz)`)],
      ['   RSS peak while building', ...col((r) => fmtMiB(r.hashed.peakRssKiB))],
      ['server VmHWM at the end', ...col((r) => fmtMiB(r.peakRssKiB))],
    ]),
  );
  if (results.length > 1) {
    const [a, z] = [results[0], results[results.length - 1]];
    lines.push(`publish +1 from ${a.packages.toLocaleString('en-US')} to ${z.packages.toLocaleString('en-US')}: ${(z.update.medianMs / a.update.medianMs).toFixed(2)}x`);
  }
  lines.push(`total scale bench time ${((Date.now() - started) / 1000).toFixed(0)} s; figures in .bench/results-scale.json`);
  return { lines, json: { date: new Date().toISOString(), machine: m, settings: { sizes: config.sizes, runs: config.runs, clients: config.clients, batch: BATCH }, results } };
}

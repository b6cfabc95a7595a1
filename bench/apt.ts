/**
 * APT publishing benchmark: repod against reprepro and aptly on the same generated .debs, and repod
 * alone at the scale of Debian bookworm main.
 *
 *  1. one more .deb with Release/InRelease/Packages.gz servable, in a distribution of N .debs:
 *     repod: upload to a running server (file store), GET InRelease and the new amd64 Packages.gz
 *     the way apt fetches it (by-hash), to the last byte; median of runs after one warm-up.
 *     reprepro: `includedeb bookworm x.deb` (it exports the indexes and signs), pre-filled with the
 *     same N .debs. aptly: `repo add` + `publish update` (signing), published once before.
 *  2. scale: the same repod publish into a distribution holding the stanzas of a real Packages
 *     file (Debian bookworm main, about 63,000), filled with one Repository.publish.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { REPO_ROOT } from '../test/helpers/paths.ts';
import type { RunningServer } from '../test/helpers/server.ts';
import { APT_COMPONENT, APT_DIST, type AptFillResult, countStanzas, fetchPath, releaseFiles } from './lib/apt-common.ts';
import { prepareDebSets } from './lib/apt-debs.ts';
import { startBenchServer } from './lib/apt-server.ts';
import { ensureTools, stopAgent, type ThrowawayKey, throwawayKey, which } from './lib/apt-tools.ts';
import { ADMIN_TOKEN, machineInfo } from './lib/common.ts';
import { httpRequest, keepAliveAgent, multipart } from './lib/http.ts';
import type { PackageSet } from './lib/packages.ts';
import { procStatus, runTimed } from './lib/proc.ts';
import { fmtMiB, fmtMs, fmtRatio, median, table } from './lib/stats.ts';

export interface AptBenchOptions {
  workDir: string;
  /** Measured repod runs (after one warm-up). */
  repodRuns: number;
  /** Measured reprepro and aptly runs (after one warm-up). */
  toolRuns: number;
  stageConcurrency: number;
  /** Directory for .cpuprofile files of the repod processes, or null. */
  profileDir: string | null;
  keep: boolean;
  log: (message: string) => void;
}

export interface Series {
  warmupMs: number;
  runsMs: number[];
  medianMs: number;
}

export interface RepodAptUpdate extends Series {
  /** Medians of the parts: upload answered, InRelease read, Packages.gz read. */
  uploadMs: number;
  inReleaseMs: number;
  packagesGzMs: number;
  packagesGzBytes: number;
  /** Sum of the sizes InRelease lists (what a render from scratch reads and hashes). */
  indexBytes: number;
  /** Server memory (KiB) after the runs. */
  serverRssKiB: number | null;
  serverPeakRssKiB: number | null;
}

export interface ToolSeries extends Series {
  /** Filling the tool's repository with the N packages once (not part of the comparison). */
  fillMs: number;
  /** aptly: medians of `repo add` and `publish update`. */
  parts?: Record<string, number>;
}

export interface AptSizeResult {
  packages: number;
  repodFill: AptFillResult;
  repod: RepodAptUpdate;
  reprepro: ToolSeries | { skipped: string };
  aptly: ToolSeries | { skipped: string };
}

export interface AptScaleResult {
  source: string;
  /** The first SCALE_SMALL stanzas of the source, then all of them: like against like. */
  runs: Array<{ fill: AptFillResult; repod: RepodAptUpdate }>;
}

/** The small end of the scale comparison, in stanzas of the same real Packages file. */
const SCALE_SMALL = 5000;

/**
 * Node options writing a CPU profile to <profileDir>/<name>/. Not one fixed file name: tsx's loader
 * thread writes a profile too and would overwrite the main thread's (the main one is the biggest).
 */
function nodeArgs(profileDir: string | null, name: string): string[] {
  return profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, name)] : [];
}

/** Fills a fresh store in a child process (bench/lib/apt-build.ts). */
function repodFill(args: string[], options: AptBenchOptions, profileName: string): Promise<AptFillResult> {
  const argv = [...nodeArgs(options.profileDir, profileName), '--import', 'tsx', 'bench/lib/apt-build.ts', ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`repod fill failed (${code}):\n${stderr.slice(-4000)}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as AptFillResult);
    });
  });
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const packageName = (file: string) => file.slice(0, file.indexOf('_'));

/**
 * Checks a published amd64 Packages.gz (after the clock stopped): it is what the Release lists,
 * holds the expected number of stanzas and the new package.
 */
function checkPackagesGz(label: string, gz: Uint8Array, listed: { size: number; sha256: string } | undefined, expectedStanzas: number, file: string): void {
  if (!listed) throw new Error(`${label}: the Release lists no ${APT_COMPONENT}/binary-amd64/Packages.gz`);
  if (gz.length !== listed.size || sha256(gz) !== listed.sha256) throw new Error(`${label}: Packages.gz (${gz.length} bytes) does not match the Release (${listed.size} bytes)`);
  const text = gunzipSync(gz).toString('utf8');
  const stanzas = countStanzas(text);
  const name = packageName(file);
  if (stanzas !== expectedStanzas || !text.includes(`Package: ${name}\n`)) {
    throw new Error(
      `${label}: Packages.gz after adding ${file}: ${stanzas} stanzas (expected ${expectedStanzas}), ${name} ${text.includes(`Package: ${name}\n`) ? 'present' : 'missing'}`,
    );
  }
}

/** Upload one new .deb, then GET InRelease and the new amd64 Packages.gz (by-hash), timed to the last byte. */
async function repodUpdates(server: RunningServer, baseStanzas: number, extra: PackageSet, options: AptBenchOptions): Promise<RepodAptUpdate> {
  const agent = keepAliveAgent(1);
  const dists = `${server.url}/repos/dists/${APT_DIST}/`;
  const rows: Array<{ total: number; upload: number; inRelease: number; gz: number; bytes: number }> = [];
  let indexBytes = 0;
  let previous = '';
  for (let i = 0; i <= options.repodRuns; i++) {
    const file = extra.files[i];
    if (!file) throw new Error('not enough extra packages for the repod runs');
    const { body, contentType } = await multipart({ distribution: APT_DIST }, { field: 'file', name: file, bytes: await readFile(join(extra.dir, file)) });
    const t0 = performance.now();
    const upload = await httpRequest(`${server.url}/api/v1/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': contentType, 'content-length': String(body.length) },
      body,
      agent,
      keep: true,
    });
    const t1 = performance.now();
    const inRelease = await httpRequest(`${dists}InRelease`, { agent, keep: true });
    const t2 = performance.now();
    const releaseText = inRelease.body.toString();
    const listed = releaseFiles(releaseText).get(`${APT_COMPONENT}/binary-amd64/Packages.gz`);
    const gz = listed ? await httpRequest(dists + fetchPath(releaseText, listed), { agent, keep: true }) : null;
    const t3 = performance.now();

    // Checked after the clock stopped: a real publish with new, complete, consistent indexes.
    const answer = JSON.parse(upload.body.toString()) as { status?: string };
    if (upload.status !== 201 || answer.status !== 'published') throw new Error(`upload of ${file}: ${upload.status} ${upload.body.toString().slice(0, 500)}`);
    if (inRelease.status !== 200 || !releaseText.includes('-----BEGIN PGP SIGNATURE-----')) throw new Error(`InRelease after upload of ${file}: ${inRelease.status}`);
    if (gz?.status !== 200) throw new Error(`Packages.gz after upload of ${file}: ${gz?.status}`);
    if (listed!.sha256 === previous) throw new Error('InRelease still lists the previous Packages.gz');
    previous = listed!.sha256;
    checkPackagesGz(`repod run ${i}`, gz.body, listed, baseStanzas + i + 1, file);
    rows.push({ total: t3 - t0, upload: t1 - t0, inRelease: t2 - t1, gz: t3 - t2, bytes: gz.bytes });
    indexBytes = [...releaseFiles(releaseText).values()].reduce((n, f) => n + f.size, 0);
  }
  agent.destroy();
  const status = await procStatus(server.process.pid!);
  const [warmup, ...runs] = rows;
  const result: RepodAptUpdate = {
    warmupMs: warmup.total,
    runsMs: runs.map((r) => r.total),
    medianMs: median(runs.map((r) => r.total)),
    uploadMs: median(runs.map((r) => r.upload)),
    inReleaseMs: median(runs.map((r) => r.inRelease)),
    packagesGzMs: median(runs.map((r) => r.gz)),
    packagesGzBytes: runs[runs.length - 1].bytes,
    indexBytes,
    serverRssKiB: status?.VmRSS ?? null,
    serverPeakRssKiB: status?.VmHWM ?? null,
  };
  options.log(
    `  repod upload+InRelease+Packages.gz: median ${fmtMs(result.medianMs)} of ${result.runsMs.map((t) => t.toFixed(0)).join(', ')} (warm-up ${result.warmupMs.toFixed(0)}); ` +
      `upload ${fmtMs(result.uploadMs)}, InRelease ${fmtMs(result.inReleaseMs)}, Packages.gz ${fmtMs(result.packagesGzMs)} (${(result.packagesGzBytes / 1024).toFixed(0)} KiB)`,
  );
  return result;
}

async function repodSeries(storeDir: string, baseStanzas: number, extra: PackageSet, options: AptBenchOptions, profileName: string): Promise<RepodAptUpdate> {
  const server = await startBenchServer(`file:${storeDir}`, nodeArgs(options.profileDir, profileName));
  try {
    return await repodUpdates(server, baseStanzas, extra, options);
  } finally {
    await server.stop();
  }
}

function seriesOf(times: number[]): Series {
  const [warmupMs, ...runsMs] = times;
  return { warmupMs, runsMs, medianMs: median(runsMs) };
}

/** Reads a tool's published amd64 Packages.gz and InRelease from disk and checks them. */
async function checkPublished(label: string, distsDir: string, expectedStanzas: number, file: string): Promise<void> {
  const inRelease = await readFile(join(distsDir, 'InRelease'), 'utf8');
  if (!inRelease.includes('-----BEGIN PGP SIGNATURE-----')) throw new Error(`${label}: InRelease is not signed`);
  const gz = await readFile(join(distsDir, APT_COMPONENT, 'binary-amd64', 'Packages.gz'));
  checkPackagesGz(label, gz, releaseFiles(inRelease).get(`${APT_COMPONENT}/binary-amd64/Packages.gz`), expectedStanzas, file);
}

/**
 * reprepro: conf/distributions for bookworm (main; amd64 arm64; signed with the throwaway key),
 * filled once with includedeb in batches without exporting, then one export; then the timed
 * `includedeb bookworm x.deb` runs (each exports and signs, as reprepro does by default).
 */
async function repreproSeries(set: PackageSet, extra: PackageSet, dir: string, key: ThrowawayKey, options: AptBenchOptions): Promise<ToolSeries> {
  await mkdir(join(dir, 'conf'), { recursive: true });
  await writeFile(
    join(dir, 'conf', 'distributions'),
    [`Origin: bench`, `Label: bench`, `Codename: ${APT_DIST}`, `Architectures: amd64 arm64`, `Components: ${APT_COMPONENT}`, `SignWith: ${key.fingerprint}`, ''].join('\n'),
  );
  const started = performance.now();
  const paths = set.files.map((f) => join(set.dir, f));
  for (let i = 0; i < paths.length; i += 2000) {
    await runTimed('reprepro', ['-b', dir, '--export=silent-never', 'includedeb', APT_DIST, ...paths.slice(i, i + 2000)], { env: key.env });
  }
  await runTimed('reprepro', ['-b', dir, 'export', APT_DIST], { env: key.env });
  const fillMs = performance.now() - started;
  await checkPublished('reprepro fill', join(dir, 'dists', APT_DIST), set.files.length, set.files[set.files.length - 1]);
  options.log(`  reprepro: filled with ${set.files.length} .debs and exported in ${fmtMs(fillMs)}`);

  const times: number[] = [];
  for (let i = 0; i <= options.toolRuns; i++) {
    const file = extra.files[i];
    const run = await runTimed('reprepro', ['-b', dir, 'includedeb', APT_DIST, join(extra.dir, file)], { env: key.env });
    times.push(run.ms);
    await checkPublished(`reprepro run ${i}`, join(dir, 'dists', APT_DIST), set.files.length + i + 1, file);
  }
  const series = seriesOf(times);
  options.log(`  reprepro includedeb: median ${fmtMs(series.medianMs)} of ${series.runsMs.map((t) => t.toFixed(0)).join(', ')} (warm-up ${series.warmupMs.toFixed(0)})`);
  return { ...series, fillMs };
}

/**
 * aptly with a private config (rootDir under the work directory, architectures amd64 arm64): a
 * local repo filled with `repo add` of the set's directory, published once (signed with the
 * throwaway key); then the timed `repo add x.deb` + `publish update bookworm` runs. aptly's
 * defaults are kept (it also writes Packages.bz2 and Contents, as repod writes Contents).
 */
async function aptlySeries(set: PackageSet, extra: PackageSet, dir: string, key: ThrowawayKey, options: AptBenchOptions): Promise<ToolSeries> {
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'aptly.conf');
  await writeFile(config, JSON.stringify({ rootDir: join(dir, 'root'), architectures: ['amd64', 'arm64'] }, null, 1));
  const aptly = (args: string[]) => runTimed('aptly', [`-config=${config}`, ...args], { env: key.env });
  const started = performance.now();
  await aptly(['repo', 'create', `-distribution=${APT_DIST}`, `-component=${APT_COMPONENT}`, 'bench']);
  await aptly(['repo', 'add', 'bench', set.dir]);
  await aptly(['publish', 'repo', '-architectures=amd64,arm64', `-gpg-key=${key.fingerprint}`, 'bench']);
  const fillMs = performance.now() - started;
  const distsDir = join(dir, 'root', 'public', 'dists', APT_DIST);
  await checkPublished('aptly fill', distsDir, set.files.length, set.files[set.files.length - 1]);
  options.log(`  aptly: filled with ${set.files.length} .debs and published in ${fmtMs(fillMs)}`);

  const rows: Array<{ add: number; publish: number }> = [];
  for (let i = 0; i <= options.toolRuns; i++) {
    const file = extra.files[i];
    const add = await aptly(['repo', 'add', 'bench', join(extra.dir, file)]);
    const publish = await aptly(['publish', 'update', `-gpg-key=${key.fingerprint}`, APT_DIST]);
    rows.push({ add: add.ms, publish: publish.ms });
    await checkPublished(`aptly run ${i}`, distsDir, set.files.length + i + 1, file);
  }
  const series = seriesOf(rows.map((r) => r.add + r.publish));
  const parts = { 'repo add': median(rows.slice(1).map((r) => r.add)), 'publish update': median(rows.slice(1).map((r) => r.publish)) };
  options.log(
    `  aptly repo add + publish update: median ${fmtMs(series.medianMs)} of ${series.runsMs.map((t) => t.toFixed(0)).join(', ')} (warm-up ${series.warmupMs.toFixed(0)}); ` +
      `repo add ${fmtMs(parts['repo add'])}, publish update ${fmtMs(parts['publish update'])}`,
  );
  return { ...series, fillMs, parts };
}

/** Runs one size: repod, reprepro and aptly on the same .debs (a tool is null when missing). */
export async function benchAptSize(
  set: PackageSet,
  extra: PackageSet,
  options: AptBenchOptions,
  tools: { reprepro: ThrowawayKey | string; aptly: ThrowawayKey | string },
): Promise<AptSizeResult> {
  const n = set.files.length;
  const work = join(options.workDir, `apt-${n}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  // Every tool reads the files from the page cache: read them all once first.
  for (const f of set.files) await readFile(join(set.dir, f));
  try {
    options.log(`[apt ${n}] repod: fill a store (stage + one publishBatch)`);
    const storeDir = join(work, 'repod-store');
    const repodFillResult = await repodFill(['debs', set.dir, storeDir, String(options.stageConcurrency)], options, `apt-fill-${n}`);
    options.log(
      `  repod fill: ${fmtMs(repodFillResult.totalMs)} (stage ${fmtMs(repodFillResult.prepareMs)}, publishBatch ${fmtMs(repodFillResult.publishMs)}, ` +
        `first InRelease ${fmtMs(repodFillResult.inReleaseMs)}, Packages.gz ${fmtMs(repodFillResult.packagesGzMs)})`,
    );
    if (repodFillResult.amd64Stanzas !== n) throw new Error(`repod fill: ${repodFillResult.amd64Stanzas} amd64 stanzas, expected ${n}`);
    options.log(`[apt ${n}] repod: one more .deb on a running server`);
    const repod = await repodSeries(storeDir, n, extra, options, `apt-server-${n}`);

    let reprepro: ToolSeries | { skipped: string };
    if (typeof tools.reprepro === 'string') reprepro = { skipped: tools.reprepro };
    else {
      options.log(`[apt ${n}] reprepro`);
      reprepro = await repreproSeries(set, extra, join(work, 'reprepro'), tools.reprepro, options);
    }
    let aptly: ToolSeries | { skipped: string };
    if (typeof tools.aptly === 'string') aptly = { skipped: tools.aptly };
    else {
      options.log(`[apt ${n}] aptly`);
      aptly = await aptlySeries(set, extra, join(work, 'aptly'), tools.aptly, options);
    }
    return { packages: n, repodFill: repodFillResult, repod, reprepro, aptly };
  } finally {
    if (!options.keep) await rm(work, { recursive: true, force: true });
  }
}

/**
 * repod at the scale of a real Packages file: fill from its first 5,000 stanzas, then from all of
 * them (the same kind of stanzas, so chunk sizes compare), and publish one more .deb into each.
 */
export async function benchAptScale(packagesFile: string, extra: PackageSet, options: AptBenchOptions): Promise<AptScaleResult> {
  const work = join(options.workDir, 'apt-debian');
  const runs: AptScaleResult['runs'] = [];
  for (const limit of [SCALE_SMALL, 0]) {
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    try {
      const what = limit ? `the first ${limit.toLocaleString('en-US')} stanzas` : 'all the stanzas';
      options.log(`[apt debian] repod: fill a store from ${what} of ${packagesFile} (one Repository.publish)`);
      const storeDir = join(work, 'repod-store');
      const fill = await repodFill(['debian', packagesFile, storeDir, String(limit)], options, `apt-fill-debian-${limit || 'all'}`);
      options.log(
        `  repod fill: ${fill.packages} stanzas in ${fmtMs(fill.totalMs)} (parse ${fmtMs(fill.prepareMs)}, publish ${fmtMs(fill.publishMs)}, ` +
          `first InRelease ${fmtMs(fill.inReleaseMs)}, Packages.gz ${fmtMs(fill.packagesGzMs)}); peak RSS ${fmtMiB(fill.peakRssKiB)}`,
      );
      options.log(`[apt debian] repod: one more .deb on a running server`);
      runs.push({ fill, repod: await repodSeries(storeDir, fill.amd64Stanzas, extra, options, `apt-server-debian-${limit || 'all'}`) });
    } finally {
      if (!options.keep) await rm(work, { recursive: true, force: true });
    }
  }
  return { source: packagesFile, runs };
}

const isSeries = (s: ToolSeries | { skipped: string }): s is ToolSeries => !('skipped' in s);
const cell = (s: ToolSeries | { skipped: string }, pick: (s: ToolSeries) => string) => (isSeries(s) ? pick(s) : 'skipped');

/** The printed APT section. */
export function formatAptReport(results: AptSizeResult[], scale: AptScaleResult | { skipped: string } | null, header: string[]): string[] {
  const out: string[] = ['', ...header];
  const cols = results.map((r) => `${r.packages.toLocaleString('en-US')} debs`);
  if (results.length > 0) {
    const runs = results[0].repod.runsMs.length;
    const toolRuns = results.map((r) => (isSeries(r.reprepro) ? r.reprepro.runsMs.length : isSeries(r.aptly) ? r.aptly.runsMs.length : 0))[0];
    out.push('', `== 1. one more .deb, InRelease + Packages.gz servable (median of ${runs} repod / ${toolRuns} reprepro and aptly runs, warm-up excluded) ==`);
    out.push(
      table([
        ['', ...cols],
        ['repod: upload + GET InRelease + GET Packages.gz', ...results.map((r) => fmtMs(r.repod.medianMs))],
        ['   upload answered (publish)', ...results.map((r) => fmtMs(r.repod.uploadMs))],
        ['   GET InRelease (render, sign)', ...results.map((r) => fmtMs(r.repod.inReleaseMs))],
        ['   GET amd64 Packages.gz (by-hash)', ...results.map((r) => `${fmtMs(r.repod.packagesGzMs)} (${(r.repod.packagesGzBytes / 1024).toFixed(0)} KiB)`)],
        ['   all runs', ...results.map((r) => r.repod.runsMs.map((t) => t.toFixed(0)).join(', '))],
        ['   warm-up run (excluded)', ...results.map((r) => fmtMs(r.repod.warmupMs))],
        ['reprepro includedeb (exports, signs)', ...results.map((r) => cell(r.reprepro, (s) => fmtMs(s.medianMs)))],
        ['   all runs', ...results.map((r) => cell(r.reprepro, (s) => s.runsMs.map((t) => t.toFixed(0)).join(', ')))],
        ['   ratio reprepro / repod', ...results.map((r) => cell(r.reprepro, (s) => fmtRatio(s.medianMs, r.repod.medianMs)))],
        ['aptly repo add + publish update', ...results.map((r) => cell(r.aptly, (s) => fmtMs(s.medianMs)))],
        ['   repo add', ...results.map((r) => cell(r.aptly, (s) => fmtMs(s.parts?.['repo add'])))],
        ['   publish update', ...results.map((r) => cell(r.aptly, (s) => fmtMs(s.parts?.['publish update'])))],
        ['   all runs', ...results.map((r) => cell(r.aptly, (s) => s.runsMs.map((t) => t.toFixed(0)).join(', ')))],
        ['   ratio aptly / repod', ...results.map((r) => cell(r.aptly, (s) => fmtRatio(s.medianMs, r.repod.medianMs)))],
        ['setup, not compared: repod fill (stage + publishBatch + first render)', ...results.map((r) => fmtMs(r.repodFill.totalMs))],
        ['   reprepro fill (includedeb batches + export)', ...results.map((r) => cell(r.reprepro, (s) => fmtMs(s.fillMs)))],
        ['   aptly fill (repo add dir + publish repo)', ...results.map((r) => cell(r.aptly, (s) => fmtMs(s.fillMs)))],
        ['repod server RSS after the runs (peak)', ...results.map((r) => `${fmtMiB(r.repod.serverRssKiB)} (${fmtMiB(r.repod.serverPeakRssKiB)})`)],
      ]),
    );
    const big = results[results.length - 1];
    const target = (tool: string, s: ToolSeries | { skipped: string }, wanted: number) => {
      if (!isSeries(s)) return `${tool} skipped`;
      const ratio = s.medianMs / big.repod.medianMs;
      return `${wanted}x faster than ${tool}: ${ratio.toFixed(1)}x (${ratio >= wanted ? 'met' : 'not met'})`;
    };
    out.push(`issue's targets at ${big.packages.toLocaleString('en-US')} debs: ${target('reprepro', big.reprepro, 5)}; ${target('aptly', big.aptly, 20)}`);
  }
  if (scale) {
    out.push('', '== 2. scale: repod, one more .deb (same measurement as 1.) ==');
    if ('skipped' in scale) out.push(`skipped: ${scale.skipped}`);
    else {
      const all = [
        ...results.map((r) => ({ label: `${r.packages.toLocaleString('en-US')} debs`, fill: r.repodFill, repod: r.repod })),
        ...scale.runs.map((r) => ({ label: `${r.fill.packages.toLocaleString('en-US')} Debian stanzas`, fill: r.fill, repod: r.repod })),
      ];
      const servable = (r: RepodAptUpdate) => r.uploadMs + r.inReleaseMs;
      out.push(
        table([
          ['', ...all.map((a) => a.label)],
          ['publish until servable (upload + InRelease)', ...all.map((a) => fmtMs(servable(a.repod)))],
          ['   upload answered (publish)', ...all.map((a) => fmtMs(a.repod.uploadMs))],
          ['   GET InRelease (render, sign)', ...all.map((a) => fmtMs(a.repod.inReleaseMs))],
          ['one more .deb incl. downloading Packages.gz (median)', ...all.map((a) => fmtMs(a.repod.medianMs))],
          ['   GET amd64 Packages.gz (by-hash, whole file)', ...all.map((a) => fmtMs(a.repod.packagesGzMs))],
          ['   amd64 Packages.gz size', ...all.map((a) => `${(a.repod.packagesGzBytes / 1048576).toFixed(1)} MiB`)],
          ['   index bytes the Release lists', ...all.map((a) => `${(a.repod.indexBytes / 1048576).toFixed(1)} MiB`)],
          ['   all runs', ...all.map((a) => a.repod.runsMs.map((t) => t.toFixed(0)).join(', '))],
          ['   warm-up run (excluded; first render of a fresh server)', ...all.map((a) => fmtMs(a.repod.warmupMs))],
          ['fill: prepare (stage .debs / parse stanzas)', ...all.map((a) => fmtMs(a.fill.prepareMs))],
          ['fill: one publish (publishBatch / Repository.publish)', ...all.map((a) => fmtMs(a.fill.publishMs))],
          ['fill: first InRelease (render of N)', ...all.map((a) => fmtMs(a.fill.inReleaseMs))],
          ['fill process peak RSS', ...all.map((a) => fmtMiB(a.fill.peakRssKiB))],
          ['server RSS after the runs (peak)', ...all.map((a) => `${fmtMiB(a.repod.serverRssKiB)} (${fmtMiB(a.repod.serverPeakRssKiB)})`)],
        ]),
      );
      const [small, big] = scale.runs;
      if (small && big) {
        const growth = servable(big.repod) / servable(small.repod);
        out.push(
          `issue's target: a publish time that does not grow from ${small.fill.packages.toLocaleString('en-US')} to ${big.fill.packages.toLocaleString('en-US')} Debian stanzas: ` +
            `publish until servable ${fmtMs(servable(small.repod))} -> ${fmtMs(servable(big.repod))} (${growth.toFixed(2)}x; upload ${(big.repod.uploadMs / small.repod.uploadMs).toFixed(2)}x, ` +
            `InRelease ${(big.repod.inReleaseMs / small.repod.inReleaseMs).toFixed(2)}x). Downloading the whole Packages.gz grows with its size ` +
            `(${(big.repod.packagesGzMs / small.repod.packagesGzMs).toFixed(1)}x), as it must.`,
        );
      }
    }
  }
  return out;
}

export interface AptBenchConfig extends AptBenchOptions {
  sizes: number[];
  /** A Packages file (.lz4, .gz or plain) for the scale run, or null to skip it. */
  bookworm: string | null;
  debsDir: string;
}

/** The whole APT section: tools, data, every size, the scale run. Returns the printed lines and the JSON figures. */
export async function runAptBench(config: AptBenchConfig): Promise<{ lines: string[]; json: Record<string, unknown> }> {
  const { log } = config;
  const started = Date.now();
  const missing = await ensureTools(['reprepro', 'aptly', 'gpg', ...(config.bookworm?.endsWith('.lz4') ? ['lz4'] : [])], log);
  const skipReason = (tool: string) => `${tool} is not installed (Debian package ${tool}; run as root to install it)`;
  for (const tool of missing) log(`skipping ${tool}: ${skipReason(tool)}`);
  const version = async (command: string, args: string[]) =>
    (await which(command))
      ? await runTimed(command, args).then(
          (r) => (r.stdout + r.stderr).trim().split('\n')[0] ?? '',
          () => 'unknown',
        )
      : 'missing';
  const versions = { reprepro: await version('reprepro', ['--version']), aptly: await version('aptly', ['version']), gpg: await version('gpg', ['--version']) };

  const extraCount = Math.max(16, config.repodRuns + 1, config.toolRuns + 1);
  const { sets, extra } = await prepareDebSets(config.debsDir, config.sizes, extraCount);
  let key: ThrowawayKey | null = null;
  if (!missing.includes('gpg') && (!missing.includes('reprepro') || !missing.includes('aptly'))) key = await throwawayKey(join(config.workDir, 'apt-gnupg'));
  const toolFor = (tool: string): ThrowawayKey | string => (missing.includes(tool) ? skipReason(tool) : (key ?? skipReason('gpg')));

  const results: AptSizeResult[] = [];
  let scale: AptScaleResult | { skipped: string } | null = null;
  const load = { start: loadavg()[0], end: NaN };
  try {
    for (const size of config.sizes) results.push(await benchAptSize(sets.get(size)!, extra, config, { reprepro: toolFor('reprepro'), aptly: toolFor('aptly') }));
    if (config.bookworm) {
      const file = config.bookworm;
      const readable = await access(file).then(
        () => true,
        () => false,
      );
      if (!readable) scale = { skipped: `${file} not found (apt-get update fills /var/lib/apt/lists)` };
      else if (file.endsWith('.lz4') && missing.includes('lz4')) scale = { skipped: skipReason('lz4') };
      else scale = await benchAptScale(file, extra, config);
      if ('skipped' in scale) log(`skipping the scale run: ${scale.skipped}`);
    }
  } finally {
    if (key) {
      await stopAgent(key);
      if (!config.keep) await rm(key.home, { recursive: true, force: true });
    }
  }
  load.end = loadavg()[0];

  const header = [
    `repod APT publishing benchmark — ${new Date().toISOString()}`,
    `machine: ${availableParallelism()} cores, ${cpus()[0]?.model ?? 'unknown'}, ${Math.round(totalmem() / 1048576)} MiB RAM, ${platform()} ${release()}; node ${process.version}; ${versions.reprepro}; aptly ${versions.aptly.replace(/^aptly version:\s*/, '')}; ${versions.gpg}`,
    `load average (1 min) at start ${load.start.toFixed(2)}, at end ${load.end.toFixed(2)} (anything else running skews the figures)`,
    `method: the same generated .debs for every tool (read once before timing, so all read from the page cache), distribution ${APT_DIST} (component ${APT_COMPONENT}; amd64 arm64); ` +
      `every tool signs with an ed25519 key (repod its own key, reprepro SignWith and aptly -gpg-key a throwaway gpg key, no passphrase). ` +
      `repod: real HTTP on 127.0.0.1, file store (fsync on), time from the upload request to the last byte of InRelease and of the amd64 Packages.gz it lists (fetched by-hash like apt). ` +
      `reprepro and aptly: wall time of the commands (process start included), defaults otherwise (reprepro writes no Contents; aptly writes Contents and Packages.bz2 too). ` +
      `Fills are done once and not timed in the comparison; each published Packages.gz is checked against its Release after the clock stopped. ratio = tool time / repod time.`,
  ];
  const lines = formatAptReport(results, scale, header);
  lines.push('', `APT bench time ${((Date.now() - started) / 1000).toFixed(0)} s; figures in .bench/results-apt.json`);
  const json = {
    date: new Date().toISOString(),
    machine: {
      ...machineInfo(),
      ...versions,
      loadAverage: load,
    },
    settings: {
      distribution: APT_DIST,
      sizes: config.sizes,
      repodRuns: config.repodRuns,
      toolRuns: config.toolRuns,
      stageConcurrency: config.stageConcurrency,
      bookworm: config.bookworm,
      signing: 'ed25519: repod its own key; reprepro SignWith and aptly -gpg-key a throwaway gpg key without passphrase',
      warmup: 'one run excluded for each series',
      missingTools: missing,
    },
    debSets: Object.fromEntries([...sets].map(([n, s]) => [n, { dir: s.dir, builtNow: s.built, buildMs: s.buildMs }])),
    results,
    scale,
  };
  return { lines, json };
}

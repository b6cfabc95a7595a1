/**
 * Per-file ingest of .debs (part of `--only ingest`; .bench/results-ingest.json): N generated .debs
 * (bench/lib/apt-debs.ts, cached under .bench/debs/) uploaded one per POST /api/v1/upload by
 * `clients` concurrent clients into the APT distribution bookworm of a fresh server, until every
 * upload is answered 201 and the served amd64 and arm64 Packages list every package of their
 * architecture (and the `all` ones).
 *
 * Beside it, the reference tools taking the same files one at a time, as they would from a CI that
 * sends each build when it is done: reprepro `includedeb bookworm x.deb` (each run exports and
 * signs) and aptly `repo add` + `publish update` (signed), timed on the last `toolFiles` files after
 * the others went in as one batch (untimed setup, except as the batch figure below). Neither tool
 * takes two files at once: reprepro locks its database, aptly its root, so one at a time is also
 * their best rate. Their batch run (one includedeb of the N - toolFiles files and one export; one
 * repo add of a directory and one publish) is shown as what a tool does when it gets the files
 * together, like createrepo_c's full run beside the RPM figure.
 */
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { APT_COMPONENT, APT_DIST, countStanzas, fetchPath, releaseFiles } from './lib/apt-common.ts';
import { prepareDebSets } from './lib/apt-debs.ts';
import { ensureTools, stopAgent, type ThrowawayKey, throwawayKey } from './lib/apt-tools.ts';
import { startBenchServer } from './lib/bundle-server.ts';
import { ADMIN_TOKEN } from './lib/common.ts';
import { httpRequest, multipart } from './lib/http.ts';
import { cpuMs, runTimed } from './lib/proc.ts';
import { fmtMs, median, table } from './lib/stats.ts';
import { uploadAll } from './lib/uploads.ts';

export interface DebIngestConfig {
  workDir: string;
  debsDir: string;
  files: number;
  clients: number;
  /** Files each reference tool takes one at a time (timed). */
  toolFiles: number;
  keep: boolean;
  profileDir: string | null;
  log: (message: string) => void;
}

interface ToolPerFile {
  /** Files taken one at a time and each run's time. */
  runsMs: number[];
  medianMs: number;
  filesPerSecond: number;
  /** The batch before them: files and time. */
  batch: { files: number; ms: number };
}

const ARCHES = ['amd64', 'arm64'] as const;

/** Packages of `files` each architecture's Packages lists (its own and the `all` ones). */
function expectedStanzas(files: string[]): Record<(typeof ARCHES)[number], number> {
  const all = files.filter((f) => f.endsWith('_all.deb')).length;
  return {
    amd64: files.filter((f) => f.endsWith('_amd64.deb')).length + all,
    arm64: files.filter((f) => f.endsWith('_arm64.deb')).length + all,
  };
}

/** Stanzas of the served Packages.gz of one architecture (0 before the first publish). */
async function servedStanzas(url: string, arch: string): Promise<number> {
  const dists = `${url}/repos/dists/${APT_DIST}/`;
  const inRelease = await httpRequest(`${dists}InRelease`, { keep: true });
  if (inRelease.status !== 200) return 0;
  const text = inRelease.body.toString();
  const entry = releaseFiles(text).get(`${APT_COMPONENT}/binary-${arch}/Packages.gz`);
  if (!entry) return 0;
  const gz = await httpRequest(dists + fetchPath(text, entry), { keep: true });
  return gz.status === 200 ? countStanzas(gunzipSync(gz.body).toString('utf8')) : 0;
}

async function repodRun(config: DebIngestConfig, dir: string, files: string[]) {
  const bodies = await Promise.all(files.map(async (f) => multipart({ distribution: APT_DIST }, { field: 'file', name: f, bytes: new Uint8Array(await readFile(join(dir, f))) })));
  const store = join(config.workDir, 'ingest-deb');
  await rm(store, { recursive: true, force: true });
  const profile = config.profileDir ? ['--cpu-prof', '--cpu-prof-dir', config.profileDir, '--cpu-prof-name', 'server-ingest-deb.cpuprofile'] : [];
  const server = await startBenchServer({ REPOD_STORAGE: `file:${store}`, REPOD_ADMIN_TOKEN: ADMIN_TOKEN }, { nodeArgs: profile });
  const revisions = new Set<number>();
  const expected = expectedStanzas(files);
  try {
    const cpuBefore = await cpuMs(server.process.pid);
    const started = performance.now();
    const failures = await uploadAll(server.url, bodies, config.clients, config.log, (answer) => revisions.add((answer.revision as { number: number }).number));
    if (failures > 0) throw new Error(`${failures} .deb uploads refused`);
    for (const arch of ARCHES) while ((await servedStanzas(server.url, arch)) < expected[arch]) await new Promise((r) => setTimeout(r, 20));
    const ms = performance.now() - started;
    const cpuAfter = await cpuMs(server.process.pid);
    return {
      files: files.length,
      ms,
      uploadsPerSecond: (files.length / ms) * 1000,
      revisions: revisions.size,
      serverCpuMsPerUpload: cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / files.length,
    };
  } finally {
    await server.stop();
    if (!config.keep) await rm(store, { recursive: true, force: true });
  }
}

function perFile(runsMs: number[], batch: { files: number; ms: number }): ToolPerFile {
  const medianMs = median(runsMs);
  return { runsMs, medianMs, filesPerSecond: 1000 / medianMs, batch };
}

async function reprepro(dir: string, set: { dir: string; files: string[] }, single: number, key: ThrowawayKey): Promise<ToolPerFile> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'conf'), { recursive: true });
  await writeFile(
    join(dir, 'conf', 'distributions'),
    [`Origin: bench`, `Label: bench`, `Codename: ${APT_DIST}`, `Architectures: amd64 arm64`, `Components: ${APT_COMPONENT}`, `SignWith: ${key.fingerprint}`, ''].join('\n'),
  );
  const paths = set.files.map((f) => join(set.dir, f));
  const batched = paths.slice(0, paths.length - single);
  const started = performance.now();
  if (batched.length) await runTimed('reprepro', ['-b', dir, '--export=silent-never', 'includedeb', APT_DIST, ...batched], { env: key.env });
  await runTimed('reprepro', ['-b', dir, 'export', APT_DIST], { env: key.env });
  const batch = { files: batched.length, ms: performance.now() - started };
  const runsMs: number[] = [];
  for (const path of paths.slice(batched.length)) runsMs.push((await runTimed('reprepro', ['-b', dir, 'includedeb', APT_DIST, path], { env: key.env })).ms);
  return perFile(runsMs, batch);
}

async function aptly(dir: string, set: { dir: string; files: string[] }, single: number, key: ThrowawayKey): Promise<ToolPerFile> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'batch'), { recursive: true });
  const config = join(dir, 'aptly.conf');
  await writeFile(config, JSON.stringify({ rootDir: join(dir, 'root'), architectures: ['amd64', 'arm64'] }, null, 1));
  const run = (args: string[]) => runTimed('aptly', [`-config=${config}`, ...args], { env: key.env });
  const batched = set.files.slice(0, set.files.length - single);
  // aptly adds a directory: the batch goes in as symlinks to the files (aptly copies them into its pool).
  await Promise.all(batched.map((f) => symlink(join(set.dir, f), join(dir, 'batch', f))));
  const started = performance.now();
  await run(['repo', 'create', `-distribution=${APT_DIST}`, `-component=${APT_COMPONENT}`, 'bench']);
  if (batched.length) await run(['repo', 'add', 'bench', join(dir, 'batch')]);
  await run(['publish', 'repo', '-architectures=amd64,arm64', `-gpg-key=${key.fingerprint}`, 'bench']);
  const batch = { files: batched.length, ms: performance.now() - started };
  const runsMs: number[] = [];
  for (const f of set.files.slice(batched.length)) {
    const add = await run(['repo', 'add', 'bench', join(set.dir, f)]);
    const publish = await run(['publish', 'update', `-gpg-key=${key.fingerprint}`, APT_DIST]);
    runsMs.push(add.ms + publish.ms);
  }
  return perFile(runsMs, batch);
}

export async function runDebIngestBench(config: DebIngestConfig): Promise<{ lines: string[]; json: unknown }> {
  const { log } = config;
  await mkdir(config.workDir, { recursive: true });
  const { sets } = await prepareDebSets(config.debsDir, [config.files], 16);
  const set = sets.get(config.files)!;

  log(`ingest: ${config.files} .debs by ${config.clients} clients into ${APT_DIST}, group commit on`);
  const repod = await repodRun(config, set.dir, set.files);
  log(`  ${repod.uploadsPerSecond.toFixed(1)} uploads/s (${fmtMs(repod.ms)}, ${repod.revisions} revisions, server CPU ${repod.serverCpuMsPerUpload?.toFixed(1) ?? '-'} ms/upload)`);

  const missing = await ensureTools(['reprepro', 'aptly', 'gpg'], log);
  const tools: Record<string, ToolPerFile | { skipped: string }> = {};
  const single = Math.min(config.toolFiles, set.files.length);
  const key = missing.includes('gpg') ? null : await throwawayKey(join(config.workDir, 'ingest-deb-gnupg'));
  try {
    for (const [name, run] of [
      ['reprepro', reprepro],
      ['aptly', aptly],
    ] as const) {
      if (!key || missing.includes(name)) {
        tools[name] = { skipped: `${key ? name : 'gpg'} is not installed` };
        continue;
      }
      log(`ingest: ${name}, ${set.files.length - single} .debs as one batch, then ${single} one at a time`);
      const dir = join(config.workDir, `ingest-deb-${name}`);
      const result = await run(dir, set, single, key);
      log(`  ${name}: ${fmtMs(result.medianMs)} per file (${result.filesPerSecond.toFixed(1)} files/s); batch of ${result.batch.files} in ${fmtMs(result.batch.ms)}`);
      tools[name] = result;
      if (!config.keep) await rm(dir, { recursive: true, force: true });
    }
  } finally {
    if (key) {
      await stopAgent(key);
      await rm(key.home, { recursive: true, force: true });
    }
  }

  const row = (label: string, t: ToolPerFile | { skipped: string }, batch: boolean) =>
    'skipped' in t
      ? [label, t.skipped, '-', '-']
      : batch
        ? [label, fmtMs(t.batch.ms), `${((t.batch.files / t.batch.ms) * 1000).toFixed(1)}/s`, '-']
        : [label, `${fmtMs(t.medianMs)} per file`, `${t.filesPerSecond.toFixed(1)}/s`, '-'];
  const lines = [
    '',
    `per-file ingest of .debs — ${config.files} generated .debs (amd64, arm64, all), one per POST /api/v1/upload, ${config.clients} concurrent clients, into ${APT_DIST} until the served amd64 and arm64 Packages list all (server: dist/server.mjs)`,
    table([
      ['', 'time', 'files/s', 'server CPU/upload'],
      [
        'repod, group commit on',
        fmtMs(repod.ms),
        `${repod.uploadsPerSecond.toFixed(1)}/s`,
        repod.serverCpuMsPerUpload === null ? '-' : `${repod.serverCpuMsPerUpload.toFixed(1)} ms (${repod.revisions} revisions)`,
      ],
      row(`reprepro includedeb, one file per run (median of the last ${single})`, tools.reprepro, false),
      row(`aptly repo add + publish update, one file per run (median of the last ${single})`, tools.aptly, false),
      row(`reprepro, the first ${set.files.length - single} as one includedeb + export`, tools.reprepro, true),
      row(`aptly, the first ${set.files.length - single} as one repo add + publish`, tools.aptly, true),
    ]),
    'reprepro and aptly lock their database: one file at a time is their rate for files that arrive one by one; their batch rows are files handed over together.',
  ];
  return { lines, json: { files: config.files, clients: config.clients, repod, tools } };
}

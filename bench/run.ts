/**
 * `npm run bench [-- options]`: repod's RPM publishing against createrepo_c, then its APT publishing
 * against reprepro and aptly (bench/apt.ts), on the same generated packages. Prints tables and
 * writes the figures to .bench/results-rpm.json and .bench/results-apt.json.
 *
 *   --only rpm|apt|deb|revisions|sqlite|serve|ingest|gate|bulk|worker|import|scan|ui|fleet|scale   run some sections only, comma-separated (default all)
 *
 * RPM:
 *   --sizes 1000,10000     repository sizes (default both)
 *   --runs 5               measured repod "one more package" runs (after one warm-up)
 *   --createrepo-runs 3    measured createrepo_c --update runs per variant (after one warm-up)
 *   --clients 32           concurrent metadata downloaders
 *   --rounds 20            rounds (repomd.xml + primary + filelists + other) per client
 *   --load-seconds 15      time limit of the download phase
 *   --concurrency 8        parallel stagePackage calls in the repod initial build
 *   --profile              write .cpuprofile files of the repod processes to .bench/profiles/
 *   --keep                 keep the stores and createrepo_c directories under .bench/work/
 *
 * APT (--profile, --keep and --concurrency apply too):
 *   --apt-sizes 5000,20000 distribution sizes in generated .debs (cached under .bench/debs/)
 *   --apt-runs 5           measured repod "one more .deb" runs (after one warm-up)
 *   --apt-tool-runs 3      measured reprepro and aptly runs (after one warm-up)
 *   --bookworm FILE|off    the real Packages file of the scale run (default: apt's list of Debian
 *                          bookworm main, /var/lib/apt/lists/..._bookworm_main_binary-amd64_Packages.lz4)
 *
 * .deb reading (bench/deb-read.ts; .bench/results-deb-read.json): parseDeb per package against
 * dpkg-deb -I and apt-ftparchive packages on the test corpus:
 *   --deb-runs 5           measured passes (after one warm-up)
 *
 * Revisions (bench/revisions.ts; .bench/results-revisions.json), on the 10,000-RPM set:
 *   --pushes 200           most pushes per series (sequential, then concurrent)
 *   --push-seconds 20      time limit of each push series
 *   --pushers 4            concurrent pushers of the second series
 * sqlite (bench/sqlite.ts; .bench/results-sqlite.json), on the 10,000-RPM set:
 *   --sqlite-runs 3        measured createrepo_c/sqliterepo_c runs and push+rebuild runs (after one warm-up)
 * Serving (bench/serve.ts; .bench/results-serve.json): wrk against repod and nginx on the same files
 * (needs wrk and nginx: apt-get install wrk nginx-light):
 *   --serve-seconds 5      length of each measurement (after a 1 s warm-up)
 *   --serve-connections 64 wrk connections
 *   --serve-workers 1,2    REPOD_WORKERS values to measure
 *   --serve-baseline DIR   also measure an older checkout of repod (with its node_modules)
 * Per-file ingest (bench/ingest.ts; .bench/results-ingest.json): uploads one per request, group
 * commit on and off, beside createrepo_c's full run on the same files:
 *   --ingest-files 2000    RPMs uploaded (5000 for the larger figure)
 *   --ingest-clients 8     concurrent uploaders
 *   --ingest-debs 2000     generated .debs uploaded the same way into bookworm (bench/ingest-deb.ts),
 *                          beside reprepro includedeb and aptly repo add + publish update (0: skip)
 *   --ingest-tool-files 20 .debs each of reprepro and aptly takes one at a time (timed)
 * Fleet (bench/fleet.ts; .bench/results-fleet.json): two servers on one Ceph RGW bucket (scripts/rgw-up.sh;
 * apt-get install ceph-mon ceph-osd radosgw), N uploads by P pushers (pusher i to server i % 2), until both
 * servers' primary.xml list all N; beside the same uploads to one server on a fresh bucket and createrepo_c:
 *   --fleet-files 1000     RPMs uploaded (the benchrev-* packages, built once and cached)
 *   --fleet-pushers 20     concurrent pushers
 * Security gate (bench/gate.ts; .bench/results-gate.json): per-file ingest with the gate off, on with
 * nothing configured, and on with a real clamd and an OSV feed; the median time of each step:
 *   --gate-files 2000      RPMs uploaded
 *   --gate-clients 8       concurrent uploaders
 *   --gate-advisories 10000 advisories in the feed
 * Import (bench/import.ts; .bench/results-import.json): the index sync of Debian bookworm main (the
 * --bookworm file, served from 127.0.0.1) and catalog searches, beside apt-get update and
 * apt-cache search on the same file; wall time, entries and the server's peak RSS:
 *   --import-search-runs 20 requests (and apt-cache runs) per search query
 *   --import-apt-runs 3    timed apt-get update runs per tree
 * Bulk push (bench/bulk.ts; .bench/results-bulk.json): `repod push` of a directory of N RPMs to a
 * fresh server, wall time and the server's peak RSS, beside createrepo_c's full run on the files:
 *   --bulk-files 2000      RPMs pushed (20000 for the larger figure; built once and cached)
 *   --bulk-batch 500       the push's --batch-files (files per request and revision)
 * Scan (bench/scan.ts; .bench/results-scan.json): `repod mkrepo` against createrepo_c on one tree of
 * N RPMs, full run then one package dropped in (repod reads one object; createrepo_c --update):
 *   --scan-files 10000     RPMs in the tree (the cached set-<N>)
 *   --scan-runs 3          measured incremental runs of each tool (after one warm-up)
 * The Worker (bench/worker.ts; .bench/results-worker.json): workerd on R2 (npm run start:worker)
 * beside Node on the file store: first render after a publish, sqlite build time and memory, CPU
 * per warm repomd.xml:
 *   --worker-files 2000    RPMs in the repository (the benchrev-* packages)
 *   --worker-requests 2000 warm repomd.xml requests whose CPU is counted
 * The web UI (bench/ui.ts; .bench/results-ui.json): page times (cold and warm) of the overview, a
 * distribution's first and next page, name and text searches, a package page and a compare, on
 * distributions filled with synthetic package records, beside the 200 ms target:
 *   --ui-sizes 1000,10000,100000 packages in the distribution
 *   --ui-runs 20           warm requests per page (after the cold one)
 * Scale (bench/scale.ts; .bench/results-scale.json): one distribution filled with synthetic RPM
 * records, then real RPMs uploaded to the server: first render, publish +1, RSS with --clients
 * downloaders (--rounds, --load-seconds), and the hashed variant's sqlite build, per size:
 *   --scale-sizes 1000,10000,100000 packages in the distribution
 *   --scale-runs 5         measured publish +1 runs per size (after the first upload)
 */

import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../test/helpers/paths.ts';
import { buildLargeRpm } from '../test/helpers/rpmbuild.ts';
import { runAptBench } from './apt.ts';
import { runBulkBench } from './bulk.ts';
import { runDebReadBench } from './deb-read.ts';
import { runFleetBench } from './fleet.ts';
import { runGateBench } from './gate.ts';
import { runImportBench } from './import.ts';
import { runIngestBench } from './ingest.ts';
import { runDebIngestBench } from './ingest-deb.ts';
import { machineInfo } from './lib/common.ts';
import { preparePackageSets } from './lib/packages.ts';
import { runTimed } from './lib/proc.ts';
import { fmtMiB, fmtMs, fmtRatio, table } from './lib/stats.ts';
import { runRevisionsBench } from './revisions.ts';
import { benchRpmSize, type RpmBenchOptions, type RpmSizeResult } from './rpm.ts';
import { runScaleBench } from './scale.ts';
import { runScanBench } from './scan.ts';
import { runServeBench } from './serve.ts';
import { runSqliteBench } from './sqlite.ts';
import { runUiBench } from './ui.ts';
import { runWorkerBench } from './worker.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000' },
    runs: { type: 'string', default: '5' },
    'createrepo-runs': { type: 'string', default: '3' },
    clients: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '20' },
    'load-seconds': { type: 'string', default: '15' },
    concurrency: { type: 'string', default: '8' },
    profile: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    only: { type: 'string' },
    'apt-sizes': { type: 'string', default: '5000,20000' },
    'apt-runs': { type: 'string', default: '5' },
    'apt-tool-runs': { type: 'string', default: '3' },
    pushes: { type: 'string', default: '200' },
    'push-seconds': { type: 'string', default: '20' },
    pushers: { type: 'string', default: '4' },
    'sqlite-runs': { type: 'string', default: '3' },
    'deb-runs': { type: 'string', default: '5' },
    'serve-seconds': { type: 'string', default: '5' },
    'serve-connections': { type: 'string', default: '64' },
    'serve-workers': { type: 'string', default: '1,2' },
    'serve-baseline': { type: 'string' },
    'ingest-files': { type: 'string', default: '2000' },
    'ingest-clients': { type: 'string', default: '8' },
    'ingest-debs': { type: 'string', default: '2000' },
    'ingest-tool-files': { type: 'string', default: '20' },
    'fleet-files': { type: 'string', default: '1000' },
    'fleet-pushers': { type: 'string', default: '20' },
    'gate-files': { type: 'string', default: '2000' },
    'gate-clients': { type: 'string', default: '8' },
    'gate-advisories': { type: 'string', default: '10000' },
    'import-search-runs': { type: 'string', default: '20' },
    'import-apt-runs': { type: 'string', default: '3' },
    'bulk-files': { type: 'string', default: '2000' },
    'bulk-batch': { type: 'string', default: '500' },
    'scan-files': { type: 'string', default: '10000' },
    'scan-runs': { type: 'string', default: '3' },
    'worker-files': { type: 'string', default: '2000' },
    'worker-requests': { type: 'string', default: '2000' },
    'ui-sizes': { type: 'string', default: '1000,10000,100000' },
    'ui-runs': { type: 'string', default: '20' },
    'scale-sizes': { type: 'string', default: '1000,10000,100000' },
    'scale-runs': { type: 'string', default: '5' },
    bookworm: { type: 'string', default: '/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4' },
  },
  allowPositionals: false,
});

const int = (name: string, v: string | undefined, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}`);
  return n;
};
/** A comma-separated list of sizes (`10_000` allowed), without repeats, smallest first. */
const sizeList = (name: string, v: string | undefined): number[] => [...new Set((v ?? '').split(',').map((s) => int(name, s.replaceAll('_', '').trim(), 1)))].sort((a, b) => a - b);
const sizes = sizeList('sizes', values.sizes);
const runs = int('runs', values.runs, 1);
const SECTIONS = ['rpm', 'apt', 'deb', 'revisions', 'sqlite', 'serve', 'ingest', 'gate', 'bulk', 'worker', 'import', 'scan', 'ui', 'fleet', 'scale'];
const only = new Set(values.only === undefined ? SECTIONS : values.only.split(',').map((s) => s.trim()));
for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`--only takes ${SECTIONS.join(', ')} (comma-separated)`);
const aptSizes = sizeList('apt-sizes', values['apt-sizes']);
const createrepoRuns = int('createrepo-runs', values['createrepo-runs'], 1);

const benchDir = join(REPO_ROOT, '.bench');
const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
/** Prints a section's lines and writes its figures to .bench/<file>. */
async function report(file: string, lines: string[], json: unknown): Promise<void> {
  if (lines.length) process.stdout.write(lines.join('\n') + '\n');
  await mkdir(benchDir, { recursive: true });
  await writeFile(join(benchDir, file), JSON.stringify(json, null, 2) + '\n');
}
const options: RpmBenchOptions = {
  workDir: join(benchDir, 'work'),
  stageConcurrency: int('concurrency', values.concurrency, 1),
  updateRuns: runs,
  createrepoRuns,
  clients: int('clients', values.clients, 1),
  rounds: int('rounds', values.rounds, 1),
  loadMaxMs: int('load-seconds', values['load-seconds'], 1) * 1000,
  profileDir: values.profile ? join(benchDir, 'profiles') : null,
  keep: values.keep ?? false,
  log,
};
if (options.profileDir) await mkdir(options.profileDir, { recursive: true });

if (only.has('rpm')) {
  const started = Date.now();
  const firstLine = (s: string) => s.trim().split('\n')[0] ?? '';
  const machine = {
    ...machineInfo(),
    createrepo_c: firstLine((await runTimed('createrepo_c', ['--version'])).stdout),
    rpmbuild: firstLine((await runTimed('rpmbuild', ['--version'])).stdout),
    /** 1-minute load average before and after: other work on the machine skews every figure. */
    loadAverage: { start: loadavg()[0], end: NaN },
  };
  log(`machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryMiB} MiB, node ${machine.node}, ${machine.createrepo_c}`);

  // Extra packages: the repod runs (warm-up + runs) and the createrepo_c runs take from the same list.
  const extraCount = Math.max(16, runs + 1, 2 * (createrepoRuns + 1));
  const { sets, extra } = await preparePackageSets(join(benchDir, 'rpms'), sizes, extraCount);

  const results: RpmSizeResult[] = [];
  for (const size of sizes) results.push(await benchRpmSize(sets.get(size)!, extra, options));
  machine.loadAverage.end = loadavg()[0];
  const kib = (bytes: Record<string, number>) => ['primary', 'filelists', 'other'].map((t) => (bytes[t] === undefined ? '-' : (bytes[t] / 1024).toFixed(0))).join(' / ') + ' KiB';

  // ------------------------------------------------------------------ report
  const out: string[] = [];
  out.push('', `repod RPM publishing benchmark — ${new Date().toISOString()}`);
  out.push(
    `machine: ${machine.cores} cores, ${machine.cpuModel}, ${machine.memoryMiB} MiB RAM, ${machine.platform}; node ${machine.node}; ${machine.createrepo_c}; ${machine.rpmbuild}`,
  );
  out.push(`load average (1 min) at start ${machine.loadAverage.start.toFixed(2)}, at end ${machine.loadAverage.end.toFixed(2)} (anything else running skews the figures)`);
  out.push(
    `method: same generated RPMs for both tools (files read once before timing, so both read from the page cache); repod uses the file store ` +
      `(fsync on, as in production), distribution ${'rocky9'}/x86_64; ratio = createrepo_c time / repod time; warm-up runs are excluded from medians and shown apart.`,
  );
  for (const r of results) {
    const i = r.initial;
    const u = r.update;
    const cr = u.createrepo;
    const n = r.packages.toLocaleString('en-US');
    out.push('', `== ${n} RPMs ==`);
    out.push(
      table([
        ['', 'repod', 'createrepo_c', 'ratio'],
        ['1. initial build, metadata servable', fmtMs(i.repod.totalMs), fmtMs(i.createrepo.defaults.ms), fmtRatio(i.createrepo.defaults.ms, i.repod.totalMs)],
        ['   createrepo_c --workers 2', '', fmtMs(i.createrepo['workers 2'].ms), fmtRatio(i.createrepo['workers 2'].ms, i.repod.totalMs)],
        ['   createrepo_c --no-database', '', fmtMs(i.createrepo['no-database'].ms), fmtRatio(i.createrepo['no-database'].ms, i.repod.totalMs)],
        ['   repod: stage all (parse, store)', fmtMs(i.repod.stageMs), '', ''],
        ['   repod: publishBatch (one revision)', fmtMs(i.repod.publishMs), '', ''],
        ['   repod: first repomd.xml (render)', fmtMs(i.repod.repomdMs), '', ''],
        ['   repod: repomd + 3 files read', fmtMs(i.repod.serveMs), '', ''],
        ['   peak RSS of the build process', fmtMiB(i.repod.peakRssKiB), fmtMiB(i.createrepo.defaults.maxRssKiB), ''],
        ['   primary / filelists / other .xml.gz', kib(i.repod.metadataBytes), kib(i.createrepo.defaults.metadataBytes), ''],
        [
          `2. one more package, servable (median of ${u.repod.runsMs.length} / ${cr.defaults.runsMs.length})`,
          fmtMs(u.repod.medianMs),
          fmtMs(cr.defaults.medianMs),
          fmtRatio(cr.defaults.medianMs, u.repod.medianMs),
        ],
        ['   createrepo_c --update --no-database', '', fmtMs(cr['no-database'].medianMs), fmtRatio(cr['no-database'].medianMs, u.repod.medianMs)],
        ['   repod: upload answered (publish)', fmtMs(u.repod.uploadMs), '', ''],
        ['   repod: GET repomd.xml (render)', fmtMs(u.repod.repomdMs), '', ''],
        [`   repod: GET primary.xml.gz (${(u.repod.primaryBytes / 1024).toFixed(0)} KiB)`, fmtMs(u.repod.primaryMs), '', ''],
        ['   warm-up run (excluded)', fmtMs(u.repod.warmupMs), fmtMs(cr.defaults.warmupMs), ''],
      ]),
    );
    const l = r.load;
    out.push(
      '',
      `3. server under ${l.clients} concurrent metadata downloaders (${l.roundsDone} rounds of repomd.xml + primary + filelists + other, ${l.requests} requests, ${(l.bytes / 1048576).toFixed(0)} MiB):`,
    );
    out.push(
      table([
        ['repod server (one node process)', 'value'],
        ['RSS after start', fmtMiB(l.atStart?.VmRSS)],
        ['RSS before load (after one warm-up round)', fmtMiB(l.before?.VmRSS)],
        ['RSS after load', fmtMiB(l.after?.VmRSS)],
        ['highest RSS sampled during load (every 50 ms)', fmtMiB(l.sampledMaxRssKiB)],
        ['peak RSS (VmHWM, whole life so far)', fmtMiB(l.after?.VmHWM)],
        ['requests/s (client in the same 2-core box)', l.requestsPerSecond.toFixed(0)],
        ['MiB/s', l.mibPerSecond.toFixed(0)],
        ['duration', fmtMs(l.durationMs)],
        [`RSS with ${r.stalled.streams} downloads stalled (${(r.stalled.fileBytes / 1048576).toFixed(0)} MiB of files)`, fmtMiB(r.stalled.stalledRssKiB)],
      ]),
    );
  }
  if (results.length > 1) {
    out.push('', '== how it scales ==');
    out.push(
      table([
        ['', ...results.map((r) => `${r.packages.toLocaleString('en-US')} RPMs`)],
        ['repod: one more package', ...results.map((r) => fmtMs(r.update.repod.medianMs))],
        ['createrepo_c --update', ...results.map((r) => fmtMs(r.update.createrepo.defaults.medianMs))],
        ['ratio', ...results.map((r) => fmtRatio(r.update.createrepo.defaults.medianMs, r.update.repod.medianMs))],
        ['initial build: repod', ...results.map((r) => fmtMs(r.initial.repod.totalMs))],
        ['initial build: createrepo_c', ...results.map((r) => fmtMs(r.initial.createrepo.defaults.ms))],
        ['server RSS before load', ...results.map((r) => fmtMiB(r.load.before?.VmRSS))],
        ['server highest RSS sampled under load', ...results.map((r) => fmtMiB(r.load.sampledMaxRssKiB))],
        ['server peak RSS (VmHWM) after load', ...results.map((r) => fmtMiB(r.load.after?.VmHWM))],
        ['server RSS after load', ...results.map((r) => fmtMiB(r.load.after?.VmRSS))],
        ['server RSS, every download stalled (3 per client)', ...results.map((r) => fmtMiB(r.stalled.stalledRssKiB))],
        ['requests/s under load', ...results.map((r) => r.load.requestsPerSecond.toFixed(0))],
      ]),
    );
  }
  out.push('', `total bench time ${((Date.now() - started) / 1000).toFixed(0)} s; figures in .bench/results-rpm.json`);
  process.stdout.write(out.join('\n') + '\n');

  await mkdir(benchDir, { recursive: true });
  await writeFile(
    join(benchDir, 'results-rpm.json'),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine,
        settings: {
          sizes,
          runs,
          createrepoRuns,
          clients: options.clients,
          rounds: options.rounds,
          loadMaxMs: options.loadMaxMs,
          stageConcurrency: options.stageConcurrency,
          warmup: 'one run excluded for each series',
        },
        packageSets: Object.fromEntries([...sets].map(([n, s]) => [n, { dir: s.dir, builtNow: s.built, buildMs: s.buildMs }])),
        results,
      },
      null,
      2,
    ) + '\n',
  );
}

if (only.has('apt')) {
  const apt = await runAptBench({
    ...options,
    repodRuns: int('apt-runs', values['apt-runs'], 1),
    toolRuns: int('apt-tool-runs', values['apt-tool-runs'], 1),
    sizes: aptSizes,
    bookworm: values.bookworm === 'off' ? null : (values.bookworm ?? null),
    debsDir: join(benchDir, 'debs'),
  });
  await report('results-apt.json', apt.lines, apt.json);
}

if (only.has('deb')) {
  const deb = await runDebReadBench({ ...options, runs: int('deb-runs', values['deb-runs'], 1) });
  await report('results-deb-read.json', deb.lines, deb.json);
}

if (only.has('revisions') || only.has('sqlite')) {
  const rpmsDir = join(benchDir, 'rpms');
  // The cached 10,000 set (and its first 1,000, hard links); extra-16 as the RPM section uses it.
  const { sets, extra } = await preparePackageSets(rpmsDir, [1000, 10000], 16);
  if (only.has('revisions')) {
    const rev = await runRevisionsBench({
      ...options,
      rpmsDir,
      bigSet: sets.get(10000)!,
      smallSet: sets.get(1000)!,
      maxPushes: int('pushes', values.pushes, 1),
      pushSeconds: int('push-seconds', values['push-seconds'], 1),
      pushers: int('pushers', values.pushers, 2),
    });
    await report('results-revisions.json', rev.lines, rev.json);
  }
  if (only.has('sqlite')) {
    const sq = await runSqliteBench({ ...options, set: sets.get(10000)!, extra, runs: int('sqlite-runs', values['sqlite-runs'], 1) });
    await report('results-sqlite.json', sq.lines, sq.json);
  }
}

if (only.has('ingest')) {
  const ingest = await runIngestBench({
    workDir: options.workDir,
    rpmsDir: join(benchDir, 'rpms'),
    files: int('ingest-files', values['ingest-files'], 1),
    clients: int('ingest-clients', values['ingest-clients'], 1),
    keep: options.keep,
    profileDir: options.profileDir,
    log,
  });
  process.stdout.write(ingest.lines.join('\n') + '\n');
  const debFiles = int('ingest-debs', values['ingest-debs'], 0);
  const debs = debFiles
    ? await runDebIngestBench({
        workDir: options.workDir,
        debsDir: join(benchDir, 'debs'),
        files: debFiles,
        clients: int('ingest-clients', values['ingest-clients'], 1),
        toolFiles: int('ingest-tool-files', values['ingest-tool-files'], 1),
        keep: options.keep,
        profileDir: options.profileDir,
        log,
      })
    : null;
  await report('results-ingest.json', debs?.lines ?? [], { ...(ingest.json as object), debs: debs?.json ?? null });
}

if (only.has('fleet')) {
  const fleet = await runFleetBench({
    workDir: options.workDir,
    rpmsDir: join(benchDir, 'rpms'),
    files: int('fleet-files', values['fleet-files'], 1),
    pushers: int('fleet-pushers', values['fleet-pushers'], 1),
    keep: options.keep,
    log,
  });
  await report('results-fleet.json', fleet.lines, fleet.results);
}

if (only.has('gate')) {
  const gate = await runGateBench({
    workDir: options.workDir,
    rpmsDir: join(benchDir, 'rpms'),
    files: int('gate-files', values['gate-files'], 1),
    clients: int('gate-clients', values['gate-clients'], 1),
    advisories: int('gate-advisories', values['gate-advisories'], 0),
    keep: options.keep,
    profileDir: options.profileDir,
    log,
  });
  await report('results-gate.json', gate.lines, gate.json);
}

if (only.has('import')) {
  if (values.bookworm === 'off') log('import: skipped (--bookworm off)');
  else {
    const imported = await runImportBench({
      workDir: options.workDir,
      cacheDir: join(benchDir, 'import'),
      bookworm: values.bookworm!,
      searchRuns: int('import-search-runs', values['import-search-runs'], 1),
      aptRuns: int('import-apt-runs', values['import-apt-runs'], 1),
      keep: options.keep,
      log,
    });
    await report('results-import.json', imported.lines, imported.json);
  }
}

if (only.has('bulk')) {
  const bulk = await runBulkBench({
    workDir: options.workDir,
    rpmsDir: join(benchDir, 'rpms'),
    files: int('bulk-files', values['bulk-files'], 1),
    batchFiles: int('bulk-batch', values['bulk-batch'], 1),
    keep: options.keep,
    log,
  });
  await report('results-bulk.json', bulk.lines, bulk.json);
}

if (only.has('scan')) {
  const scan = await runScanBench({
    workDir: options.workDir,
    rpmsDir: join(benchDir, 'rpms'),
    files: int('scan-files', values['scan-files'], 1),
    runs: int('scan-runs', values['scan-runs'], 1),
    keep: options.keep,
    log,
  });
  await report('results-scan.json', scan.lines, scan.json);
}

if (only.has('worker')) {
  const largeDir = join(benchDir, 'large-rpm');
  await mkdir(largeDir, { recursive: true });
  const largePath = join(largeDir, 'bench-large.rpm');
  if (!existsSync(largePath)) await buildLargeRpm(largeDir, 'bench-large', 110);
  const worker = await runWorkerBench({
    rpmsDir: join(benchDir, 'rpms'),
    large: { path: largePath, mib: 110 },
    files: int('worker-files', values['worker-files'], 1),
    requests: int('worker-requests', values['worker-requests'], 1),
    log,
  });
  await report('results-worker.json', worker.lines, worker.json);
}

if (only.has('serve')) {
  const serve = await runServeBench({
    rpmsDir: join(benchDir, 'serve-rpms'),
    seconds: int('serve-seconds', values['serve-seconds'], 1),
    connections: int('serve-connections', values['serve-connections'], 1),
    workers: (values['serve-workers'] ?? '1').split(',').map((s) => int('serve-workers', s.trim(), 1)),
    baseline: values['serve-baseline'] ?? null,
    keep: options.keep,
    profileDir: options.profileDir,
    log,
  });
  await report('results-serve.json', serve.lines, serve.json);
}

if (only.has('ui')) {
  const ui = await runUiBench({
    workDir: options.workDir,
    sizes: sizeList('ui-sizes', values['ui-sizes']),
    runs: int('ui-runs', values['ui-runs'], 1),
    profileDir: options.profileDir,
    keep: options.keep,
    log,
  });
  await report('results-ui.json', ui.lines, ui.json);
}

if (only.has('scale')) {
  const scaleRuns = int('scale-runs', values['scale-runs'], 1);
  // The rpm section's extra packages (16 unless more runs are asked for): one cached set.
  const { extra } = await preparePackageSets(join(benchDir, 'rpms'), [], Math.max(16, scaleRuns + 1));
  const scale = await runScaleBench({
    workDir: options.workDir,
    sizes: sizeList('scale-sizes', values['scale-sizes']),
    runs: scaleRuns,
    clients: options.clients,
    rounds: options.rounds,
    loadMaxMs: options.loadMaxMs,
    extra,
    profileDir: options.profileDir,
    keep: options.keep,
    log,
  });
  await report('results-scale.json', scale.lines, scale.json);
}

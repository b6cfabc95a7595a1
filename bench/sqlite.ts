/**
 * sqlite metadata (hashed variant) for the 10,000-RPM set: repod against createrepo_c.
 *
 * repod: a server (file store) on rocky9 filled with the set (as bench/rpm.ts); the first
 * GET /hashed/rocky9/x86_64/repodata/repomd.xml renders the hashed XML and builds primary_db,
 * filelists_db and other_db (sql.js) lazily; its time, the server's VmHWM before/after and VmRSS
 * sampled every 50 ms; then the six files read; then the same request again (cached, median of
 * --sqlite-runs) and once from a new server process on the same store (the render is stored).
 * createrepo_c: `createrepo_c --database` on hard links to the same files (all of it: read and
 * parse the RPMs, XML and sqlite), and `sqliterepo_c` on a repo made with `--no-database` (XML ->
 * sqlite only, the closer match to repod's lazy step, which starts from stored package records).
 */
import { link, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import initSqlJs from 'sql.js';
import type { RunningServer } from '../test/helpers/server.ts';
import { startBenchServer } from './lib/apt-server.ts';
import { ARCH, DIST } from './lib/common.ts';
import { httpRequest, keepAliveAgent } from './lib/http.ts';
import type { PackageSet } from './lib/packages.ts';
import { procStatus, runTimed } from './lib/proc.ts';
import { fillStore, pushOne, rssSampler } from './lib/rev-common.ts';
import { fmtMiB, fmtMs, fmtRatio, median, table } from './lib/stats.ts';

export interface SqliteBenchConfig {
  workDir: string;
  set: PackageSet;
  /** Packages not in the set: pushed one at a time to time the rebuild on a new revision. */
  extra: PackageSet;
  /** Measured createrepo_c/sqliterepo_c runs and pushes (after one warm-up); the cached request runs at least 20 times. */
  runs: number;
  stageConcurrency: number;
  profileDir: string | null;
  keep: boolean;
  log: (message: string) => void;
}

interface Record_ {
  type: string;
  href: string;
  size: number;
}
const parseRepomd = (xml: string): Record_[] =>
  [...xml.matchAll(/<data type="([^"]+)">([\s\S]*?)<\/data>/g)].map((m) => ({
    type: m[1],
    href: /<location href="([^"]+)"/.exec(m[2])![1],
    size: Number(/<size>(\d+)<\/size>/.exec(m[2])![1]),
  }));

const nodeArgs = (profileDir: string | null, name: string) => (profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${name}.cpuprofile`] : []);

interface ToolSeries {
  warmupMs: number;
  runsMs: number[];
  medianMs: number;
  maxRssKiB: number | null;
  sizes: Record<string, number>;
}

async function repodSide(config: SqliteBenchConfig, storeDir: string) {
  const n = config.set.files.length;
  const base = (server: RunningServer) => `${server.url}/hashed/${DIST}/${ARCH}/`;
  let server = await startBenchServer(`file:${storeDir}`, nodeArgs(config.profileDir, 'server-sqlite'));
  try {
    const pid = server.process.pid!;
    const agent = keepAliveAgent(1);
    await new Promise((r) => setTimeout(r, 300));
    const before = await procStatus(pid);
    const sampler = rssSampler(pid);
    const t0 = performance.now();
    const first = await httpRequest(`${base(server)}repodata/repomd.xml`, { agent, keep: true });
    const firstMs = performance.now() - t0;
    const sampledMaxRssKiB = await sampler.stop();
    const after = await procStatus(pid);
    if (first.status !== 200) throw new Error(`hashed repomd.xml: ${first.status} ${first.body.toString().slice(0, 300)}`);
    const records = parseRepomd(first.body.toString());
    const t1 = performance.now();
    const bodies = new Map<string, Buffer>();
    for (const r of records) {
      const res = await httpRequest(base(server) + r.href, { agent, keep: true });
      if (res.status !== 200 || res.bytes !== r.size) throw new Error(`${r.href}: ${res.status}, ${res.bytes} bytes, repomd says ${r.size}`);
      bodies.set(r.type, res.body);
    }
    const filesMs = performance.now() - t1;
    const cachedMs: number[] = [];
    // Cheap (milliseconds), so many more runs than the tools: a few samples are noisy here (GC after the build).
    for (let i = 0; i <= Math.max(20, config.runs); i++) {
      const s = performance.now();
      const again = await httpRequest(`${base(server)}repodata/repomd.xml`, { agent, keep: true });
      cachedMs.push(performance.now() - s);
      if (again.status !== 200 || !again.body.equals(first.body)) throw new Error('cached hashed repomd.xml differs from the first');
    }
    const afterAll = await procStatus(pid);
    agent.destroy();

    // Checked after the clock: every database lists every package, hrefs of the hashed variant.
    const types = records.map((r) => r.type).sort();
    for (const t of ['filelists_db', 'other_db', 'primary_db']) if (!types.includes(t)) throw new Error(`hashed repomd.xml lacks ${t} (has ${types.join(', ')})`);
    const SQL = await initSqlJs();
    const counts: Record<string, number> = {};
    for (const t of ['primary_db', 'filelists_db', 'other_db']) {
      const db = new SQL.Database(gunzipSync(bodies.get(t)!));
      counts[t] = Number(db.exec('SELECT count(*) FROM packages')[0].values[0][0]);
      if (t === 'primary_db') {
        const href = String(db.exec('SELECT location_href FROM packages LIMIT 1')[0].values[0][0]);
        if (!/^Packages\/[a-z0-9]\//.test(href)) throw new Error(`primary_db location_href ${href} is not of the hashed variant`);
      }
      db.close();
      if (counts[t] !== n) throw new Error(`${t} lists ${counts[t]} packages, expected ${n}`);
    }

    // A new process on the same store: the render (and the databases) were stored by the first.
    await server.stop();
    server = await startBenchServer(`file:${storeDir}`, []);
    const t2 = performance.now();
    const fresh = await httpRequest(`${base(server)}repodata/repomd.xml`, { keep: true });
    const newProcessMs = performance.now() - t2;
    if (fresh.status !== 200 || !fresh.body.equals(first.body)) throw new Error('hashed repomd.xml from a new process differs');

    // One more package (a new revision), then the hashed repomd.xml again: what each revision costs.
    const pushAgent = keepAliveAgent(1);
    const afterPushMs: number[] = [];
    let previous = fresh.body;
    for (let i = 0; i < config.runs; i++) {
      const f = config.extra.files[i];
      const pushed = await pushOne(server.url, DIST, f, await readFile(join(config.extra.dir, f)), pushAgent);
      if (pushed.status !== 201) throw new Error(`push of ${f}: ${pushed.status} ${pushed.body}`);
      const s = performance.now();
      const r = await httpRequest(`${base(server)}repodata/repomd.xml`, { agent: pushAgent, keep: true });
      afterPushMs.push(performance.now() - s);
      if (r.status !== 200 || r.body.equals(previous)) throw new Error('hashed repomd.xml did not change after a push');
      previous = r.body;
    }
    pushAgent.destroy();
    const afterPushes = await procStatus(server.process.pid!);
    const [cachedWarmupMs, ...cachedRuns] = cachedMs;
    return {
      firstMs,
      filesMs,
      before,
      after,
      afterAll,
      sampledMaxRssKiB,
      cached: { warmupMs: cachedWarmupMs, runsMs: cachedRuns, medianMs: median(cachedRuns) },
      newProcessMs,
      afterPush: { runsMs: afterPushMs, medianMs: median(afterPushMs), status: afterPushes },
      sizes: Object.fromEntries(records.map((r) => [r.type, r.size])),
      counts,
    };
  } finally {
    await server.stop();
  }
}

async function toolSeries(runs: number, dir: string, prepare: () => Promise<unknown>, command: string, args: string[]): Promise<ToolSeries> {
  const times: number[] = [];
  let maxRssKiB: number | null = null;
  for (let i = 0; i <= runs; i++) {
    await prepare();
    const r = await runTimed(command, args, { measureRss: true });
    times.push(r.ms);
    if (i > 0 && r.maxRssKiB !== null) maxRssKiB = Math.max(maxRssKiB ?? 0, r.maxRssKiB);
  }
  const repomd = parseRepomd(await readFile(join(dir, 'repodata', 'repomd.xml'), 'utf8'));
  const [warmupMs, ...runsMs] = times;
  return { warmupMs, runsMs, medianMs: median(runsMs), maxRssKiB, sizes: Object.fromEntries(repomd.map((r) => [r.type, r.size])) };
}

export async function runSqliteBench(config: SqliteBenchConfig): Promise<{ lines: string[]; json: Record<string, unknown> }> {
  const started = Date.now();
  const { log, set } = config;
  const n = set.files.length;
  const work = join(config.workDir, `sqlite-${n}`);
  const storeDir = join(work, 'store');
  const crDir = join(work, 'createrepo');
  await rm(work, { recursive: true, force: true });
  await mkdir(crDir, { recursive: true });
  for (const f of set.files) await link(join(set.dir, f), join(crDir, f));
  for (const f of set.files) await readFile(join(set.dir, f)); // page cache, for both tools

  try {
    log(`[sqlite] filling rocky9 with ${n} packages (as bench/rpm.ts)`);
    const fill = await fillStore(set.dir, storeDir, config.stageConcurrency);
    log(`  filled in ${(fill.totalMs / 1000).toFixed(1)} s`);
    log('[sqlite] repod: first hashed repomd.xml (builds the sqlite databases)');
    const repod = await repodSide(config, storeDir);
    log(
      `  first ${repod.firstMs.toFixed(0)} ms, six files ${repod.filesMs.toFixed(0)} ms, cached median ${repod.cached.medianMs.toFixed(1)} ms, new process ${repod.newProcessMs.toFixed(0)} ms; ` +
        `VmHWM ${((repod.before?.VmHWM ?? 0) / 1024).toFixed(0)} -> ${((repod.after?.VmHWM ?? 0) / 1024).toFixed(0)} MiB`,
    );

    const clean = () => rm(join(crDir, 'repodata'), { recursive: true, force: true });
    log('[sqlite] createrepo_c --database');
    const crDatabase = await toolSeries(config.runs, crDir, clean, 'createrepo_c', ['--database', crDir]);
    log(`  median ${crDatabase.medianMs.toFixed(0)} ms`);
    log('[sqlite] createrepo_c --no-database, then sqliterepo_c');
    const noDbTimes: number[] = [];
    const sqliterepo = await toolSeries(
      config.runs,
      crDir,
      async () => {
        await clean();
        noDbTimes.push((await runTimed('createrepo_c', ['--no-database', crDir])).ms);
      },
      'sqliterepo_c',
      [crDir],
    );
    log(`  sqliterepo_c median ${sqliterepo.medianMs.toFixed(0)} ms`);
    const crNoDb = { warmupMs: noDbTimes[0], runsMs: noDbTimes.slice(1), medianMs: median(noDbTimes.slice(1)) };

    const kib = (sizes: Record<string, number>, types: string[]) => types.map((t) => (sizes[t] === undefined ? '-' : (sizes[t] / 1024).toFixed(0))).join(' / ') + ' KiB';
    const DBS = ['primary_db', 'filelists_db', 'other_db'];
    const lines: string[] = [];
    lines.push('', `repod sqlite metadata benchmark — ${new Date().toISOString()}`);
    lines.push(
      `method: same ${n.toLocaleString('en-US')} RPMs (page cache warm); repod: real server, file store, first GET /hashed/${DIST}/${ARCH}/repodata/repomd.xml after a fresh start ` +
        `(renders the hashed XML and builds the three sqlite databases with sql.js, gzip; one measurement: it happens once per revision); createrepo_c/sqliterepo_c: median of ${config.runs} after one warm-up; ratio = tool time / repod time.`,
    );
    lines.push('', `== sqlite databases, ${n.toLocaleString('en-US')} RPMs ==`);
    lines.push(
      table([
        ['', 'repod', 'createrepo_c', 'ratio'],
        ['first hashed repomd.xml (XML + 3 sqlite dbs) vs createrepo_c --database', fmtMs(repod.firstMs), fmtMs(crDatabase.medianMs), fmtRatio(crDatabase.medianMs, repod.firstMs)],
        ['   vs sqliterepo_c on a --no-database repo (XML -> sqlite only)', '', fmtMs(sqliterepo.medianMs), fmtRatio(sqliterepo.medianMs, repod.firstMs)],
        ['   vs createrepo_c --no-database + sqliterepo_c', '', fmtMs(crNoDb.medianMs + sqliterepo.medianMs), fmtRatio(crNoDb.medianMs + sqliterepo.medianMs, repod.firstMs)],
        ['   then the 6 files read (3 XML + 3 sqlite)', fmtMs(repod.filesMs), '', ''],
        [`second request, cached (median of ${repod.cached.runsMs.length})`, fmtMs(repod.cached.medianMs), '', ''],
        ['first request from a new server process (render stored)', fmtMs(repod.newProcessMs), '', ''],
        [`after one more package pushed (new revision), median of ${repod.afterPush.runsMs.length}`, fmtMs(repod.afterPush.medianMs), '', ''],
        ['   new process VmHWM after those', fmtMiB(repod.afterPush.status?.VmHWM), '', ''],
        ['server VmHWM before -> after the first request', `${fmtMiB(repod.before?.VmHWM)} -> ${fmtMiB(repod.after?.VmHWM)}`, '', ''],
        ['server VmRSS before / highest sampled (50 ms) / after', `${fmtMiB(repod.before?.VmRSS)} / ${fmtMiB(repod.sampledMaxRssKiB)} / ${fmtMiB(repod.after?.VmRSS)}`, '', ''],
        ['peak RSS: createrepo_c --database / sqliterepo_c', '', `${fmtMiB(crDatabase.maxRssKiB)} / ${fmtMiB(sqliterepo.maxRssKiB)}`, ''],
        ['primary_db / filelists_db / other_db (compressed)', kib(repod.sizes, DBS), kib(crDatabase.sizes, DBS), ''],
        ['warm-up run (excluded): createrepo_c --database / sqliterepo_c', '', `${fmtMs(crDatabase.warmupMs)} / ${fmtMs(sqliterepo.warmupMs)}`, ''],
        ['createrepo_c --no-database alone (median)', '', fmtMs(crNoDb.medianMs), ''],
      ]),
    );
    lines.push(
      `checked after timing: each repod database lists ${n} packages (sql.js SELECT count(*)), hrefs Packages/<letter>/; the cached and new-process answers equal the first.`,
    );
    lines.push('', `sqlite bench time ${((Date.now() - started) / 1000).toFixed(0)} s; figures in .bench/results-sqlite.json`);
    return {
      lines,
      json: {
        date: new Date().toISOString(),
        packages: n,
        settings: { runs: config.runs, warmup: 'one run excluded for each tool series and the cached request' },
        fill,
        repod,
        createrepo: { database: crDatabase, noDatabase: crNoDb, sqliterepo },
      },
    };
  } finally {
    if (!config.keep) await rm(work, { recursive: true, force: true });
  }
}

/**
 * Revisions as a product: how fast repod turns pushes into revisions, and what promotion costs.
 *
 *  1. revisions per second: a server (file store, fsync on) holding rocky9 with the 10,000-RPM set
 *     (filled as bench/rpm.ts does); sequential single-package pushes (POST
 *     /api/v1/distributions/rocky9/builds, one `file`), each answered 201 with the next revision
 *     number, until --push-seconds or --pushes (one warm-up push excluded); then --pushers concurrent
 *     pushers of distinct packages for the same budget: every lost compare-and-swap leaves one
 *     orphaned revision object, so (revision objects written - revisions published) = retries.
 *  2. promotion: a second store with 1,000 packages in rocky9; POST /distributions/migrate
 *     rocky9 -> rocky8, then POST /distributions/promote of one package (5 different packages, pushed
 *     to rocky9 first, after one warm-up) into rocky8; pool objects before/after. Beside it the
 *     file-tree way: `cp -al` of the 1,000 files + createrepo_c, and `ln` + createrepo_c --update.
 */
import { link, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunningServer } from '../test/helpers/server.ts';
import { startBenchServer } from './lib/apt-server.ts';
import { ADMIN_TOKEN } from './lib/common.ts';
import { httpRequest, keepAliveAgent } from './lib/http.ts';
import type { PackageSet } from './lib/packages.ts';
import { runTimed } from './lib/proc.ts';
import { countFiles, type FillResult, fillStore, prepareRevPackages, pushOne } from './lib/rev-common.ts';
import { fmtMs, fmtRatio, median, table } from './lib/stats.ts';

const DIST = 'rocky9';
const TARGET = 'rocky8';
const PROMOTE_RUNS = 5;

export interface RevisionsBenchConfig {
  workDir: string;
  rpmsDir: string;
  /** The 10,000 set (pushes) and the 1,000 set (promotion). */
  bigSet: PackageSet;
  smallSet: PackageSet;
  maxPushes: number;
  pushSeconds: number;
  pushers: number;
  stageConcurrency: number;
  profileDir: string | null;
  keep: boolean;
  log: (message: string) => void;
}

interface PushSeries {
  pushes: number;
  durationMs: number;
  revisionsPerSecond: number;
  medianMs: number;
  p90Ms: number;
  maxMs: number;
  warmupMs?: number;
  /** Revision objects written minus revisions published: compare-and-swap attempts that lost. */
  lostRaces?: number;
  pushers: number;
}

const pct = (values: number[], p: number) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const nodeArgs = (profileDir: string | null, name: string) => (profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${name}.cpuprofile`] : []);

async function currentNumber(server: RunningServer, dist: string): Promise<number> {
  const r = await httpRequest(`${server.url}/api/v1/distributions`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, keep: true });
  const d = (JSON.parse(r.body.toString()) as { distributions: Array<{ name: string; revision: { number: number } | null }> }).distributions.find((x) => x.name === dist);
  return d?.revision?.number ?? 0;
}

async function pushSeries(
  server: RunningServer,
  storeDir: string,
  files: Array<{ name: string; bytes: Buffer }>,
  pushers: number,
  config: RevisionsBenchConfig,
): Promise<PushSeries> {
  const revDir = join(storeDir, 'dists', DIST, 'revisions');
  const revObjectsBefore = (await countFiles(revDir)).count;
  const startNumber = await currentNumber(server, DIST);
  const agent = keepAliveAgent(pushers);
  const latencies: number[] = [];
  const numbers: number[] = [];
  let next = 0;
  const started = performance.now();
  const deadline = started + config.pushSeconds * 1000;
  await Promise.all(
    Array.from({ length: pushers }, async () => {
      while (next < files.length && performance.now() < deadline) {
        const f = files[next++];
        const r = await pushOne(server.url, DIST, f.name, f.bytes, agent);
        if (r.status !== 201 || r.revision === null) throw new Error(`push of ${f.name}: ${r.status} ${r.body}`);
        latencies.push(r.ms);
        numbers.push(r.revision);
      }
    }),
  );
  const durationMs = performance.now() - started;
  agent.destroy();
  // Checked after the clock: every push made its own revision, numbered without gaps.
  const sorted = [...numbers].sort((a, b) => a - b);
  sorted.forEach((n, i) => {
    if (n !== startNumber + i + 1) throw new Error(`revision numbers not contiguous: expected ${startNumber + i + 1}, got ${n}`);
  });
  if ((await currentNumber(server, DIST)) !== startNumber + numbers.length) throw new Error('ref does not stand at the last push');
  const revObjectsAfter = (await countFiles(revDir)).count;
  return {
    pushes: numbers.length,
    durationMs,
    revisionsPerSecond: (numbers.length * 1000) / durationMs,
    medianMs: median(latencies),
    p90Ms: pct(latencies, 0.9),
    maxMs: Math.max(...latencies),
    lostRaces: revObjectsAfter - revObjectsBefore - numbers.length,
    pushers,
  };
}

async function revisionsPerSecond(config: RevisionsBenchConfig, push: PackageSet) {
  const { log } = config;
  const n = config.bigSet.files.length;
  const storeDir = join(config.workDir, `revisions-${n}`, 'store');
  await rm(join(config.workDir, `revisions-${n}`), { recursive: true, force: true });
  for (const f of config.bigSet.files) await readFile(join(config.bigSet.dir, f)); // page cache
  log(`[revisions] filling rocky9 with ${n} packages (as bench/rpm.ts)`);
  const fill = await fillStore(config.bigSet.dir, storeDir, config.stageConcurrency);
  log(`  filled in ${(fill.totalMs / 1000).toFixed(1)} s (stage ${fill.stageMs.toFixed(0)}, publish ${fill.publishMs.toFixed(0)} ms)`);
  const files = await Promise.all(push.files.map(async (name) => ({ name, bytes: await readFile(join(push.dir, name)) })));
  const server = await startBenchServer(`file:${storeDir}`, nodeArgs(config.profileDir, 'server-revisions'));
  try {
    const warm = await pushOne(server.url, DIST, files[0].name, files[0].bytes, keepAliveAgent(1));
    if (warm.status !== 201 || warm.revision === null) throw new Error(`warm-up push: ${warm.status} ${warm.body}`);
    files.shift();
    log(`[revisions] sequential pushes (up to ${config.maxPushes} or ${config.pushSeconds} s)`);
    const sequential = { ...(await pushSeries(server, storeDir, files.slice(0, config.maxPushes), 1, config)), warmupMs: warm.ms };
    files.splice(0, sequential.pushes);
    log(
      `  ${sequential.pushes} pushes in ${(sequential.durationMs / 1000).toFixed(1)} s: ${sequential.revisionsPerSecond.toFixed(1)} revisions/s, median ${sequential.medianMs.toFixed(0)} ms, lost races ${sequential.lostRaces}`,
    );
    log(`[revisions] ${config.pushers} concurrent pushers`);
    const concurrent = await pushSeries(server, storeDir, files.slice(0, config.maxPushes), config.pushers, config);
    log(
      `  ${concurrent.pushes} pushes in ${(concurrent.durationMs / 1000).toFixed(1)} s: ${concurrent.revisionsPerSecond.toFixed(1)} revisions/s, median ${concurrent.medianMs.toFixed(0)} ms, lost races ${concurrent.lostRaces}`,
    );
    return { packages: n, fill, sequential, concurrent };
  } finally {
    await server.stop();
    if (!config.keep) await rm(join(config.workDir, `revisions-${n}`), { recursive: true, force: true });
  }
}

interface PromotionResult {
  packages: number;
  fill: FillResult;
  migrate: { ms: number; copied: number; firstRepomdMs: number };
  promote: { runsMs: number[]; warmupMs: number; medianMs: number };
  pool: { before: { count: number; bytes: number }; after: { count: number; bytes: number } };
  fileTree: { cpAlMs: number[]; createrepoMs: number[]; medianMs: number; updateMs: number[]; updateMedianMs: number };
}

async function promotion(config: RevisionsBenchConfig, push: PackageSet): Promise<PromotionResult> {
  const { log } = config;
  const set = config.smallSet;
  const n = set.files.length;
  const work = join(config.workDir, `promotion-${n}`);
  const storeDir = join(work, 'store');
  await rm(work, { recursive: true, force: true });
  log(`[promotion] filling rocky9 with ${n} packages`);
  const fill = await fillStore(set.dir, storeDir, config.stageConcurrency);
  const server = await startBenchServer(`file:${storeDir}`, nodeArgs(config.profileDir, 'server-promotion'));
  const agent = keepAliveAgent(1);
  const post = (path: string, body: unknown) =>
    httpRequest(`${server.url}/api/v1/distributions/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(body)),
      agent,
      keep: true,
    });
  let result: Omit<PromotionResult, 'fileTree'>;
  try {
    // Packages to promote: pushed into rocky9 now (not timed), the last files of the push set.
    const toPromote = push.files.slice(-(PROMOTE_RUNS + 1));
    for (const f of toPromote) {
      const r = await pushOne(server.url, DIST, f, await readFile(join(push.dir, f)), agent);
      if (r.status !== 201) throw new Error(`push of ${f}: ${r.status} ${r.body}`);
    }
    const poolBefore = await countFiles(join(storeDir, 'pool'));
    const t0 = performance.now();
    const m = await post('migrate', { from_dist: DIST, to_dist: TARGET });
    const migrateMs = performance.now() - t0;
    const mj = JSON.parse(m.body.toString()) as { status?: string; packages?: unknown[] };
    if (m.status !== 201 || mj.status !== 'published') throw new Error(`migrate: ${m.status} ${m.body.toString().slice(0, 500)}`);
    const copied = mj.packages?.length ?? 0;
    if (copied !== n + toPromote.length) throw new Error(`migrate copied ${copied} packages, expected ${n + toPromote.length}`);
    const t1 = performance.now();
    const repomd = await httpRequest(`${server.url}/repos/${TARGET}/x86_64/repodata/repomd.xml`, { agent, keep: true });
    const firstRepomdMs = performance.now() - t1;
    if (repomd.status !== 200) throw new Error(`rocky8 repomd.xml: ${repomd.status}`);
    log(`  migrate of ${copied}: ${migrateMs.toFixed(0)} ms, then first rocky8 repomd.xml ${firstRepomdMs.toFixed(0)} ms`);

    // Promotion goes into a target that already holds them after the migrate: remove them from rocky8 first (not timed).
    const names = toPromote.map((f) => f.replace(/-[^-]+-[^-]+\.[^.]+\.rpm$/, ''));
    const rm8 = await post(`${TARGET}/remove`, { packages: toPromote });
    if (rm8.status !== 200 && rm8.status !== 201) throw new Error(`remove from rocky8: ${rm8.status} ${rm8.body.toString().slice(0, 300)}`);
    const times: number[] = [];
    for (const name of names) {
      const s = performance.now();
      const p = await post('promote', { package: name, from_dist: DIST, to_dist: TARGET });
      times.push(performance.now() - s);
      const pj = JSON.parse(p.body.toString()) as { status?: string };
      if (p.status !== 201 || pj.status !== 'published') throw new Error(`promote ${name}: ${p.status} ${p.body.toString().slice(0, 500)}`);
    }
    const poolAfter = await countFiles(join(storeDir, 'pool'));
    const [warmupMs, ...runsMs] = times;
    log(
      `  promote one package: median ${median(runsMs).toFixed(0)} ms of ${runsMs.map((t) => t.toFixed(0)).join(', ')} (warm-up ${warmupMs.toFixed(0)}); pool ${poolBefore.count} -> ${poolAfter.count} objects`,
    );
    result = {
      packages: n,
      fill,
      migrate: { ms: migrateMs, copied, firstRepomdMs },
      promote: { runsMs, warmupMs, medianMs: median(runsMs) },
      pool: { before: poolBefore, after: poolAfter },
    };
  } finally {
    agent.destroy();
    await server.stop();
  }

  // The file-tree way: a directory per distribution, hard links, createrepo_c.
  const src = join(work, 'tree-rocky9');
  await mkdir(src, { recursive: true });
  for (const f of set.files) await link(join(set.dir, f), join(src, f));
  await runTimed('createrepo_c', [src]);
  const cpAlMs: number[] = [];
  const createrepoMs: number[] = [];
  for (let i = 0; i <= 3; i++) {
    const dst = join(work, `tree-rocky8-${i}`);
    const a = await runTimed('cp', ['-al', src, dst]);
    await rm(join(dst, 'repodata'), { recursive: true, force: true });
    const b = await runTimed('createrepo_c', [dst]);
    cpAlMs.push(a.ms);
    createrepoMs.push(b.ms);
  }
  const updateMs: number[] = [];
  const target = join(work, 'tree-rocky8-0');
  for (let i = 0; i <= PROMOTE_RUNS; i++) {
    const f = push.files[push.files.length - 1 - i];
    const s = performance.now();
    await link(join(push.dir, f), join(target, f));
    await runTimed('createrepo_c', ['--update', target]);
    updateMs.push(performance.now() - s);
  }
  if (!config.keep) await rm(work, { recursive: true, force: true });
  const totals = cpAlMs.map((t, i) => t + createrepoMs[i]);
  const fileTree = {
    cpAlMs: cpAlMs.slice(1),
    createrepoMs: createrepoMs.slice(1),
    medianMs: median(totals.slice(1)),
    updateMs: updateMs.slice(1),
    updateMedianMs: median(updateMs.slice(1)),
  };
  log(`  cp -al + createrepo_c: median ${fileTree.medianMs.toFixed(0)} ms; ln + createrepo_c --update: median ${fileTree.updateMedianMs.toFixed(0)} ms`);
  return { ...result, fileTree };
}

export async function runRevisionsBench(config: RevisionsBenchConfig): Promise<{ lines: string[]; json: Record<string, unknown> }> {
  const started = Date.now();
  // warm-up + sequential + concurrent + promotion candidates
  const push = await prepareRevPackages(config.rpmsDir, 2 * config.maxPushes + PROMOTE_RUNS + 8, config.log);
  const pushable: PackageSet = { ...push, files: push.files.slice(0, push.files.length - (PROMOTE_RUNS + 1)) };
  const rps = await revisionsPerSecond(config, pushable);
  const promo = await promotion(config, push);

  const s = rps.sequential;
  const c = rps.concurrent;
  const lines: string[] = [];
  lines.push('', `repod revisions benchmark — ${new Date().toISOString()}`);
  lines.push(
    `method: real server (file store, fsync on); each push is POST /api/v1/distributions/${DIST}/builds with one file, answered 201 with the next revision number ` +
      `(checked: contiguous, ref at the last); files read into memory first; lost races = revision objects written - revisions published.`,
  );
  lines.push('', `== 1. revisions per second, ${rps.packages.toLocaleString('en-US')} packages in ${DIST} ==`);
  lines.push(
    table([
      ['', '1 pusher', `${c.pushers} pushers`],
      ['pushes (each one revision)', String(s.pushes), String(c.pushes)],
      ['duration', fmtMs(s.durationMs), fmtMs(c.durationMs)],
      ['revisions/s', s.revisionsPerSecond.toFixed(1), c.revisionsPerSecond.toFixed(1)],
      ['push latency, median', fmtMs(s.medianMs), fmtMs(c.medianMs)],
      ['push latency, p90', fmtMs(s.p90Ms), fmtMs(c.p90Ms)],
      ['push latency, max', fmtMs(s.maxMs), fmtMs(c.maxMs)],
      ['lost compare-and-swap races (retries)', String(s.lostRaces), String(c.lostRaces)],
      ['warm-up push (excluded)', fmtMs(s.warmupMs), ''],
      ['fill: stage + publishBatch of the set (not timed above)', fmtMs(rps.fill.totalMs), ''],
    ]),
  );
  const p = promo;
  lines.push('', `== 2. promotion, ${p.packages.toLocaleString('en-US')} packages (+${PROMOTE_RUNS + 1} pushed for promote) ==`);
  lines.push(
    table([
      ['', 'repod', 'file tree (cp -al / ln + createrepo_c)', 'ratio'],
      [`migrate ${DIST} -> ${TARGET} (${p.migrate.copied} packages)`, fmtMs(p.migrate.ms), fmtMs(p.fileTree.medianMs), fmtRatio(p.fileTree.medianMs, p.migrate.ms)],
      ['   + first repomd.xml of the target (render)', fmtMs(p.migrate.firstRepomdMs), '', ''],
      ['   migrate + first repomd.xml', fmtMs(p.migrate.ms + p.migrate.firstRepomdMs), '', fmtRatio(p.fileTree.medianMs, p.migrate.ms + p.migrate.firstRepomdMs)],
      ['   file tree: cp -al (median)', '', fmtMs(median(p.fileTree.cpAlMs)), ''],
      ['   file tree: createrepo_c (median)', '', fmtMs(median(p.fileTree.createrepoMs)), ''],
      [
        `promote one package (median of ${p.promote.runsMs.length})`,
        fmtMs(p.promote.medianMs),
        fmtMs(p.fileTree.updateMedianMs),
        fmtRatio(p.fileTree.updateMedianMs, p.promote.medianMs),
      ],
      ['   warm-up (excluded)', fmtMs(p.promote.warmupMs), '', ''],
      ['pool objects before -> after', `${p.pool.before.count} -> ${p.pool.after.count}`, '', ''],
      ['pool bytes before -> after', `${(p.pool.before.bytes / 1048576).toFixed(1)} -> ${(p.pool.after.bytes / 1048576).toFixed(1)} MiB`, '', ''],
    ]),
  );
  lines.push(
    'file tree = what a plain-directory setup does: migrate = `cp -al` of the source directory + `createrepo_c` on the copy (median of 3 after a warm-up); ' +
      'promote = `ln` of one file + `createrepo_c --update` on the 1,000-package copy. repod figures are to the 201 answer (metadata rendered lazily on the first GET, shown apart for migrate).',
  );
  lines.push('', `revisions bench time ${((Date.now() - started) / 1000).toFixed(0)} s; figures in .bench/results-revisions.json`);
  return {
    lines,
    json: {
      date: new Date().toISOString(),
      settings: { maxPushes: config.maxPushes, pushSeconds: config.pushSeconds, pushers: config.pushers, promoteRuns: PROMOTE_RUNS, warmup: 'one push / one promote excluded' },
      pushPackages: { dir: push.dir, count: push.files.length, builtNow: push.built, buildMs: push.buildMs },
      revisionsPerSecond: rps,
      promotion: promo,
    },
  };
}

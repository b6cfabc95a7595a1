/**
 * Scan (bench/scan.ts; .bench/results-scan.json): mkrepo's approach against repod's on the same
 * tree of N small RPMs (--scan-files, default 10,000: the cached set-<N> of bench/lib/packages.ts).
 *
 * Two copies of the tree (hard links, so the same page-cached bytes): one for `repod mkrepo`
 * (bin/repod.mjs, a fresh process each run, its state in <tree>/.repod/store), one for
 * `createrepo_c`. Each tool first builds the metadata of the whole tree; then one package is
 * dropped into Packages/ of both trees (like `aws s3 cp` would) and each tool runs again:
 * `repod mkrepo` reads the one new object, `createrepo_c --update` re-reads its old metadata and
 * rewrites all of it. Wall time and peak RSS (/usr/bin/time) of every run; the incremental pair
 * is repeated --scan-runs times with one more package each, medians reported.
 */
import { link, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from '../test/helpers/paths.ts';
import { preparePackageSets } from './lib/packages.ts';
import { type RunResult, runTimed } from './lib/proc.ts';
import { fmtMiB, fmtMs, fmtRatio, median, table } from './lib/stats.ts';

export interface ScanBenchConfig {
  workDir: string;
  rpmsDir: string;
  files: number;
  runs: number;
  keep: boolean;
  log: (message: string) => void;
}

interface Timed {
  ms: number;
  maxRssKiB: number | null;
}

const REPOD = join(REPO_ROOT, 'bin/repod.mjs');

async function linkTree(from: string, files: string[], tree: string): Promise<void> {
  await rm(tree, { recursive: true, force: true });
  await mkdir(join(tree, 'Packages'), { recursive: true });
  // Batches: 10,000 link() calls at once would exhaust the descriptors of nothing, but hog the loop.
  for (let i = 0; i < files.length; i += 500) await Promise.all(files.slice(i, i + 500).map((f) => link(join(from, f), join(tree, 'Packages', f))));
}

const timed = (r: RunResult): Timed => ({ ms: r.ms, maxRssKiB: r.maxRssKiB });

export async function runScanBench(config: ScanBenchConfig): Promise<{ lines: string[]; json: unknown }> {
  const { log } = config;
  const { sets, extra } = await preparePackageSets(config.rpmsDir, [config.files], Math.max(16, config.runs + 1));
  const set = sets.get(config.files)!;
  if (extra.files.length < config.runs + 1) throw new Error(`scan bench: ${extra.files.length} extra packages, ${config.runs + 1} needed`);
  const work = join(config.workDir, 'scan');
  const repodTree = join(work, 'repod-tree');
  const crTree = join(work, 'createrepo-tree');
  await mkdir(work, { recursive: true });
  await linkTree(set.dir, set.files, repodTree);
  await linkTree(set.dir, set.files, crTree);

  const mkrepo = async () => {
    const r = await runTimed(process.execPath, [REPOD, 'mkrepo', '--json', repodTree], { measureRss: true });
    const report = JSON.parse(r.stdout) as { scans: Array<{ found: number; read: number; unchanged: number }> };
    return { ...timed(r), scan: report.scans[0] };
  };
  const createrepo = async (update: boolean) => timed(await runTimed('createrepo_c', [...(update ? ['--update'] : []), '--quiet', crTree], { measureRss: true }));

  log(`scan: full run of repod mkrepo on ${set.files.length} RPMs`);
  const repodFull = await mkrepo();
  log(`scan: repod mkrepo ${fmtMs(repodFull.ms)}; createrepo_c full run`);
  const crFull = await createrepo(false);
  log(`scan: createrepo_c ${fmtMs(crFull.ms)}`);

  // Warm-up pair (excluded), then the measured pairs: one more package each time.
  const repodRuns: Array<Timed & { read: number; found: number }> = [];
  const crRuns: Timed[] = [];
  for (let i = 0; i <= config.runs; i++) {
    const file = extra.files[i];
    await link(join(extra.dir, file), join(repodTree, 'Packages', file));
    await link(join(extra.dir, file), join(crTree, 'Packages', file));
    const r = await mkrepo();
    const c = await createrepo(true);
    log(`scan: +1 package (${i === 0 ? 'warm-up' : `run ${i}`}): repod mkrepo ${fmtMs(r.ms)} (read ${r.scan.read} of ${r.scan.found}), createrepo_c --update ${fmtMs(c.ms)}`);
    if (i === 0) continue;
    repodRuns.push({ ms: r.ms, maxRssKiB: r.maxRssKiB, read: r.scan.read, found: r.scan.found });
    crRuns.push(c);
  }
  // What any `repod` command costs before it does anything (node + tsx loading the CLI).
  const startup: Timed[] = [];
  for (let i = 0; i < 3; i++) startup.push(timed(await runTimed(process.execPath, [REPOD, '--help'], { measureRss: true })));
  const med = (xs: Timed[]) => ({ ms: median(xs.map((x) => x.ms)), maxRssKiB: median(xs.map((x) => x.maxRssKiB ?? NaN)) });
  const repodInc = med(repodRuns);
  const crInc = med(crRuns);
  const packagesCount = (await readdir(join(repodTree, 'Packages'))).length;
  if (!config.keep) await rm(work, { recursive: true, force: true });

  const n = set.files.length.toLocaleString('en-US');
  const lines = [
    '',
    `repod scan benchmark (mkrepo's mode) — ${new Date().toISOString()}`,
    `method: a tree of ${n} RPMs (Packages/), hard-linked twice; repod = \`repod mkrepo <tree>\` as a fresh process each run (file store in <tree>/.repod/store, metadata written into <tree>/repodata/); ` +
      `createrepo_c with its defaults (mkrepo runs it so; it also writes sqlite databases, which repod mkrepo does not list). One package dropped into Packages/ of both trees before each incremental run; ` +
      `median of ${config.runs} runs after one warm-up. Ratio = createrepo_c time / repod time. Peak RSS from /usr/bin/time.`,
    table([
      ['', 'repod mkrepo', 'createrepo_c', 'ratio'],
      [`full run (${n} RPMs, nothing before)`, fmtMs(repodFull.ms), fmtMs(crFull.ms), fmtRatio(crFull.ms, repodFull.ms)],
      ['  peak RSS', fmtMiB(repodFull.maxRssKiB), fmtMiB(crFull.maxRssKiB), ''],
      ['1 new package (repod mkrepo / createrepo_c --update)', fmtMs(repodInc.ms), fmtMs(crInc.ms), fmtRatio(crInc.ms, repodInc.ms)],
      ['  peak RSS', fmtMiB(repodInc.maxRssKiB), fmtMiB(crInc.maxRssKiB), ''],
      ['  of which starting the repod command (`repod --help`)', fmtMs(median(startup.map((x) => x.ms))), '', ''],
      ['  objects read by repod (of those found)', `${repodRuns[0]?.read ?? '-'} of ${repodRuns[0]?.found ?? '-'}`, '', ''],
    ]),
    `(${packagesCount} packages in each tree at the end)`,
  ];
  return {
    lines,
    json: {
      date: new Date().toISOString(),
      packages: set.files.length,
      runs: config.runs,
      full: { repod: repodFull, createrepo: crFull },
      startup: { median: median(startup.map((x) => x.ms)), runs: startup },
      incremental: { repod: { median: repodInc, runs: repodRuns }, createrepo: { median: crInc, runs: crRuns } },
    },
  };
}

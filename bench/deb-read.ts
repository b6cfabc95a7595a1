/**
 * Reading a .deb, per package: repod's parseDeb (control and file list, and control only) against
 * `dpkg-deb -I <deb> control` (one process per package, as a tool reading packages one by one) and
 * `apt-ftparchive packages` (one process over the directory: control plus four hashes of the file).
 * Packages: the varied test corpus (every member compression dpkg-deb writes, long names, 300
 * files) and 200 small ones from the test writer, whose own time per package is shown too.
 * Medians of `runs` passes after one warm-up.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDeb } from '../src/formats/deb/reader.ts';
import { benchmarkSpecs, buildVarietyCorpus, writeDebs } from '../test/helpers/debs.ts';
import { runTimed } from './lib/proc.ts';
import { fmtRatio, median, table } from './lib/stats.ts';

export interface DebReadBenchConfig {
  workDir: string;
  runs: number;
  keep: boolean;
  log: (message: string) => void;
}

export async function runDebReadBench(config: DebReadBenchConfig): Promise<{ lines: string[]; json: unknown }> {
  const dir = join(config.workDir, 'deb-read');
  await rm(dir, { recursive: true, force: true });
  buildVarietyCorpus(join(dir, 'pool'));
  writeDebs(join(dir, 'pool'), benchmarkSpecs(200));
  const writerMs: number[] = [];
  for (let run = 0; run <= config.runs; run++) {
    const out = join(dir, `writer-${run}`);
    const started = performance.now();
    const written = writeDebs(out, benchmarkSpecs(200));
    if (run > 0) writerMs.push((performance.now() - started) / written.length);
    await rm(out, { recursive: true, force: true });
  }
  const files = (await readdir(join(dir, 'pool')))
    .filter((f) => f.endsWith('.deb'))
    .sort()
    .map((f) => join(dir, 'pool', f));
  const bytes = await Promise.all(files.map((f) => readFile(f)));
  config.log(`deb-read: ${files.length} packages`);

  const perPackage = async (pass: () => Promise<void>): Promise<number> => {
    const times: number[] = [];
    for (let run = 0; run <= config.runs; run++) {
      const started = performance.now();
      await pass();
      if (run > 0) times.push((performance.now() - started) / files.length);
    }
    return median(times);
  };
  const withFiles = await perPackage(async () => {
    for (const b of bytes) await parseDeb(b);
  });
  const controlOnly = await perPackage(async () => {
    for (const b of bytes) await parseDeb(b, { files: false });
  });
  const dpkgDeb = await perPackage(async () => {
    for (const f of files) await runTimed('dpkg-deb', ['-I', f, 'control']);
  });
  const ftparchive = await perPackage(async () => {
    await runTimed('apt-ftparchive', ['packages', 'pool'], { cwd: dir });
  });
  if (!config.keep) await rm(dir, { recursive: true, force: true });

  const ms = (v: number) => `${v.toFixed(3)} ms`;
  const lines = [
    `\n.deb read time per package (${files.length} packages; median of ${config.runs} passes after a warm-up)`,
    table([
      ['reader', 'per package', 'repod (control only)'],
      ['repod parseDeb, control + file list', ms(withFiles), ''],
      ['repod parseDeb, control only', ms(controlOnly), ''],
      ['dpkg-deb -I <deb> control (a process each)', ms(dpkgDeb), fmtRatio(dpkgDeb, controlOnly)],
      ['apt-ftparchive packages (one process)', ms(ftparchive), fmtRatio(ftparchive, controlOnly)],
      ['test writer buildDeb (helpers/debs.ts)', ms(median(writerMs)), ''],
    ]),
  ];
  return {
    lines,
    json: {
      date: new Date().toISOString(),
      packages: files.length,
      runs: config.runs,
      msPerPackage: { parseDeb: withFiles, parseDebControlOnly: controlOnly, dpkgDebInfo: dpkgDeb, aptFtparchivePackages: ftparchive, testWriterBuildDeb: median(writerMs) },
    },
  };
}

/**
 * Benchmark .deb sets, written directly (ar + tar, test/helpers/debs.ts) and cached under
 * `.bench/debs/`.
 *
 * `set-<N>/` holds the first N packages of one deterministic list (benchmarkSpecs of the largest
 * size asked for, so a smaller set is exactly the start of a bigger one and is hard-linked from
 * it); it is complete when its marker `.complete` exists. `extra-<k>/` holds k amd64 packages with
 * other names: the "one more package" of a publish, the same files for every tool.
 */
import { link, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { benchmarkSpecs, buildDeb, type DebSpec } from '../../test/helpers/debs.ts';
import type { PackageSet } from './packages.ts';

const GENERATOR = 1; // bump when the generator changes, to invalidate caches
/** The list every set is a prefix of (so sets of different sizes hold the same packages). */
const LIST_SIZE = 100_000;

interface Marker {
  generator: number;
  count: number;
  files: string[];
  builtAt: string;
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function readMarker(dir: string): Promise<Marker | null> {
  try {
    const marker = JSON.parse(await readFile(join(dir, '.complete'), 'utf8')) as Marker;
    return marker.generator === GENERATOR ? marker : null;
  } catch {
    return null;
  }
}

function fileName(spec: DebSpec): string {
  return `${spec.name}_${spec.version.replace(/^\d+:/, '')}_${spec.arch ?? 'amd64'}.deb`;
}

async function writeSet(dir: string, specs: DebSpec[]): Promise<PackageSet> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  log(`writing ${specs.length} .debs into ${dir} (once; cached afterwards)`);
  const started = performance.now();
  const files: string[] = [];
  for (let i = 0; i < specs.length; i++) {
    const name = fileName(specs[i]);
    await writeFile(join(dir, name), buildDeb(specs[i]));
    files.push(name);
    if ((i + 1) % 5000 === 0) log(`  ${i + 1}/${specs.length} .debs written`);
  }
  files.sort();
  await writeFile(join(dir, '.complete'), JSON.stringify({ generator: GENERATOR, count: specs.length, files, builtAt: new Date().toISOString() }, null, 1));
  const buildMs = performance.now() - started;
  log(`wrote ${specs.length} .debs in ${(buildMs / 1000).toFixed(1)} s`);
  return { dir, files, built: true, buildMs };
}

/** The cached .deb sets for every size, plus `extraCount` extra amd64 packages. */
export async function prepareDebSets(root: string, sizes: number[], extraCount: number): Promise<{ sets: Map<number, PackageSet>; extra: PackageSet }> {
  const largest = Math.max(...sizes);
  if (largest > LIST_SIZE) throw new Error(`at most ${LIST_SIZE} generated .debs`);
  const sets = new Map<number, PackageSet>();
  const complete = new Map<number, Marker>();
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const m = /^set-(\d+)$/.exec(name);
    if (!m) continue;
    const marker = await readMarker(join(root, name));
    if (marker) complete.set(Number(m[1]), marker);
  }
  for (const size of [...sizes].sort((a, b) => b - a)) {
    const dir = join(root, `set-${size}`);
    const cached = complete.get(size);
    if (cached) {
      sets.set(size, { dir, files: cached.files, built: false, buildMs: 0 });
      continue;
    }
    const bigger = [...complete.keys()].filter((n) => n > size).sort((a, b) => a - b)[0];
    if (bigger !== undefined) {
      // The first `size` specs of the list, found by name in the bigger set.
      const started = performance.now();
      const wanted = benchmarkSpecs(LIST_SIZE).slice(0, size).map(fileName);
      log(`linking the first ${size} .debs of set-${bigger} into set-${size}`);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      for (const f of wanted) await link(join(root, `set-${bigger}`, f), join(dir, f));
      const files = wanted.sort();
      await writeFile(join(dir, '.complete'), JSON.stringify({ generator: GENERATOR, count: size, files, builtAt: new Date().toISOString() }, null, 1));
      sets.set(size, { dir, files, built: false, buildMs: performance.now() - started });
      complete.set(size, { generator: GENERATOR, count: size, files, builtAt: '' });
      continue;
    }
    const set = await writeSet(dir, benchmarkSpecs(LIST_SIZE).slice(0, size));
    sets.set(size, set);
    complete.set(size, { generator: GENERATOR, count: size, files: set.files, builtAt: '' });
  }
  const extraDir = join(root, `extra-${extraCount}`);
  const extraMarker = await readMarker(extraDir);
  const extra = extraMarker
    ? { dir: extraDir, files: extraMarker.files, built: false, buildMs: 0 }
    : await writeSet(extraDir, benchmarkSpecs(extraCount, { prefix: 'benchextra', arch: 'amd64' }));
  // The extra packages in their order of use (the sorted file list is also the spec order).
  return { sets, extra };
}

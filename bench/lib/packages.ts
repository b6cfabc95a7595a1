/**
 * Benchmark package sets, built once with rpmbuild and cached under `.bench/rpms/`.
 *
 * A set is `set-<N>/` holding bench-00000 .. bench-<N-1> (buildManyRpms, reproducible build times);
 * it is complete when its marker file `.complete` exists. The first N packages of a bigger set are
 * exactly the smaller set (same specs of 500 subpackages), so a smaller set is hard-linked from a
 * complete bigger one when there is one. `extra/` holds a few packages with other names, the "one
 * more package" of a publish.
 */
import { link, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildManyRpms } from '../../test/helpers/rpmbuild.ts';

export const SOURCE_DATE_EPOCH = 1700000000;
const GENERATOR = 1; // bump when the generator options change, to invalidate caches

export interface PackageSet {
  dir: string;
  files: string[];
  /** Whether this call built it (false: from the cache). */
  built: boolean;
  buildMs: number;
}

interface Marker {
  generator: number;
  count: number;
  prefix: string;
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

async function writeMarker(dir: string, marker: Omit<Marker, 'generator' | 'builtAt'>): Promise<void> {
  await writeFile(join(dir, '.complete'), JSON.stringify({ generator: GENERATOR, builtAt: new Date().toISOString(), ...marker }, null, 1));
}

/** Runs a build while printing how many .rpm files exist in `dir` every few seconds. */
async function withProgress<T>(label: string, dir: string, total: number, work: Promise<T>): Promise<T> {
  const started = Date.now();
  const timer = setInterval(async () => {
    const done = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.rpm')).length;
    const secs = (Date.now() - started) / 1000;
    const eta = done > 0 ? ((total - done) * secs) / done : NaN;
    log(`${label}: ${done}/${total} packages built, ${secs.toFixed(0)} s${Number.isFinite(eta) ? `, about ${eta.toFixed(0)} s left` : ''}`);
  }, 10_000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

async function buildSet(dir: string, count: number, prefix: string, perSpec?: number): Promise<PackageSet> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  log(`building ${count} RPMs with rpmbuild into ${dir} (once; cached afterwards)`);
  const started = performance.now();
  const paths = await withProgress(`rpmbuild ${prefix} x${count}`, dir, count, buildManyRpms(count, dir, { prefix, perSpec, sourceDateEpoch: SOURCE_DATE_EPOCH }));
  const files = paths.map((p) => p.slice(dir.length + 1)).sort();
  await writeMarker(dir, { count, prefix, files });
  const buildMs = performance.now() - started;
  log(`built ${count} RPMs in ${(buildMs / 1000).toFixed(1)} s`);
  return { dir, files, built: true, buildMs };
}

/**
 * The cached sets for every size (largest first, so smaller ones can be linked from it), plus the
 * extra packages. Returns sets by size.
 */
export async function preparePackageSets(root: string, sizes: number[], extraCount: number): Promise<{ sets: Map<number, PackageSet>; extra: PackageSet }> {
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
    const bigger = [...complete.entries()].filter(([n]) => n > size).sort((a, b) => a[0] - b[0])[0];
    if (bigger) {
      const [n, marker] = bigger;
      log(`linking the first ${size} packages of set-${n} into set-${size}`);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const files = marker.files.slice(0, size);
      for (const f of files) await link(join(root, `set-${n}`, f), join(dir, f));
      await writeMarker(dir, { count: size, prefix: marker.prefix, files });
      sets.set(size, { dir, files, built: false, buildMs: 0 });
      complete.set(size, { ...marker, count: size, files });
      continue;
    }
    const set = await buildSet(dir, size, 'bench');
    sets.set(size, set);
    complete.set(size, { generator: GENERATOR, count: size, prefix: 'bench', files: set.files, builtAt: '' });
  }
  const extraDir = join(root, `extra-${extraCount}`);
  const extraMarker = await readMarker(extraDir);
  const extra = extraMarker ? { dir: extraDir, files: extraMarker.files, built: false, buildMs: 0 } : await buildSet(extraDir, extraCount, 'benchextra', extraCount);
  return { sets, extra };
}

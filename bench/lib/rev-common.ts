/**
 * Helpers of the revisions and sqlite sections (bench/revisions.ts, bench/sqlite.ts): the cached
 * "push" packages, filling a file store the way bench/rpm.ts does (bench/lib/repod-build.ts in a
 * child process: stage all, one publishBatch), counting store objects, one push, an RSS sampler.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { Agent } from 'node:http';
import { join } from 'node:path';
import { REPO_ROOT } from '../../test/helpers/paths.ts';
import { buildManyRpms } from '../../test/helpers/rpmbuild.ts';
import { ADMIN_TOKEN } from './common.ts';
import { httpRequest, multipart } from './http.ts';
import { type PackageSet, SOURCE_DATE_EPOCH } from './packages.ts';
import { procStatus } from './proc.ts';

/** Same shape as bench/rpm.ts RepodInitial (what repod-build.ts prints). */
export interface FillResult {
  packages: number;
  stageMs: number;
  publishMs: number;
  repomdMs: number;
  totalMs: number;
  peakRssKiB: number | null;
}

const GENERATOR = 1; // bump when the options below change

/**
 * `count` packages `benchrev-NNNNN` (names distinct from the sets and from extra-*), built once
 * with buildManyRpms into `<root>/rev-<count>/` and cached there (marker `.complete`, as packages.ts).
 */
export async function prepareRevPackages(root: string, count: number, log: (m: string) => void): Promise<PackageSet> {
  const dir = join(root, `rev-${count}`);
  try {
    const marker = JSON.parse(await readFile(join(dir, '.complete'), 'utf8')) as { generator: number; files: string[] };
    if (marker.generator === GENERATOR && marker.files.length === count) return { dir, files: marker.files, built: false, buildMs: 0 };
  } catch {
    // not built yet
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  log(`building ${count} push packages (benchrev-*) with rpmbuild into ${dir} (once; cached afterwards)`);
  const started = performance.now();
  const paths = await buildManyRpms(count, dir, { prefix: 'benchrev', perSpec: Math.ceil(count / 2), sourceDateEpoch: SOURCE_DATE_EPOCH });
  const files = paths.map((p) => p.slice(dir.length + 1)).sort();
  await writeFile(join(dir, '.complete'), JSON.stringify({ generator: GENERATOR, count, prefix: 'benchrev', files, builtAt: new Date().toISOString() }, null, 1));
  const buildMs = performance.now() - started;
  log(`built ${count} push packages in ${(buildMs / 1000).toFixed(1)} s`);
  return { dir, files, built: true, buildMs };
}

/** Fills a fresh file store with every .rpm of `dir` as one revision of rocky9 (bench/lib/repod-build.ts). */
export function fillStore(dir: string, storeDir: string, concurrency: number): Promise<FillResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/lib/repod-build.ts', dir, storeDir, String(concurrency)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`repod fill failed (${code}):\n${stderr.slice(-4000)}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as FillResult);
    });
  });
}

/** Number and total size of the files under `dir` (recursive); zero when it does not exist. */
export async function countFiles(dir: string): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isFile()) continue;
    count++;
    bytes += (await stat(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))).size;
  }
  return { count, bytes };
}

export interface PushResult {
  ms: number;
  status: number;
  revision: number | null;
  body: string;
}

/** One single-file push hook: POST /api/v1/distributions/<dist>/builds, multipart with one `file`. */
export async function pushOne(url: string, dist: string, name: string, bytes: Buffer, agent: Agent): Promise<PushResult> {
  const { body, contentType } = await multipart({}, { field: 'file', name, bytes });
  const t0 = performance.now();
  const r = await httpRequest(`${url}/api/v1/distributions/${dist}/builds`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': contentType, 'content-length': String(body.length) },
    body,
    agent,
    keep: true,
  });
  const ms = performance.now() - t0;
  let revision: number | null = null;
  try {
    const json = JSON.parse(r.body.toString()) as { status?: string; revision?: { number?: number } | null };
    if (json.status === 'published' && typeof json.revision?.number === 'number') revision = json.revision.number;
  } catch {
    // reported by the caller through `body`
  }
  return { ms, status: r.status, revision, body: r.body.toString().slice(0, 500) };
}

/** Samples VmRSS of a process every `everyMs` until stopped; returns the highest seen (KiB). */
export function rssSampler(pid: number, everyMs = 50): { stop: () => Promise<number> } {
  let max = 0;
  const sample = async () => {
    const s = await procStatus(pid);
    if (s && s.VmRSS > max) max = s.VmRSS;
  };
  void sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await sample();
      return max;
    },
  };
}

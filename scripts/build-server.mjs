#!/usr/bin/env node
/**
 * Builds the Node server (src/runtime/node.ts and what it imports from src/) into one ES module,
 * dist/server.mjs, that plain `node` runs: `npm start` runs it after this script (its `prestart`),
 * so a server does not carry tsx's loader at run time (about 50 MiB of RSS and a second of
 * start-up). Packages stay outside the bundle and load from node_modules as they would under tsx
 * (sql.js finds its wasm there).
 *
 * The `repod` command's bundle, dist/cli.mjs (src/cli/main.ts), is built beside it the same way:
 * bin/repod.mjs runs it when it is fresh (and builds it when it is not), because every command
 * paid tsx's start-up too, 0.4 s of a `repod mkrepo` that adds one package.
 *
 * A bundle is rebuilt only when it is missing or older than a file under src/, package.json,
 * package-lock.json or this script, so an unchanged checkout starts at once. `--force` rebuilds
 * anyway; `--check` only says whether a rebuild is due (exit 1 when it is).
 */
import { readFileSync } from 'node:fs';
import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const bundle = join(root, 'dist', 'server.mjs');
export const cliBundle = join(root, 'dist', 'cli.mjs');

/** The newest modification time of the files the bundles are built from. */
async function newestInput() {
  let newest = 0;
  const visit = async (dir) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await visit(path);
      else newest = Math.max(newest, (await stat(path)).mtimeMs);
    }
  };
  await visit(join(root, 'src'));
  for (const file of ['package.json', 'package-lock.json', 'tsconfig.json', 'scripts/build-server.mjs']) {
    const s = await stat(join(root, file)).catch(() => null);
    if (s) newest = Math.max(newest, s.mtimeMs);
  }
  return newest;
}

/** Whether a bundle (default dist/server.mjs) is missing or older than its sources. */
export async function bundleIsStale(outfile = bundle) {
  const built = await stat(outfile).catch(() => null);
  return !built || built.mtimeMs < (await newestInput());
}

/**
 * Bundles `entry` into `outfile` (with a source map beside it). A module src/ loads with import()
 * (the S3 driver, the file store, the CLI's server-side commands) goes to a chunk of its own under
 * dist/chunks/, with the packages it imports: the S3 driver's AWS SDK (88 files, 4-7 MiB of a
 * server's RSS) is never loaded by a server on the file store. Chunk names carry their content's hash, so a rebuild adds
 * chunks and leaves the ones an older entry names. The files are written under temporary names and
 * renamed into place, the entry last, so a process starting meanwhile (several `repod` commands at
 * once, each finding the bundle stale) never imports half a file or a chunk not yet written.
 */
async function buildBundle(entry, outfile, define = {}) {
  // Loaded only when a build is due: a checkout whose bundles are fresh needs nothing more.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: { [basename(outfile, '.mjs')]: join(root, entry) },
    outdir: dirname(outfile),
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Every package loads from node_modules at run time, as under tsx.
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
    // Names stay readable in stack traces and logs.
    minify: false,
    keepNames: true,
    define,
    write: false,
  });
  await mkdir(join(dirname(outfile), 'chunks'), { recursive: true }); // a fresh clone has no dist/
  const suffix = `.${process.pid}.tmp`;
  // Maps before their modules, chunks before the entry: nothing is there before what it names.
  const rank = (path) => (path === outfile ? 2 : path.endsWith('.map') ? 0 : 1);
  const files = [...result.outputFiles].sort((a, b) => rank(a.path) - rank(b.path));
  for (const file of files) {
    await writeFile(file.path + suffix, file.contents);
    await rename(file.path + suffix, file.path);
  }
}

/** Builds dist/server.mjs. */
export async function buildServer() {
  await buildBundle('src/runtime/node.ts', bundle);
}

/** Builds dist/cli.mjs; the version `repod --version` prints is the package's, fixed at build time. */
export async function buildCli() {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  await buildBundle('src/cli/main.ts', cliBundle, { REPOD_BUNDLED_VERSION: JSON.stringify(version) });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  const due = [];
  if (force || (await bundleIsStale(bundle))) due.push([bundle, buildServer]);
  if (force || (await bundleIsStale(cliBundle))) due.push([cliBundle, buildCli]);
  if (args.includes('--check')) process.exit(due.length ? 1 : 0);
  for (const [outfile, build] of due) {
    const started = performance.now();
    await build();
    process.stderr.write(`repod: built ${outfile.slice(root.length + 1)} in ${Math.round(performance.now() - started)} ms\n`);
  }
}

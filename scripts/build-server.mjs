#!/usr/bin/env node
/**
 * Builds the Node server (src/runtime/node.ts and what it imports from src/) into one ES module,
 * dist/server.mjs, that plain `node` runs: `npm start` runs it after this script (its `prestart`),
 * so a server does not carry tsx's loader at run time (about 50 MiB of RSS and a second of
 * start-up). Packages stay outside the bundle and load from node_modules as they would under tsx
 * (sql.js finds its wasm there).
 *
 * It rebuilds only when the bundle is missing or older than a file under src/, package.json,
 * package-lock.json or this script, so an unchanged checkout starts at once. `--force` rebuilds
 * anyway; `--check` only says whether a rebuild is due (exit 1 when it is).
 */
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const bundle = join(root, 'dist', 'server.mjs');

/** The newest modification time of the files the bundle is built from. */
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

/** Whether dist/server.mjs is missing or older than its sources. */
export async function bundleIsStale() {
  const built = await stat(bundle).catch(() => null);
  return !built || built.mtimeMs < (await newestInput());
}

/** Builds dist/server.mjs (with a source map beside it). */
export async function buildServer() {
  // Loaded only when a build is due: a checkout whose bundle is fresh needs nothing more.
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(root, 'src/runtime/node.ts')],
    outfile: bundle,
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
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const stale = args.includes('--force') || (await bundleIsStale());
  if (args.includes('--check')) process.exit(stale ? 1 : 0);
  if (stale) {
    const started = performance.now();
    await buildServer();
    process.stderr.write(`repod: built ${bundle.slice(root.length + 1)} in ${Math.round(performance.now() - started)} ms\n`);
  }
}

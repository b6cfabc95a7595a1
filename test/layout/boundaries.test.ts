/**
 * The layout's rules, checked on the source: each part of src/ imports only the parts below it
 * (DESIGN.md, "Parts"), so pure parsers never reach storage and the core never reaches a runtime.
 * `node:*` imports and Node globals are the linter's job (biome.json, npm test runs it).
 */

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers/paths.ts';

const SRC = join(REPO_ROOT, 'src');

/**
 * What each part may import besides itself. The top-level files (errors.ts, capabilities.ts) are
 * contracts below everything. Services take the services they use, never the Core that wires them.
 */
const ALLOWED: Record<string, string[]> = {
  util: [],
  formats: ['util'],
  metadata: ['formats', 'util'],
  storage: ['util'],
  config: [],
  bucket: ['formats', 'metadata', 'storage', 'util'],
  signing: ['formats', 'storage', 'bucket', 'util'],
  auth: ['storage', 'bucket', 'util'],
  ingest: ['formats', 'metadata', 'storage', 'config', 'bucket', 'signing', 'util'],
  revisions: ['formats', 'metadata', 'storage', 'config', 'bucket', 'signing', 'ingest', 'util'],
  render: ['formats', 'metadata', 'storage', 'config', 'bucket', 'signing', 'ingest', 'revisions', 'util'],
  // One SSRF-guarded client for every request repod sends (webhooks, imports).
  outbound: ['util'],
  // The gate's steps, review queue, reports, webhooks and audit: above ingest and revisions, below the shells.
  security: ['formats', 'metadata', 'storage', 'config', 'bucket', 'signing', 'auth', 'ingest', 'revisions', 'outbound', 'util'],
  // Upstream repositories: their indexes, the catalog, imports by name; published through ingest and the gate.
  import: ['formats', 'metadata', 'storage', 'config', 'bucket', 'signing', 'auth', 'ingest', 'revisions', 'outbound', 'security', 'util'],
  // Distributions filled by an import source's syncs, and their packages fetched on first request.
  mirror: ['formats', 'metadata', 'storage', 'config', 'bucket', 'signing', 'ingest', 'revisions', 'outbound', 'security', 'import', 'util'],
  // Counters and histograms of what the services do, in Prometheus' text format; pure, injected.
  metrics: ['formats', 'metadata', 'storage', 'config', 'bucket', 'signing', 'ingest', 'revisions', 'render', 'util'],
  // The wiring: builds every service, so it sees them all, but never a shell or a runtime.
  core: [
    'formats',
    'metadata',
    'storage',
    'config',
    'bucket',
    'signing',
    'auth',
    'ingest',
    'revisions',
    'render',
    'outbound',
    'security',
    'import',
    'mirror',
    'metrics',
    'export',
    'util',
  ],
  http: [
    'formats',
    'metadata',
    'storage',
    'config',
    'bucket',
    'signing',
    'auth',
    'ingest',
    'revisions',
    'render',
    'outbound',
    'security',
    'import',
    'mirror',
    'core',
    'util',
    'metrics',
    'ui',
  ],
  // The web UI's pages and what they read: server-rendered views over the services; http mounts them.
  ui: [
    'formats',
    'metadata',
    'storage',
    'config',
    'bucket',
    'signing',
    'auth',
    'ingest',
    'revisions',
    'render',
    'outbound',
    'security',
    'import',
    'mirror',
    'core',
    'util',
    'metrics',
  ],
  runtime: [
    'formats',
    'metadata',
    'storage',
    'config',
    'bucket',
    'signing',
    'auth',
    'ingest',
    'revisions',
    'render',
    'outbound',
    'security',
    'import',
    'mirror',
    'core',
    'http',
    'util',
    'metrics',
    'export',
  ],
  // Static trees written from a store's revisions, for any web server or CDN; re-run on repod's events.
  export: ['formats', 'metadata', 'storage', 'config', 'bucket', 'signing', 'ingest', 'revisions', 'render', 'security', 'util'],
  // Packages dropped into a bucket or a directory by other tools, published and written back as a tree.
  scan: ['formats', 'metadata', 'storage', 'config', 'bucket', 'signing', 'ingest', 'revisions', 'render', 'core', 'export', 'util'],
  // The command line talks to a server over HTTP, except the commands that work on a store
  // directly (export, scan, mkrepo), which build the same core as the server through its runtime.
  cli: ['formats', 'util', 'config', 'bucket', 'storage', 'core', 'runtime', 'export', 'scan'],
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : /\.tsx?$/.test(path) ? [path] : [];
  });
}

function partOf(file: string): string {
  const rel = relative(SRC, file).split('/');
  return rel.length === 1 ? rel[0] : rel[0];
}

test('every folder of src/ is a known part', () => {
  const parts = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());
  assert.deepEqual(
    parts.filter((p) => !(p in ALLOWED)),
    [],
    'a new part needs its place in ALLOWED (and in the README layout)',
  );
});

/** Imports that break the table, for files given as path -> text. */
function violations(files: Iterable<[string, string]>): string[] {
  const out: string[] = [];
  for (const [file, text] of files) {
    const from = partOf(file);
    if (!(from in ALLOWED)) continue; // top-level files (errors.ts)
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = normalize(join(dirname(file), m[1]));
      const to = partOf(target);
      if (to === from || to.endsWith('.ts')) continue;
      if (!ALLOWED[from].includes(to)) out.push(`${relative(REPO_ROOT, file)} imports ${relative(REPO_ROOT, target)} (${from} -> ${to})`);
    }
  }
  return out;
}

test('each part imports only the parts below it', () => {
  assert.deepEqual(violations(sources(SRC).map((f) => [f, readFileSync(f, 'utf8')] as [string, string])), []);
});

test('an upward import is caught', () => {
  const fake = join(SRC, 'formats/rpm/fake.ts');
  assert.equal(violations([[fake, "import { layout } from '../../bucket/layout.ts';\nimport { x } from './header.ts';"]]).length, 1);
  assert.equal(violations([[join(SRC, 'revisions/fake.ts'), "import type { X } from '../render/rpm-view.ts';"]]).length, 1);
  assert.equal(violations([[join(SRC, 'render/fake.ts'), "import type { Core } from '../core/core.ts';\nimport type { Capabilities } from '../capabilities.ts';"]]).length, 1);
});

import { createHash, type Hash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { deflateRawSync, gunzipSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import type { SqlJsStatic } from 'sql.js';
import type { Capabilities, HashAlgorithm, Hasher } from '../capabilities.ts';
import { type CreatedCore, createCore } from '../core/create-core.ts';
import { coreConfigFromEnv } from '../core/env-config.ts';
import { RepodError } from '../errors.ts';
import { type FeedFile, loadFeedFiles, storeFeedFiles } from '../security/advisories/feed-files.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { openStore } from '../storage/open-store.ts';
import { clamdConnector } from './node-clamd.ts';
import { nodeExportTargets } from './node-export-target.ts';
import { nodeOutboundTransport } from './node-outbound.ts';
import { requestLogFields } from './node-request-context.ts';
import { nodeZstd } from './node-zstd.ts';

/** sql.js's wasm, read from node_modules and compiled once. */
let sqlWasm: Promise<WebAssembly.Module> | null = null;

/**
 * A fresh sql.js instance for each call (the render asks for one per sqlite build). A wasm memory
 * grows and never shrinks, and sql.js keeps the one instance its module made for the life of the
 * process. An instance of its own is collected with its memory once its build ends: after the
 * databases of a 100,000-package distribution were built, and a collection, a server held 280 MiB
 * where the shared instance kept it at 328. The compiled wasm is shared; sql.js's glue code (evaluated anew here, since
 * the module caches its instance) costs a few milliseconds beside a build of seconds.
 */
export async function loadSqlJs(): Promise<SqlJsStatic> {
  const require = createRequire(import.meta.url);
  sqlWasm ??= readFile(require.resolve('sql.js/dist/sql-wasm.wasm')).then(
    (bytes) => WebAssembly.compile(bytes),
    (error) => {
      sqlWasm = null;
      throw error;
    },
  );
  const wasm = await sqlWasm;
  const path = require.resolve('sql.js');
  delete require.cache[path];
  const init = require(path) as (config: { instantiateWasm: (imports: WebAssembly.Imports, receive: (instance: WebAssembly.Instance) => void) => object }) => Promise<SqlJsStatic>;
  delete require.cache[path];
  // sql.js gives its hook no way to fail: a failed instantiation rejects beside it.
  let failed: (error: unknown) => void = () => undefined;
  const failure = new Promise<never>((_resolve, reject) => (failed = reject));
  const instance = init({
    instantiateWasm: (imports, receive) => {
      WebAssembly.instantiate(wasm, imports).then(receive, failed);
      return {};
    },
  });
  return Promise.race([instance, failure]);
}

/** Node's implementations of the core's capabilities. */
export function nodeCapabilities(store: BlobStore, log: Capabilities['log'] = jsonLog): Capabilities {
  return {
    store,
    hash: (algorithm: HashAlgorithm) => nodeHasher(createHash(algorithm)),
    gzip: (data) => gzipSync(data, { level: 6 }),
    gunzip: (data) => gunzipSync(data),
    deflateSegment: (data, dictionary) => deflateRawSync(data, { level: 6, finishFlush: zlibConstants.Z_SYNC_FLUSH, ...(dictionary ? { dictionary } : {}) }),
    zstd: nodeZstd,
    now: () => new Date(),
    randomId: () => randomBytes(16).toString('base64url'),
    log,
    requestsShareWork: true,
  };
}

function nodeHasher(h: Hash): Hasher {
  return {
    update: (data) => void h.update(data),
    digest: async () => h.digest('hex'),
    copy: () => nodeHasher(h.copy()),
  };
}

/** One JSON line per event; a line written while a request is served carries its id (requestId). */
export function jsonLog(message: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), message, ...requestLogFields(), ...fields })}\n`);
}

/** Builds the core from the environment (REPOD_* settings of DESIGN.md). */
export async function buildNodeCore(env: Record<string, string | undefined> = process.env, log: Capabilities['log'] = jsonLog): Promise<CreatedCore> {
  const storeName = env.REPOD_STORAGE ?? 'file:./data';
  const store = await openStore(storeName, env);
  const number = (name: string) => (env[name] ? Number(env[name]) : undefined);
  const created = await createCore(nodeCapabilities(store, log), {
    ...coreConfigFromEnv(env),
    storeName,
    distributionsJson: env.REPOD_DISTRIBUTIONS ? await readFile(env.REPOD_DISTRIBUTIONS, 'utf8') : undefined,
    operatorKey: env.REPOD_SIGNING_KEY ? { armored: await readSigningKey(env.REPOD_SIGNING_KEY), passphrase: env.REPOD_SIGNING_KEY_PASSPHRASE } : undefined,
    loadSql: loadSqlJs,
    scanner: env.REPOD_CLAMD ? { connect: clamdConnector(env.REPOD_CLAMD), timeoutMs: number('REPOD_CLAMD_TIMEOUT_MS'), maxBytes: number('REPOD_CLAMD_MAX_BYTES') } : undefined,
    outboundTransport: nodeOutboundTransport,
    exportTargets: nodeExportTargets(env),
  });
  if (env.REPOD_ADVISORIES) {
    const source = env.REPOD_ADVISORIES;
    const files = source.startsWith('store:') ? storeFeedFiles(store, source.slice('store:'.length)) : directoryFeedFiles(source);
    const result = await loadFeedFiles(created.core.advisories, files);
    log('advisories loaded', { source, files: result.files, advisories: result.loaded, errors: result.errors });
  }
  return created;
}

/** Every .json and .zip file under a directory (REPOD_ADVISORIES=<dir>), sorted by path. */
async function* directoryFeedFiles(dir: string): AsyncGenerator<FeedFile> {
  let names: string[];
  try {
    names = (await readdir(dir, { recursive: true })).sort();
  } catch (cause) {
    throw new RepodError('invalid_config', `cannot read REPOD_ADVISORIES (${dir}): ${(cause as Error).message}`, { status: 500, cause });
  }
  for (const name of names) if (/\.(json|zip)$/i.test(name)) yield { name, bytes: await readFile(join(dir, name)) };
}

async function readSigningKey(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new RepodError('invalid_signing_key', `cannot read REPOD_SIGNING_KEY (${path}): ${(cause as Error).message}`, { status: 500, cause });
  }
}

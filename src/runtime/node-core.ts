import { createHash, randomBytes, type Hash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { SqlJsStatic } from 'sql.js';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Tokens } from '../auth/tokens.ts';
import { Users } from '../auth/users.ts';
import { Distributions } from '../config/distributions.ts';
import { DEFAULT_SETTINGS, type Core } from '../core.ts';
import { RepodError } from '../errors.ts';
import { Renderer } from '../revisions/renderer.ts';
import { sqliteRecords } from '../revisions/render-sqlite.ts';
import { Repository } from '../revisions/repository.ts';
import { Keyring } from '../signing/keyring.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { openStore } from '../storage/open-store.ts';
import { probeConditionalWritesDetailed } from '../storage/probe.ts';
import type { Capabilities, HashAlgorithm, Hasher } from './capabilities.ts';

/** sql.js with its wasm read from node_modules, loaded once on first use. */
let sqlJs: Promise<SqlJsStatic> | null = null;
function loadSqlJs(): Promise<SqlJsStatic> {
  sqlJs ??= (async () => {
    const require = createRequire(import.meta.url);
    const init = (await import('sql.js')).default as unknown as (config: { wasmBinary: ArrayBuffer }) => Promise<SqlJsStatic>;
    const wasm = await readFile(require.resolve('sql.js/dist/sql-wasm.wasm'));
    return init({ wasmBinary: wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) as ArrayBuffer });
  })();
  return sqlJs;
}

/** Node's implementations of the core's capabilities. */
export function nodeCapabilities(store: BlobStore, log: Capabilities['log'] = jsonLog): Capabilities {
  return {
    store,
    hash: (algorithm: HashAlgorithm) => nodeHasher(createHash(algorithm)),
    gzip: (data) => gzipSync(data, { level: 6 }),
    gunzip: (data) => gunzipSync(data),
    now: () => new Date(),
    randomId: () => randomBytes(16).toString('base64url'),
    log,
  };
}

function nodeHasher(h: Hash): Hasher {
  return {
    update: (data) => void h.update(data),
    digest: async () => h.digest('hex'),
    copy: () => nodeHasher(h.copy()),
  };
}

export function jsonLog(message: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), message, ...fields })}\n`);
}

export interface NodeCoreResult {
  core: Core;
  /** An admin token minted on a fresh store (to print once), or null. */
  bootstrapToken: string | null;
  signingKeyGenerated: boolean;
}

/** Builds the core from the environment (REPOD_* settings of DESIGN.md). */
export async function buildNodeCore(env: Record<string, string | undefined> = process.env, log: Capabilities['log'] = jsonLog): Promise<NodeCoreResult> {
  const store = await openStore(env.REPOD_STORAGE ?? 'file:./data', env);
  const caps = nodeCapabilities(store, log);
  // Without enforced create-only and compare-and-swap writes two publishers could silently
  // overwrite each other (invariant 2): refuse such a store unless the operator vouches for one writer.
  if (env.REPOD_SINGLE_WRITER !== '1') {
    const probe = await probeConditionalWritesDetailed(store);
    if (!probe.ok) {
      throw new RepodError(
        'unsafe_store',
        `the store ${env.REPOD_STORAGE ?? 'file:./data'} does not enforce conditional writes (${probe.reason}); concurrent publishes could overwrite each other. Use a store that does, or set REPOD_SINGLE_WRITER=1 if only this one process ever writes to it.`,
        { status: 500 },
      );
    }
  }
  const distributions = Distributions.fromJson(env.REPOD_DISTRIBUTIONS ? await readFile(env.REPOD_DISTRIBUTIONS, 'utf8') : undefined);
  const keyring = new Keyring(caps, { passphrase: env.REPOD_KEY_PASSPHRASE || undefined });
  if (env.REPOD_SIGNING_KEY) {
    let armored: string;
    try {
      armored = await readFile(env.REPOD_SIGNING_KEY, 'utf8');
    } catch (cause) {
      throw new RepodError('invalid_signing_key', `cannot read REPOD_SIGNING_KEY (${env.REPOD_SIGNING_KEY}): ${(cause as Error).message}`, { status: 500, cause });
    }
    await keyring.useOperatorKey(armored, env.REPOD_SIGNING_KEY_PASSPHRASE);
  }
  const generated = await keyring.bootstrap();
  await keyring.signer();
  const users = new Users(caps);
  const tokens = new Tokens(caps, users);
  await tokens.configure({ adminToken: env.REPOD_ADMIN_TOKEN, adminPassword: env.REPOD_ADMIN_PASSWORD });
  const bootstrapToken = await tokens.bootstrap();
  const core: Core = {
    caps,
    distributions,
    repository: new Repository(caps, { refTtlMs: Number(env.REPOD_REF_TTL_MS ?? 1000) }),
    renderer: new Renderer(caps),
    keyring,
    tokens,
    users,
    extraRecords: sqliteRecords(loadSqlJs),
    settings: {
      ...DEFAULT_SETTINGS,
      ...(env.REPOD_MAX_UPLOAD_BYTES ? { maxUploadBytes: Number(env.REPOD_MAX_UPLOAD_BYTES) } : {}),
      ...(env.REPOD_PRESIGN_SECONDS ? { presignSeconds: Number(env.REPOD_PRESIGN_SECONDS) } : {}),
    },
  };
  return { core, bootstrapToken, signingKeyGenerated: generated };
}

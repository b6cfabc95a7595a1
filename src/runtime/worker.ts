import type { ExecutionContext, Hono } from 'hono';
import type { SqlJsStatic } from 'sql.js';
import initSqlJs from 'sql.js/dist/sql-wasm-browser.js';
import sqlWasm from 'sql.js/dist/sql-wasm-browser.wasm';
import type { Core } from '../core/core.ts';
import { createCore } from '../core/create-core.ts';
import { coreConfigFromEnv } from '../core/env-config.ts';
import { createApp } from '../http/app.ts';
import { renderWarmer } from '../http/warm-renders.ts';
import { SyncScheduler, utcOffset } from '../import/sync-schedule.ts';
import { type R2BucketLike, r2Store } from '../storage/r2.ts';
import { r2Presigner } from '../storage/r2-presign.ts';
import { webCapabilities } from './web-capabilities.ts';
import { workerLog, workerRequestScope } from './worker-request-context.ts';

/**
 * The Cloudflare Worker: the same app as `npm start`, over an R2 bucket binding. Settings are
 * the same REPOD_* names, as vars and secrets; REPOD_SIGNING_KEY and REPOD_DISTRIBUTIONS hold
 * the key and the JSON themselves, since a Worker has no files to name.
 */
export interface WorkerEnv {
  BUCKET: R2BucketLike;
  [name: string]: unknown;
}

interface Started {
  core: Core;
  app: Hono;
  warm: (origin: string) => Promise<string[]>;
  scheduler: SyncScheduler;
}

/** What a Cron Trigger's invocation carries (the part used here). */
interface ScheduledEvent {
  scheduledTime: number;
  cron: string;
}

/**
 * An isolate has 128 MB for everything. Measured (`npm run bench -- --only worker`): building the
 * sqlite databases of 2,000 packages (3.4 MiB of uncompressed XML) grew workerd by 34 MiB, about
 * 24 MiB of it sql.js itself and the rest some three times the XML. Views with more XML than this
 * are served without sqlite unless REPOD_SQLITE_MAX_METADATA_BYTES says otherwise.
 */
const WORKER_SQLITE_MAX_METADATA_BYTES = 16 * 1024 * 1024;

// One core per isolate: requests share its caches; a failed start is retried by the next request.
let started: Promise<Started> | null = null;

function startOnce(env: WorkerEnv): Promise<Started> {
  started ??= start(env).catch((error) => {
    started = null;
    throw error;
  });
  return started;
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    let running: Started;
    try {
      running = await startOnce(env);
    } catch (error) {
      return Response.json({ status: 'error', error: 'unavailable', message: `repod could not start: ${(error as Error).message}` }, { status: 503 });
    }
    const cache = sharedCache(request);
    const hit = await cache?.match(request);
    if (hit) return hit;
    const response = await running.app.fetch(request, env, ctx);
    if (request.method !== 'GET' && request.method !== 'HEAD' && response.status < 300) {
      ctx.waitUntil(running.warm(new URL(request.url).origin));
    }
    // A write may have queued webhook deliveries: an isolate's background work ends with the request unless it is handed over.
    if (request.method !== 'GET' && request.method !== 'HEAD') ctx.waitUntil(running.core.webhooks.idle());
    // Content-addressed and pinned files never change: the data center's cache keeps them, so a
    // popular package or metadata file is read from R2 once per location. Entry points revalidate
    // (max-age=0) and private distributions' files say "private", so neither is kept.
    if (cache && response.status === 200 && /^public,.*\bimmutable\b/.test(response.headers.get('cache-control') ?? '')) {
      ctx.waitUntil(cache.put(request, response.clone()));
    }
    return response;
  },

  /**
   * A Cron Trigger (wrangler.toml `[triggers] crons`, every minute): starts the scheduled import
   * syncs that are due, as every Node server's timer does, and keeps the invocation alive until
   * the syncs it started end. Workers run in UTC, so schedules are UTC times here.
   */
  async scheduled(_event: ScheduledEvent, env: WorkerEnv, ctx: ExecutionContext): Promise<void> {
    const running = await startOnce(env);
    const work = running.scheduler.tick().then(async (runs) => {
      await Promise.all(runs.map((run) => (run.job ? running.core.syncJobs.settled(run.job) : undefined)));
    });
    ctx.waitUntil(work);
    await work;
  },
};

/**
 * Paths whose answers may be immutable: checksum-named metadata, by-hash, pinned revisions and
 * packages. Entry points are asked for most and never kept, so they skip the cache lookup.
 */
const IMMUTABLE_SHAPES = /^\/revisions\/|\/by-hash\/|\/repodata\/[0-9a-f]{64}-|\/Packages\/|^\/repos\/pool\/|^\/hashed\/[^/]+\/[^/]+\/Packages\//;

/** The data center's cache for plain GETs of immutable shapes: ranges and credentials go to the app every time. */
function sharedCache(request: Request): Cache | null {
  if (request.method !== 'GET' || request.headers.has('range') || request.headers.has('authorization')) return null;
  if (!IMMUTABLE_SHAPES.test(new URL(request.url).pathname)) return null;
  const storage = (globalThis as { caches?: { default?: Cache } }).caches;
  return storage?.default ?? null;
}

async function start(env: WorkerEnv): Promise<Started> {
  const vars = stringVars(env);
  const presigner =
    vars.REPOD_R2_ACCESS_KEY_ID && vars.REPOD_R2_SECRET_ACCESS_KEY && vars.REPOD_R2_ENDPOINT && vars.REPOD_R2_BUCKET
      ? r2Presigner({
          endpoint: vars.REPOD_R2_ENDPOINT,
          bucket: vars.REPOD_R2_BUCKET,
          accessKeyId: vars.REPOD_R2_ACCESS_KEY_ID,
          secretAccessKey: vars.REPOD_R2_SECRET_ACCESS_KEY,
          region: vars.REPOD_R2_REGION ?? 'auto',
        })
      : undefined;
  const caps = webCapabilities(r2Store(env.BUCKET, presigner ? { presigner } : {}), workerLog);
  const config = coreConfigFromEnv(vars);
  const { core, bootstrapToken, signingKeyGenerated } = await createCore(caps, {
    ...config,
    sqliteMaxMetadataBytes: config.sqliteMaxMetadataBytes ?? WORKER_SQLITE_MAX_METADATA_BYTES,
    storeName: 'r2:BUCKET',
    distributionsJson: vars.REPOD_DISTRIBUTIONS,
    operatorKey: vars.REPOD_SIGNING_KEY ? { armored: vars.REPOD_SIGNING_KEY, passphrase: vars.REPOD_SIGNING_KEY_PASSPHRASE } : undefined,
    loadSql: loadSqlJs,
  });
  const signer = await core.keyring.signer();
  if (signingKeyGenerated) caps.log('generated a new metadata signing key', { fingerprints: signer.fingerprints });
  // Only on the first start of a fresh bucket, to the Worker's log (wrangler tail): set
  // REPOD_ADMIN_TOKEN as a secret instead in any real deployment.
  if (bootstrapToken) caps.log('admin token (shown once, store it now)', { token: bootstrapToken });
  caps.log('repod worker started', { storage: caps.store.driver, keys: signer.fingerprints, presign: caps.store.capabilities.presign });
  // Each isolate counts its own requests: a scrape sees the isolate that answers it (Workers
  // have no channel between isolates; Workers Analytics covers the fleet).
  const app = createApp(core, { requestScope: workerRequestScope, accessLog: vars.REPOD_ACCESS_LOG === '1', metrics: { token: vars.REPOD_METRICS_TOKEN || undefined } });
  return { core, app, warm: renderWarmer(core, app), scheduler: new SyncScheduler(core, { timeZoneOffsetMinutes: utcOffset }) };
}

/** Vars and secrets are strings; bindings (the bucket) are not settings. */
function stringVars(env: WorkerEnv): Record<string, string | undefined> {
  const vars: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) if (typeof value === 'string') vars[name] = value;
  return vars;
}

let sqlJs: Promise<SqlJsStatic> | null = null;
/** sql.js from the module bundled with the Worker: Workers may not compile wasm from bytes at run time. */
function loadSqlJs(): Promise<SqlJsStatic> {
  if (sqlJs) return sqlJs;
  // sql.js takes workerd for a web worker (WorkerGlobalScope exists) and reads self.location to
  // find its wasm file, which Workers lack; the module is handed over instead, so any URL will do.
  const scope = globalThis as { location?: unknown };
  const shimmed = scope.location === undefined;
  if (shimmed) scope.location = { href: 'https://repod.invalid/' };
  try {
    sqlJs = (initSqlJs as unknown as (config: object) => Promise<SqlJsStatic>)({
      instantiateWasm(imports: WebAssembly.Imports, receive: (instance: WebAssembly.Instance) => void) {
        WebAssembly.instantiate(sqlWasm, imports).then((instance) => receive(instance));
        return {};
      },
    });
  } finally {
    if (shimmed) delete scope.location;
  }
  return sqlJs;
}

import { serve } from '@hono/node-server';
import { createApp } from '../http/app.ts';
import { localTimeZoneOffset, SyncScheduler } from '../import/sync-schedule.ts';
import { clusterWorkerId, isClusterWorker, superviseWorkers, workerCount } from './node-cluster.ts';
import { clusterMetricsGatherer, serveMetricsGathering } from './node-cluster-metrics.ts';
import { buildNodeCore, jsonLog } from './node-core.ts';
import { nodeRequestScope } from './node-request-context.ts';

/**
 * `npm start`: serves the store named by REPOD_STORAGE (default file:./data) on REPOD_PORT (8080),
 * in one process or, with REPOD_WORKERS=N, in N worker processes sharing the port.
 */
const env = process.env;
const workers = workerCount(env.REPOD_WORKERS);
// The first core of a fresh store bootstraps it (signing key, admin token): do it here, once,
// before any worker starts, so the token is printed by one process and workers find a ready store.
const { core, bootstrapToken, signingKeyGenerated } = await buildNodeCore(env);
const signer = await core.keyring.signer();
if (signingKeyGenerated) jsonLog('generated a new metadata signing key', { fingerprints: signer.fingerprints });
if (bootstrapToken) {
  // Printed once, on the first start of a fresh store: only its hash is kept.
  process.stdout.write(`\nrepod: admin token (shown once, store it now): ${bootstrapToken}\n\n`);
}

if (workers > 1 && !isClusterWorker()) {
  jsonLog('repod starting workers', { workers, storage: core.caps.store.driver });
  serveMetricsGathering();
  superviseWorkers(workers, jsonLog);
} else {
  const app = createApp(core, {
    accessLog: env.REPOD_ACCESS_LOG === '1',
    trustProxy: env.REPOD_TRUST_PROXY === '1',
    requestScope: nodeRequestScope,
    metrics: { token: env.REPOD_METRICS_TOKEN || undefined, gather: clusterMetricsGatherer(() => core.metrics.own()) ?? undefined },
  });
  const port = Number(env.REPOD_PORT ?? 8080);
  const hostname = env.REPOD_HOST ?? '0.0.0.0';
  const worker = clusterWorkerId();
  const server = serve({ fetch: app.fetch, port, hostname }, (info) => {
    jsonLog('repod listening', {
      url: `http://${hostname === '0.0.0.0' ? 'localhost' : hostname}:${info.port}`,
      storage: core.caps.store.driver,
      keys: signer.fingerprints,
      ...(worker === null ? {} : { worker, pid: process.pid }),
    });
  });
  // Scheduled import syncs (a source's daily "HH:MM", this server's time zone): every server
  // ticks, and a compare-and-swap in the store lets one of them start each run.
  const scheduler = env.REPOD_IMPORT_SCHEDULER === '0' ? null : new SyncScheduler(core, { timeZoneOffsetMinutes: localTimeZoneOffset });
  const tick = () => void scheduler?.tick();
  const schedulerTimer = scheduler ? setInterval(tick, 30_000).unref() : null;
  if (scheduler) setTimeout(tick, 1_000).unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, async () => {
      if (schedulerTimer) clearInterval(schedulerTimer);
      server.close();
      // Audit events still being written are kept; webhook deliveries get a moment to finish.
      await Promise.race([Promise.all([core.audit.flush(), core.webhooks.idle()]), new Promise((resolve) => setTimeout(resolve, 2000))]);
      process.exit(0);
    });
  }
}

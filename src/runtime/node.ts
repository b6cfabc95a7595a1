import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Core } from '../core/core.ts';
import { createApp, REFRESH_WAIT_MS } from '../http/app.ts';
import { acceptedRequestId, REQUEST_ID_HEADER, requestIdMaker } from '../http/request-id.ts';
import { ANSWER_CHANGING_HEADERS, type ReadyAnswer, readyAnswersOf } from '../http/serve.ts';
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
  const listener = getRequestListener(app.fetch, { hostname });
  const answerReady = readyAnswerer(core, listener, { accessLog: env.REPOD_ACCESS_LOG === '1' });
  const server = createServer((req, res) => {
    if (!answerReady(req, res)) void listener(req, res);
  });
  server.listen(port, hostname, () => {
    const address = server.address();
    jsonLog('repod listening', {
      url: `http://${hostname === '0.0.0.0' ? 'localhost' : hostname}:${typeof address === 'object' && address ? address.port : port}`,
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

type Listener = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * The hottest requests of a repository (a warm repomd.xml, checksum-named metadata, small
 * packages) answered without the app: when the app has made a ready answer for the request's path
 * (src/http/serve.ts), its bytes go straight to the socket, skipping the web Request and
 * Response, routing and the middlewares. What the app's middlewares do for such a request is done
 * here too: the distributions are refreshed as often, the answer is checked against the
 * distribution's settings and current revision it was made under, the request gets an id, is
 * counted in the metrics and written to the access log. Returns false, having touched nothing,
 * when the app must answer; a ready answer found stale on the way hands the request to `app`.
 */
function readyAnswerer(core: Core, app: Listener, options: { accessLog: boolean }): (req: IncomingMessage, res: ServerResponse) => boolean {
  const answers = readyAnswersOf(core);
  // A quarter of the hot-file budget (REPOD_CACHE_BYTES; 0 turns both off).
  answers.enable(Math.floor(core.settings.cacheBytes / 4));
  const newId = requestIdMaker(core.caps.randomId);
  const { metrics } = core;
  /** Per answer: its headers as one flat list, and the metric series of its GETs and HEADs. */
  interface Sending {
    headers: string[];
    get?: Counted;
    head?: Counted;
  }
  interface Counted {
    requests: { inc(): void };
    ready: { inc(): void };
    duration: { observe(seconds: number): void };
  }
  const counted = (method: string, route: string): Counted => ({
    requests: metrics.httpRequests.seriesOf({ method, route, status: '200' }),
    ready: metrics.readyAnswers.seriesOf({ route }),
    duration: metrics.httpDuration.seriesOf({ method, route }),
  });
  const sendings = new WeakMap<ReadyAnswer, Sending>();
  /**
   * What a ready answer of `distribution` is checked against: its settings and current revision
   * (read as the app reads them: the distributions refreshed as often, the ref cached as long).
   * Requests that arrive in one turn of the event loop share one reading: none of them can have
   * seen an answer the others did not (a client that got a publish's answer asks again in a later
   * turn), and a hot path then makes two promises per request instead of seven.
   */
  const readings = new Map<string, Promise<{ settings: object | undefined; revision: string | undefined; keyset: string | undefined }>>();
  const forgetReadings = () => readings.clear();
  const reading = (distribution: string) => {
    let found = readings.get(distribution);
    if (!found) {
      found = (async () => {
        await core.distributions.refresh({ waitMs: REFRESH_WAIT_MS });
        const settings = core.distributions.get(distribution);
        const { ref } = await core.repository.currentRef(distribution);
        // The keyring is re-read as the app re-reads it: a rotated or retired key voids entry points.
        const keyset = settings ? (await core.keyring.signer(settings)).keysetId : undefined;
        return { settings, revision: ref?.revision, keyset };
      })();
      if (readings.size === 0) setImmediate(forgetReadings);
      readings.set(distribution, found);
    }
    return found;
  };
  const send = (req: IncomingMessage, res: ServerResponse, path: string, answer: ReadyAnswer, started: number) => {
    const method = req.method!;
    const sent = req.headers[REQUEST_ID_HEADER];
    const id = acceptedRequestId(typeof sent === 'string' ? sent : undefined) ?? newId();
    let sending = sendings.get(answer);
    if (!sending) {
      sending = { headers: Object.entries(answer.headers).flat() };
      sendings.set(answer, sending);
    }
    res.writeHead(200, [...sending.headers, REQUEST_ID_HEADER, id]);
    if (method === 'GET') {
      answer.onGet?.((name) => headerOf(req, name), path);
      res.end(answer.body);
    } else res.end();
    const ms = metrics.now() - started;
    const series = method === 'GET' ? (sending.get ??= counted(method, answer.route)) : (sending.head ??= counted(method, answer.route));
    series.requests.inc();
    series.ready.inc();
    series.duration.observe(ms / 1000);
    if (options.accessLog) core.caps.log('request', { requestId: id, method, path, route: answer.route, status: 200, ms });
  };
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = req.url!;
    const answer = answers.get(path);
    if (!answer) return false;
    for (const name of ANSWER_CHANGING_HEADERS) if (req.headers[name] !== undefined) return false;
    const started = metrics.now();
    reading(answer.distribution).then(
      (now) => {
        if (now.settings !== answer.settings || now.revision !== answer.revision || now.keyset !== answer.keyset) {
          answers.delete(path);
          void app(req, res);
          return;
        }
        try {
          send(req, res, path, answer, started);
        } catch (error) {
          core.caps.log('ready answer failed', { path, error: (error as Error).message });
          if (!res.headersSent) void app(req, res);
          else res.destroy();
        }
      },
      // The app reports a store it cannot read as it always does.
      () => void app(req, res),
    );
    return true;
  };
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

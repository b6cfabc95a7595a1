import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Core } from '../core/core.ts';
import { createApp, REFRESH_WAIT_MS } from '../http/app.ts';
import { acceptedRequestId, REQUEST_ID_HEADER, requestIdMaker } from '../http/request-id.ts';
import { ANSWER_CHANGING_HEADERS, ifNoneMatchNames, type ReadyAnswer, readyAnswersOf } from '../http/serve.ts';
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

/** Request headers that need the app even when a ready answer exists (If-None-Match is answered here; see below). */
const APP_HEADERS = ANSWER_CHANGING_HEADERS.filter((name) => name !== 'if-none-match' && name !== 'if-modified-since');

/**
 * The hottest requests of a repository (a warm repomd.xml, checksum-named metadata, small
 * packages) answered without the app: when the app has made a ready answer for the request's path
 * (src/http/serve.ts), its bytes go straight to the socket, skipping the web Request and
 * Response, routing and the middlewares. What the app's middlewares do for such a request is done
 * here too: the distributions are refreshed as often, the answer is checked against the
 * distribution's settings and current revision it was made under, the request gets an id, is
 * counted in the metrics and written to the access log. Returns false, having touched nothing,
 * when the app must answer; a ready answer found stale on the way hands the request to `app`.
 *
 * While nothing needs reading (the distributions and the ref were read within REPOD_REF_TTL_MS,
 * the signer of the distribution's key set is known) the check is synchronous and the answer is
 * written in the same tick; only when one of them is due does it wait for a read.
 */
function readyAnswerer(core: Core, app: Listener, options: { accessLog: boolean }): (req: IncomingMessage, res: ServerResponse) => boolean {
  const answers = readyAnswersOf(core);
  // A quarter of the hot-file budget (REPOD_CACHE_BYTES; 0 turns both off).
  answers.enable(Math.floor(core.settings.cacheBytes / 4));
  const newId = requestIdMaker(core.caps.randomId);
  const { metrics } = core;
  /**
   * Per answer: its headers as one flat list with a last slot for the request id (writeHead reads
   * the list before it returns, so one list serves every request), the same without
   * content-length for a 304, and the metric series of its answers.
   */
  interface Sending {
    headers: string[];
    notModified: string[];
    /** By [GET 200, GET 304, HEAD 200, HEAD 304]. */
    counted: Array<Counted | undefined>;
  }
  interface Counted {
    requests: { inc(): void };
    ready: { inc(): void };
    duration: { observe(seconds: number): void };
  }
  const sendings = new WeakMap<ReadyAnswer, Sending>();
  const sendingOf = (answer: ReadyAnswer): Sending => {
    let sending = sendings.get(answer);
    if (!sending) {
      const flat = (entries: Array<[string, string]>) => [...entries.flat(), REQUEST_ID_HEADER, ''];
      const entries = Object.entries(answer.headers);
      sending = { headers: flat(entries), notModified: flat(entries.filter(([name]) => name !== 'content-length')), counted: [] };
      sendings.set(answer, sending);
    }
    return sending;
  };
  const countedOf = (sending: Sending, method: string, status: 200 | 304, route: string): Counted => {
    const slot = (method === 'GET' ? 0 : 2) + (status === 304 ? 1 : 0);
    let series = sending.counted[slot];
    if (!series) {
      series = {
        requests: metrics.httpRequests.seriesOf({ method, route, status: String(status) }),
        ready: metrics.readyAnswers.seriesOf({ route }),
        duration: metrics.httpDuration.seriesOf({ method, route }),
      };
      sending.counted[slot] = series;
    }
    return series;
  };

  /**
   * Whether `answer` still holds, as the app would see it now, without waiting: undefined when
   * the distributions, the distribution's ref or its signer are due to be read.
   */
  const holdsNow = (answer: ReadyAnswer): boolean | undefined => {
    const set = core.distributionStore.peekDistributions();
    if (!set) return undefined;
    const settings = set.get(answer.distribution);
    if (settings !== answer.settings) return false;
    const current = core.repository.peekRef(answer.distribution);
    if (!current) return undefined;
    if (current.ref?.revision !== answer.revision) return false;
    const signer = core.keyring.peekSigner(settings);
    if (!signer) return undefined;
    return signer.keysetId === answer.keyset;
  };
  /**
   * The same check after reading what is due (read as the app reads it: the distributions
   * refreshed as often, the ref cached as long). Requests that arrive in one turn of the event
   * loop share one reading: none of them can have seen an answer the others did not (a client
   * that got a publish's answer asks again in a later turn).
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

  const send = (req: IncomingMessage, res: ServerResponse, path: string, answer: ReadyAnswer, notModified: boolean, started: number) => {
    const method = req.method!;
    const sent = req.headers[REQUEST_ID_HEADER];
    const id = acceptedRequestId(typeof sent === 'string' ? sent : undefined) ?? newId();
    const sending = sendingOf(answer);
    const status = notModified ? 304 : 200;
    const headers = notModified ? sending.notModified : sending.headers;
    headers[headers.length - 1] = id;
    res.writeHead(status, headers);
    // The app notes which repomd.xml a client was given on a GET, a 304 included.
    if (method === 'GET') answer.onGet?.((name) => headerOf(req, name), path);
    if (method === 'GET' && !notModified) res.end(answer.body);
    else res.end();
    const ms = metrics.now() - started;
    const series = countedOf(sending, method, status, answer.route);
    series.requests.inc();
    series.ready.inc();
    series.duration.observe(ms / 1000);
    if (options.accessLog) core.caps.log('request', { requestId: id, method, path, route: answer.route, status, ms });
  };
  const answer = (req: IncomingMessage, res: ServerResponse, path: string, ready: ReadyAnswer, notModified: boolean, started: number) => {
    try {
      send(req, res, path, ready, notModified, started);
    } catch (error) {
      core.caps.log('ready answer failed', { path, error: (error as Error).message });
      if (!res.headersSent) void app(req, res);
      else res.destroy();
    }
  };

  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = req.url!;
    const ready = answers.get(path);
    if (!ready) return false;
    const { headers } = req;
    for (const name of APP_HEADERS) if (headers[name] !== undefined) return false;
    // A revalidation is answered as the app answers it (src/http/serve.ts): If-None-Match decides
    // alone when present (a 304 when it names the answer's etag, otherwise the whole answer);
    // If-Modified-Since alone is the app's to weigh (packages honour it, documents do not).
    const ifNoneMatch = headers['if-none-match'];
    if (ifNoneMatch === undefined && headers['if-modified-since'] !== undefined) return false;
    const notModified = ifNoneMatch !== undefined && ready.headers.etag !== undefined && ifNoneMatchNames(ifNoneMatch, ready.headers.etag);
    const started = metrics.now();
    const holds = holdsNow(ready);
    if (holds === true) {
      answer(req, res, path, ready, notModified, started);
      return true;
    }
    if (holds === false) {
      answers.delete(path);
      return false;
    }
    reading(ready.distribution).then(
      (now) => {
        if (now.settings !== ready.settings || now.revision !== ready.revision || now.keyset !== ready.keyset) {
          answers.delete(path);
          void app(req, res);
          return;
        }
        answer(req, res, path, ready, notModified, started);
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

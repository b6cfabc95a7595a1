/**
 * The operational surface of the real server (`npm start`): /metrics after known traffic, parsed
 * with a strict Prometheus text-format reader (test/helpers/prometheus-text.ts), behind REPOD_METRICS_TOKEN; request ids echoed, made and
 * carried by the server's log lines; the health probes; with REPOD_WORKERS=2 a scrape sums every
 * worker; readiness turns 503 while the S3 store (a real RADOS Gateway) cannot be reached, and
 * back when it can.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../helpers/ports.ts';
import { type Family, parsePrometheusText, sampleValue } from '../helpers/prometheus-text.ts';
import { type Rgw, rgwSkipReason, startRgw } from '../helpers/rgw.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';

const METRICS_TOKEN = 'metrics-scrape-token-0123456789';

type Families = Family[];

async function scrape(url: string, token: string | null = METRICS_TOKEN): Promise<Families> {
  const response = await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  assert.equal(response.status, 200, await response.clone().text());
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await response.text());
}

/** The sum of the samples of `name` whose labels include `labels` (0 when there is none). */
function value(families: Families, name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  assert.ok(family, `${name} is exposed`);
  return sampleValue(families, family.type === 'histogram' ? `${name}_count` : name, labels);
}

function logLines(server: RunningServer): Array<Record<string, any>> {
  return server.logs
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

/** A GET on a new connection (cluster workers take connections in turn). */
function freshGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    }).on('error', reject);
  });
}

describe('operations: metrics, request ids, health', () => {
  let server: RunningServer;
  let rpms: string[];
  let out: string;

  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'repod-ops-'));
    const spec = (name: string) => ({ name, version: '1.0', arch: 'noarch', autoReqProv: false, files: [{ path: `/usr/share/${name}/data`, content: `${name}\n` }] });
    rpms = await buildRpms([spec('ops-a'), spec('ops-b')], out);
    server = await startServer({ REPOD_METRICS_TOKEN: METRICS_TOKEN, REPOD_ACCESS_LOG: '1', REPOD_SECURITY_GATE: '0' });
  });

  after(async () => {
    await server?.stop();
    await rm(out, { recursive: true, force: true });
  });

  it('a scrape after known traffic holds the counters, and the token is enforced', async () => {
    const refused = await fetch(`${server.url}/metrics`);
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).error, 'unauthorized');
    assert.equal((await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer wrong-token' } })).status, 401);

    const before = await scrape(server.url);
    assert.equal(value(before, 'repod_http_requests_total', { route: '/api/v1/upload' }), 0);

    for (const rpm of rpms) assert.equal((await uploadFile(server, 'rocky9', rpm)).status, 201);
    const again = await uploadFile(server, 'rocky9', rpms[0]);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    const repomd = await fetch(`${server.url}/repos/rocky9/noarch/repodata/repomd.xml`);
    assert.equal(repomd.status, 200);
    const primaryHref = /href="(repodata\/[^"]+-primary\.xml\.gz)"/.exec(await repomd.text())![1];
    assert.equal((await fetch(`${server.url}/repos/rocky9/noarch/${primaryHref}`)).status, 200);
    const pkg = await fetch(`${server.url}/repos/rocky9/noarch/Packages/ops-a-1.0-1.noarch.rpm`);
    assert.equal(pkg.status, 200);
    await pkg.arrayBuffer();
    assert.equal((await fetch(`${server.url}/no/such/path`)).status, 404);
    assert.equal((await fetch(`${server.url}/repos/nodist/x86_64/repodata/repomd.xml`)).status, 404);

    const m = await scrape(server.url);
    assert.equal(value(m, 'repod_http_requests_total', { method: 'POST', route: '/api/v1/upload', status: '201' }), 2);
    assert.equal(value(m, 'repod_http_requests_total', { method: 'POST', route: '/api/v1/upload', status: '200' }), 1);
    assert.equal(value(m, 'repod_http_requests_total', { route: '/repos/:dist/:arch/repodata/:name', status: '200' }), 2, 'repomd.xml and primary, by route pattern');
    assert.equal(value(m, 'repod_http_requests_total', { route: '/repos/:dist/:arch/Packages/:file', status: '200' }), 1);
    assert.equal(value(m, 'repod_http_requests_total', { route: 'unmatched', status: '404' }), 1, 'an unknown path is one series, not its raw path');
    assert.equal(value(m, 'repod_http_requests_total', { route: '/repos/:dist/:arch/repodata/:name', status: '404' }), 1);
    const latency = m.find((f) => f.name === 'repod_http_request_duration_seconds')!;
    assert.equal(latency.type, 'histogram');
    const upload = { method: 'POST', route: '/api/v1/upload' };
    assert.equal(sampleValue(m, 'repod_http_request_duration_seconds_count', upload), 3);
    assert.equal(sampleValue(m, 'repod_http_request_duration_seconds_bucket', { ...upload, le: '+Inf' }), 3);
    assert.ok(sampleValue(m, 'repod_http_request_duration_seconds_sum', upload) > 0);

    assert.equal(value(m, 'repod_ingest_total', { outcome: 'published' }), 2);
    assert.equal(value(m, 'repod_ingest_total', { outcome: 'unchanged' }), 1);
    assert.equal(value(m, 'repod_publishes_total', { distribution: 'rocky9', operation: 'publish', outcome: 'published' }), 2);
    assert.equal(value(m, 'repod_publish_duration_seconds', { distribution: 'rocky9' }), value(m, 'repod_publishes_total', { distribution: 'rocky9' }));
    assert.ok(value(m, 'repod_render_cache_total', { result: 'miss' }) >= 1, 'the first repomd.xml of a revision is rendered');
    assert.ok(value(m, 'repod_render_cache_total', { result: 'hit' }) >= 1, 'primary.xml.gz of the same view is a hit');
    assert.ok(value(m, 'repod_store_operations_total', { driver: 'file', operation: 'put', outcome: 'ok' }) > 0);
    assert.ok(value(m, 'repod_store_operations_total', { driver: 'file', operation: 'get', outcome: 'ok' }) > 0);
    assert.equal(value(m, 'repod_store_errors_total'), 0);
    assert.ok(value(m, 'repod_store_operation_duration_seconds', { driver: 'file', operation: 'put' }) > 0);
    assert.ok(value(m, 'repod_distribution_revision', { distribution: 'rocky9' }) >= 2);
    assert.equal(value(m, 'repod_distribution_packages', { distribution: 'rocky9', arch: 'noarch' }), 2);
    assert.equal(value(m, 'repod_distribution_revision', { distribution: 'jammy' }), 0);
    assert.equal(value(m, 'repod_metrics_processes'), 1);
  });

  it('X-Request-ID is echoed when sane, made when absent or not, and on every log line of the request', async () => {
    const echoed = await fetch(`${server.url}/api/v1/distributions`, { headers: { 'x-request-id': 'trace-4711.abc' } });
    assert.equal(echoed.headers.get('x-request-id'), 'trace-4711.abc');
    const made = await fetch(`${server.url}/api/v1/distributions`);
    const madeId = made.headers.get('x-request-id');
    assert.match(madeId ?? '', /^[A-Za-z0-9_-]{16,}$/);
    for (const bad of ['has space', 'x'.repeat(200), 'quote"inside', '<script>']) {
      const response = await fetch(`${server.url}/health/live`, { headers: { 'x-request-id': bad } });
      const id = response.headers.get('x-request-id');
      assert.notEqual(id, bad);
      assert.match(id ?? '', /^[A-Za-z0-9_-]{16,}$/, `${JSON.stringify(bad.slice(0, 20))} is replaced by a new id`);
    }
    assert.notEqual((await fetch(`${server.url}/health/live`)).headers.get('x-request-id'), madeId, 'each request gets its own id');
    // An error answer and a redirect-free 404 carry it too.
    assert.equal((await fetch(`${server.url}/nope`, { headers: { 'x-request-id': 'nope-1' } })).headers.get('x-request-id'), 'nope-1');

    // A request whose work logs from inside the core (a first render logs "rendered").
    assert.equal((await uploadFile(server, 'rocky8', rpms[0])).status, 201);
    const repomd = await fetch(`${server.url}/repos/rocky8/noarch/repodata/repomd.xml`, { headers: { 'x-request-id': 'render-trace-1' } });
    assert.equal(repomd.status, 200);
    await new Promise((r) => setTimeout(r, 200));
    const lines = logLines(server);
    const ofRequest = lines.filter((l) => l.requestId === 'render-trace-1');
    assert.ok(
      ofRequest.some((l) => l.message === 'rendered' && l.dist === 'rocky8'),
      `the core's "rendered" line carries the id:\n${JSON.stringify(ofRequest)}`,
    );
    const access = ofRequest.find((l) => l.message === 'request');
    assert.ok(access, 'the access log line carries the id');
    assert.equal(access.route, '/repos/:dist/:arch/repodata/:name');
    assert.equal(access.status, 200);
    const echoedLine = lines.find((l) => l.message === 'request' && l.requestId === 'trace-4711.abc');
    assert.equal(echoedLine?.path, '/api/v1/distributions');
    assert.ok(
      lines.filter((l) => l.message === 'request').every((l) => typeof l.requestId === 'string' && l.requestId.length > 0),
      'every access line has a request id',
    );
    for (const l of lines) assert.equal(typeof l.time, 'string', 'structured JSON lines with a time');
  });

  it('health: /health, /health/live, /health/ready and the older /api/v1 probes', async () => {
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
    const body = await health.json();
    assert.equal(body.status, 'healthy');
    assert.equal(body.checks.store.status, 'healthy');
    assert.equal(body.checks.store.driver, 'file');
    assert.equal(body.checks.keyring.status, 'healthy');
    assert.equal(typeof body.checks.store.latency_ms, 'number');
    assert.deepEqual(await (await fetch(`${server.url}/health/live`)).json(), { status: 'healthy' });
    const ready = await fetch(`${server.url}/health/ready`);
    assert.equal(ready.status, 200);
    assert.equal((await ready.json()).status, 'healthy');
    const old = await fetch(`${server.url}/api/v1/ready`);
    assert.equal(old.status, 200);
    assert.equal((await old.json()).status, 'ready');
    assert.deepEqual(await (await fetch(`${server.url}/api/v1/health`)).json(), { status: 'ok' });
  });
});

describe('operations with REPOD_WORKERS=2: a scrape sums every worker', () => {
  let server: RunningServer;

  before(async () => {
    server = await startServer({ REPOD_WORKERS: '2' });
    for (let i = 0; i < 300 && [...server.logs.join('').matchAll(/"repod listening"/g)].length < 2; i++) await new Promise((r) => setTimeout(r, 100));
  });

  after(async () => {
    await server?.stop();
  });

  it('counts requests whichever worker answered them', async () => {
    const pids = new Set<string>();
    for (let i = 0; i < 20; i++) assert.equal(await freshGet(`${server.url}/health/live`), 200);
    for (const m of server.logs.join('').matchAll(/"repod listening".*?"pid":(\d+)/g)) pids.add(m[1]);
    assert.equal(pids.size, 2, 'two workers listen');
    // Whichever worker takes each scrape, it sees all 20 (and the scrapes before it).
    for (let scrapeNo = 0; scrapeNo < 4; scrapeNo++) {
      const text = await new Promise<string>((resolve, reject) => {
        get(`${server.url}/metrics`, { agent: false }, (response) => {
          let data = '';
          response.setEncoding('utf8');
          response.on('data', (chunk) => (data += chunk));
          response.on('end', () => resolve(data));
        }).on('error', reject);
      });
      const m = parsePrometheusText(text);
      assert.equal(value(m, 'repod_metrics_processes'), 2, 'both workers answered');
      assert.equal(value(m, 'repod_http_requests_total', { route: '/health/live', status: '200' }), 20);
      assert.equal(value(m, 'repod_http_requests_total', { route: '/metrics', status: '200' }), scrapeNo, 'the earlier scrapes, whichever worker took them');
    }
  });
});

/** A TCP relay to the gateway that the test can take down and bring back on the same port: the store becomes unreachable and reachable again. */
async function relay(port: number, target: { host: string; port: number }): Promise<{ stop(): Promise<void>; start(): Promise<void> }> {
  let server: Server | null = null;
  const sockets = new Set<Socket>();
  const start = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(target.port, target.host);
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      if (!server) return resolve();
      server.close(() => resolve());
      server = null;
    });
  await start();
  return { start, stop };
}

describe('readiness follows the store', { skip: rgwSkipReason() }, () => {
  let rgw: Rgw;
  let server: RunningServer;
  let link: Awaited<ReturnType<typeof relay>>;

  before(async () => {
    rgw = await startRgw();
    const endpoint = new URL(rgw.endpoint);
    const port = await freePort();
    link = await relay(port, { host: endpoint.hostname, port: Number(endpoint.port) });
    server = await startServer({ ...rgw.env, REPOD_S3_ENDPOINT: `http://127.0.0.1:${port}`, REPOD_STORAGE: `s3://${rgw.bucket}` });
  });

  after(async () => {
    await server?.stop();
    await link?.stop();
    await rgw?.stop();
  });

  it('turns 503 when the S3 store cannot be reached, and back to 200 when it can', async () => {
    const ready = await fetch(`${server.url}/health/ready`);
    assert.equal(ready.status, 200, await ready.clone().text());
    assert.equal((await ready.json()).checks.store.driver, 's3');

    await link.stop();
    const down = await fetch(`${server.url}/health/ready`);
    assert.equal(down.status, 503);
    const report = await down.json();
    assert.equal(report.status, 'unhealthy');
    assert.equal(report.checks.store.status, 'unhealthy');
    assert.match(report.checks.store.message, /store \(s3\) does not answer/);
    assert.equal((await fetch(`${server.url}/health`)).status, 503);
    const old = await fetch(`${server.url}/api/v1/ready`);
    assert.equal(old.status, 503);
    assert.equal((await old.json()).error, 'store_unavailable');
    assert.equal((await fetch(`${server.url}/health/live`)).status, 200, 'liveness does not depend on the store');
    const errors = parsePrometheusText(await (await fetch(`${server.url}/metrics`)).text());
    assert.ok(value(errors, 'repod_store_errors_total', { driver: 's3', operation: 'head' }) >= 1, 'the failed HEADs are counted as store errors');

    await link.start();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await fetch(`${server.url}/health/ready`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(status, 200, 'ready again once the store answers');
  });
});

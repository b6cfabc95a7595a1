/**
 * What only the Worker does, against `npm run start:worker` (workerd, R2 emulated on disk); the
 * client suites (rpm-clients, apt-clients, pinning) run against it as well as against Node.
 * Concurrent uploads publish a consistent chain of revisions; packages stream with Range and
 * ETag; a publish is rendered in waitUntil before any client asks; immutable answers come from
 * the data center's cache; with R2 S3-API credentials, downloads are presigned (checked against a
 * real S3 server, Ceph RGW, holding the same object); a Worker that cannot start says why.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { layout } from '../../src/bucket/layout.ts';
import { dpkgDebBuild } from '../helpers/debs.ts';
import { type Rgw, rgwSkipReason, startRgw } from '../helpers/rgw.ts';
import { buildLargeRpm, buildRpms } from '../helpers/rpmbuild.ts';
import { type RunningServer, sendInParts, startServer, uploadFile } from '../helpers/server.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const requestLines = (server: RunningServer, path: string) =>
  server.logs
    .join('')
    .split('\n')
    .filter((l) => l.includes('"message":"request"') && l.includes(`"path":"${path}"`));

/** The JSON lines of the server's log, parsed. */
const logEntries = (server: RunningServer): Array<Record<string, unknown>> =>
  server.logs
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });

async function waitFor(what: string, condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the Worker (npm run start:worker)', () => {
  let server: RunningServer;
  let rpms: string[];
  let deb: string;

  before(async () => {
    const out = await mkdtemp(join(tmpdir(), 'repod-worker-'));
    rpms = await buildRpms(
      Array.from({ length: 12 }, (_, i) => ({
        name: `wk-pkg${i}`,
        version: '1.0',
        arch: 'noarch',
        autoReqProv: false,
        files: [{ path: `/usr/share/wk/pkg${i}`, content: `package ${i}\n`.repeat(200 + i) }],
      })),
      out,
    );
    deb = dpkgDebBuild({ name: 'wk-deb', version: '1.0-1', arch: 'all', files: [{ path: 'usr/share/wk-deb/x', content: 'x\n' }] }, out);
    server = await startServer({ REPOD_ACCESS_LOG: '1' }, 'worker');
  });
  after(() => server?.stop());

  it('concurrent uploads publish a chain of revisions where each holds its parent plus its change', async () => {
    const results = await Promise.all([...rpms.map((file) => uploadFile(server, 'rocky9', file)), uploadFile(server, 'bookworm', deb)]);
    for (const r of results) assert.equal(r.status, 201, JSON.stringify(r.body));
    const history = (await (await fetch(`${server.url}/api/v1/distributions/rocky9/revisions?limit=100`)).json()) as { revisions: Array<{ number: number }> };
    const numbers = history.revisions.map((r) => r.number).sort((a, b) => a - b);
    assert.deepEqual(
      numbers,
      numbers.map((_, i) => i + 1),
      'revision numbers have no gap',
    );
    let previous = new Set<string>();
    for (const n of numbers) {
      const revision = (await (await fetch(`${server.url}/api/v1/distributions/rocky9/revisions/${n}`)).json()) as { packages: Array<{ file: string }> };
      const names = new Set(revision.packages.map((p) => p.file));
      for (const name of previous) assert.ok(names.has(name), `revision ${n} keeps ${name}`);
      previous = names;
    }
    assert.equal(previous.size, rpms.length, 'the last revision holds every acknowledged upload');
    const acknowledged = new Set(results.slice(0, rpms.length).map((r) => r.body.revision.number as number));
    for (const n of acknowledged) {
      // A pinned URL serves exactly what that revision had, for ever.
      const response = await fetch(`${server.url}/revisions/rocky9/${n}/x86_64/repodata/repomd.xml`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('cache-control')!, /immutable/);
    }
  });

  it('streams a package with Range and ETag', async () => {
    const bytes = new Uint8Array(await readFile(rpms[3]!));
    const url = `${server.url}/repos/rocky9/x86_64/Packages/wk-pkg3-1.0-1.noarch.rpm`;
    const whole = await fetch(url);
    assert.equal(whole.status, 200);
    assert.equal(sha256(new Uint8Array(await whole.arrayBuffer())), sha256(bytes));
    const etag = whole.headers.get('etag')!;
    assert.ok(etag);
    const ranged = await fetch(url, { headers: { range: 'bytes=100-199' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes 100-199/${bytes.length}`);
    assert.deepEqual(new Uint8Array(await ranged.arrayBuffer()), bytes.subarray(100, 200));
    const unchanged = await fetch(url, { headers: { 'if-none-match': etag } });
    assert.equal(unchanged.status, 304);
    assert.equal((await fetch(url, { headers: { range: `bytes=${bytes.length}-` } })).status, 416);
  });

  it('renders a publish in waitUntil, before any client asks', async () => {
    const before = server.logs.join('').split('"message":"rendered"').length;
    const [extra] = await buildRpms(
      [{ name: 'wk-late', version: '1.0', arch: 'noarch', autoReqProv: false, files: [{ path: '/usr/share/wk/late' }] }],
      await mkdtemp(join(tmpdir(), 'repod-worker-late-')),
    );
    const { status, body } = await uploadFile(server, 'rocky9', extra!);
    assert.equal(status, 201);
    const revision = body.revision.id as string;
    const rendered = () => logEntries(server).some((e) => e.message === 'rendered' && e.dist === 'rocky9' && e.revision === revision && e.view === 'rpm/x86_64');
    await waitFor('the render of the new revision', rendered);
    assert.ok(server.logs.join('').split('"message":"rendered"').length > before);
    assert.equal(requestLines(server, '/repos/rocky9/x86_64/repodata/repomd.xml').filter((l) => l.includes(revision)).length, 0);
  });

  it('puts the request id on every log line the core writes while serving it', async () => {
    const requestId = `wk-${Date.now()}`;
    const comps = '<?xml version="1.0" encoding="UTF-8"?>\n<comps>\n  <group>\n    <id>wk</id>\n    <name>wk</name>\n    <packagelist/>\n  </group>\n</comps>\n';
    const response = await fetch(`${server.url}/api/v1/distributions/rocky9/comps`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/xml', 'x-request-id': requestId },
      body: comps,
    });
    assert.equal(response.status, 201, await response.text());
    assert.equal(response.headers.get('x-request-id'), requestId);
    await waitFor("the core's log line with the request id", () => logEntries(server).some((e) => e.message === 'compose document published' && e.requestId === requestId));
  });

  it('answers immutable files from the cache, never entry points', async () => {
    const repomd = await (await fetch(`${server.url}/repos/rocky9/x86_64/repodata/repomd.xml`)).text();
    const primary = /href="(repodata\/[0-9a-f]{64}-primary\.xml\.gz)"/.exec(repomd)![1]!;
    const path = `/repos/rocky9/x86_64/${primary}`;
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) bodies.push(sha256(new Uint8Array(await (await fetch(`${server.url}${path}`)).arrayBuffer())));
    assert.equal(new Set(bodies).size, 1);
    await waitFor('the access log', () => requestLines(server, path).length >= 1);
    assert.equal(requestLines(server, path).length, 1, 'the app saw only the first of three GETs');
    const entry = '/repos/rocky9/x86_64/repodata/repomd.xml';
    const seen = requestLines(server, entry).length;
    await fetch(`${server.url}${entry}`).then((r) => r.text());
    await fetch(`${server.url}${entry}`).then((r) => r.text());
    await waitFor('the access log', () => requestLines(server, entry).length >= seen + 2);
  });

  it('takes a package larger than a Worker request body in parts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'repod-worker-big-'));
    try {
      const rpm = await buildLargeRpm(dir, 'wk-big', 110);
      const size = (await stat(rpm)).size;
      const sent = await sendInParts(server, 'rocky9', rpm, 40 * 1024 * 1024);
      assert.equal(sent.session.part_urls, 'repod', 'no R2 credentials: parts go through the Worker');
      assert.equal(sent.session.parts.length, 3);
      const started = performance.now();
      const done = await sent.complete();
      const body = (await done.json()) as { sha256: string; size: number };
      assert.equal(done.status, 201, JSON.stringify(body));
      if (process.env.REPOD_TEST_VERBOSE) console.log(`worker: completing ${(size / 1048576).toFixed(0)} MiB took ${(performance.now() - started).toFixed(0)} ms`);
      assert.equal(body.sha256, sent.sha256);
      // The part uploads' connections sat idle through the completion and workerd may have closed
      // them: like dnf and apt, retry an idempotent request once on a connection closed under it.
      const headUrl = `${server.url}/repos/rocky9/x86_64/Packages/wk-big-1.0-1.noarch.rpm`;
      const head = await fetch(headUrl, { method: 'HEAD' }).catch((error: Error & { cause?: { code?: string } }) => {
        if (error.cause?.code !== 'UND_ERR_SOCKET') throw error;
        return fetch(headUrl, { method: 'HEAD' });
      });
      assert.equal(head.status, 200);
      assert.equal(Number(head.headers.get('content-length')), size);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says why it cannot start, as JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'repod-worker-bad-'));
    const distributions = join(dir, 'distributions.json');
    await writeFile(distributions, JSON.stringify({ distributions: [{ kind: 'rpm', name: 'x' }] }));
    const broken = await startServer({ REPOD_DISTRIBUTIONS: distributions }, 'worker').catch((error: Error) => error);
    assert.ok(broken instanceof Error, 'a Worker with an invalid distribution does not report healthy');
    assert.match(broken.message, /"error":"unavailable"/);
    assert.match(broken.message, /repod could not start: .*distribution/);
  });
});

describe('the Worker with R2 S3-API credentials', { skip: rgwSkipReason() }, () => {
  let rgw: Rgw;
  let server: RunningServer;
  let rpm: string;

  before(async () => {
    rgw = await startRgw();
    // RGW stands in for R2's S3 endpoint: the Worker signs for it, and it checks the signatures.
    server = await startServer(
      {
        REPOD_R2_ACCESS_KEY_ID: rgw.accessKey,
        REPOD_R2_SECRET_ACCESS_KEY: rgw.secretKey,
        REPOD_R2_ENDPOINT: rgw.endpoint,
        REPOD_R2_BUCKET: rgw.bucket,
        REPOD_R2_REGION: rgw.region,
      },
      'worker',
    );
    [rpm] = await buildRpms(
      [{ name: 'wk-signed-url', version: '1.0', arch: 'noarch', autoReqProv: false, files: [{ path: '/usr/share/wk/url' }] }],
      await mkdtemp(join(tmpdir(), 'repod-worker-presign-')),
    );
  });
  after(async () => {
    await server?.stop();
    await rgw?.stop();
  });

  it('redirects downloads to presigned URLs that the S3 server honours', async () => {
    const { status, body } = await uploadFile(server, 'rocky9', rpm!);
    assert.equal(status, 201, JSON.stringify(body));
    const bytes = await readFile(rpm!);
    // The bucket behind the binding and the one behind the endpoint are the same bucket on R2;
    // here they are two stores, so the object is put where the URL points.
    await rgw.client().send(new PutObjectCommand({ Bucket: rgw.bucket, Key: layout.pool(body.sha256), Body: bytes }));
    const response = await fetch(`${server.url}/repos/rocky9/x86_64/Packages/wk-signed-url-1.0-1.noarch.rpm`, { redirect: 'manual' });
    assert.equal(response.status, 302);
    assert.match(response.headers.get('cache-control')!, /^private/);
    const location = response.headers.get('location')!;
    assert.ok(location.startsWith(`${rgw.endpoint}/${rgw.bucket}/`), location);
    assert.match(location, /X-Amz-Expires=\d+/);
    const download = await fetch(location);
    assert.equal(download.status, 200);
    assert.equal(sha256(new Uint8Array(await download.arrayBuffer())), sha256(bytes));
    const tampered = location.replace(/X-Amz-Signature=([0-9a-f])/, (_, c) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`);
    assert.equal((await fetch(tampered)).status, 403);
  });
});

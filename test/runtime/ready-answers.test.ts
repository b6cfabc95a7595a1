/**
 * Ready answers (src/http/serve.ts, sent by src/runtime/node.ts without running the app): a warm
 * GET of repomd.xml, of checksum-named metadata or of a small package is answered from the answer
 * the app made before, with the same bytes and headers and a request id of its own, counted in the
 * metrics; and it never outlives what it was made under: a publish, a distribution made private,
 * a Range or a conditional request all go through the app.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';

const BASE = '/repos/rocky9/x86_64';

let server: RunningServer;
let dir: string;
let rpms: string[];

async function readyCount(route: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return sampleValue(parsePrometheusText(text), 'repod_http_ready_answers_total', { route });
}

async function requests(route: string, method = 'GET'): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return sampleValue(parsePrometheusText(text), 'repod_http_requests_total', { method, route, status: '200' });
}

async function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ response: Response; bytes: Uint8Array }> {
  const response = await fetch(`${server.url}${path}`, { headers, method });
  return { response, bytes: new Uint8Array(await response.arrayBuffer()) };
}

const without = (headers: Headers, ...names: string[]) => [...headers].filter(([name]) => !names.includes(name));

describe('ready answers on the Node server', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repod-ready-'));
    rpms = await buildRpms(
      ['one', 'two'].map((name) => ({ name: `ready-${name}`, version: '1.0', arch: 'noarch', autoReqProv: false, files: [{ path: `/usr/share/ready/${name}`, content: name }] })),
      dir,
    );
    server = await startServer({ REPOD_ACCESS_LOG: '1' });
    const { status } = await uploadFile(server, 'rocky9', rpms[0]!);
    assert.equal(status, 201);
  });
  after(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
    if (server?.storage.startsWith('file:')) await rm(server.storage.slice('file:'.length), { recursive: true, force: true });
  });

  it('answers a warm GET with the bytes and headers the app sent, with its own request id, counted', async () => {
    const repomdRoute = '/repos/:dist/:arch/repodata/:name';
    const first = await get(`${BASE}/repodata/repomd.xml`);
    assert.equal(first.response.status, 200);
    const primaryHref = /href="(repodata\/[0-9a-f]{64}-primary\.xml\.gz)"/.exec(new TextDecoder().decode(first.bytes))![1]!;
    const paths = [`${BASE}/repodata/repomd.xml`, `${BASE}/${primaryHref}`, `${BASE}/Packages/${rpms[0]!.slice(rpms[0]!.lastIndexOf('/') + 1)}`];
    const firsts = [first, await get(paths[1]!), await get(paths[2]!)];
    const readyBefore = (await readyCount(repomdRoute)) + (await readyCount('/repos/:dist/:arch/Packages/:file'));
    const countedBefore = await requests(repomdRoute);
    for (const [i, path] of paths.entries()) {
      const again = await get(path);
      assert.equal(again.response.status, 200, path);
      assert.deepEqual(again.bytes, firsts[i]!.bytes, `${path}: the same bytes`);
      assert.deepEqual(without(again.response.headers, 'x-request-id', 'date'), without(firsts[i]!.response.headers, 'x-request-id', 'date'), `${path}: the same headers`);
      const id = again.response.headers.get('x-request-id');
      assert.ok(id && id !== firsts[i]!.response.headers.get('x-request-id'), 'a request id of its own');
      const echoed = await get(path, { 'x-request-id': 'ready-trace-1' });
      assert.equal(echoed.response.headers.get('x-request-id'), 'ready-trace-1');
      const head = await get(path, {}, 'HEAD');
      assert.equal(head.response.status, 200);
      assert.equal(head.response.headers.get('content-length'), String(firsts[i]!.bytes.length));
      assert.equal(head.bytes.length, 0);
    }
    const ready = (await readyCount(repomdRoute)) + (await readyCount('/repos/:dist/:arch/Packages/:file'));
    assert.equal(ready - readyBefore, 9, 'three GETs, three with an id, three HEADs answered ready');
    assert.equal((await requests(repomdRoute)) - countedBefore, 4, 'ready answers are counted as requests of their route');
    assert.ok(
      server.logs
        .join('')
        .split('\n')
        .some((line) => line.includes('"message":"request"') && line.includes('"requestId":"ready-trace-1"')),
      'the access log has them',
    );
  });

  it('keeps the semantics that need the app: ranges, conditions, the signature of the repomd.xml a client got', async () => {
    const path = `${BASE}/repodata/repomd.xml`;
    const whole = await get(path);
    const etag = whole.response.headers.get('etag')!;
    assert.equal((await get(path, { 'if-none-match': etag })).response.status, 304);
    const primary = `${BASE}/${/href="(repodata\/[0-9a-f]{64}-primary\.xml\.gz)"/.exec(new TextDecoder().decode(whole.bytes))![1]!}`;
    const primaryBytes = (await get(primary)).bytes;
    assert.equal((await get(primary)).response.status, 200);
    const range = await get(primary, { range: 'bytes=0-9' });
    assert.equal(range.response.status, 206);
    assert.deepEqual(range.bytes, primaryBytes.subarray(0, 10));
    const asc = await get(`${BASE}/repodata/repomd.xml.asc`);
    assert.equal(asc.response.status, 200);
    assert.match(new TextDecoder().decode(asc.bytes), /BEGIN PGP SIGNATURE/);
  });

  it('never outlives a publish or a distribution made private', async () => {
    const path = `${BASE}/repodata/repomd.xml`;
    await get(path);
    const before = new TextDecoder().decode((await get(path)).bytes);
    const { status } = await uploadFile(server, 'rocky9', rpms[1]!);
    assert.equal(status, 201);
    const after = new TextDecoder().decode((await get(path)).bytes);
    assert.notEqual(after, before, 'the publish is seen at once by the server that made it');
    const primaryHref = /href="(repodata\/[0-9a-f]{64}-primary\.xml\.gz)"/.exec(after)![1]!;
    assert.equal((await get(`${BASE}/${primaryHref}`)).response.status, 200);
    assert.equal((await get(`${BASE}/${primaryHref}`)).response.status, 200);

    const patched = await fetch(`${server.url}/api/v1/distributions/rocky9`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ private: true }),
    });
    assert.equal(patched.status, 200, await patched.text());
    for (const p of [path, `${BASE}/${primaryHref}`]) {
      assert.equal((await get(p)).response.status, 401, `${p} is private now`);
      const allowed = await get(p, { authorization: `Bearer ${server.adminToken}` });
      assert.equal(allowed.response.status, 200);
      assert.match(allowed.response.headers.get('cache-control') ?? '', /^private/);
    }
  });
});

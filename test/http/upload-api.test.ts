/**
 * The upload and auth API on a real file store: every kind of bad input gets a 4xx JSON error
 * naming the problem, the current revision stays as it was, and nothing is left behind.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Hono } from 'hono';
import type { Core } from '../../src/core/core.ts';
import { createApp } from '../../src/http/app.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';
import { selfBuiltLookup } from '../helpers/packages.ts';

// Self-built packages under the names the test talks about (helpers/packages.ts).
const fixture = await selfBuiltLookup([
  'hello-2.0-1.x86_64.rpm',
  'animaniacs-0.1-1.noarch.rpm',
  'hello_2.10-3_amd64.deb',
  'hello-1.0-1.src.rpm',
  'balicek-utf8-1.1.1-1.x86_64.rpm',
  'crypto-policies-20210617-1.gitc776d3e.el8.noarch.rpm',
]);

import { buildRpms } from '../helpers/rpmbuild.ts';

const TOKEN = 'upload-api-test-token';
let app: Hono;
let core: Core;
let dataDir: string;
let built: { aarch64: string; tilde: string; plus: string; helloRebuilt: string };

async function upload(file: Uint8Array | null, fields: Record<string, string>, token: string | null = TOKEN, path = '/api/v1/upload') {
  const form = new FormData();
  if (file) form.append('file', new Blob([file as Uint8Array<ArrayBuffer>]), 'package.rpm');
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  const response = await app.request(path, { method: 'POST', body: form, headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function state() {
  const { ref } = await core.repository.currentRef('rocky9', true);
  const list = async (prefix: string) => {
    const keys: string[] = [];
    for await (const e of core.caps.store.list(prefix)) keys.push(e.key);
    return keys;
  };
  return { revision: ref?.revision ?? null, uploads: await list('uploads/'), pool: await list('pool/') };
}

async function assertRefused(result: { status: number; body: Record<string, any> }, status: number, code: string, before: Awaited<ReturnType<typeof state>>) {
  assert.equal(result.status, status, JSON.stringify(result.body));
  assert.equal(result.body.error, code, JSON.stringify(result.body));
  assert.equal(typeof result.body.message, 'string');
  assert.ok(result.body.message.length > 10, 'the message names the problem');
  const after = await state();
  assert.equal(after.revision, before.revision, 'the current revision is unchanged');
  assert.deepEqual(after.uploads, [], 'no staged upload is left behind');
  assert.deepEqual(after.pool, before.pool, 'nothing new in the pool');
}

describe('upload API', () => {
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'repod-upload-api-'));
    ({ core } = await buildNodeCore({ REPOD_STORAGE: `file:${dataDir}`, REPOD_ADMIN_TOKEN: TOKEN, REPOD_ADMIN_PASSWORD: 'secret-pw' }, () => undefined));
    app = createApp(core);
    const out = await mkdtemp(join(tmpdir(), 'repod-upload-rpms-'));
    const [aarch64, tilde, plus, helloRebuilt] = await buildRpms(
      [
        { name: 'repod-arm', arch: 'aarch64', files: [{ path: '/usr/share/repod-arm/x' }] },
        { name: 'repod-tilde', version: '1.0~rc1', arch: 'noarch', files: [{ path: '/usr/share/repod-tilde/x' }] },
        { name: 'repod-c++', version: '2.0+git1', arch: 'noarch', files: [{ path: '/usr/share/repod-cxx/x' }] },
        { name: 'hello', version: '2.0', release: '1', arch: 'x86_64', files: [{ path: '/usr/share/hello-rebuilt/x' }] },
      ],
      out,
    );
    built = { aarch64, tilde, plus, helloRebuilt };
  });

  it('publishes an RPM and answers with the package, version, distribution, status and revision', async () => {
    const result = await upload(await readFile(fixture('hello-2.0-1.x86_64.rpm')), { distribution: 'rocky9' });
    assert.equal(result.status, 201, JSON.stringify(result.body));
    assert.equal(result.body.status, 'published');
    assert.equal(result.body.package, 'hello');
    assert.equal(result.body.version, '2.0-1');
    assert.equal(result.body.distribution, 'rocky9');
    assert.equal(result.body.revision.number, 1);
  });

  it('accepts the same bytes again as unchanged, without a new revision', async () => {
    const before = await state();
    const result = await upload(await readFile(fixture('hello-2.0-1.x86_64.rpm')), { distribution: 'rocky9' }, TOKEN, '/upload/');
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(result.body.status, 'unchanged');
    assert.equal((await state()).revision, before.revision);
  });

  it('refuses missing and wrong tokens with 401', async () => {
    const before = await state();
    const bytes = await readFile(fixture('animaniacs-0.1-1.noarch.rpm'));
    await assertRefused(await upload(bytes, { distribution: 'rocky9' }, null), 401, 'unauthorized', before);
    await assertRefused(await upload(bytes, { distribution: 'rocky9' }, 'not-a-token'), 401, 'unauthorized', before);
  });

  it('refuses unknown and missing distributions', async () => {
    const before = await state();
    const bytes = await readFile(fixture('animaniacs-0.1-1.noarch.rpm'));
    await assertRefused(await upload(bytes, { distribution: 'nope' }), 404, 'unknown_distribution', before);
    await assertRefused(await upload(bytes, {}), 400, 'missing_distribution', before);
    await assertRefused(await upload(null, { distribution: 'rocky9' }), 400, 'missing_file', before);
  });

  it('refuses truncated, foreign and corrupted files with 422', async () => {
    const before = await state();
    const hello = await readFile(fixture('hello-2.0-1.x86_64.rpm'));
    await assertRefused(await upload(hello.subarray(0, 500), { distribution: 'rocky9' }), 422, 'invalid_package', before);
    await assertRefused(await upload(hello.subarray(0, 50), { distribution: 'rocky9' }), 422, 'invalid_package', before);
    await assertRefused(await upload(new TextEncoder().encode('this is not a package at all'), { distribution: 'rocky9' }), 422, 'invalid_package', before);
    const corrupt = new Uint8Array(hello);
    // The main header's index count (after the lead and the signature header) set absurdly high.
    const sigCount = new DataView(corrupt.buffer).getUint32(96 + 8);
    const sigData = new DataView(corrupt.buffer).getUint32(96 + 12);
    const mainAt = 96 + 16 + sigCount * 16 + sigData + ((8 - ((sigCount * 16 + sigData) % 8)) % 8);
    new DataView(corrupt.buffer).setUint32(mainAt + 8, 0x7fffffff);
    await assertRefused(await upload(corrupt, { distribution: 'rocky9' }), 422, 'invalid_package', before);
    const deb = await readFile(fixture('hello_2.10-3_amd64.deb'));
    const debResult = await upload(deb, { distribution: 'rocky9' });
    assert.equal(debResult.status, 422, JSON.stringify(debResult.body));
    assert.match(debResult.body.message, /deb/i);
    assert.equal((await state()).revision, before.revision);
  });

  it('refuses an architecture the distribution does not carry', async () => {
    const before = await state();
    await assertRefused(await upload(await readFile(built.aarch64), { distribution: 'rocky9' }), 422, 'unsupported_architecture', before);
  });

  it('refuses the same NEVRA with different content unless replace is asked', async () => {
    const before = await state();
    const rebuilt = await readFile(built.helloRebuilt);
    const refused = await upload(rebuilt, { distribution: 'rocky9' });
    assert.equal(refused.body.status, 'duplicate');
    await assertRefused(refused, 409, 'duplicate_package', before);
    const replaced = await upload(rebuilt, { distribution: 'rocky9', replace: 'true' });
    assert.equal(replaced.status, 201, JSON.stringify(replaced.body));
    assert.equal(replaced.body.revision.number, 2);
  });

  it('takes a raw streamed body with ?distribution=', async () => {
    const bytes = await readFile(fixture('animaniacs-0.1-1.noarch.rpm'));
    const response = await app.request('/api/v1/upload?distribution=rocky9', {
      method: 'POST',
      body: bytes,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-rpm' },
    });
    assert.equal(response.status, 201, await response.clone().text());
    assert.equal(((await response.json()) as any).package, 'animaniacs');
  });

  it('serves file names with + and ~ however the client encodes them', async () => {
    for (const file of [built.tilde, built.plus]) assert.equal((await upload(await readFile(file), { distribution: 'rocky9' })).status, 201);
    const base = '/repos/rocky9/x86_64/Packages/';
    for (const path of [
      'repod-tilde-1.0~rc1-1.noarch.rpm',
      'repod-tilde-1.0%7erc1-1.noarch.rpm',
      'repod-tilde-1.0%7Erc1-1.noarch.rpm',
      'repod-c++-2.0+git1-1.noarch.rpm',
      'repod-c%2b%2b-2.0%2bgit1-1.noarch.rpm',
      'repod-c%2B%2B-2.0%2Bgit1-1.noarch.rpm',
    ]) {
      const response = await app.request(base + path);
      assert.equal(response.status, 200, path);
    }
    assert.equal((await app.request(base + 'repod-c%20%20-2.0%20git1-1.noarch.rpm')).status, 404, 'a space is not a plus');
  });

  it('answers HEAD, conditional GETs and Range like a static server', async () => {
    const repomd = await app.request('/repos/rocky9/x86_64/repodata/repomd.xml', { method: 'HEAD' });
    assert.equal(repomd.status, 200);
    assert.ok(Number(repomd.headers.get('content-length')) > 100);
    assert.equal((await repomd.arrayBuffer()).byteLength, 0);
    const etag = repomd.headers.get('etag')!;
    assert.equal((await app.request('/repos/rocky9/x86_64/repodata/repomd.xml', { headers: { 'if-none-match': etag } })).status, 304);
    const pkg = '/repos/rocky9/x86_64/Packages/animaniacs-0.1-1.noarch.rpm';
    const whole = new Uint8Array(await (await app.request(pkg)).arrayBuffer());
    assert.deepEqual(whole, new Uint8Array(await readFile(fixture('animaniacs-0.1-1.noarch.rpm'))));
    const part = await app.request(pkg, { headers: { range: 'bytes=100-199' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 100-199/${whole.length}`);
    assert.deepEqual(new Uint8Array(await part.arrayBuffer()), whole.subarray(100, 200));
    assert.equal((await app.request(pkg, { headers: { range: `bytes=${whole.length + 5}-` } })).status, 416);
    const key = await app.request('/repos/gpg.key');
    assert.match(await key.text(), /BEGIN PGP PUBLIC KEY BLOCK/);
    assert.equal((await app.request('/repos/dists/depot.gpg')).status, 200);
    assert.equal((await app.request('/repos/rocky9/x86_64/repodata/repomd.xml.key')).status, 200);
    assert.equal((await app.request('/repos/rocky9/x86_64/media.1/media')).status, 404);
    assert.equal((await app.request('/repos/nope/x86_64/repodata/repomd.xml')).status, 404);
    assert.equal((await app.request('/repos/rocky9/ppc64/repodata/repomd.xml')).status, 404);
  });

  it('serves noarch packages in every arch repository and sources under src', async () => {
    assert.equal((await upload(await readFile(fixture('hello-1.0-1.src.rpm')), { distribution: 'rocky9' })).status, 201);
    const primary = async (arch: string) => {
      const repomd = await (await app.request(`/repos/rocky9/${arch}/repodata/repomd.xml`)).text();
      const href = /href="(repodata\/[0-9a-f]+-primary\.xml\.gz)"/.exec(repomd)![1];
      const { gunzipSync } = await import('node:zlib');
      return gunzipSync(new Uint8Array(await (await app.request(`/repos/rocky9/${arch}/${href}`)).arrayBuffer())).toString();
    };
    const x86 = await primary('x86_64');
    assert.match(x86, /<name>animaniacs<\/name>/);
    assert.match(x86, /<name>hello<\/name>/);
    assert.doesNotMatch(x86, /<arch>src<\/arch>/);
    const src = await primary('src');
    assert.match(src, /packages="1"/);
    assert.match(src, /<arch>src<\/arch>/);
    const noarch = await primary('noarch');
    assert.doesNotMatch(noarch, /<arch>x86_64<\/arch>/);
  });

  it('issues tokens for admin with JSON or form fields, and refuses a wrong password', async () => {
    const json = await app.request('/api/v1/auth/token', {
      method: 'POST',
      body: JSON.stringify({ username: 'admin', password: 'secret-pw' }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(json.status, 200);
    const { access_token, token_type } = (await json.json()) as any;
    assert.equal(token_type, 'bearer');
    const form = await app.request('/api/v1/auth/token', { method: 'POST', body: new URLSearchParams({ username: 'admin', password: 'secret-pw' }) });
    assert.equal(form.status, 200);
    const bad = await app.request('/api/v1/auth/token', {
      method: 'POST',
      body: JSON.stringify({ username: 'admin', password: 'nope' }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(bad.status, 401);
    assert.equal(((await bad.json()) as any).error, 'invalid_credentials');
    const result = await upload(await readFile(fixture('balicek-utf8-1.1.1-1.x86_64.rpm')), { distribution: 'rocky9' }, access_token);
    assert.equal(result.status, 201, 'a login token can upload');
    // Only the token's hash is stored.
    const tokens = await readdir(join(dataDir, 'auth/tokens'));
    assert.ok(tokens.every((t) => !t.includes(access_token)));
  });
});

describe('revalidation of mutable indexes', () => {
  it('a publish within the same second is not hidden behind If-Modified-Since', async () => {
    const first = await app.request('/repos/rocky9/x86_64/repodata/repomd.xml');
    // Revisions carry millisecond times but Last-Modified has whole seconds; a date at or after the
    // new revision's second stands for a client whose copy is from the same second.
    const lastModified = new Date(Date.now() + 3600_000).toUTCString();
    const before = await first.text();
    const result = await upload(await readFile(fixture('crypto-policies-20210617-1.gitc776d3e.el8.noarch.rpm')), { distribution: 'rocky9' });
    assert.equal(result.status, 201);
    const again = await app.request('/repos/rocky9/x86_64/repodata/repomd.xml', { headers: { 'if-modified-since': lastModified } });
    assert.equal(again.status, 200);
    assert.notEqual(await again.text(), before);
  });
});

/**
 * Hot files served from memory (rendered metadata by sha256, small packages by pool key): the
 * bytes are exactly those the entry point lists, whether a response comes from the store or from
 * memory; an entry point always names the current revision's files; caching headers say which
 * paths never change; and a tiny cache bound still serves everything (streaming the rest).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Hono } from 'hono';
import type { Core } from '../../src/core/core.ts';
import { createApp } from '../../src/http/app.ts';
import { IMMUTABLE, REVALIDATE } from '../../src/http/serve.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';
import { writeDebs } from '../helpers/debs.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';

const TOKEN = 'hot-files-test-token';
const BASE = '/repos/rocky9/x86_64';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let storage: string;
let rpms: string[];
let deb: string;

async function serverOn(env: Record<string, string> = {}): Promise<{ app: Hono; core: Core }> {
  // REF_TTL 0: every request sees a publish at once, so the test needs no waiting.
  const { core } = await buildNodeCore({ REPOD_STORAGE: storage, REPOD_ADMIN_TOKEN: TOKEN, REPOD_REF_TTL_MS: '0', ...env }, () => undefined);
  return { app: createApp(core), core };
}

async function upload(app: Hono, path: string, distribution: string): Promise<void> {
  const form = new FormData();
  form.append('file', new Blob([(await readFile(path)) as Uint8Array<ArrayBuffer>]), path.slice(path.lastIndexOf('/') + 1));
  form.append('distribution', distribution);
  const response = await app.request('/api/v1/upload', { method: 'POST', body: form, headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(response.status, 201, await response.text());
}

async function body(app: Hono, path: string, headers: Record<string, string> = {}): Promise<{ bytes: Uint8Array; response: Response }> {
  const response = await app.request(path, { headers });
  assert.equal(response.status, 200, `GET ${path}: ${response.status}`);
  return { bytes: new Uint8Array(await response.arrayBuffer()), response };
}

/** Every file repomd.xml lists and every package primary lists, fetched twice, checked against their checksums. */
async function checkRpmRepository(app: Hono): Promise<{ repomd: string; primaryHref: string }> {
  const repomd = new TextDecoder().decode((await body(app, `${BASE}/repodata/repomd.xml`)).bytes);
  let primaryHref = '';
  let primary: Uint8Array | null = null;
  for (const m of repomd.matchAll(/<data type="([^"]+)">[\s\S]*?<checksum type="sha256">([0-9a-f]+)<\/checksum>[\s\S]*?<location href="([^"]+)"/g)) {
    for (let round = 0; round < 2; round++) {
      const { bytes, response } = await body(app, `${BASE}/${m[3]}`);
      assert.equal(sha256(bytes), m[2], `${m[3]} (round ${round}) matches repomd.xml`);
      assert.equal(response.headers.get('cache-control'), IMMUTABLE);
      assert.equal(response.headers.get('etag'), `"${m[2]}"`);
    }
    if (m[1] === 'primary') {
      primaryHref = m[3];
      primary = (await body(app, `${BASE}/${m[3]}`)).bytes;
    }
  }
  assert.ok(primary, 'repomd.xml lists primary');
  const packages = [...new TextDecoder().decode(gunzipSync(primary)).matchAll(/<checksum type="sha256" pkgid="YES">([0-9a-f]+)<\/checksum>[\s\S]*?<location href="([^"]+)"/g)];
  assert.ok(packages.length > 0);
  for (const m of packages) {
    for (let round = 0; round < 2; round++) assert.equal(sha256((await body(app, `${BASE}/${m[2]}`)).bytes), m[1], `${m[2]} (round ${round}) matches primary.xml`);
  }
  return { repomd, primaryHref };
}

describe('hot files in memory', () => {
  before(async () => {
    storage = `file:${await mkdtemp(join(tmpdir(), 'repod-hot-'))}`;
    const out = await mkdtemp(join(tmpdir(), 'repod-hot-rpms-'));
    const spec = (name: string) => ({ name, version: '1.0', arch: 'noarch', autoReqProv: false, files: [{ path: `/usr/share/${name}/data`, content: `${name}\n`.repeat(200) }] });
    rpms = await buildRpms([spec('hot-a'), spec('hot-b'), spec('hot-c')], out);
    [deb] = writeDebs(out, [{ name: 'hot-deb', version: '1.0-1', arch: 'all' }]);
  });

  it('serves the bytes repomd.xml and primary.xml list, from the store and then from memory', async () => {
    const { app, core } = await serverOn();
    await upload(app, rpms[0], 'rocky9');
    await upload(app, rpms[1], 'rocky9');
    await checkRpmRepository(app);
    assert.ok(core.hotFiles.bytes > 0, 'metadata and packages are held in memory');

    // A fresh server on the same store (cold cache) serves the same bytes.
    const cold = await serverOn();
    const warm = await checkRpmRepository(app);
    const again = await checkRpmRepository(cold.app);
    assert.equal(again.repomd, warm.repomd);
  });

  it('answers ranges and revalidation of a package from memory like from the store', async () => {
    const { app } = await serverOn();
    const file = rpms[0].slice(rpms[0].lastIndexOf('/') + 1);
    const whole = await readFile(rpms[0]);
    const first = await body(app, `${BASE}/Packages/${file}`); // fills the cache
    assert.equal(sha256(first.bytes), sha256(whole));
    const etag = first.response.headers.get('etag')!;
    assert.equal(first.response.headers.get('cache-control'), IMMUTABLE);
    const ranged = await app.request(`${BASE}/Packages/${file}`, { headers: { range: 'bytes=10-99' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes 10-99/${whole.length}`);
    assert.deepEqual(new Uint8Array(await ranged.arrayBuffer()), new Uint8Array(whole.subarray(10, 100)));
    const revalidated = await app.request(`${BASE}/Packages/${file}`, { headers: { 'if-none-match': etag } });
    assert.equal(revalidated.status, 304);
    const head = await app.request(`${BASE}/Packages/${file}`, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(whole.length));
    assert.equal(head.headers.get('etag'), etag);
  });

  it('never answers an entry point with an earlier revision, while older files stay servable', async () => {
    const { app } = await serverOn();
    const before = await checkRpmRepository(app);
    const beforeEtag = (await body(app, `${BASE}/repodata/repomd.xml`)).response.headers.get('etag');
    await upload(app, rpms[2], 'rocky9');
    const after = await checkRpmRepository(app);
    assert.notEqual(after.repomd, before.repomd);
    assert.notEqual(after.primaryHref, before.primaryHref);
    const { response } = await body(app, `${BASE}/repodata/repomd.xml`);
    assert.notEqual(response.headers.get('etag'), beforeEtag);
    assert.equal(response.headers.get('cache-control'), REVALIDATE);
    // A revalidation with the old ETag gets the new document, not a 304.
    assert.equal((await app.request(`${BASE}/repodata/repomd.xml`, { headers: { 'if-none-match': beforeEtag! } })).status, 200);
    // A client that read the older repomd.xml still gets its primary, byte for byte.
    const oldSha = /([0-9a-f]{64})-primary/.exec(before.primaryHref)![1];
    assert.equal(sha256((await body(app, `${BASE}/${before.primaryHref}`)).bytes), oldSha);
    // Pinned revisions never change: their entry point is immutable.
    const pinned = await body(app, '/revisions/rocky9/1/x86_64/repodata/repomd.xml');
    assert.equal(pinned.response.headers.get('cache-control'), IMMUTABLE);
  });

  it('APT: InRelease and Packages are revalidated, by-hash files are immutable and match their hash', async () => {
    const { app } = await serverOn();
    await upload(app, deb, 'bookworm');
    const inRelease = await body(app, '/repos/dists/bookworm/InRelease');
    assert.equal(inRelease.response.headers.get('cache-control'), REVALIDATE);
    const text = new TextDecoder().decode(inRelease.bytes);
    const sha256Section = text.slice(text.indexOf('SHA256:'));
    const m = /^ ([0-9a-f]{64})\s+\d+ (main\/binary-amd64\/Packages\.gz)$/m.exec(sha256Section);
    assert.ok(m, 'InRelease lists main/binary-amd64/Packages.gz');
    const [, hash, path] = m;
    for (let round = 0; round < 2; round++) {
      const byHash = await body(app, `/repos/dists/bookworm/main/binary-amd64/by-hash/SHA256/${hash}`);
      assert.equal(sha256(byHash.bytes), hash);
      assert.equal(byHash.response.headers.get('cache-control'), IMMUTABLE);
      const named = await body(app, `/repos/dists/bookworm/${path}`);
      assert.equal(sha256(named.bytes), hash);
      assert.equal(named.response.headers.get('cache-control'), REVALIDATE);
    }
  });

  it('stays within a tiny REPOD_CACHE_BYTES and still serves every byte (the rest streams)', async () => {
    const { app, core } = await serverOn({ REPOD_CACHE_BYTES: '3000' });
    await checkRpmRepository(app);
    assert.ok(core.hotFiles.bytes <= 3000, `${core.hotFiles.bytes} bytes held`);
    const off = await serverOn({ REPOD_CACHE_BYTES: '0' });
    await checkRpmRepository(off.app);
    assert.equal(off.core.hotFiles.bytes, 0);
  });
});

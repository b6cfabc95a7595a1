/**
 * infra/nginx/repod.conf in a real nginx, in front of one live repod node and one dead address:
 * every request still succeeds (a refused connection goes to the next node); content-addressed
 * files are cached and served from the cache with the same bytes; entry points, packages by name,
 * requests with credentials and 404s never are; a large upload body reaches repod (no 413).
 * The fleet test (test/e2e/fleet.test.ts) runs the same configuration with three nodes on RGW.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeDebs } from '../helpers/debs.ts';
import { freePort } from '../helpers/ports.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';
import { nginxSkipReason, type RunningNginx, startNginx } from './nginx.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('infra/nginx/repod.conf', { skip: nginxSkipReason() }, () => {
  let server: RunningServer;
  let nginx: RunningNginx;
  let deadPort: number;

  before(async () => {
    server = await startServer({ REPOD_STORAGE: 'memory:' });
    deadPort = await freePort();
    nginx = await startNginx([`127.0.0.1:${deadPort}`, `127.0.0.1:${server.port}`]);
    const work = await mkdtemp(join(tmpdir(), 'repod-nginx-pkgs-'));
    const [rpm] = await buildRpms([{ name: 'lb-test', arch: 'noarch', autoReqProv: false, files: [{ path: '/usr/share/lb-test/x', content: 'x\n' }] }], work);
    const [deb] = writeDebs(work, [{ name: 'lb-test', version: '1.0', arch: 'all' }]);
    for (const [dist, file] of [
      ['rocky9', rpm],
      ['bookworm', deb],
    ] as const) {
      const form = new FormData();
      form.append('file', new Blob([await readFile(file)]), basename(file));
      form.append('distribution', dist);
      const response = await fetch(`${nginx.url}/api/v1/upload`, { method: 'POST', body: form, headers: { authorization: `Bearer ${server.adminToken}` } });
      assert.equal(response.status, 201, await response.text());
    }
  });
  after(async () => {
    await nginx?.stop();
    await server?.stop();
  });

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${nginx.url}${path}`, { headers, redirect: 'manual' });
    return {
      status: response.status,
      cache: response.headers.get('x-cache-status'),
      cacheControl: response.headers.get('cache-control'),
      bytes: new Uint8Array(await response.arrayBuffer()),
    };
  };

  it('a dead node costs nothing: every GET and upload succeeded, some after a retry on the live node', async () => {
    for (let i = 0; i < 4; i++) assert.equal((await get('/repos/gpg.key')).status, 200);
    const log = await nginx.accessLog();
    assert.ok(
      log.some((l) => l.includes(`127.0.0.1:${deadPort}, 127.0.0.1:${server.port}`)),
      `a request went to the dead node first, then to the live one:\n${log.join('\n')}`,
    );
    assert.deepEqual(
      log.filter((l) => !/^\S+ \S+ (200|201) /.test(l)),
      [],
    );
  });

  it('caches repodata named by checksum and APT by-hash files (same bytes), never repomd.xml or InRelease', async () => {
    const repomd = await get('/repos/rocky9/x86_64/repodata/repomd.xml');
    assert.equal(repomd.status, 200);
    assert.match(repomd.cacheControl ?? '', /max-age=0/);
    const files = [...new TextDecoder().decode(repomd.bytes).matchAll(/<checksum type="sha256">([0-9a-f]{64})<\/checksum>[\s\S]*?<location href="([^"]+)"/g)];
    assert.ok(files.length >= 3);
    for (const [, checksum, href] of files) {
      const first = await get(`/repos/rocky9/x86_64/${href}`);
      const second = await get(`/repos/rocky9/x86_64/${href}`);
      assert.match(first.cacheControl ?? '', /immutable/);
      assert.equal(second.cache, 'HIT', href);
      assert.equal(sha256(first.bytes), checksum);
      assert.equal(sha256(second.bytes), checksum, 'the cached copy has the same bytes');
    }
    const inRelease = await get('/repos/dists/bookworm/InRelease');
    const packages = /^ ([0-9a-f]{64}) +\d+ main\/binary-amd64\/Packages\.gz$/m.exec(new TextDecoder().decode(inRelease.bytes));
    assert.ok(packages);
    await get(`/repos/dists/bookworm/main/binary-amd64/by-hash/SHA256/${packages[1]}`);
    const cached = await get(`/repos/dists/bookworm/main/binary-amd64/by-hash/SHA256/${packages[1]}`);
    assert.equal(cached.cache, 'HIT');
    assert.equal(sha256(cached.bytes), packages[1]);
    for (const path of [
      '/repos/rocky9/x86_64/repodata/repomd.xml',
      '/repos/rocky9/x86_64/repodata/repomd.xml.asc',
      '/repos/dists/bookworm/InRelease',
      '/repos/dists/bookworm/main/binary-amd64/Packages.gz',
    ]) {
      await get(path);
      const again = await get(path);
      assert.equal(again.status, 200, path);
      assert.notEqual(again.cache, 'HIT', `${path} is not cached`);
    }
  });

  it('does not cache packages by name, requests with credentials, or a 404 for a checksum-named file', async () => {
    const primary = (await get('/repos/rocky9/x86_64/repodata/repomd.xml')).bytes;
    const href = /href="(repodata\/[0-9a-f]{64}-primary\.xml\.gz)"/.exec(new TextDecoder().decode(primary))![1];
    const auth = { authorization: `Bearer ${server.adminToken}` };
    await get(`/repos/rocky9/x86_64/${href}`, auth);
    assert.notEqual((await get(`/repos/rocky9/x86_64/${href}`, auth)).cache, 'HIT', 'credentials bypass the cache');
    const rpm = '/repos/rocky9/x86_64/Packages/lb-test-1.0-1.noarch.rpm';
    assert.equal((await get(rpm)).status, 200);
    assert.notEqual((await get(rpm)).cache, 'HIT', 'a package by name is not cached');
    // A node that does not know a revision yet answers 404 for its files: that must not stick.
    const missing = `/repos/rocky9/x86_64/repodata/${'0'.repeat(64)}-primary.xml.gz`;
    assert.equal((await get(missing)).status, 404);
    const again = await get(missing);
    assert.equal(again.status, 404);
    assert.notEqual(again.cache, 'HIT', 'a 404 is not cached');
  });

  it('streams a large upload through to repod (repod answers it, not nginx with 413)', async () => {
    const body = new Uint8Array(24 << 20).fill(7);
    const response = await fetch(`${nginx.url}/api/v1/upload?distribution=rocky9`, {
      method: 'POST',
      body,
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/x-rpm' },
    });
    const text = await response.text();
    assert.notEqual(response.status, 413, text);
    assert.ok(response.status >= 400 && response.status < 500, `${response.status} ${text}`);
    assert.match(response.headers.get('content-type') ?? '', /json/, "the answer is repod's JSON error");
  });
});

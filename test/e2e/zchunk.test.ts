/**
 * zchunk metadata served by a running server: a distribution with `"zchunk": true` lists
 * primary_zck, filelists_zck and other_zck in repomd.xml; each file's sha256 and size are the
 * record's, Debian's zck_read_header verifies it (-f) and shows the record's header checksum and
 * size, and unzck reads it back to the very XML of the matching .xml.gz (open-checksum and
 * open-size agree). A distribution without the flag lists none. A second publish keeps every
 * unchanged package's chunk (zchunk's point: clients fetch only the changed chunks).
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { buildRpms, type RpmSpec } from '../helpers/rpmbuild.ts';
import { run } from '../helpers/run.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';
import { ensureZchunkTools, parseZckHeader } from '../helpers/zchunk-tools.ts';

// Packages built here, so the test needs no corpus: two in the first revision, one added after.
const spec = (name: string, arch: string, requires: string[] = []): RpmSpec => ({
  name,
  version: '1.0',
  release: '1',
  arch,
  requires,
  files: [
    { path: `/usr/share/${name}/README`, content: `${name}\n` },
    { path: `/usr/bin/${name}`, content: '#!/bin/sh\n', mode: '0755' },
  ],
  changelog: [{ time: 1700000000, author: 'Repod Tests <tests@repod.invalid>', text: `- ${name} 1.0` }],
  sourceDateEpoch: 1700000000,
});

interface Record {
  type: string;
  href: string;
  fields: Map<string, string>;
}

function records(repomd: string): Record[] {
  return [...repomd.matchAll(/<data type="([^"]+)">([\s\S]*?)<\/data>/g)].map((m) => {
    const fields = new Map<string, string>();
    for (const f of m[2].matchAll(/<([a-z-]+)(?: type="sha256")?>([^<]*)<\/\1>/g)) fields.set(f[1], f[2]);
    return { type: m[1], href: /<location href="([^"]+)"/.exec(m[2])![1], fields };
  });
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

describe('zchunk metadata from a running server', { skip: ensureZchunkTools() }, () => {
  let server: RunningServer;
  let dir: string;
  let first: string[];
  let second: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repod-zck-e2e-'));
    const [a, b, c] = await buildRpms([spec('zck-alpha', 'noarch'), spec('zck-beta', 'x86_64', ['zck-alpha']), spec('zck-gamma', 'x86_64')], join(dir, 'rpms'));
    first = [a!, b!];
    second = c!;
    const config = join(dir, 'distributions.json');
    await writeFile(
      config,
      JSON.stringify({
        distributions: [
          { kind: 'rpm', name: 'zck', architectures: ['x86_64'], zchunk: true },
          { kind: 'rpm', name: 'nozck', architectures: ['x86_64'] },
        ],
      }),
    );
    server = await startServer({ REPOD_DISTRIBUTIONS: config });
    for (const file of first) {
      assert.equal((await uploadFile(server, 'zck', file)).status, 201, file);
      assert.equal((await uploadFile(server, 'nozck', file)).status, 201, file);
    }
  });
  after(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const get = async (path: string) => {
    const response = await fetch(`${server.url}${path}`);
    assert.equal(response.status, 200, path);
    return new Uint8Array(await response.arrayBuffer());
  };

  /** Checks every zck record of a view; returns each file's chunk checksums by type. */
  async function checkView(base: string): Promise<Map<string, string[]>> {
    const listed = records(new TextDecoder().decode(await get(`${base}repodata/repomd.xml`)));
    const chunks = new Map<string, string[]>();
    for (const type of ['primary', 'filelists', 'other']) {
      const gz = listed.find((r) => r.type === type)!;
      const zck = listed.find((r) => r.type === `${type}_zck`);
      assert.ok(zck, `${type}_zck is listed`);
      assert.match(zck.href, new RegExp(`^repodata/[0-9a-f]{64}-${type}\\.xml\\.zck$`));
      const bytes = await get(`${base}${zck.href}`);
      assert.equal(sha256(bytes), zck.fields.get('checksum'));
      assert.equal(String(bytes.length), zck.fields.get('size'));
      const file = join(dir, `${type}.xml.zck`);
      await writeFile(file, bytes);

      const shown = parseZckHeader(await run('zck_read_header', ['-c', '-f', file], { timeoutMs: 30_000 }));
      assert.equal(shown.fields.get('Header checksum'), zck.fields.get('header-checksum'));
      assert.equal(shown.fields.get('Header size'), zck.fields.get('header-size'));
      chunks.set(
        type,
        shown.chunks.map((c) => c.checksum),
      );

      const xml = await run('unzck', ['-c', file], { timeoutMs: 30_000 });
      assert.equal(sha256(xml), zck.fields.get('open-checksum'));
      assert.equal(String(Buffer.byteLength(xml)), zck.fields.get('open-size'));
      assert.equal(xml, gunzipSync(await get(`${base}${gz.href}`)).toString());
    }
    return chunks;
  }

  test('repomd.xml lists the zck files, which read back to the XML with the listed checksums', async () => {
    const chunks = await checkView('/repos/zck/x86_64/');
    // Empty dictionary, XML header, two packages, XML footer.
    assert.equal(chunks.get('primary')!.length, 5);
  });

  test('serves a zck file by ranges, as librepo reads it: the header, then several chunks in one multipart answer', async () => {
    const base = '/repos/zck/x86_64/';
    const zck = records(new TextDecoder().decode(await get(`${base}repodata/repomd.xml`))).find((r) => r.type === 'primary_zck')!;
    const whole = await get(`${base}${zck.href}`);
    const headerSize = Number(zck.fields.get('header-size'));
    const header = await fetch(`${server.url}${base}${zck.href}`, { headers: { range: `bytes=0-${headerSize - 1}` } });
    assert.equal(header.status, 206);
    assert.equal(header.headers.get('content-range'), `bytes 0-${headerSize - 1}/${whole.length}`);
    const headerBytes = new Uint8Array(await header.arrayBuffer());
    assert.deepEqual(headerBytes, whole.subarray(0, headerSize));

    const ranges = [
      [headerSize, headerSize + 9],
      [whole.length - 20, whole.length - 1],
    ] as const;
    const multi = await fetch(`${server.url}${base}${zck.href}`, { headers: { range: `bytes=${ranges.map(([a, b]) => `${a}-${b}`).join(',')}` } });
    assert.equal(multi.status, 206);
    const boundary = /^multipart\/byteranges; boundary=(.+)$/.exec(multi.headers.get('content-type') ?? '')?.[1];
    assert.ok(boundary, multi.headers.get('content-type') ?? '');
    const body = new Uint8Array(await multi.arrayBuffer());
    assert.equal(String(body.length), multi.headers.get('content-length'));
    const text = new TextDecoder('latin1').decode(body);
    for (const [a, b] of ranges) {
      const head = `Content-Range: bytes ${a}-${b}/${whole.length}\r\n\r\n`;
      const at = text.indexOf(head);
      assert.ok(at > 0, head);
      assert.deepEqual(body.subarray(at + head.length, at + head.length + (b - a + 1)), whole.subarray(a, b + 1));
    }
    assert.equal((await fetch(`${server.url}${base}${zck.href}`, { headers: { range: `bytes=${whole.length}-` } })).status, 416);
  });

  test('the hashed variant has them too', async () => {
    await checkView('/hashed/zck/x86_64/');
  });

  test('a distribution without the flag lists no zck file', async () => {
    const repomd = new TextDecoder().decode(await get('/repos/nozck/x86_64/repodata/repomd.xml'));
    assert.doesNotMatch(repomd, /_zck/);
  });

  test('after another publish the unchanged packages keep their chunks', async () => {
    const before = await checkView('/repos/zck/x86_64/');
    assert.equal((await uploadFile(server, 'zck', second)).status, 201);
    const after = await checkView('/repos/zck/x86_64/');
    for (const type of ['primary', 'filelists', 'other']) {
      const old = before.get(type)!;
      const now = after.get(type)!;
      assert.equal(now.length, old.length + 1);
      // The package chunks of the first publish (between the XML header and footer) are all still there.
      const kept = new Set(now);
      for (const c of old.slice(2, -1)) assert.ok(kept.has(c), `${type}: chunk ${c} kept`);
    }
  });
});

/**
 * `repod push` of a file above --parts-threshold goes through the API of uploads in parts (the real
 * bin against a real server whose access log shows which requests it got), and falls back to one
 * request on a server without that API.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseBytes } from '../../src/cli/push/parts-upload.ts';
import { selfBuilt } from '../helpers/packages.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';
import { repod } from './run-cli.ts';

const HELLO = await selfBuilt('hello-2.0-1.x86_64.rpm');
const ANIMANIACS = await selfBuilt('animaniacs-0.1-1.noarch.rpm');
const ARCHER = await selfBuilt('Archer-3.4.5-6.x86_64.rpm');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('repod push in parts (real bin, real server)', () => {
  let server: RunningServer;
  let env: Record<string, string>;
  let seen = 0;

  /** The requests the server logged since the last call: "METHOD path status". */
  const requests = () => {
    const lines = server.logs
      .join('')
      .split('\n')
      .filter((l) => l.includes('"message":"request"'))
      .map((l) => JSON.parse(l) as { method: string; path: string; status: number });
    const fresh = lines.slice(seen);
    seen = lines.length;
    return fresh.map((r) => `${r.method} ${r.path} ${r.status}`);
  };

  before(async () => {
    server = await startServer({ REPOD_ACCESS_LOG: '1' });
    env = { REPOD_URL: server.url, REPOD_TOKEN: server.adminToken };
  });
  after(async () => {
    await server?.stop();
    if (server?.storage.startsWith('file:')) await rm(server.storage.slice(5), { recursive: true, force: true });
  });

  it('sends a file above the threshold in parts and publishes it', async () => {
    const bytes = await readFile(HELLO);
    const parts = Math.ceil(bytes.length / 2048);
    assert.ok(parts >= 3, `${parts} parts`);
    requests();
    const r = await repod(['push', '--dist', 'rocky9', '--parts-threshold', '4K', '--part-size', '2K', '--json', HELLO], { env });
    assert.equal(r.code, 0, r.stderr);
    const doc = r.json();
    assert.equal(doc.status, 'published');
    assert.equal(doc.revision.number, 1);
    assert.deepEqual(
      doc.packages.map((p: any) => [p.package, p.sha256, p.status]),
      [['hello', sha256(bytes), 'published']],
    );
    const log = requests();
    const id = /^POST \/api\/v1\/uploads\/([^/]+)\/complete 201$/.exec(log.find((l) => l.endsWith('/complete 201')) ?? '')?.[1];
    assert.ok(id, log.join('\n'));
    assert.deepEqual(log, [
      'POST /api/v1/uploads 201',
      ...Array.from({ length: parts }, (_, i) => `PUT /api/v1/uploads/${id}/parts/${i + 1} 200`),
      `POST /api/v1/uploads/${id}/complete 201`,
    ]);
    const served = await fetch(`${server.url}/repos/rocky9/x86_64/Packages/hello-2.0-1.x86_64.rpm`);
    assert.equal(served.status, 200);
    assert.equal(sha256(new Uint8Array(await served.arrayBuffer())), sha256(bytes));
    assert.deepEqual(await uploadsLeft(), []);
  });

  it('--single in parts prints what POST /api/v1/upload answers; the text output names the revision', async () => {
    const single = await repod(['push', '--dist', 'rocky9', '--single', '--parts-threshold', '1K', '--part-size', '1K', '--json', ANIMANIACS], { env });
    assert.equal(single.code, 0, single.stderr);
    const doc = single.json();
    assert.deepEqual([doc.status, doc.package, doc.distribution, doc.revision.number], ['published', 'animaniacs', 'rocky9', 2]);
    assert.match(doc.message, /published to rocky9/);
    const log = requests();
    assert.ok(
      log.some((l) => /^PUT \/api\/v1\/uploads\/[^/]+\/parts\/3 200$/.test(l)),
      log.join('\n'),
    );

    const text = await repod(['push', '--dist', 'rocky9', '--parts-threshold', '1K', '--part-size', '4K', ARCHER], { env });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^rocky9: revision 3 /m);
    assert.match(text.stdout, /1 published, 0 unchanged/);
    const log2 = requests();
    assert.ok(
      log2.some((l) => /^POST \/api\/v1\/uploads\/[^/]+\/complete 201$/.test(l)),
      log2.join('\n'),
    );
  });

  it('a bulk push sends each big file alone in its batch in parts, one revision each', async () => {
    const r = await repod(['push', '--dist', 'centos-stream9', '--batch-files', '1', '--parts-threshold', '1K', '--part-size', '4K', '--json', HELLO, ANIMANIACS], { env });
    assert.equal(r.code, 0, r.stderr);
    const doc = r.json();
    assert.deepEqual(
      doc.revisions.map((rev: any) => rev.number),
      [1, 2],
    );
    assert.deepEqual(doc.packages.map((p: any) => p.package).sort(), ['animaniacs', 'hello']);
    assert.equal(requests().filter((l) => /^POST \/api\/v1\/uploads\/[^/]+\/complete 201$/.test(l)).length, 2);
  });

  it('sizes are read as people type them', () => {
    assert.deepEqual(['1048576', '64M', '64MiB', '2g', '1K', '1kb', 'lots', '-1', '1.5M'].map(parseBytes), [
      1048576,
      64 * 2 ** 20,
      64 * 2 ** 20,
      2 * 2 ** 30,
      1024,
      1024,
      null,
      null,
      null,
    ]);
  });

  it('below the threshold, or with removals, a file goes in one request as before', async () => {
    const r = await repod(['push', '--dist', 'fedora', '--json', HELLO], { env });
    assert.equal(r.code, 0, r.stderr);
    const removal = await repod(['push', '--dist', 'fedora', '--parts-threshold', '1K', '--remove', 'hello-2.0-1.x86_64', '--json', ANIMANIACS], { env });
    assert.equal(removal.code, 0, removal.stderr);
    const log = requests();
    assert.deepEqual(log, ['POST /api/v1/distributions/fedora/builds 201', 'POST /api/v1/distributions/fedora/builds 201']);
  });

  it('a refused package in parts: the server message, exit 1, nothing left on the server', async () => {
    const dir = server.storage.slice(5);
    const bad = join(dir, '..', `repod-parts-bad-${process.pid}.rpm`);
    await writeFile(bad, new Uint8Array(5000).fill(0x41));
    try {
      const r = await repod(['push', '--dist', 'rocky9', '--parts-threshold', '1K', '--part-size', '2K', bad], { env });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^repod: not a package: .*\(invalid_package\)\n$/);
      const log = requests();
      assert.ok(
        log.some((l) => /^POST \/api\/v1\/uploads\/[^/]+\/complete 422$/.test(l)),
        log.join('\n'),
      );
      assert.deepEqual(await uploadsLeft(), []);
    } finally {
      await rm(bad, { force: true });
    }
    const usage = await repod(['push', '--dist', 'rocky9', '--part-size', 'lots', HELLO], { env });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--part-size takes a size/);
    const tooBig = await repod(['push', '--dist', 'rocky9', '--parts-threshold', '1K', '--part-size', '200M', HELLO], { env });
    assert.equal(tooBig.code, 1);
    assert.match(tooBig.stderr, /part_size must be between/);
    assert.deepEqual(requests(), ['POST /api/v1/uploads 400']);
  });

  it('falls back to one request on a server without uploads in parts', async () => {
    // The same server behind a front that answers POST /api/v1/uploads as a server predating it would.
    const front: Server = createServer((req, res) => {
      if (req.method === 'POST' && req.url === '/api/v1/uploads') {
        req.resume();
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'error', error: 'not_found', message: 'no such path: /api/v1/uploads' }));
        return;
      }
      const upstream = request(`${server.url}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    try {
      const port = (front.address() as { port: number }).port;
      const r = await repod(['push', '--dist', 'almalinux9', '--parts-threshold', '1K', '--json', HELLO], { env: { ...env, REPOD_URL: `http://127.0.0.1:${port}` } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json().packages[0].package, 'hello');
      assert.deepEqual(requests(), ['POST /api/v1/distributions/almalinux9/builds 201']);
    } finally {
      await new Promise((resolve) => front.close(resolve));
    }
  });

  async function uploadsLeft(): Promise<string[]> {
    return readdir(join(server.storage.slice(5), 'uploads')).catch(() => []);
  }
});

/**
 * Invariant 6 with a real big package: a 1.5 GB RPM streams in and out of a running server whose
 * memory stays far below the package's size.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { buildLargeRpm } from '../helpers/rpmbuild.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';

const SIZE_MB = 1536;

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

describe('a 1.5 GB package', () => {
  let dir: string;
  let rpm: string;
  let server: RunningServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repod-large-'));
    rpm = await buildLargeRpm(dir, 'repod-big', SIZE_MB);
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
    if (server?.storage.startsWith('file:')) await rm(server.storage.slice(5), { recursive: true, force: true });
  });

  it('uploads and downloads with bounded server memory', async (t) => {
    const size = (await stat(rpm)).size;
    assert.ok(size > SIZE_MB * 1024 * 1024);
    const expected = createHash('sha256');
    // 1 MiB reads: with the default 64 KiB the client's own fetch upload, not the server, set the pace
    // (150 MB/s against 600 here: the server idled two thirds of a 20 s upload).
    const CHUNK = { highWaterMark: 1 << 20 };
    for await (const chunk of createReadStream(rpm, CHUNK)) expected.update(chunk);
    const sha256 = expected.digest('hex');

    const response = await fetch(`${server.url}/api/v1/upload?distribution=fedora`, {
      method: 'POST',
      body: Readable.toWeb(createReadStream(rpm, CHUNK)) as ReadableStream,
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/x-rpm' },
      duplex: 'half',
    } as RequestInit);
    const body = (await response.json()) as any;
    assert.equal(response.status, 201, JSON.stringify(body));
    assert.equal(body.sha256, sha256);
    assert.equal(body.size, size);

    const download = await fetch(`${server.url}/repos/fedora/x86_64/Packages/repod-big-1.0-1.noarch.rpm`);
    assert.equal(download.status, 200);
    const got = createHash('sha256');
    let received = 0;
    for await (const chunk of download.body as unknown as AsyncIterable<Uint8Array>) {
      got.update(chunk);
      received += chunk.length;
    }
    assert.equal(received, size);
    assert.equal(got.digest('hex'), sha256);

    const tail = await fetch(`${server.url}/repos/fedora/x86_64/Packages/repod-big-1.0-1.noarch.rpm`, { headers: { range: `bytes=${size - 10}-` } });
    assert.equal(tail.status, 206);
    assert.equal((await tail.arrayBuffer()).byteLength, 10);

    const peak = await peakRssMb(server.process.pid!);
    t.diagnostic(`server peak RSS ${peak.toFixed(0)} MB for a ${(size / 2 ** 20).toFixed(0)} MB package`);
    assert.ok(peak < 400, `server peak RSS ${peak.toFixed(0)} MB for a ${(size / 2 ** 20).toFixed(0)} MB package`);
  });
});

/**
 * Invariant 6 on the client side: `repod push` streams a big package; the CLI's own memory stays
 * far below the package's size. The peak resident set (VmHWM) of the bin's process is read from
 * /proc while it runs.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { selfBuilt } from '../helpers/packages.ts';
import { buildLargeRpm } from '../helpers/rpmbuild.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';
import { repod } from './run-cli.ts';

const SIZE_MB = 400;
/** Above what the same command needs for a 10 KB package (Node + tsx + undici: about 100 MB). */
const CLI_RSS_GROWTH_LIMIT_MB = 64;

describe(`repod push of a ${SIZE_MB} MB package`, () => {
  let dir: string;
  let rpm: string;
  let server: RunningServer;
  let env: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repod-cli-large-'));
    rpm = await buildLargeRpm(dir, 'repod-cli-big', SIZE_MB);
    server = await startServer();
    env = { REPOD_URL: server.url, REPOD_TOKEN: server.adminToken };
  });
  after(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (server?.storage.startsWith('file:')) await rm(server.storage.slice(5), { recursive: true, force: true });
  });

  it('streams it with bounded client memory', async (t) => {
    const size = (await stat(rpm)).size;
    assert.ok(size > SIZE_MB * 2 ** 20);
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(rpm)) hash.update(chunk);
    const small = await repod(['push', '--dist', 'fedora', '--json', await selfBuilt('hello-2.0-1.x86_64.rpm')], { env, sampleRss: true });
    assert.equal(small.code, 0, small.stderr);
    const started = Date.now();
    const r = await repod(['push', '--dist', 'fedora', '--json', rpm], { env, sampleRss: true, timeoutMs: 60_000 });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(r.code, 0, r.stderr);
    const doc = r.json();
    assert.equal(doc.packages[0].size, size);
    assert.equal(doc.packages[0].sha256, hash.digest('hex'));
    const message = `CLI peak RSS ${r.peakRssMb.toFixed(0)} MB pushing ${(size / 2 ** 20).toFixed(0)} MB in ${seconds.toFixed(1)} s (${small.peakRssMb.toFixed(0)} MB for a 10 KB package)`;
    t.diagnostic(message);
    assert.ok(r.peakRssMb > 0 && small.peakRssMb > 0, 'the peaks were sampled');
    assert.ok(r.peakRssMb < small.peakRssMb + CLI_RSS_GROWTH_LIMIT_MB, message);
  });

  it("a refused push of it ends promptly with the server's message", async () => {
    const started = Date.now();
    const r = await repod(['push', '--dist', 'fedora', rpm], { env: { ...env, REPOD_TOKEN: 'not-a-valid-token' }, timeoutMs: 60_000 });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'repod: invalid or expired token (unauthorized)\n');
    assert.ok(Date.now() - started < 30_000);
  });
});

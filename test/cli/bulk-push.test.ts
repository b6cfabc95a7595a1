/**
 * A bulk `repod push`: a directory of a few hundred packages goes out in bounded batches (one
 * revision each), a refused package in the middle is left out and reported while every other one
 * is published, and the summary counts them. The server's boundedness is asserted through what it
 * was sent: no request carried more files than the batch size, and each revision added at most
 * that many packages.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildManyRpms } from '../helpers/rpmbuild.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';
import { repod } from './run-cli.ts';

const COUNT = 240;
const BATCH = 100;

describe(`repod push of a directory of ${COUNT} packages`, () => {
  let dir: string;
  let server: RunningServer;
  let env: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repod-cli-bulk-'));
    const built = await buildManyRpms(COUNT, join(dir, 'build'), { prefix: 'bulk', perSpec: COUNT / 2 });
    // Two levels, to see the directory walked recursively; the build's own files stay out of it.
    await mkdir(join(dir, 'tree/sub'), { recursive: true });
    await Promise.all(built.map((p, i) => rename(p, join(dir, i % 2 ? 'tree/sub' : 'tree', basename(p)))));
    // Sorted between bulk-00119 and bulk-00120 of the top level: refused in the middle of a batch.
    await writeFile(join(dir, 'tree', 'bulk-00119z-broken.rpm'), new Uint8Array(4096).fill(7));
    await writeFile(join(dir, 'tree', 'README'), 'not a package\n');
    server = await startServer();
    env = { REPOD_URL: server.url, REPOD_TOKEN: server.adminToken };
  });
  after(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (server?.storage.startsWith('file:')) await rm(server.storage.slice(5), { recursive: true, force: true });
  });

  it('publishes every good package in batches and reports the refused one', async () => {
    const r = await repod(['push', '--dist', 'rocky9', '--json', '--batch-files', String(BATCH), join(dir, 'tree')], { env, timeoutMs: 120_000 });
    assert.equal(r.code, 1, 'a refused package makes the push fail, after the others are published');
    assert.match(r.stderr, /^repod: 1 package of 241 refused; the others are published$/m);
    const doc = r.json();
    assert.equal(doc.status, 'partial');
    assert.equal(doc.summary.files, COUNT + 1);
    assert.equal(doc.summary.published, COUNT);
    assert.equal(doc.summary.refused, 1);
    assert.deepEqual(
      doc.refused.map((x: { filename: string }) => x.filename),
      ['bulk-00119z-broken.rpm'],
    );
    assert.equal(doc.refused[0].status, 422);
    assert.ok(
      doc.requests.every((n: number) => n <= BATCH),
      `no request over ${BATCH} files: ${doc.requests}`,
    );
    assert.equal(new Set(doc.packages.map((p: { package: string }) => p.package)).size, COUNT);

    const revisions = (await (await fetch(`${server.url}/api/v1/distributions/rocky9/revisions`)).json()) as Array<{ number: number; packageCount: number; changes?: unknown }>;
    const list = Array.isArray(revisions) ? revisions : (revisions as { revisions: typeof revisions }).revisions;
    assert.equal(list[0].packageCount, COUNT, 'the current revision holds every good package');
    assert.equal(doc.summary.revisions.length, list.filter((x) => x.packageCount > 0).length);
    let previous = 0;
    for (const rev of [...list].reverse()) {
      assert.ok(rev.packageCount - previous <= BATCH, `revision ${rev.number} added at most ${BATCH} packages`);
      previous = rev.packageCount;
    }
  });

  it('prints a summary: published, unchanged, skipped, refused, revisions', async () => {
    const r = await repod(['push', '--dist', 'rocky9', '--batch-files', String(BATCH), join(dir, 'tree')], { env, timeoutMs: 120_000 });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^rocky9: 241 files in 3 batches of at most 100; \S+ \S+ sent$/m, `stderr: ${r.stderr}`);
    assert.match(r.stdout, /^refused:\n {2}bulk-00119z-broken\.rpm: .+ \(\w+\)$/m);
    assert.match(r.stdout, /^0 published, 240 unchanged, 0 skipped, 1 refused; 0 revisions; \d+\.\d s$/m);
  });

  it('a push that fits one batch stays one change: one revision, or nothing', async () => {
    const r = await repod(['push', '--dist', 'fedora', join(dir, 'tree')], { env, timeoutMs: 120_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^repod: .+ \(\w+\)$/m);
    const revisions = (await (await fetch(`${server.url}/api/v1/distributions/fedora/revisions`)).json()) as unknown;
    const list = Array.isArray(revisions) ? revisions : (revisions as { revisions: Array<{ packageCount: number }> }).revisions;
    assert.ok(
      list.every((x: { packageCount: number }) => x.packageCount === 0),
      'nothing published',
    );
  });

  it('refuses --replace-names when the push needs several batches', async () => {
    const r = await repod(['push', '--dist', 'rocky9', '--batch-files', '10', '--replace-names', 'bulk-00001', join(dir, 'tree/sub')], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--replace-names makes one change, but 120 files need 12 requests/);
  });
});

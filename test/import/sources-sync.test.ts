/**
 * Import sources, index sync as a job streamed as Server-Sent Events, and the catalog search,
 * through the HTTP API of a core in process over a real file store, against real upstreams on
 * 127.0.0.1: an apt-ftparchive archive with signed InRelease/Release.gpg and a createrepo_c
 * repository with a signed repomd.xml. Two cores on one store stand for two servers.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Hono } from 'hono';
import { layout } from '../../src/bucket/layout.ts';
import type { Core } from '../../src/core/core.ts';
import { createCore } from '../../src/core/create-core.ts';
import { createApp } from '../../src/http/app.ts';
import { nodeCapabilities } from '../../src/runtime/node-core.ts';
import { putJson } from '../../src/storage/objects.ts';
import { openStore } from '../../src/storage/open-store.ts';
import { type StaticServer, serveDirectory, startUpstreamApt, type UpstreamApt } from '../helpers/upstream-apt.ts';
import { createUpstreamRpmRepo, type UpstreamRpmRepo } from '../helpers/upstream-rpm.ts';

const ADMIN = 'import-sync-admin-token-0123456789';
const FIRST = '{"status":"syncing","count":0,"message":"Fetching index..."}';
const BOOKWORM = '/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4';

interface SseEvent {
  status: string;
  count: number;
  message: string;
}

/** The `data:` lines of an event stream, as curl shows them and as Repod's users parse them. */
function dataLines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => l.slice('data: '.length));
}

async function makeCore(dataDir: string, allowed?: string): Promise<{ core: Core; app: Hono }> {
  const store = await openStore(`file:${dataDir}`);
  const { core } = await createCore(
    nodeCapabilities(store, () => undefined),
    {
      storeName: `file:${dataDir}`,
      adminToken: ADMIN,
      securityGate: false,
      ...(allowed ? { outboundAllowedHosts: allowed } : {}),
    },
  );
  return { core, app: createApp(core) };
}

describe('import: sources, sync jobs and the catalog', { timeout: 120_000 }, () => {
  let dataDir: string;
  let core: Core;
  let app: Hono;
  let app2: Hono;
  let apt: UpstreamApt;
  let rpm: UpstreamRpmRepo;
  let aptId: number;
  let rpmId: number;

  const call = (method: string, path: string, body?: unknown, on: Hono = app) =>
    on.request(path, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const json = async (method: string, path: string, body?: unknown, on: Hono = app) => {
    const res = await call(method, path, body, on);
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const sync = async (id: number, path = `/api/v1/import/sources/${id}/sync`, on: Hono = app) => {
    const res = await call('POST', path, undefined, on);
    assert.equal(res.status, 200, await res.clone().text());
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const lines = dataLines(await res.text());
    return { job: res.headers.get('x-repod-job')!, lines, events: lines.map((l) => JSON.parse(l) as SseEvent) };
  };
  const search = async (query: string) => (await json('GET', `/api/v1/import/catalog?${query}`)).body.packages as Array<Record<string, any>>;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'repod-import-'));
    ({ core, app } = await makeCore(dataDir, '127.0.0.1'));
    ({ app: app2 } = await makeCore(dataDir, '127.0.0.1'));
    [apt, rpm] = await Promise.all([
      startUpstreamApt({
        packages: [
          { name: 'hello', version: '1.0-1', description: 'says hello', depends: 'libc6 (>= 2.34)' },
          { name: 'hello-doc', version: '1.0-1', arch: 'all', description: 'docs of hello' },
          { name: 'othello', version: '3.0', description: 'a game' },
        ],
      }),
      createUpstreamRpmRepo({
        specs: [
          { name: 'tool', version: '1.2', release: '3', summary: 'a tool', requires: ['libfoo'] },
          { name: 'libfoo', version: '0.9', release: '1', epoch: 2, summary: 'the foo library', arch: 'noarch' },
        ],
      }),
    ]);
  });

  after(async () => {
    await Promise.all([apt?.close(), rpm?.close()]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates, reads, changes and lists sources (numeric ids, validation, roles)', async () => {
    const created = await json('POST', '/api/v1/import/sources', { name: 'test apt', url: apt.url, kind: 'apt', suite: apt.suite, key: apt.publicKey });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    aptId = created.body.id;
    assert.equal(typeof aptId, 'number');
    assert.deepEqual(created.body.components, ['main']);
    assert.deepEqual(created.body.architectures, ['amd64']);
    const rpmCreated = await json('POST', '/api/v1/import/sources', { name: 'test rpm', url: rpm.url, kind: 'rpm', key: rpm.publicKey });
    assert.equal(rpmCreated.status, 201, JSON.stringify(rpmCreated.body));
    rpmId = rpmCreated.body.id;
    assert.equal(rpmId, aptId + 1);

    assert.equal((await json('GET', `/api/v1/import/sources/${aptId}`)).body.url, `${apt.url}/`);
    const listed = (await json('GET', '/api/v1/import/sources')).body.sources as Array<{ id: number }>;
    assert.deepEqual(
      listed.map((s) => s.id),
      [aptId, rpmId],
    );
    const patched = await json('PATCH', `/api/v1/import/sources/${rpmId}`, { schedule: '02:00' });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.schedule, '02:00');

    for (const [body, pattern] of [
      [{ name: 'x', url: apt.url, kind: 'apt' }, /suite/],
      [{ name: 'x', url: 'ftp://example.org/', kind: 'rpm' }, /http or https/],
      [{ name: 'x', url: 'https://example.org/', kind: 'yum' }, /kind/],
      [{ name: 'x', url: 'https://example.org/', kind: 'rpm', key: 'not a key' }, /armored/],
    ] as const) {
      const res = await json('POST', '/api/v1/import/sources', body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.match(res.body.message, pattern);
    }
    const anonymous = await app.request('/api/v1/import/sources', { method: 'POST', body: '{}' });
    assert.equal(anonymous.status, 401);
    assert.equal((await json('GET', '/api/v1/import/sources/999')).status, 404);

    const doomed = await json('POST', '/api/v1/import/sources', { name: 'doomed', url: 'https://example.org/repo/', kind: 'rpm' });
    assert.equal((await json('DELETE', `/api/v1/import/sources/${doomed.body.id}`)).status, 200);
    assert.equal((await json('GET', `/api/v1/import/sources/${doomed.body.id}`)).status, 404);
  });

  it('refuses a private address unless the allow list names it', async () => {
    const other = mkdtempSync(join(tmpdir(), 'repod-import-strict-'));
    try {
      const strict = await makeCore(other);
      const res = await strict.app.request('/api/v1/import/sources', {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'private', url: `${apt.url}/`, kind: 'apt', suite: 'stable' }),
      });
      assert.equal(res.status, 400);
      const body = (await res.json()) as { error: string; message: string };
      assert.equal(body.error, 'outbound_refused');
      assert.match(body.message, /REPOD_OUTBOUND_ALLOWED_HOSTS/);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('syncs an APT source as an event stream and fills the catalog', async () => {
    const { lines, events } = await sync(aptId, `/import/sources/${aptId}/sync`);
    assert.equal(lines[0], FIRST);
    assert.deepEqual(events.at(-1), { status: 'done', count: 3, message: 'Index updated' });
    for (const e of events.slice(0, -1)) assert.equal(e.status, 'syncing');
    for (let i = 1; i < events.length; i++) assert.ok(events[i]!.count >= events[i - 1]!.count, 'counts only grow');

    const hello = await search(`q=hello&source_id=${aptId}`);
    assert.deepEqual(
      hello.map((p) => p.name),
      ['hello', 'hello-doc', 'othello'],
      'exact, then prefix, then substring',
    );
    const first = hello[0]!;
    assert.equal(first.version, '1.0-1');
    assert.equal(first.architecture, 'amd64');
    assert.equal(first.description, 'says hello');
    assert.ok(first.size > 0);
    assert.deepEqual(first.source, { id: aptId, name: 'test apt' });
    assert.ok(!Number.isNaN(Date.parse(first.last_sync)));
    assert.deepEqual(
      (await search('q=hello&arch=arm64')).map((p) => p.name),
      ['hello-doc'],
      'arch keeps architecture-independent packages',
    );

    const versions = await core.catalog.versions(aptId, 'hello');
    assert.equal(versions.length, 1);
    assert.equal(versions[0]!.url, `${apt.url}/${versions[0]!.filename}`);
    assert.equal(versions[0]!.depends, 'libc6 (>= 2.34)');
    assert.equal(versions[0]!.component, 'main');
    assert.match(versions[0]!.sha256, /^[0-9a-f]{64}$/);
    const source = (await json('GET', `/api/v1/import/sources/${aptId}`)).body;
    assert.equal(source.lastSync.count, 3);
  });

  it('syncs an RPM source (signed repomd) with rpm versions and dependencies', async () => {
    const { lines, events } = await sync(rpmId);
    assert.equal(lines[0], FIRST);
    assert.deepEqual(events.at(-1), { status: 'done', count: 2, message: 'Index updated' });
    const found = await search(`q=foo&source_id=${rpmId}`);
    assert.equal(found.length, 1);
    assert.equal(found[0]!.name, 'libfoo');
    assert.equal(found[0]!.version, '2:0.9-1');
    const tool = (await core.catalog.versions(rpmId, 'tool'))[0]!;
    assert.equal(tool.version, '1.2-3');
    assert.equal(tool.kind, 'rpm');
    assert.ok(tool.requires?.some((r) => r.name === 'libfoo'));
    assert.ok(tool.url.startsWith(rpm.url) && tool.url.endsWith('.rpm'));
    assert.equal((await core.catalog.packages(rpmId)).length, 2);
    // Without source_id: both sources answer.
    assert.ok((await search('q=o')).some((p) => p.source.id === rpmId) && (await search('q=o')).some((p) => p.source.id === aptId));
  });

  it('re-syncs only what changed: unchanged indexes are skipped and said so', async () => {
    const requestsBefore = rpm.requests.length;
    const { events } = await sync(rpmId);
    assert.deepEqual(events.at(-1), { status: 'done', count: 2, message: 'Index updated' });
    assert.ok(
      events.some((e) => /unchanged since the last sync.*skipped/.test(e.message)),
      JSON.stringify(events),
    );
    assert.ok(!rpm.requests.slice(requestsBefore).some((r) => r.includes('primary')), 'primary is not downloaded again');

    const aptAgain = await sync(aptId);
    assert.ok(aptAgain.events.some((e) => /main\/binary-amd64: unchanged/.test(e.message)));
    assert.equal(aptAgain.events.at(-1)!.count, 3);
  });

  it('keeps the catalog as it was when an index does not match its Release, and shows the new version once it does', async () => {
    apt.add([{ name: 'hello', version: '2.0-1', description: 'says hello louder' }]);
    await apt.publish();
    // The new Release is signed and names the new index; the index served is the old one.
    const stale = readFileSync(apt.distPath('main/binary-amd64/Packages.xz'));
    const path = `/dists/${apt.suite}/main/binary-amd64/Packages.xz`;
    const corrupt = Buffer.from(stale);
    corrupt[corrupt.length - 20] ^= 0xff;
    apt.override(path, (_req, res) => res.writeHead(200, { 'content-length': String(corrupt.length) }).end(corrupt));
    try {
      const { events } = await sync(aptId);
      const last = events.at(-1)!;
      assert.equal(last.status, 'error');
      assert.match(last.message, /differs from the Release/);
    } finally {
      apt.override(path, null);
    }
    assert.deepEqual(
      (await core.catalog.versions(aptId, 'hello')).map((p) => p.version),
      ['1.0-1'],
      'the failed sync left the catalog as it was',
    );

    const { events } = await sync(aptId);
    assert.deepEqual(events.at(-1), { status: 'done', count: 4, message: 'Index updated' });
    const hello = (await search(`q=hello&source_id=${aptId}`)).filter((p) => p.name === 'hello');
    assert.deepEqual(
      hello.map((p) => p.version),
      ['2.0-1', '1.0-1'],
      'newest version first',
    );
  });

  it('answers each bad upstream with an error event and leaves the catalog alone', async () => {
    const countBefore = (await core.catalog.packages(rpmId)).length;
    // A signature by another key.
    const wrongKey = await json('POST', '/api/v1/import/sources', { name: 'wrong key', url: apt.url, kind: 'apt', suite: apt.suite, key: rpm.publicKey });
    const signed = await sync(wrongKey.body.id);
    assert.equal(signed.lines[0], FIRST);
    assert.equal(signed.events.at(-1)!.status, 'error');
    assert.match(signed.events.at(-1)!.message, /signature|verif/i);
    assert.equal((await core.catalog.packages(wrongKey.body.id)).length, 0);

    // An unreachable upstream (a port nobody listens on).
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const gone = await json('POST', '/api/v1/import/sources', { name: 'gone', url: `http://127.0.0.1:${port}/repo/`, kind: 'rpm' });
    const unreachable = await sync(gone.body.id);
    assert.equal(unreachable.events.at(-1)!.status, 'error');
    assert.match(unreachable.events.at(-1)!.message, new RegExp(`127\\.0\\.0\\.1:${port}`));

    // An endless repomd.xml: the reader's limit stops it.
    rpm.override((req, res) => {
      if (!req.url?.endsWith('/repomd.xml')) return false;
      res.writeHead(200, { 'content-type': 'application/xml' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (res.write(chunk)) {
          /* keep writing */
        }
      };
      res.on('drain', pump);
      res.on('error', () => undefined);
      pump();
      return true;
    });
    try {
      const endless = await sync(rpmId);
      assert.equal(endless.events.at(-1)!.status, 'error');
      assert.match(endless.events.at(-1)!.message, /larger than/);
    } finally {
      rpm.override(null);
    }
    assert.equal((await core.catalog.packages(rpmId)).length, countBefore);
    const rpmSource = (await json('GET', `/api/v1/import/sources/${rpmId}`)).body;
    assert.ok(rpmSource.lastSync, 'the last good sync is still recorded');
  });

  it('runs one sync per source across servers (409 naming the job), lists jobs, replays events, cancels', async () => {
    // Hold the Release so the first sync stays running.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const inRelease = `/dists/${apt.suite}/InRelease`;
    apt.override(inRelease, (_req, res) => {
      void held.then(() => res.writeHead(503).end());
    });
    try {
      const res = await call('POST', `/api/v1/import/sources/${aptId}/sync`);
      assert.equal(res.status, 200);
      const jobId = res.headers.get('x-repod-job')!;
      const reader = res.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      assert.equal(dataLines(first)[0], FIRST);

      const second = await json('POST', `/api/v1/import/sources/${aptId}/sync`, undefined, app2);
      assert.equal(second.status, 409, JSON.stringify(second.body));
      assert.equal(second.body.error, 'sync_running');
      assert.equal(second.body.details.job, jobId);
      assert.match(second.body.message, new RegExp(jobId));

      const running = await json('GET', `/api/v1/import/jobs/${jobId}`, undefined, app2);
      assert.equal(running.body.status, 'running');

      const cancelled = await json('POST', `/api/v1/import/jobs/${jobId}/cancel`);
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      assert.equal(cancelled.body.status, 'cancelled');
      await reader.cancel();
      release();

      const detail = await json('GET', `/api/v1/import/jobs/${jobId}`, undefined, app2);
      assert.equal(detail.body.status, 'cancelled');
      assert.equal(detail.body.events.at(-1).status, 'error');
      assert.match(detail.body.events.at(-1).message, /cancelled/i);
      assert.equal((await json('POST', `/api/v1/import/jobs/${jobId}/cancel`)).status, 409, 'an ended job cannot be cancelled');

      const jobs = (await json('GET', '/api/v1/import/jobs')).body.jobs as Array<{ id: string; started: string }>;
      assert.equal(jobs[0]!.id, jobId, 'newest first');
      for (let i = 1; i < jobs.length; i++) assert.ok(jobs[i - 1]!.id > jobs[i]!.id);
    } finally {
      apt.override(inRelease, null);
      release();
    }
    assert.equal((await core.catalog.versions(aptId, 'hello')).length, 2, 'the cancelled sync changed nothing');

    // Replay of a finished job from event 1, from the other server.
    const { job, lines } = await sync(aptId);
    const replay = await app2.request(`/api/v1/import/jobs/${job}/events?from=1`, { headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal(replay.status, 200);
    assert.deepEqual(dataLines(await replay.text()), lines.slice(1));
    assert.equal((await json('GET', '/api/v1/import/jobs/20000101T000000.000Z-nope')).status, 404);
  });

  it('takes over a lease whose holder died', async () => {
    await putJson(core.caps.store, layout.importSyncLease(rpmId), {
      format: 1,
      sourceId: rpmId,
      holder: 'dead',
      job: '20000101T000000.000Z-dead',
      expires: new Date(Date.now() - 1000).toISOString(),
    });
    const { events } = await sync(rpmId);
    assert.equal(events.at(-1)!.status, 'done');
    await putJson(core.caps.store, layout.importSyncLease(rpmId), {
      format: 1,
      sourceId: rpmId,
      holder: 'alive',
      job: '20000101T000000.000Z-alive',
      expires: new Date(Date.now() + 60_000).toISOString(),
    });
    const busy = await json('POST', `/api/v1/import/sources/${rpmId}/sync`);
    assert.equal(busy.status, 409);
    await core.caps.store.delete(layout.importSyncLease(rpmId));
  });

  it("syncs Debian bookworm's main index (63,440 stanzas) and searches it quickly", {
    skip: !existsSync(BOOKWORM) && 'no bookworm Packages under /var/lib/apt/lists',
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'repod-bookworm-'));
    let server: StaticServer | undefined;
    try {
      const bin = join(dir, 'dists', 'bookworm', 'main', 'binary-amd64');
      mkdirSync(bin, { recursive: true });
      execFileSync('sh', ['-c', `lz4 -dc "$0" | gzip -1 > "$1"`, BOOKWORM, join(bin, 'Packages.gz')], { timeout: 60_000 });
      const gz = readFileSync(join(bin, 'Packages.gz'));
      const sha = createHash('sha256').update(gz).digest('hex');
      writeFileSync(
        join(dir, 'dists', 'bookworm', 'Release'),
        `Suite: bookworm\nCodename: bookworm\nArchitectures: amd64\nComponents: main\nSHA256:\n ${sha} ${statSync(join(bin, 'Packages.gz')).size} main/binary-amd64/Packages.gz\n`,
      );
      server = await serveDirectory(dir);
      const created = await json('POST', '/api/v1/import/sources', { name: 'bookworm', url: server.url, kind: 'apt', suite: 'bookworm' });
      const started = performance.now();
      const { events } = await sync(created.body.id);
      const syncMs = performance.now() - started;
      const done = events.at(-1)!;
      assert.equal(done.status, 'done', done.message);
      assert.ok(done.count > 60_000, `count ${done.count}`);
      assert.ok(events.filter((e) => e.status === 'syncing').length > 60, 'progress about every 1000 entries');
      const id = created.body.id as number;
      await core.catalog.search({ sourceId: id, q: 'warm' });
      const timings: Record<string, number> = {};
      for (const q of ['python3', 'lib', 'ssl', 'zzzz-nothing', '']) {
        const t0 = performance.now();
        const found = await core.catalog.search({ sourceId: id, q, limit: 50 });
        timings[q || '(empty)'] = Math.round((performance.now() - t0) * 100) / 100;
        if (q === 'python3') assert.equal(found[0]!.name, 'python3');
      }
      const t0 = performance.now();
      const viaHttp = await search(`q=openssl&source_id=${id}`);
      const httpMs = performance.now() - t0;
      assert.equal(viaHttp[0]!.name, 'openssl');
      console.log(`bookworm main: ${done.count} entries synced in ${Math.round(syncMs)} ms; search ms ${JSON.stringify(timings)}; HTTP search ${httpMs.toFixed(1)} ms`);
    } finally {
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

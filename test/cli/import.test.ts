/**
 * `repod import` through the real bin against a real server and a real upstream (a createrepo_c
 * repository with a signed repomd.xml on 127.0.0.1): add a source, sync it (progress printed as it
 * comes), search the catalog, import by name with dependencies; a sync that fails (a key that does
 * not verify) exits 1, as a cron job needs. Then the server's own scheduler: a source whose daily
 * time passed is synced by the server at its next tick, once.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createPackagerKey, type PackagerKey } from '../helpers/gpg.ts';
import { hasCommand } from '../helpers/run.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';
import { createUpstreamRpmRepo, type UpstreamRpmRepo } from '../helpers/upstream-rpm.ts';
import { repod } from './run-cli.ts';

const has = hasCommand;
const missing = ['rpmbuild', 'createrepo_c', 'gpg'].filter((t) => !has(t));

describe('repod import (real bin, real server, real upstream)', { skip: missing.length ? `missing ${missing.join(', ')}` : false, timeout: 240_000 }, () => {
  let server: RunningServer;
  let upstream: UpstreamRpmRepo;
  let otherKey: PackagerKey;
  let dir: string;
  let env: Record<string, string>;
  let sourceId: number;

  before(async () => {
    [upstream, otherKey] = await Promise.all([
      createUpstreamRpmRepo({
        specs: [
          { name: 'cli-lib', version: '1.0', release: '1', arch: 'noarch', summary: 'the cli library', files: [{ path: '/usr/share/cli-lib/VERSION', content: '1.0\n' }] },
          {
            name: 'cli-app',
            version: '2.0',
            release: '1',
            arch: 'noarch',
            summary: 'the cli app',
            requires: ['cli-lib'],
            files: [{ path: '/usr/share/cli-app/README', content: 'app\n' }],
          },
        ],
      }),
      createPackagerKey('repod cli import other key'),
    ]);
    dir = await mkdtemp(join(tmpdir(), 'repod-cli-import-'));
    await writeFile(join(dir, 'upstream.asc'), upstream.publicKey);
    server = await startServer({ REPOD_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1' });
    env = { REPOD_URL: server.url, REPOD_TOKEN: server.adminToken };
  });
  after(async () => {
    await server?.stop();
    await upstream?.close();
    if (server?.storage.startsWith('file:')) await rm(server.storage.slice(5), { recursive: true, force: true });
    for (const d of [dir, otherKey?.home]) if (d) await rm(d, { recursive: true, force: true });
  });

  it('adds a source and lists it', async () => {
    const added = await repod(['import', 'add-source', '--name', 'cli-upstream', '--upstream', upstream.url, '--kind', 'rpm', '--key', join(dir, 'upstream.asc'), '--json'], {
      env,
    });
    assert.equal(added.code, 0, added.stderr);
    const doc = added.json();
    assert.equal(doc.name, 'cli-upstream');
    assert.equal(doc.kind, 'rpm');
    assert.match(doc.key, /BEGIN PGP PUBLIC KEY BLOCK/, 'the key file was sent');
    sourceId = doc.id;
    const listed = await repod(['import', 'sources'], { env });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^ID +NAME +KIND +URL/);
    assert.match(listed.stdout, new RegExp(`^${sourceId} +cli-upstream +rpm +${upstream.url.replace(/[.]/g, '\\.')} .* never`, 'm'));
    const usage = await repod(['import', 'add-source', '--name', 'x', '--upstream', upstream.url, '--kind', 'deb'], { env });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--kind takes apt or rpm/);
    const refused = await repod(['import', 'add-source', '--name', 'y', '--upstream', upstream.url, '--kind', 'rpm', '--schedule', '25:00'], { env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^repod: schedule must be .*\(invalid_source\)\n$/);
  });

  it('sync prints the progress lines and exits 0 when done; by name too', async () => {
    const r = await repod(['import', 'sync', String(sourceId)], { env });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], 'syncing 0 Fetching index...');
    assert.equal(lines.at(-1), 'done 2 Index updated');
    const json = await repod(['import', 'sync', 'cli-upstream', '--json'], { env });
    assert.equal(json.code, 0, json.stderr);
    const doc = json.json();
    assert.equal(doc.status, 'done');
    assert.equal(doc.count, 2);
    assert.equal(doc.source_id, sourceId);
    assert.match(doc.job, /^\d{8}T/);
    assert.deepEqual(doc.events[0], { status: 'syncing', count: 0, message: 'Fetching index...' });
    const unknown = await repod(['import', 'sync', 'no-such-source'], { env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no import source named "no-such-source"/);
  });

  it('search finds packages in the catalog', async () => {
    const r = await repod(['import', 'search', 'cli-', '--source', 'cli-upstream'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^NAME +VERSION +ARCH +SIZE +SOURCE +DESCRIPTION\n/);
    assert.match(r.stdout, /^cli-app +2\.0-1 +noarch +\S+ \S+ +cli-upstream /m);
    assert.match(r.stdout, /^cli-lib +1\.0-1 +noarch /m);
    const json = await repod(['import', 'search', 'lib', '--source', String(sourceId), '--arch', 'noarch', '--json'], { env });
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(
      json.json().packages.map((p: any) => [p.name, p.version, p.source_id]),
      [['cli-lib', '1.0-1', sourceId]],
    );
    const none = await repod(['import', 'search', 'zzz-nothing'], { env });
    assert.equal(none.code, 0);
    assert.equal(none.stdout, 'no package matches "zzz-nothing"\n');
  });

  it('package imports by name with its dependencies, as one revision', async () => {
    const r = await repod(['import', 'package', 'cli-app=2.0-1', '--source', 'cli-upstream', '--dist', 'rocky9', '--with-dependencies'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^imported into rocky9: revision 1 \(\S+\)\n/);
    assert.match(r.stdout, /^  published: cli-app 2\.0-1 noarch$/m);
    assert.match(r.stdout, /^  published: cli-lib 1\.0-1 noarch$/m);
    const repomd = await fetch(`${server.url}/repos/rocky9/x86_64/repodata/repomd.xml`);
    assert.equal(repomd.status, 200);
    const again = await repod(['import', 'package', 'cli-lib', '--source', String(sourceId), '--dist', 'rocky9', '--json'], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.json().status, 'unchanged');
    const usage = await repod(['import', 'package', 'cli-lib', '--source', String(sourceId)], { env });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--dist is required/);
    const gone = await repod(['import', 'package', 'not-there', '--source', String(sourceId), '--dist', 'rocky9'], { env });
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^repod: .*\(\w+\)\n$/);
  });

  it('sync exits 1 with the reason when the key does not verify the upstream', async () => {
    const badKey = join(dir, 'other.asc');
    await writeFile(badKey, await readFile(otherKey.publicKeyPath, 'utf8'));
    const added = await repod(['import', 'add-source', '--name', 'cli-bad-key', '--upstream', upstream.url, '--kind', 'rpm', '--key', badKey], { env });
    assert.equal(added.code, 0, added.stderr);
    const id = /^added source (\d+) "cli-bad-key" \(rpm /.exec(added.stdout)?.[1];
    assert.ok(id, added.stdout);
    const r = await repod(['import', 'sync', 'cli-bad-key'], { env });
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /^syncing 0 Fetching index\.\.\.\n/);
    assert.match(r.stdout, /\nerror 0 .+\n$/);
    assert.match(r.stderr, /^repod: .+ \(\w+\)\n$/);
    assert.doesNotMatch(r.stderr, /sync_failed/, 'the job names the actual error code');
    const json = await repod(['import', 'sync', id, '--json'], { env });
    assert.equal(json.code, 1);
    assert.equal(json.json().status, 'error');
  });

  it('the server syncs a scheduled source whose time passed at its next tick, once', async () => {
    const added = await repod(
      ['import', 'add-source', '--name', 'cli-scheduled', '--upstream', upstream.url, '--kind', 'rpm', '--key', join(dir, 'upstream.asc'), '--schedule', '00:00', '--json'],
      {
        env,
      },
    );
    assert.equal(added.code, 0, added.stderr);
    const id: number = added.json().id;
    // Stands for a source created two days ago: stop the server, date its creation back, start again.
    await server.stop();
    const file = join(server.storage.slice('file:'.length), 'import', 'sources', `${id}.json`);
    const stored = JSON.parse(await readFile(file, 'utf8'));
    stored.created = new Date(Date.now() - 2 * 24 * 3600_000).toISOString();
    await writeFile(file, JSON.stringify(stored));
    const storage = server.storage;
    server = await startServer({ REPOD_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', REPOD_STORAGE: storage });
    env = { REPOD_URL: server.url, REPOD_TOKEN: server.adminToken };
    const deadline = Date.now() + 30_000;
    let source: any;
    while (Date.now() < deadline) {
      const listed = await repod(['import', 'sources', '--json'], { env });
      source = listed.json().sources.find((s: any) => s.id === id);
      if (source?.lastSync) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(source?.lastSync?.count, 2, JSON.stringify(source));
    const jobs = (await (await fetch(`${server.url}/api/v1/import/jobs`, { headers: { authorization: `Bearer ${server.adminToken}` } })).json()) as { jobs: any[] };
    assert.deepEqual(
      jobs.jobs.filter((j) => j.sourceId === id).map((j) => [j.actor, j.status]),
      [['schedule', 'done']],
    );
  });
});

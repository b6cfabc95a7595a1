/**
 * Mirror distributions bound to import sources (issue 12, on-demand mirrors): real upstreams (a
 * createrepo_c repository with a signed repomd.xml, an apt-ftparchive one with a signed InRelease)
 * served on 127.0.0.1 with request logs; each sync publishes a revision through the filters;
 * real dnf and apt-get install from the mirrors, and the upstream logs show each package fetched
 * once; concurrent first requests download once; history, pinning and rollback of upstream
 * snapshots; and the bad upstreams (changed bytes, a package gone, a bad signature) change nothing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { layout } from '../../src/bucket/layout.ts';
import type { Revision } from '../../src/bucket/revision.ts';
import { FileStore } from '../../src/storage/file.ts';
import { getJson } from '../../src/storage/objects.ts';
import { aptClient } from '../helpers/apt-client.ts';
import { dnfClient } from '../helpers/rpm-clients.ts';
import { hasCommand } from '../helpers/run.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';
import { startUpstreamApt, type UpstreamApt } from '../helpers/upstream-apt.ts';
import { createUpstreamRpmRepo, type UpstreamRpmRepo } from '../helpers/upstream-rpm.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const missing = ['rpmbuild', 'createrepo_c', 'dpkg-deb', 'apt-ftparchive', 'gpg'].filter((t) => !hasCommand(t));
const dnfSkip = hasCommand('dnf') ? false : 'dnf is not installed';
const aptSkip = hasCommand('apt-get') ? false : 'apt-get is not installed';

const DISTRIBUTIONS = {
  distributions: [
    {
      kind: 'rpm',
      name: 'mirror-el',
      architectures: ['x86_64'],
      mirror: { source: 'up-rpm', policy: 'on_demand', filters: { include: ['mir-*'], exclude: ['mir-extra'], keep_latest: 1 } },
    },
    // Bound to the same source: only what its filter takes, downloaded during the sync.
    { kind: 'rpm', name: 'mirror-el-extra', architectures: ['x86_64'], mirror: { source: 'up-rpm', policy: 'immediate', filters: { include: ['mir-extra'] } } },
    { kind: 'apt', name: 'mirror-deb', suite: 'mirror-deb', components: ['main'], architectures: ['amd64'], mirror: { source: 'up-apt', policy: 'on_demand' } },
  ],
};

describe('mirror distributions from real upstreams', { skip: missing.length ? `missing ${missing.join(', ')}` : false }, () => {
  let server: RunningServer;
  let rpmUp: UpstreamRpmRepo;
  let aptUp: UpstreamApt;
  let rpmSource: number;
  let aptSource: number;
  let configDir: string;
  let receiver: WebhookReceiver;
  const cleanup: string[] = [];

  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: r.status, body: json };
  };
  const sync = async (id: number) => {
    const r = await fetch(`${server.url}/api/v1/import/sources/${id}/sync`, { method: 'POST', headers: { authorization: `Bearer ${server.adminToken}` } });
    return (await r.text())
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => JSON.parse(l.slice(5).trim()) as { status: string; count: number; message: string });
  };
  const revisionOf = async (dist: string) => (await api('GET', '/api/v1/distributions')).body.distributions.find((d: { name: string }) => d.name === dist).revision?.number ?? 0;
  const primary = async (base: string) => {
    const repomd = await (await fetch(`${base}/repodata/repomd.xml`)).text();
    const href = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)![1];
    const gz = new Uint8Array(await (await fetch(`${base}/${href}`)).arrayBuffer());
    const { gunzipSync } = await import('node:zlib');
    return gunzipSync(gz).toString();
  };
  const names = (xml: string) => [...xml.matchAll(/<location href="Packages\/([^"]+)"/g)].map((m) => m[1]).sort();
  const fetched = (log: string[], file: string) => log.filter((l) => l.startsWith('GET ') && l.endsWith(`/${file}`)).length;

  before(async () => {
    rpmUp = await createUpstreamRpmRepo({
      specs: [
        { name: 'mir-lib', version: '1.0', release: '1', arch: 'noarch', files: [{ path: '/usr/share/mir-lib/VERSION', content: '1.0\n' }] },
        { name: 'mir-lib', version: '1.1', release: '1', arch: 'noarch', files: [{ path: '/usr/share/mir-lib/VERSION', content: '1.1\n' }] },
        { name: 'mir-app', version: '2.0', release: '1', arch: 'noarch', requires: ['mir-lib >= 1.1'], files: [{ path: '/usr/share/mir-app/README', content: 'mirror app\n' }] },
        { name: 'mir-extra', version: '1.0', release: '1', arch: 'noarch', files: [{ path: '/usr/share/mir-extra/README', content: 'extra\n' }] },
        { name: 'other-tool', version: '1.0', release: '1', arch: 'noarch', files: [{ path: '/usr/share/other-tool/README', content: 'other\n' }] },
      ],
    });
    aptUp = await startUpstreamApt({
      suite: 'bookworm',
      packages: [
        { name: 'mir-deb-lib', version: '1.0-1', arch: 'all', files: [{ path: 'usr/share/mir-deb-lib/VERSION', content: '1.0\n' }] },
        { name: 'mir-deb-app', version: '3.0-1', arch: 'all', depends: 'mir-deb-lib (>= 1.0)', files: [{ path: 'usr/share/mir-deb-app/README', content: 'deb mirror app\n' }] },
      ],
    });
    configDir = await mkdtemp(join(tmpdir(), 'repod-mirror-config-'));
    await writeFile(join(configDir, 'distributions.json'), JSON.stringify(DISTRIBUTIONS));
    server = await startServer({ REPOD_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', REPOD_DISTRIBUTIONS: join(configDir, 'distributions.json') });
    const r = await api('POST', '/api/v1/import/sources', { name: 'up-rpm', url: rpmUp.url, kind: 'rpm', key: rpmUp.publicKey });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    rpmSource = r.body.id;
    const a = await api('POST', '/api/v1/import/sources', {
      name: 'up-apt',
      url: aptUp.url,
      kind: 'apt',
      suite: 'bookworm',
      components: ['main'],
      architectures: ['amd64'],
      key: aptUp.publicKey,
    });
    assert.equal(a.status, 201, JSON.stringify(a.body));
    aptSource = a.body.id;
    receiver = await startWebhookReceiver('mirror-webhook-secret');
    const hook = await api('POST', '/api/v1/webhooks', { url: receiver.url, events: ['published'], secret: 'mirror-webhook-secret' });
    assert.equal(hook.status, 201, JSON.stringify(hook.body));
  });

  after(async () => {
    await server?.stop();
    await rpmUp?.close();
    await aptUp?.close();
    await receiver?.close();
    for (const dir of [configDir, ...cleanup]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a sync publishes a revision of each bound distribution through its filters; on_demand downloads nothing, immediate everything', async () => {
    const lines = await sync(rpmSource);
    assert.deepEqual(lines.at(-1), { status: 'done', count: 5, message: 'Index updated' }, JSON.stringify(lines));
    const said = lines.map((l) => l.message).join('\n');
    assert.match(said, /mirror-el: revision 1 published \(\+2 -0, 2 packages\)/);
    assert.match(said, /mirror-el-extra: revision 1 published \(\+1 -0, 1 packages\)/);
    assert.deepEqual(names(await primary(`${server.url}/repos/mirror-el/x86_64`)), ['mir-app-2.0-1.noarch.rpm', 'mir-lib-1.1-1.noarch.rpm'], 'include, exclude and keep_latest');
    assert.deepEqual(names(await primary(`${server.url}/repos/mirror-el-extra/x86_64`)), ['mir-extra-1.0-1.noarch.rpm']);
    // The dependency index's capabilities were stored beside the sync's chunks, so the first check
    // of a process reads one part per chunk instead of every record of the mirror.
    const store = await FileStore.open({ root: server.storage.slice('file:'.length) });
    const current = (await api('GET', '/api/v1/distributions')).body.distributions.find((d: { name: string }) => d.name === 'mirror-el').revision;
    const revision = (await getJson<Revision>(store, layout.revision('mirror-el', current.id)))!.value;
    assert.ok(revision.chunks.length > 0);
    for (const chunk of revision.chunks) assert.ok(await store.head(layout.chunkPart(chunk.id, 'provides')), `capabilities of chunk ${chunk.id}`);
    const rpmFetches = rpmUp.requests.filter((l) => l.endsWith('.rpm'));
    assert.deepEqual(
      rpmFetches.map((l) => basename(l)),
      ['mir-extra-1.0-1.noarch.rpm'],
      'only the immediate mirror downloaded, during the sync',
    );
    // The job says what it published.
    const jobs = await api('GET', '/api/v1/import/jobs');
    const job = jobs.body.jobs.find((j: { sourceId: number }) => j.sourceId === rpmSource);
    assert.deepEqual(
      job.mirrors.map((m: { distribution: string; revision: { number: number }; packages: number }) => [m.distribution, m.revision.number, m.packages]),
      [
        ['mirror-el', 1, 2],
        ['mirror-el-extra', 1, 1],
      ],
    );
    // Announced like any publish: webhooks (and re-exports) see a mirror's new revision.
    const delivery = await receiver.waitFor((d) => d.event === 'published' && d.body.data.revision?.number === 1 && JSON.stringify(d.body).includes('"mirror-el"'));
    assert.deepEqual(delivery.body.data.packages.map((p: { filename: string }) => p.filename).sort(), ['mir-app-2.0-1.noarch.rpm', 'mir-lib-1.1-1.noarch.rpm']);
    assert.equal(delivery.body.data.source.name, 'up-rpm');
    assert.equal(delivery.signatureValid, true);
    // Repod's signed metadata, not the upstream's.
    const asc = await fetch(`${server.url}/repos/mirror-el/x86_64/repodata/repomd.xml.asc`);
    assert.equal(asc.status, 200);
    assert.match(await asc.text(), /BEGIN PGP SIGNATURE/);
  });

  it('concurrent first requests for a package download it once, and every client gets the upstream bytes', async () => {
    const file = 'mir-app-2.0-1.noarch.rpm';
    const upstream = await readFile(join(rpmUp.root, (await rpmUp.rpms()).find((p) => basename(p) === file)!.slice(rpmUp.root.length)));
    const answers = await Promise.all(Array.from({ length: 6 }, () => fetch(`${server.url}/repos/mirror-el/x86_64/Packages/${file}`)));
    for (const r of answers) {
      assert.equal(r.status, 200);
      const bytes = Buffer.from(await r.arrayBuffer());
      assert.equal(createHash('sha256').update(bytes).digest('hex'), createHash('sha256').update(upstream).digest('hex'));
    }
    assert.equal(fetched(rpmUp.requests, file), 1, rpmUp.requests.join('\n'));
  });

  it('real dnf installs from the on-demand mirror twice; the upstream served each package once', { skip: dnfSkip }, async () => {
    for (let i = 0; i < 2; i++) {
      const dnf = await dnfClient(`${server.url}/repos/mirror-el/x86_64/`, { gpgkeys: [`${server.url}/repos/gpg.key`], gpgcheck: false, repoGpgcheck: true });
      cleanup.push(dnf.dir);
      await dnf.dnf(['install', 'mir-app']);
      assert.equal(await readFile(join(dnf.root, 'usr/share/mir-app/README'), 'utf8'), 'mirror app\n');
      assert.equal(await readFile(join(dnf.root, 'usr/share/mir-lib/VERSION'), 'utf8'), '1.1\n');
    }
    assert.equal(fetched(rpmUp.requests, 'mir-app-2.0-1.noarch.rpm'), 1);
    assert.equal(fetched(rpmUp.requests, 'mir-lib-1.1-1.noarch.rpm'), 1);
  });

  it('real apt-get installs from an on-demand APT mirror twice; the upstream served each .deb once', { skip: aptSkip }, async () => {
    const lines = await sync(aptSource);
    assert.match(lines.map((l) => l.message).join('\n'), /mirror-deb: revision 1 published \(\+2 -0, 2 packages\)/);
    assert.equal(aptUp.requests.filter((l) => l.endsWith('.deb')).length, 0, 'nothing downloaded at sync');
    const key = await (await fetch(`${server.url}/repos/gpg.key`)).text();
    for (let i = 0; i < 2; i++) {
      const apt = await aptClient({ url: `${server.url}/repos`, codename: 'mirror-deb', keyArmored: key });
      cleanup.push(apt.dir);
      await apt.aptGet(['update']);
      await apt.aptGet(['install', 'mir-deb-app']);
      assert.equal(await readFile(join(apt.root, 'usr/share/mir-deb-app/README'), 'utf8'), 'deb mirror app\n');
    }
    const debs = aptUp.requests.filter((l) => l.endsWith('.deb')).map((l) => basename(l));
    assert.deepEqual(debs.sort(), ['mir-deb-app_3.0-1_all.deb', 'mir-deb-lib_1.0-1_all.deb'], aptUp.requests.join('\n'));
  });

  it('a newer upstream version makes a new revision; the old one stays pinned and can be rolled back to; an unchanged sync publishes nothing', async () => {
    await rpmUp.add({ specs: [{ name: 'mir-lib', version: '1.2', release: '1', arch: 'noarch', files: [{ path: '/usr/share/mir-lib/VERSION', content: '1.2\n' }] }] });
    const lines = await sync(rpmSource);
    assert.equal(lines.at(-1)!.status, 'done', JSON.stringify(lines));
    assert.match(lines.map((l) => l.message).join('\n'), /mirror-el: revision 2 published \(\+1 -1, 2 packages\)/);
    assert.deepEqual(names(await primary(`${server.url}/repos/mirror-el/x86_64`)), ['mir-app-2.0-1.noarch.rpm', 'mir-lib-1.2-1.noarch.rpm']);
    // Revision 1, pinned, still lists and serves 1.1.
    const pinned = `${server.url}/revisions/mirror-el/1/x86_64`;
    assert.deepEqual(names(await primary(pinned)), ['mir-app-2.0-1.noarch.rpm', 'mir-lib-1.1-1.noarch.rpm']);
    assert.equal((await fetch(`${pinned}/Packages/mir-lib-1.1-1.noarch.rpm`)).status, 200);
    const extraBefore = await revisionOf('mirror-el-extra');
    const again = await sync(rpmSource);
    assert.equal(again.at(-1)!.status, 'done');
    assert.equal(await revisionOf('mirror-el'), 2, 'nothing changed upstream: no revision');
    assert.equal(await revisionOf('mirror-el-extra'), extraBefore);
    const rollback = await api('POST', '/api/v1/distributions/mirror-el/rollback', { revision: 1 });
    assert.equal(rollback.status, 201, JSON.stringify(rollback.body));
    assert.deepEqual(names(await primary(`${server.url}/repos/mirror-el/x86_64`)), ['mir-app-2.0-1.noarch.rpm', 'mir-lib-1.1-1.noarch.rpm']);
  });

  it('a package changed upstream under the same name is refused and not stored; an immediate mirror needs no upstream', async () => {
    const file = 'mir-lib-1.2-1.noarch.rpm';
    const path = (await rpmUp.rpms()).find((p) => basename(p) === file)!;
    const original = await readFile(path);
    const tampered = Buffer.from(original);
    tampered[tampered.length - 1] ^= 0xff;
    await writeFile(path, tampered);
    // Revision 2 (sync) lists 1.2; the pinned URL reaches it whatever the current revision is.
    const url = `${server.url}/revisions/mirror-el/2/x86_64/Packages/${file}`;
    const changed = await fetch(url);
    const changedBody = await changed.json();
    assert.equal(changed.status, 502, JSON.stringify(changedBody));
    assert.equal(changedBody.error, 'upstream_package_mismatch');
    await writeFile(path, original);
    assert.equal((await fetch(url)).status, 200, 'nothing bad was kept: the next request fetches the right bytes');

    // Every package gone upstream: what an immediate mirror holds is served from the pool.
    rpmUp.override((req, res) => {
      if (!req.url?.endsWith('.rpm')) return false;
      res.writeHead(404).end();
      return true;
    });
    const goneUrl = `${server.url}/repos/mirror-el-extra/x86_64/Packages/mir-extra-1.0-1.noarch.rpm`;
    assert.equal((await fetch(goneUrl)).status, 200, 'an immediate mirror serves from the pool, not the upstream');
    rpmUp.override(null);
  });

  it('a package gone upstream answers 404 naming re-sync as the fix', async () => {
    await rpmUp.add({ specs: [{ name: 'mir-late', version: '1.0', release: '1', arch: 'noarch', files: [{ path: '/usr/share/mir-late/README', content: 'late\n' }] }] });
    await sync(rpmSource);
    rpmUp.override((req, res) => {
      if (!req.url?.endsWith('mir-late-1.0-1.noarch.rpm')) return false;
      res.writeHead(404).end();
      return true;
    });
    const r = await fetch(`${server.url}/repos/mirror-el/x86_64/Packages/mir-late-1.0-1.noarch.rpm`);
    rpmUp.override(null);
    const body = await r.json();
    assert.equal(r.status, 404, JSON.stringify(body));
    assert.equal(body.error, 'upstream_package_missing');
    assert.match(body.message, /re-sync source \d+/);
  });

  it('promotion from an on-demand mirror fetches the bytes for the target', async () => {
    const before = fetched(rpmUp.requests, 'mir-late-1.0-1.noarch.rpm');
    const r = await api('POST', '/api/v1/distributions/promote', { package: 'mir-late', from_dist: 'mirror-el', to_dist: 'rocky9' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(fetched(rpmUp.requests, 'mir-late-1.0-1.noarch.rpm'), before + 1);
    const pkg = await fetch(`${server.url}/repos/rocky9/x86_64/Packages/mir-late-1.0-1.noarch.rpm`);
    assert.equal(pkg.status, 200);
    await pkg.arrayBuffer();
  });

  it('refuses uploads, removals and promotions into a mirror distribution; a sync with a bad signature changes nothing', async () => {
    const removal = await api('POST', '/api/v1/distributions/mirror-el/builds', { remove: ['mir-app-2.0-1.noarch.rpm'] });
    assert.equal(removal.status, 409, JSON.stringify(removal.body));
    assert.equal(removal.body.error, 'mirror_distribution');
    const promote = await api('POST', '/api/v1/distributions/promote', { package: 'mir-late', from_dist: 'rocky9', to_dist: 'mirror-el' });
    assert.equal(promote.status, 409, JSON.stringify(promote.body));
    assert.equal(promote.body.error, 'mirror_distribution');

    const before = await revisionOf('mirror-el');
    await rpmUp.add({ specs: [{ name: 'mir-lib', version: '1.3', release: '1', arch: 'noarch', files: [{ path: '/usr/share/mir-lib/VERSION', content: '1.3\n' }] }] });
    const other = await createUpstreamRpmRepo({ specs: [] }).catch(() => null);
    // Signed by another key: the source's key does not verify it.
    const repomd = await readFile(join(rpmUp.root, 'repodata/repomd.xml'));
    if (other) {
      await writeFile(join(other.root, 'repodata/repomd.xml'), repomd);
      await other.sign();
      await writeFile(join(rpmUp.root, 'repodata/repomd.xml.asc'), await readFile(join(other.root, 'repodata/repomd.xml.asc')));
      await other.close();
    }
    const lines = await sync(rpmSource);
    assert.equal(lines.at(-1)!.status, 'error', JSON.stringify(lines));
    assert.equal(await revisionOf('mirror-el'), before, 'the mirror stays as it was');
  });
});

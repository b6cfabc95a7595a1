/**
 * Import by name from real upstreams (a createrepo_c repository with a signed repomd.xml and an
 * apt-ftparchive repository with a signed InRelease, served on 127.0.0.1), with Repod's documented
 * curl calls, then real dnf and apt-get installing what was imported: the newest version, a pinned
 * one, and a package with its dependencies. Bad upstreams (a file changed under the same name, a
 * file gone) get clear errors and change nothing.
 */
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AptClient, aptClient } from '../helpers/apt-client.ts';
import { type DnfClient, dnfClient } from '../helpers/rpm-clients.ts';
import { hasCommand, run } from '../helpers/run.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';
import { startUpstreamApt, type UpstreamApt } from '../helpers/upstream-apt.ts';
import { createUpstreamRpmRepo, type UpstreamRpmRepo } from '../helpers/upstream-rpm.ts';

const has = hasCommand;
const missing = ['rpmbuild', 'createrepo_c', 'dpkg-deb', 'apt-ftparchive', 'gpg', 'curl'].filter((t) => !has(t));
const dnfSkip = has('dnf') ? false : 'dnf is not installed';
const aptSkip = has('apt-get') ? false : 'apt-get is not installed';

describe('import by name from real upstreams', { skip: missing.length ? `missing ${missing.join(', ')}` : false }, () => {
  let server: RunningServer;
  let rpmUp: UpstreamRpmRepo;
  let aptUp: UpstreamApt;
  let rpmSource: number;
  let aptSource: number;
  let dnf: DnfClient | undefined;
  let apt: AptClient | undefined;
  const clientDirs: string[] = [];

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
  const current = async (dist: string) => (await api('GET', '/api/v1/distributions')).body.distributions.find((d: { name: string }) => d.name === dist).revision?.number ?? 0;
  /** Repod's documented sync call, verbatim: curl -N with the token, SSE lines back. */
  const curlSync = async (id: number) =>
    run('bash', ['-c', 'curl -sN -X POST "$REPOD_URL/import/sources/$SOURCE/sync" -H "Authorization: Bearer $TOKEN"'], {
      env: { REPOD_URL: server.url, TOKEN: server.adminToken, SOURCE: String(id) },
    });
  const events = (sse: string) =>
    sse
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => JSON.parse(l.slice(5).trim()) as { status: string; count: number; message: string });

  before(async () => {
    rpmUp = await createUpstreamRpmRepo({
      specs: [
        { name: 'imp-lib', version: '1.0', release: '1', arch: 'noarch', files: [{ path: '/usr/share/imp-lib/VERSION', content: '1.0\n' }] },
        { name: 'imp-app', version: '2.0', release: '1', arch: 'noarch', requires: ['imp-lib >= 1.0'], files: [{ path: '/usr/share/imp-app/README', content: 'app\n' }] },
      ],
    });
    await rpmUp.add({ specs: [{ name: 'imp-lib', version: '1.1', release: '1', arch: 'noarch', files: [{ path: '/usr/share/imp-lib/VERSION', content: '1.1\n' }] }] });
    aptUp = await startUpstreamApt({
      suite: 'bookworm',
      packages: [
        { name: 'imp-deb-lib', version: '1.0-1', arch: 'all', files: [{ path: 'usr/share/imp-deb-lib/VERSION', content: '1.0\n' }] },
        { name: 'imp-deb-app', version: '3.0-1', arch: 'all', depends: 'imp-deb-lib (>= 1.0)', files: [{ path: 'usr/share/imp-deb-app/README', content: 'deb app\n' }] },
      ],
    });
    server = await startServer({ REPOD_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', REPOD_ADMIN_PASSWORD: 'import-e2e-password' });
  });

  after(async () => {
    await server?.stop();
    await rpmUp?.close();
    await aptUp?.close();
    for (const dir of clientDirs) await rm(dir, { recursive: true, force: true });
  });

  it('creates sources and syncs them with Repod curl calls (SSE: syncing, progress, done)', async () => {
    const r = await api('POST', '/api/v1/import/sources', { name: 'upstream-rpm', url: rpmUp.url, kind: 'rpm', key: rpmUp.publicKey });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    rpmSource = r.body.id;
    const a = await api('POST', '/api/v1/import/sources', {
      name: 'upstream-apt',
      url: aptUp.url,
      kind: 'apt',
      suite: 'bookworm',
      components: ['main'],
      architectures: ['amd64'],
      key: aptUp.publicKey,
    });
    assert.equal(a.status, 201, JSON.stringify(a.body));
    aptSource = a.body.id;
    for (const [id, count] of [
      [rpmSource, 3],
      [aptSource, 2],
    ]) {
      const lines = events(await curlSync(id));
      assert.deepEqual(lines[0], { status: 'syncing', count: 0, message: 'Fetching index...' });
      assert.deepEqual(lines.at(-1), { status: 'done', count, message: 'Index updated' }, JSON.stringify(lines));
    }
    const catalog = await api('GET', `/api/v1/import/catalog?q=imp-lib&source_id=${rpmSource}`);
    assert.equal(catalog.status, 200, JSON.stringify(catalog.body));
    assert.deepEqual(JSON.stringify(catalog.body).match(/"version":"[^"]+"/g), ['"version":"1.1-1"', '"version":"1.0-1"'], 'newest version first');
  });

  it('imports the newest version by name, and a pinned version, with Repod curl calls (a batch loop)', async () => {
    const before = await current('rocky9');
    const script = [
      'set -e',
      'for pkg in imp-lib; do',
      '  curl -s -X POST "$REPOD_URL/api/v1/import/packages" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\',
      '    -d "{\\"source_id\\": $SOURCE, \\"package\\": \\"$pkg\\", \\"distribution\\": \\"rocky9\\"}"',
      '  echo',
      'done',
    ].join('\n');
    const out = await run('bash', ['-c', script], { env: { REPOD_URL: server.url, TOKEN: server.adminToken, SOURCE: String(rpmSource) } });
    const answer = JSON.parse(out.trim().split('\n')[0]);
    assert.equal(answer.status, 'published', out);
    assert.equal(answer.package, 'imp-lib');
    assert.equal(answer.version, '1.1-1');
    assert.equal(answer.distribution, 'rocky9');
    assert.equal(answer.revision.number, before + 1);
    assert.equal(answer.pipeline.gpg !== undefined, true, JSON.stringify(answer));
    const provenance = answer.validation.steps.find((s: { name: string }) => s.name === 'provenance');
    assert.equal(provenance.detail.status, 'verified', 'the sha256 was checked against the catalog');

    const pinned = await api('POST', '/api/v1/import/packages', { source_id: rpmSource, package: 'imp-lib', version: '1.0', distribution: 'almalinux9' });
    assert.equal(pinned.status, 201, JSON.stringify(pinned.body));
    assert.equal(pinned.body.version, '1.0-1');
  });

  it('imports a package with its dependencies as one revision (RPM and APT)', async () => {
    const rocky = await api('POST', '/api/v1/import/packages', { source_id: rpmSource, package: 'imp-app', distribution: 'rocky8', with_dependencies: true });
    assert.equal(rocky.status, 201, JSON.stringify(rocky.body));
    assert.deepEqual(rocky.body.packages.map((p: { package: string }) => p.package).sort(), ['imp-app', 'imp-lib']);
    assert.deepEqual(
      rocky.body.dependencies.map((p: { package: string; version: string }) => `${p.package} ${p.version}`),
      ['imp-lib 1.1-1'],
    );
    const deb = await api('POST', '/api/v1/import/packages', { source_id: aptSource, package: 'imp-deb-app', distribution: 'bookworm', with_dependencies: true });
    assert.equal(deb.status, 201, JSON.stringify(deb.body));
    assert.deepEqual(deb.body.packages.map((p: { package: string }) => p.package).sort(), ['imp-deb-app', 'imp-deb-lib']);
  });

  it('real dnf installs imported packages: the newest, the pinned one, and one with its dependency', { skip: dnfSkip }, async () => {
    const key = [`${server.url}/repos/gpg.key`];
    dnf = await dnfClient(`${server.url}/repos/rocky9/x86_64/`, { gpgkeys: key, gpgcheck: false });
    clientDirs.push(dnf.dir);
    await dnf.dnf(['install', 'imp-lib']);
    assert.equal(await readFile(join(dnf.root, 'usr/share/imp-lib/VERSION'), 'utf8'), '1.1\n');
    const pinned = await dnfClient(`${server.url}/repos/almalinux9/x86_64/`, { gpgkeys: key, gpgcheck: false });
    clientDirs.push(pinned.dir);
    await pinned.dnf(['install', 'imp-lib']);
    assert.equal(await readFile(join(pinned.root, 'usr/share/imp-lib/VERSION'), 'utf8'), '1.0\n');
    const withDeps = await dnfClient(`${server.url}/repos/rocky8/x86_64/`, { gpgkeys: key, gpgcheck: false });
    clientDirs.push(withDeps.dir);
    await withDeps.dnf(['install', 'imp-app']);
    assert.equal(await readFile(join(withDeps.root, 'usr/share/imp-app/README'), 'utf8'), 'app\n');
    assert.equal(await readFile(join(withDeps.root, 'usr/share/imp-lib/VERSION'), 'utf8'), '1.1\n');
  });

  it('real apt-get installs an imported package with its dependency', { skip: aptSkip }, async () => {
    apt = await aptClient({ url: `${server.url}/repos`, codename: 'bookworm', keyArmored: await (await fetch(`${server.url}/repos/gpg.key`)).text() });
    clientDirs.push(apt.dir);
    await apt.aptGet(['update']);
    await apt.aptGet(['install', 'imp-deb-app']);
    assert.equal(await readFile(join(apt.root, 'usr/share/imp-deb-app/README'), 'utf8'), 'deb app\n');
    assert.equal(await readFile(join(apt.root, 'usr/share/imp-deb-lib/VERSION'), 'utf8'), '1.0\n');
  });

  it('refuses a package whose bytes differ from the catalog, and one gone upstream; nothing changes', async () => {
    const before = await current('fedora');
    const rpms = await rpmUp.rpms();
    const lib = rpms.find((p) => p.includes('imp-lib-1.1'))!;
    const original = await readFile(lib);
    const tampered = Buffer.from(original);
    tampered[tampered.length - 1] ^= 0xff;
    await writeFile(lib, tampered);
    const changed = await api('POST', '/api/v1/import/packages', { source_id: rpmSource, package: 'imp-lib', distribution: 'fedora' });
    assert.equal(changed.status, 422, JSON.stringify(changed.body));
    assert.equal(changed.body.error, 'upstream_package_mismatch');
    await writeFile(lib, original);

    rpmUp.override((req, res) => {
      if (!req.url?.endsWith('.rpm')) return false;
      res.writeHead(404).end();
      return true;
    });
    const gone = await api('POST', '/api/v1/import/packages', { source_id: rpmSource, package: 'imp-lib', distribution: 'fedora' });
    rpmUp.override(null);
    assert.equal(gone.status, 404, JSON.stringify(gone.body));
    assert.equal(gone.body.error, 'upstream_package_missing');
    assert.match(gone.body.message, /re-sync/);

    const unknown = await api('POST', '/api/v1/import/packages', { source_id: rpmSource, package: 'no-such-package', distribution: 'fedora' });
    assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
    const wrongKind = await api('POST', '/api/v1/import/packages', { source_id: aptSource, package: 'imp-deb-lib', distribution: 'fedora' });
    assert.equal(wrongKind.status, 422, JSON.stringify(wrongKind.body));
    assert.equal(await current('fedora'), before, 'no refused import changed the distribution');
  });
});

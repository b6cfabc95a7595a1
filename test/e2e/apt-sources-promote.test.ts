/**
 * Source packages as first-class packages, against a running repod with a real clamd and OSV
 * advisories: a .dsc upload leaves a record that GET /api/v1/packages/<dsc sha256> shows with its
 * files; promotion copies the source into another distribution, where real `apt-get source`
 * downloads and unpacks it; the security gate runs over sources (a tarball carrying a ClamAV
 * signature is refused with 422 and its validation, a source named by a High Debian advisory is
 * held for review and published once a reviewer accepts it); upload sessions refuse .dsc files.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AptClient, aptClient } from '../helpers/apt-client.ts';
import { type Clamd, clamdSkipReason, ndbSignature, startClamd } from '../helpers/clamd.ts';
import { CVSS_HIGH, writeAdvisories } from '../helpers/osv.ts';
import { hasCommand } from '../helpers/run.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';
import { buildSourcePackage } from '../metadata/apt/source-package.ts';

const MARKER = 'REPOD-E2E-SOURCE-MARKER-7f30c2a9e1';
const SIGNATURE = 'Repod.E2E.SourceMarker';
const toolsSkip = hasCommand('dpkg-source') ? false : 'dpkg-source is not installed (apt-get install dpkg-dev)';
const clamdSkip = clamdSkipReason();

/** A native (3.0 (native)) source package: one .tar.xz beside the .dsc, holding `files`. */
function nativeSource(outDir: string, source: string, version: string, files: Record<string, string>): { dsc: string; files: string[] } {
  const tree = join(outDir, `${source}-${version}`);
  execFileSync('mkdir', ['-p', join(tree, 'debian', 'source')]);
  for (const [path, content] of Object.entries(files)) {
    execFileSync('mkdir', ['-p', join(tree, path, '..')]);
    execFileSync('tee', [join(tree, path)], { input: content, stdio: ['pipe', 'ignore', 'inherit'] });
  }
  execFileSync('tee', [join(tree, 'debian/source/format')], { input: '3.0 (native)\n', stdio: ['pipe', 'ignore', 'inherit'] });
  execFileSync('tee', [join(tree, 'debian/control')], {
    input: `Source: ${source}\nSection: misc\nPriority: optional\nMaintainer: Repod Tests <tests@repod.invalid>\nStandards-Version: 4.6.2\n\nPackage: ${source}\nArchitecture: all\nDescription: a test package\n Made by the repod tests.\n`,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  execFileSync('tee', [join(tree, 'debian/changelog')], {
    input: `${source} (${version}) unstable; urgency=medium\n\n  * Test build.\n\n -- Repod Tests <tests@repod.invalid>  Mon, 01 Jan 2024 00:00:00 +0000\n`,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  execFileSync('dpkg-source', ['-b', `${source}-${version}`], { cwd: outDir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  return { dsc: join(outDir, `${source}_${version}.dsc`), files: [join(outDir, `${source}_${version}.tar.xz`)] };
}

describe('APT source packages: records, promotion, the security gate', { skip: toolsSkip }, () => {
  let server: RunningServer;
  let work: string;
  let clamd: Clamd | undefined;
  let client: AptClient | undefined;
  const auth = () => ({ authorization: `Bearer ${server.adminToken}` });

  async function uploadSource(dist: string, pkg: { dsc: string; files: string[] }) {
    const form = new FormData();
    form.append('distribution', dist);
    for (const path of [pkg.dsc, ...pkg.files]) form.append('file', new Blob([await readFile(path)]), basename(path));
    const response = await fetch(`${server.url}/api/v1/upload`, { method: 'POST', body: form, headers: auth() });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }
  async function api(method: string, path: string, body?: unknown) {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { ...auth(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }
  const sources = async (dist: string) => {
    const response = await fetch(`${server.url}/repos/dists/${dist}/main/source/Sources`);
    return response.status === 200 ? response.text() : '';
  };
  const inRelease = async (dist: string) => (await (await fetch(`${server.url}/repos/dists/${dist}/InRelease`)).text()).match(/^Description: .*$/m)?.[0];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'repod-e2e-srcpromo-'));
    if (!clamdSkip) clamd = await startClamd({ ndb: ndbSignature(SIGNATURE, MARKER) });
    const advisories = join(work, 'advisories');
    // Debian advisories name source packages: this one names the source uploaded below, by its name.
    await writeAdvisories(advisories, [{ id: 'DSA-E2E-SRC-1', ecosystem: 'Debian:12', name: 'repod-srchigh', fixed: '1.0-2', cvss: CVSS_HIGH, aliases: ['CVE-2099-0101'] }]);
    const distributions = join(work, 'distributions.json');
    await writeFile(
      distributions,
      JSON.stringify({
        distributions: [
          { kind: 'apt', name: 'bookworm', suite: 'stable', components: ['main'], architectures: ['amd64'], security: { ecosystem: 'Debian:12' } },
          { kind: 'apt', name: 'trixie', suite: 'testing', components: ['main'], architectures: ['amd64'], security: { ecosystem: 'Debian:12' } },
        ],
      }),
    );
    server = await startServer({
      REPOD_DISTRIBUTIONS: distributions,
      REPOD_ADVISORIES: advisories,
      ...(clamd ? { REPOD_CLAMD: clamd.spec, REPOD_CLAMD_TIMEOUT_MS: '10000' } : {}),
    });
  });
  after(async () => {
    await server?.stop();
    if (server?.storage.startsWith('file:')) await rm(server.storage.slice('file:'.length), { recursive: true, force: true });
    await clamd?.stop();
    if (client) await rm(client.dir, { recursive: true, force: true });
    if (work) await rm(work, { recursive: true, force: true });
  });

  let dscSha = '';

  it('an uploaded source passes the gate (validation in the answer) and GET /api/v1/packages/<dsc sha256> shows it with its files', async () => {
    const pkg = buildSourcePackage({ source: 'repod-srcpromo', upstream: '2.1', revision: '1' }, await mkdtemp(join(work, 'promo-')));
    const { status, body } = await uploadSource('bookworm', pkg);
    assert.equal(status, 201, JSON.stringify(body));
    assert.equal(body.architecture, 'source');
    assert.equal(body.validation?.passed, true, JSON.stringify(body));
    assert.deepEqual(
      body.validation.steps.map((s: { name: string }) => s.name),
      ['format', 'provenance', 'antivirus', 'cve', 'gpg', 'dependencies'],
    );
    assert.equal(body.pipeline.antivirus, clamd ? 'clean' : 'not_configured', JSON.stringify(body.pipeline));
    if (clamd) {
      const scanned = body.validation.steps.find((s: { name: string }) => s.name === 'antivirus').detail.scanned as string[];
      assert.ok(scanned.includes('repod-srcpromo_2.1-1.debian.tar.xz (decompressed)'), scanned.join(', '));
    }
    dscSha = body.sha256;

    const record = await api('GET', `/api/v1/packages/${dscSha}`);
    assert.equal(record.status, 200, JSON.stringify(record.body));
    assert.equal(record.body.kind, 'dsc');
    assert.equal(record.body.name, 'repod-srcpromo');
    assert.equal(record.body.version, '2.1-1');
    assert.equal(record.body.format, '3.0 (quilt)');
    assert.equal(record.body.fileName, 'repod-srcpromo_2.1-1.dsc');
    const names = (record.body.files as Array<{ name: string; sha256: string; size: number }>).map((f) => f.name);
    assert.deepEqual(names, ['repod-srcpromo_2.1-1.dsc', 'repod-srcpromo_2.1.orig.tar.gz', 'repod-srcpromo_2.1-1.debian.tar.xz']);
    const orig = record.body.files[1];
    const bytes = await readFile(pkg.files.find((f) => f.endsWith('.orig.tar.gz'))!);
    assert.equal(orig.size, bytes.length);
    assert.equal(orig.sha256, execFileSync('sha256sum', { input: bytes }).toString().split(' ')[0]);
  });

  it('promotion copies the source into another distribution; real apt-get source downloads and unpacks it there', async () => {
    assert.doesNotMatch(await sources('trixie'), /repod-srcpromo/);
    const { status, body } = await api('POST', '/api/v1/distributions/promote', { package: 'repod-srcpromo', from_dist: 'bookworm', to_dist: 'trixie' });
    assert.equal(status, 201, JSON.stringify(body));
    assert.equal(body.status, 'published', JSON.stringify(body));
    assert.equal(body.packages[0].architecture, 'source');
    assert.equal(body.packages[0].sha256, dscSha);
    assert.match(await sources('trixie'), /^Package: repod-srcpromo$/m);

    const key = await (await fetch(`${server.url}/repos/gpg.key`)).text();
    client = await aptClient({ url: `${server.url}/repos`, codename: 'trixie', keyArmored: key });
    await appendFile(join(client.dir, 'sources.list'), `deb-src [signed-by=${join(client.dir, 'repod.asc')}] ${server.url}/repos trixie main\n`);
    const update = await client.aptGet(['update']);
    assert.doesNotMatch(update, /^(W|E):/m, update);
    await client.aptGet(['source', 'repod-srcpromo']);
    assert.equal(await readFile(join(client.dir, 'repod-srcpromo-2.1/hello.txt'), 'utf8'), 'hello from repod-srcpromo\n');
  });

  it('a source whose tarball carries a ClamAV signature is refused with 422 and its validation; nothing is published', { skip: clamdSkip }, async () => {
    const out = await mkdtemp(join(work, 'infected-'));
    await mkdir(out, { recursive: true });
    const pkg = nativeSource(out, 'repod-srcinfected', '1.0', { 'docs/readme.txt': `nothing to see\n${MARKER}\n` });
    const before = await inRelease('bookworm');
    const { status, body } = await uploadSource('bookworm', pkg);
    assert.equal(status, 422, JSON.stringify(body));
    assert.equal(body.status, 'rejected');
    assert.equal(body.error ?? body.code, 'package_blocked', JSON.stringify(body));
    assert.equal(body.pipeline.antivirus, 'infected', JSON.stringify(body.pipeline));
    const step = body.validation.steps.find((s: { name: string }) => s.name === 'antivirus');
    assert.match(step.message, new RegExp(`${SIGNATURE.replaceAll('.', '\\.')}.* in repod-srcinfected_1\\.0\\.tar\\.xz`), step.message);
    assert.equal(await inRelease('bookworm'), before);
    assert.doesNotMatch(await sources('bookworm'), /repod-srcinfected/);
    assert.equal((await fetch(`${server.url}/repos/pool/main/r/repod-srcinfected/repod-srcinfected_1.0.dsc`)).status, 404);
  });

  it('a source named by a High Debian advisory is held for review (202), then published when a reviewer accepts it', async () => {
    const pkg = buildSourcePackage({ source: 'repod-srchigh', upstream: '1.0', revision: '1' }, await mkdtemp(join(work, 'high-')));
    const { status, body } = await uploadSource('bookworm', pkg);
    assert.equal(status, 202, JSON.stringify(body));
    assert.equal(body.status, 'pending_review');
    assert.equal(body.pipeline.cve_scan, 'review', JSON.stringify(body.pipeline));
    assert.match(JSON.stringify(body.validation), /DSA-E2E-SRC-1/);
    assert.doesNotMatch(await sources('bookworm'), /repod-srchigh/);
    assert.equal((await fetch(`${server.url}/repos/pool/main/r/repod-srchigh/repod-srchigh_1.0-1.dsc`)).status, 404, 'nothing is served while held');

    const queue = await api('GET', '/api/v1/security/review-queue');
    const item = queue.body.items.find((i: { package: string }) => i.package === 'repod-srchigh');
    assert.equal(item?.architecture, 'source', JSON.stringify(queue.body));

    const decided = await api('POST', '/api/v1/security/packages/repod-srchigh/1.0-1/decide', { action: 'accept_risk', justification: 'e2e: the source is not built here' });
    assert.equal(decided.status, 200, JSON.stringify(decided.body));
    assert.equal(decided.body.published[0]?.status, 'published', JSON.stringify(decided.body));
    assert.match(await sources('bookworm'), /^Package: repod-srchigh$/m);
    assert.equal((await fetch(`${server.url}/repos/pool/main/r/repod-srchigh/repod-srchigh_1.0.orig.tar.gz`)).status, 200);
  });

  it('an upload session for a .dsc is refused with 422 naming the route that takes source packages', async () => {
    const { status, body } = await api('POST', '/api/v1/uploads', { filename: 'repod-x_1.0-1.dsc', size: 1200, distribution: 'bookworm' });
    assert.equal(status, 422, JSON.stringify(body));
    assert.equal(body.error ?? body.code, 'source_upload_unsupported', JSON.stringify(body));
    assert.match(body.message, /POST \/api\/v1\/upload\b/);
  });
});

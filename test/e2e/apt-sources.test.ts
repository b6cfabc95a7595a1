/**
 * Source packages end to end against a running repod: a .dsc uploaded with its files is listed in
 * `main/source/Sources{,.gz,.xz}` (in InRelease, by-hash), byte-equal to `apt-ftparchive sources`
 * on the same pool tree; real `apt-get source` downloads and unpacks it, `apt-get build-dep`
 * installs its Build-Depends from repod's binaries; a missing or altered file is refused with 422
 * naming it, and a second .dsc for the same version with 409, the revision unchanged each time.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { ApiClient } from '../../src/cli/http-client.ts';
import { pushSource, sourceFiles, splitSources } from '../../src/cli/push/source-files.ts';
import { repod } from '../cli/run-cli.ts';
import { type AptClient, aptClient } from '../helpers/apt-client.ts';
import { corpusFile, needsCorpus } from '../helpers/corpus.ts';
import { dpkgDebBuild } from '../helpers/debs.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';
import { buildSourcePackage } from '../metadata/apt/source-package.ts';

const codename = 'bookworm';

async function uploadSource(server: RunningServer, files: Array<{ path: string; name?: string; bytes?: Uint8Array<ArrayBuffer> }>, extra: Record<string, string> = {}) {
  const form = new FormData();
  form.append('distribution', codename);
  for (const [k, v] of Object.entries(extra)) form.append(k, v);
  for (const f of files) form.append('file', new Blob([f.bytes ?? (await readFile(f.path))]), f.name ?? basename(f.path));
  const response = await fetch(`${server.url}/api/v1/upload`, { method: 'POST', body: form, headers: { authorization: `Bearer ${server.adminToken}` } });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

const current = async (server: RunningServer) => (await (await fetch(`${server.url}/repos/dists/${codename}/InRelease`)).text()).match(/^Description: .*$/m)?.[0];

describe('APT source packages', () => {
  let server: RunningServer;
  let work: string;
  let key: string;
  let demo: ReturnType<typeof buildSourcePackage>;
  let client: AptClient;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'repod-e2e-src-'));
    const debs = join(work, 'debs');
    await mkdir(debs);
    const tool = dpkgDebBuild({ name: 'repod-buildtool', version: '1.1-1', arch: 'all', files: [{ path: 'usr/share/repod-buildtool/tool.txt', content: 'tool\n' }] }, debs);
    demo = buildSourcePackage({ source: 'repod-srcdemo', upstream: '1.2', revision: '3', buildDepends: 'repod-buildtool (>= 1.0)' }, await mkdtemp(join(work, 'src-')));
    server = await startServer({ REPOD_ACCESS_LOG: '1' });
    const up = await uploadFile(server, codename, tool);
    assert.equal(up.status, 201, JSON.stringify(up.body));
    key = await (await fetch(`${server.url}/repos/gpg.key`)).text();
  });
  after(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
    if (client) await rm(client.dir, { recursive: true, force: true });
  });

  it('a .dsc uploaded with its files is published and listed in Sources, as apt-ftparchive lists it', async () => {
    const before = await current(server);
    assert.doesNotMatch(await (await fetch(`${server.url}/repos/dists/${codename}/Release`)).text(), /source\/Sources/, 'no Sources before any source package');
    const { status, body } = await uploadSource(server, [{ path: demo.dsc }, ...demo.files.map((path) => ({ path }))]);
    assert.equal(status, 201, JSON.stringify(body));
    assert.equal(body.status, 'published');
    assert.equal(body.package, 'repod-srcdemo');
    assert.equal(body.version, '1.2-3');
    assert.equal(body.architecture, 'source');
    assert.equal(body.filename, 'pool/main/r/repod-srcdemo/repod-srcdemo_1.2-3.dsc');
    assert.notEqual(await current(server), before);

    const release = await (await fetch(`${server.url}/repos/dists/${codename}/InRelease`)).text();
    const listed = new Map([...release.matchAll(/^ ([0-9a-f]{64}) +(\d+) (main\/source\/Sources\S*)$/gm)].map((m) => [m[3]!, m[1]!]));
    assert.deepEqual([...listed.keys()].sort(), ['main/source/Sources', 'main/source/Sources.gz', 'main/source/Sources.xz']);
    const plain = Buffer.from(await (await fetch(`${server.url}/repos/dists/${codename}/main/source/Sources`)).arrayBuffer());
    assert.equal(createHash('sha256').update(plain).digest('hex'), listed.get('main/source/Sources'));
    const gz = Buffer.from(await (await fetch(`${server.url}/repos/dists/${codename}/main/source/by-hash/SHA256/${listed.get('main/source/Sources.gz')}`)).arrayBuffer());
    assert.equal(createHash('sha256').update(gz).digest('hex'), listed.get('main/source/Sources.gz'));
    assert.equal(gunzipSync(gz).toString(), plain.toString());
    // Binary indexes are untouched by the source entry.
    assert.doesNotMatch(await (await fetch(`${server.url}/repos/dists/${codename}/main/binary-amd64/Packages`)).text(), /repod-srcdemo/);

    // apt-ftparchive sources over the same pool tree, fetched back from repod's pool paths.
    const tree = await mkdtemp(join(work, 'tree-'));
    const dir = join(tree, 'pool/main/r/repod-srcdemo');
    await mkdir(dir, { recursive: true });
    for (const path of body.files as string[]) {
      const response = await fetch(`${server.url}/repos/${path}`);
      assert.equal(response.status, 200, path);
      await writeFile(join(tree, path), Buffer.from(await response.arrayBuffer()));
    }
    assert.deepEqual(await readFile(join(dir, 'repod-srcdemo_1.2-3.dsc')), await readFile(demo.dsc), 'the .dsc is served as uploaded');
    const expected = execFileSync('apt-ftparchive', ['sources', 'pool'], { cwd: tree, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
    assert.equal(plain.toString(), expected);
  });

  it('apt-get source downloads and unpacks it; apt-get build-dep installs its Build-Depends from repod', async () => {
    client = await aptClient({ url: `${server.url}/repos`, codename, keyArmored: key });
    const signedBy = join(client.dir, 'repod.asc');
    await appendFile(join(client.dir, 'sources.list'), `deb-src [signed-by=${signedBy}] ${server.url}/repos ${codename} main\n`);
    const update = await client.aptGet(['update']);
    assert.doesNotMatch(update, /^(W|E):/m, update);
    await client.aptGet(['source', 'repod-srcdemo']);
    assert.equal(await readFile(join(client.dir, 'repod-srcdemo-1.2/hello.txt'), 'utf8'), 'hello from repod-srcdemo\n');
    assert.ok((await stat(join(client.dir, 'repod-srcdemo-1.2/debian/control'))).isFile(), 'dpkg-source applied the debian tarball');

    // build-essential is not in this repository: only the package's own Build-Depends are asked for.
    await writeFile(join(client.dir, 'etc/apt.conf.d/no-build-essential'), '#clear APT::Build-Essential;\n');
    const out = await client.aptGet(['build-dep', 'repod-srcdemo']);
    assert.match(out, /repod-buildtool/, out);
    assert.match(await client.dpkgQuery(['-W', 'repod-buildtool']), /repod-buildtool\s+1\.1-1/);
  });

  it('garbage collection keeps every file of a published source; an export holds them beside the .dsc', async () => {
    const gc = await fetch(`${server.url}/api/v1/gc`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ dry_run: false, grace_seconds: 0 }),
    });
    assert.equal(gc.status, 200, await gc.text());
    const again = join(client.dir, 'after-gc');
    await mkdir(again);
    await client.aptGet(['-o', `Dir::Cache::archives=${again}`, 'source', '--download-only', 'repod-srcdemo']);
    const sources = await (await fetch(`${server.url}/repos/dists/${codename}/main/source/Sources`)).text();
    const directory = /^Directory: (.+)$/m.exec(sources)![1]!;
    const names = [.../^Files:\n((?: .+\n?)+)/m.exec(sources)![1]!.matchAll(/ (\S+)$/gm)].map((m) => m[1]!);
    assert.ok(names.length >= 3, names.join(' '));
    for (const name of names) {
      const response = await fetch(`${server.url}/repos/${directory}/${name}`);
      assert.equal(response.status, 200, `${name} after gc`);
      await response.arrayBuffer();
    }

    const out = join(work, 'export');
    const r = await repod(['export', codename, '--to', out, '--storage', server.storage, '--json'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    for (const name of names) assert.ok((await stat(join(out, codename, 'latest', directory, name))).isFile(), `${directory}/${name} is in the export`);
  });

  it('a .dsc without one of its files, or with an altered one, is refused with 422 naming it; the revision stays', async () => {
    const other = buildSourcePackage({ source: 'repod-srcbad', upstream: '0.1', revision: '1' }, await mkdtemp(join(work, 'bad-')));
    const before = await current(server);
    const orig = other.files.find((f) => f.endsWith('.orig.tar.gz'))!;
    const missing = await uploadSource(server, [{ path: other.dsc }, ...other.files.filter((f) => f !== orig).map((path) => ({ path }))]);
    assert.equal(missing.status, 422, JSON.stringify(missing.body));
    assert.equal(missing.body.error ?? missing.body.code, 'source_file_missing', JSON.stringify(missing.body));
    assert.match(JSON.stringify(missing.body), /repod-srcbad_0\.1\.orig\.tar\.gz/);

    const altered = new Uint8Array(await readFile(orig));
    altered[altered.length - 1] ^= 0xff;
    const mismatch = await uploadSource(server, [{ path: other.dsc }, ...other.files.map((path) => (path === orig ? { path, bytes: altered } : { path }))]);
    assert.equal(mismatch.status, 422, JSON.stringify(mismatch.body));
    assert.equal(mismatch.body.error ?? mismatch.body.code, 'source_checksum_mismatch', JSON.stringify(mismatch.body));
    assert.match(mismatch.body.message, /repod-srcbad_0\.1\.orig\.tar\.gz/);
    assert.equal(await current(server), before);
    assert.equal((await fetch(`${server.url}/repos/pool/main/r/repod-srcbad/${basename(other.dsc)}`)).status, 404);
  });

  it('another .dsc for a published source version is a 409 duplicate; the same one again is unchanged', async () => {
    const again = await uploadSource(server, [{ path: demo.dsc }, ...demo.files.map((path) => ({ path }))]);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.status, 'unchanged');
    const rebuilt = buildSourcePackage({ source: 'repod-srcdemo', upstream: '1.2', revision: '3', buildDepends: 'repod-buildtool (>= 1.1)' }, await mkdtemp(join(work, 'dup-')));
    // Same orig tarball bytes (the same content and mtime): only the .dsc and debian tarball differ.
    const before = await current(server);
    const dup = await uploadSource(server, [{ path: rebuilt.dsc }, ...rebuilt.files.map((path) => ({ path }))]);
    assert.equal(dup.status, 409, JSON.stringify(dup.body));
    assert.equal(dup.body.status, 'duplicate');
    assert.equal(await current(server), before);
  });

  it('repod push x.dsc: the files beside the .dsc go with it in one upload (src/cli/push/source-files.ts)', async () => {
    const pkg = buildSourcePackage({ source: 'repod-srcpush', upstream: '2.0', revision: '1' }, await mkdtemp(join(work, 'push-')));
    const dscFile = { path: pkg.dsc, filename: basename(pkg.dsc), size: (await stat(pkg.dsc)).size };
    const { packages, sources } = await splitSources([dscFile, ...pkg.files.map((path) => ({ path, filename: basename(path), size: 0 }))]);
    assert.deepEqual(packages, [], 'the files a .dsc names are not sent on their own');
    assert.equal(sources.length, 1);
    assert.deepEqual(sources[0]!.map((f) => f.filename).sort(), [basename(pkg.dsc), ...pkg.files.map((f) => basename(f))].sort());
    const answer = await pushSource(new ApiClient(server.url, server.adminToken), sources[0]!, { distribution: codename });
    assert.equal(answer.status, 'published', JSON.stringify(answer));
    assert.match(await (await fetch(`${server.url}/repos/dists/${codename}/main/source/Sources`)).text(), /^Package: repod-srcpush$/m);
    await rm(pkg.files.find((f) => f.endsWith('.orig.tar.gz'))!);
    await assert.rejects(sourceFiles(dscFile), /repod-srcpush_2\.0\.orig\.tar\.gz, not found beside it/);
  });

  it('corpus: cowsay (3.0 quilt) and pyspi (1.0) publish; apt-get source unpacks cowsay', { skip: needsCorpus() }, async () => {
    for (const names of [
      ['cowsay_3.03+dfsg2-8.dsc', 'cowsay_3.03+dfsg2.orig.tar.gz', 'cowsay_3.03+dfsg2-8.debian.tar.xz'],
      ['pyspi_0.6.1-1.3.dsc', 'pyspi_0.6.1.orig.tar.gz', 'pyspi_0.6.1-1.3.diff.gz'],
    ]) {
      const { status, body } = await uploadSource(
        server,
        names.map((n) => ({ path: corpusFile(n) })),
      );
      assert.equal(status, 201, JSON.stringify(body));
    }
    const sources = await (await fetch(`${server.url}/repos/dists/${codename}/main/source/Sources`)).text();
    const tree = await mkdtemp(join(work, 'corpus-'));
    for (const [dir, names] of [
      ['pool/main/c/cowsay', ['cowsay_3.03+dfsg2-8.dsc', 'cowsay_3.03+dfsg2.orig.tar.gz', 'cowsay_3.03+dfsg2-8.debian.tar.xz']],
      ['pool/main/p/pyspi', ['pyspi_0.6.1-1.3.dsc', 'pyspi_0.6.1.orig.tar.gz', 'pyspi_0.6.1-1.3.diff.gz']],
    ] as const) {
      await mkdir(join(tree, dir), { recursive: true });
      for (const n of names) await copyFile(corpusFile(n), join(tree, dir, n));
    }
    const expected = execFileSync('apt-ftparchive', ['sources', 'pool'], { cwd: tree, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
    for (const stanza of expected.split('\n\n').filter((s) => s.trim())) assert.ok(sources.includes(`${stanza}\n\n`), stanza);

    await client.aptGet(['update']);
    await client.aptGet(['source', '--download-only', 'cowsay']);
    assert.ok((await stat(join(client.dir, 'cowsay_3.03+dfsg2-8.dsc'))).isFile());
    execFileSync('dpkg-source', ['--no-check', '-x', 'cowsay_3.03+dfsg2-8.dsc', 'cowsay-src'], { cwd: client.dir, stdio: 'ignore', timeout: 60_000 });
    assert.ok((await stat(join(client.dir, 'cowsay-src/debian/control'))).isFile());
  });
});

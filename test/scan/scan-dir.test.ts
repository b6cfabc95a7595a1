/**
 * `repod mkrepo` and `repod scan` on directories filled with `cp`, end to end: the real bin
 * regenerates repodata/ and dists/ inside the tree, a plain nginx serves the tree, and real dnf
 * (gpgcheck, repo_gpgcheck) and apt-get (signed-by) install from it. A second run after one more
 * package reads that one object; a corrupted package stops the run with nothing written, --force
 * lists it in malformed_list.txt; `repod scan` publishes into a server's store as one revision,
 * and two scans of one directory at once publish once.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repod } from '../cli/run-cli.ts';
import { aptClient } from '../helpers/apt-client.ts';
import { dpkgDebBuild } from '../helpers/debs.ts';
import { createPackagerKey, type PackagerKey, signRpms } from '../helpers/gpg.ts';
import { dnfClient } from '../helpers/rpm-clients.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { hasCommand, run } from '../helpers/run.ts';
import { startServer } from '../helpers/server.ts';
import { type StaticNginx, startStaticNginx, staticNginxSkipReason } from '../helpers/static-nginx.ts';

const skip = staticNginxSkipReason() || (!hasCommand('dnf') || !hasCommand('apt-get') || !hasCommand('rpmbuild') ? 'dnf, apt-get and rpmbuild are needed' : false);
const EPOCH = 1700000000;

interface Built {
  packager: PackagerKey;
  signerHome: string;
  /** The metadata signing key, armored (GPG_SIGN_KEY) and its public half. */
  signing: { secret: string; public: string };
  rpm: { dep: string; app: string; extra: string };
  deb: { dep: string; app: string; extra: string };
}

async function buildPackages(dir: string): Promise<Built> {
  const packager = await createPackagerKey();
  const signer = await createPackagerKey('repod mkrepo metadata');
  const secret = await run('gpg', ['--homedir', signer.home, '--armor', '--export-secret-keys', signer.name]);
  const [dep, app, extra] = await buildRpms(
    [
      { name: 'repod-sdep', version: '1.0', arch: 'noarch', provides: ['repod-sdep-feature = 1.0'], files: [{ path: '/usr/share/repod-sdep/x' }], sourceDateEpoch: EPOCH },
      {
        name: 'repod-sapp',
        version: '1.0',
        arch: 'x86_64',
        requires: ['repod-sdep-feature >= 1.0'],
        files: [{ path: '/usr/bin/repod-sapp', mode: '0755', content: '#!/bin/sh\necho sapp\n' }],
        sourceDateEpoch: EPOCH,
      },
      { name: 'repod-sextra', version: '0.1', arch: 'noarch', files: [{ path: '/usr/share/repod-sextra/x' }], sourceDateEpoch: EPOCH },
    ],
    join(dir, 'rpms'),
  );
  await signRpms(packager, [dep, app, extra]);
  const debs = join(dir, 'debs');
  await mkdir(debs, { recursive: true });
  const deb = {
    dep: dpkgDebBuild({ name: 'repod-saptdep', version: '1.0-1', arch: 'all', files: [{ path: 'usr/share/repod-saptdep/x', content: 'dep\n' }] }, debs),
    app: dpkgDebBuild(
      { name: 'repod-saptapp', version: '1.0-1', arch: 'amd64', depends: 'repod-saptdep (>= 1.0)', files: [{ path: 'usr/bin/repod-saptapp', content: '#!/bin/sh\necho a\n' }] },
      debs,
    ),
    extra: dpkgDebBuild({ name: 'repod-saptextra', version: '0.1-1', arch: 'all', files: [{ path: 'usr/share/repod-saptextra/x' }] }, debs),
  };
  return { packager, signerHome: signer.home, signing: { secret, public: await readFile(signer.publicKeyPath, 'utf8') }, rpm: { dep, app, extra }, deb };
}

async function place(tree: string, path: string, file: string): Promise<void> {
  await mkdir(join(tree, path), { recursive: true });
  await copyFile(file, join(tree, path, basename(file)));
}

describe('repod mkrepo and scan on a directory', { skip }, () => {
  let work: string;
  let built: Built;
  let nginx: StaticNginx;
  const keyHomes: string[] = [];

  const mkrepo = async (args: string[]) => {
    const r = await repod(['mkrepo', '--json', ...args], { env: { GPG_SIGN_KEY: built.signing.secret }, timeoutMs: 120_000 });
    return r;
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'repod-scan-'));
    built = await buildPackages(work);
    keyHomes.push(built.packager.home, built.signerHome);
    await run('chmod', ['755', work]);
    nginx = await startStaticNginx(work);
  });
  after(async () => {
    await nginx?.stop();
    for (const home of keyHomes) await run('gpgconf', ['--homedir', home, '--kill', 'all']).catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('writes repodata/ beside Packages/ with the hrefs as found; dnf installs with gpgcheck and repo_gpgcheck; a second run reads only the new package', async () => {
    const tree = join(work, 'rpmtree');
    await place(tree, 'Packages/d', built.rpm.dep);
    await place(tree, 'Packages/a', built.rpm.app);
    const first = await mkrepo(['--sign', tree]);
    assert.equal(first.code, 0, first.stderr);
    const report = first.json() as { scans: Array<{ read: number; found: number; status: string }> };
    assert.equal(report.scans[0].read, 2);
    assert.equal(report.scans[0].status, 'published');
    const repomd = await readFile(join(tree, 'repodata/repomd.xml'), 'utf8');
    const primary = repomd.match(/href="(repodata\/[0-9a-f]{64}-primary\.xml\.gz)"/)![1];
    const xml = (await run('bash', ['-c', `zcat ${join(tree, primary)}`])).toString();
    assert.match(xml, /href="Packages\/a\/repod-sapp-1\.0-1\.x86_64\.rpm"/);
    assert.match(xml, /href="Packages\/d\/repod-sdep-1\.0-1\.noarch\.rpm"/);

    const dnf = await dnfClient(`${nginx.url}/rpmtree/`, { gpgkeys: [`${nginx.url}/rpmtree/repodata/repomd.xml.key`, `file://${built.packager.publicKeyPath}`] });
    await dnf.dnf(['install', 'repod-sapp']);
    assert.ok((await stat(join(dnf.root, 'usr/bin/repod-sapp'))).isFile());

    await place(tree, 'Packages/e', built.rpm.extra);
    const second = await mkrepo(['--sign', tree]);
    assert.equal(second.code, 0, second.stderr);
    const again = second.json() as { scans: Array<{ read: number; found: number; unchanged: number; added: number }> };
    assert.deepEqual(
      { read: again.scans[0].read, found: again.scans[0].found, unchanged: again.scans[0].unchanged, added: again.scans[0].added },
      { read: 1, found: 3, unchanged: 2, added: 1 },
    );
    await dnf.dnf(['install', 'repod-sextra']);
    assert.ok((await stat(join(dnf.root, 'usr/share/repod-sextra/x'))).isFile());
    // The old metadata files are kept one generation for clients reading the previous repomd.xml.
    assert.ok((await readdir(join(tree, 'repodata'))).filter((f) => f.endsWith('-primary.xml.gz')).length === 2);
    await rm(dnf.dir, { recursive: true, force: true });
  });

  it('writes dists/<codename>/ beside pool/ with Filename as found; apt-get installs with signed-by; removed files leave', async () => {
    const tree = join(work, 'debtree');
    await place(tree, 'pool/stable/main/r/repod-saptdep', built.deb.dep);
    await place(tree, 'pool/stable/main/r/repod-saptapp', built.deb.app);
    await place(tree, 'pool/stable/main/r/repod-saptextra', built.deb.extra);
    const r = await repod(['mkrepo', '--json', '--sign', tree], {
      env: { GPG_SIGN_KEY: built.signing.secret, MKREPO_DEB_ORIGIN: 'Example Org', MKREPO_DEB_LABEL: 'example', MKREPO_DEB_DESCRIPTION: 'Example packages' },
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const release = await readFile(join(tree, 'dists/stable/Release'), 'utf8');
    assert.match(release, /^Origin: Example Org$/m);
    assert.match(release, /^Label: example$/m);
    assert.match(release, /^Description: Example packages$/m);
    const packages = await readFile(join(tree, 'dists/stable/main/binary-amd64/Packages'), 'utf8');
    assert.match(packages, /^Filename: pool\/stable\/main\/r\/repod-saptapp\/repod-saptapp_1\.0-1_amd64\.deb$/m);
    const apt = await aptClient({ url: `${nginx.url}/debtree`, codename: 'stable', keyArmored: built.signing.public });
    await apt.aptGet(['update']);
    await apt.aptGet(['install', '-y', 'repod-saptapp']);
    assert.match(await apt.dpkgQuery(['-W', 'repod-saptapp']), /1\.0-1/);

    await rm(join(tree, 'pool/stable/main/r/repod-saptextra'), { recursive: true });
    const second = await mkrepo(['--sign', tree]);
    assert.equal(second.code, 0, second.stderr);
    const scan = (second.json() as { scans: Array<{ read: number; removed: number }> }).scans[0];
    assert.deepEqual({ read: scan.read, removed: scan.removed }, { read: 0, removed: 1 });
    assert.doesNotMatch(await readFile(join(tree, 'dists/stable/main/binary-amd64/Packages'), 'utf8'), /repod-saptextra/);
    await rm(apt.dir, { recursive: true, force: true });
  });

  it('stops on a corrupted package with nothing written; --force leaves it out and lists it in malformed_list.txt', async () => {
    const tree = join(work, 'badtree');
    await place(tree, 'Packages', built.rpm.dep);
    await mkdir(join(tree, 'Packages/x'), { recursive: true });
    const good = await readFile(built.rpm.extra);
    await writeFile(join(tree, 'Packages/x/broken-1.0-1.noarch.rpm'), good.subarray(0, 300));
    const stopped = await mkrepo(['--sign', tree]);
    assert.notEqual(stopped.code, 0);
    assert.match(stopped.stderr, /Packages\/x\/broken-1\.0-1\.noarch\.rpm/);
    await assert.rejects(stat(join(tree, 'repodata/repomd.xml')), { code: 'ENOENT' });

    const forced = await mkrepo(['--sign', '--force', tree]);
    assert.equal(forced.code, 0, forced.stderr);
    const list = await readFile(join(tree, 'repodata/malformed_list.txt'), 'utf8');
    assert.match(list, /^Packages\/x\/broken-1\.0-1\.noarch\.rpm: .*truncated/m);
    const repomd = await readFile(join(tree, 'repodata/repomd.xml'), 'utf8');
    assert.match(repomd, /primary/);
  });

  it('repod scan publishes a directory into a server store as one revision; two scans at once publish once; the server serves it', async () => {
    const tree = join(work, 'droptree');
    await place(tree, 'Packages', built.rpm.dep);
    await place(tree, 'Packages', built.rpm.app);
    const store = await mkdtemp(join(tmpdir(), 'repod-scan-store-'));
    const scan = () => repod(['scan', tree, '--dist', 'rocky9', '--storage', `file:${store}`, '--json'], { timeoutMs: 120_000 });
    const results = await Promise.all([scan(), scan()]);
    const ok = results.filter((r) => r.code === 0).map((r) => r.json() as { status: string; read: number });
    const refused = results.filter((r) => r.code !== 0);
    for (const r of refused) assert.match(r.stderr, /scan_running/);
    assert.equal(ok.filter((r) => r.status === 'published').length, 1, JSON.stringify(results.map((r) => [r.code, r.stdout, r.stderr])));
    assert.deepEqual(await readdir(join(store, 'dists/rocky9/revisions')).then((f) => f.length), 1);

    const server = await startServer({ REPOD_STORAGE: `file:${store}` });
    try {
      const repomd = await fetch(`${server.url}/repos/rocky9/x86_64/repodata/repomd.xml`);
      assert.equal(repomd.status, 200);
      const rpm = await fetch(`${server.url}/repos/rocky9/x86_64/Packages/${basename(built.rpm.app)}`, { redirect: 'manual' });
      assert.equal(rpm.status, 200);
      await rpm.arrayBuffer();
    } finally {
      await server.stop();
      await rm(store, { recursive: true, force: true });
    }
  });
});

/**
 * `repod mkrepo` and `repod scan` on a Ceph RADOS Gateway bucket filled with `s3cmd put`: the
 * metadata is written into the bucket beside the packages (hrefs as found), a copy of the bucket
 * served by a plain nginx is a repository dnf installs from with repo_gpgcheck, a second run after
 * one more `s3cmd put` reads that one object, and `repod scan` publishes the bucket into a store.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repod } from '../cli/run-cli.ts';
import { createPackagerKey, type PackagerKey } from '../helpers/gpg.ts';
import { type Rgw, rgwSkipReason, startRgw } from '../helpers/rgw.ts';
import { dnfClient } from '../helpers/rpm-clients.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { hasCommand, run } from '../helpers/run.ts';
import { type StaticNginx, startStaticNginx, staticNginxSkipReason } from '../helpers/static-nginx.ts';

const skip = rgwSkipReason() || staticNginxSkipReason() || (!hasCommand('s3cmd') || !hasCommand('dnf') || !hasCommand('rpmbuild') ? 's3cmd, dnf and rpmbuild are needed' : false);

describe('repod mkrepo and scan on an S3 bucket (Ceph RGW)', { skip }, () => {
  let rgw: Rgw;
  let work: string;
  let s3cfg: string;
  let signer: PackagerKey;
  let secret: string;
  let rpms: string[];
  let nginx: StaticNginx;

  const s3cmd = (args: string[]) => run('s3cmd', ['-c', s3cfg, ...args]);
  const flags = () => ['--s3-endpoint', rgw.endpoint, '--s3-region', rgw.region, '--s3-access-key-id', rgw.accessKey, '--s3-secret-access-key', rgw.secretKey];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'repod-scan-s3-'));
    await run('chmod', ['755', work]);
    rgw = await startRgw();
    const host = new URL(rgw.endpoint).host;
    s3cfg = join(work, 's3cfg');
    await writeFile(
      s3cfg,
      `[default]\naccess_key = ${rgw.accessKey}\nsecret_key = ${rgw.secretKey}\nhost_base = ${host}\nhost_bucket = ${host}\nuse_https = False\nbucket_location = ${rgw.region}\nsignature_v2 = False\n`,
    );
    signer = await createPackagerKey('repod mkrepo s3 metadata');
    secret = await run('gpg', ['--homedir', signer.home, '--armor', '--export-secret-keys', signer.name]);
    rpms = await buildRpms(
      [1, 2].map((n) => ({ name: `repod-s3pkg${n}`, version: '1.0', arch: 'noarch', files: [{ path: `/usr/share/repod-s3pkg${n}/x` }], sourceDateEpoch: 1700000000 })),
      join(work, 'rpms'),
    );
    nginx = await startStaticNginx(join(work, 'served'));
  });
  after(async () => {
    await nginx?.stop();
    await rgw?.stop();
    if (signer) await run('gpgconf', ['--homedir', signer.home, '--kill', 'all']).catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('writes repodata/ into the bucket; dnf installs from a served copy; a second run after one s3cmd put reads one object', async () => {
    const location = `s3://${rgw.bucket}/rpmrepo`;
    await s3cmd(['put', rpms[0], `${location}/Packages/r/${basename(rpms[0])}`]);
    const first = await repod(['mkrepo', '--json', '--sign', ...flags(), location], { env: { GPG_SIGN_KEY: secret }, timeoutMs: 120_000 });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.json().scans[0].read, 1);

    await s3cmd(['put', rpms[1], `${location}/Packages/r/${basename(rpms[1])}`]);
    const anonymous = (key: string) => fetch(`${rgw.endpoint}/${rgw.bucket}/${key}`);
    assert.equal((await anonymous('rpmrepo/repodata/repomd.xml')).status, 403, 'private unless asked');
    const second = await repod(['mkrepo', '--json', '--sign', '--s3-public-read', ...flags(), location], { env: { GPG_SIGN_KEY: secret }, timeoutMs: 120_000 });
    assert.equal(second.code, 0, second.stderr);
    const publicRepomd = await anonymous('rpmrepo/repodata/repomd.xml');
    assert.equal(publicRepomd.status, 200, '--s3-public-read: the metadata are readable by anyone');
    assert.match(await publicRepomd.text(), /<repomd/);
    assert.equal((await anonymous(`rpmrepo/Packages/r/${basename(rpms[1])}`)).status, 403, "the packages keep the uploader's ACL");
    const scan = second.json().scans[0];
    assert.deepEqual({ found: scan.found, read: scan.read, unchanged: scan.unchanged }, { found: 2, read: 1, unchanged: 1 });

    // The bucket as a web server would serve it (repod's own .repod/ objects left out).
    const served = join(work, 'served', 'rpmrepo');
    await s3cmd(['sync', '--exclude', '.repod/*', `${location}/`, `${served}/`]);
    await run('chmod', ['-R', 'a+rX', join(work, 'served')]);
    const repomd = await readFile(join(served, 'repodata/repomd.xml'), 'utf8');
    assert.match(repomd, /-primary\.xml\.gz/);
    const dnf = await dnfClient(`${nginx.url}/rpmrepo/`, { gpgkeys: [`${nginx.url}/rpmrepo/repodata/repomd.xml.key`], gpgcheck: false });
    await dnf.dnf(['install', 'repod-s3pkg1', 'repod-s3pkg2']);
    await rm(dnf.dir, { recursive: true, force: true });
  });

  it('repod scan publishes the bucket into a store', async () => {
    const location = `s3://${rgw.bucket}/drop`;
    for (const f of rpms) await s3cmd(['put', f, `${location}/Packages/${basename(f)}`]);
    const store = await mkdtemp(join(tmpdir(), 'repod-scan-s3-store-'));
    try {
      const r = await repod(['scan', location, '--dist', 'rocky9', '--storage', `file:${store}`, '--json', ...flags()], { timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.stderr);
      const report = r.json();
      assert.deepEqual({ status: report.status, read: report.read, added: report.added }, { status: 'published', read: 2, added: 2 });
    } finally {
      await rm(store, { recursive: true, force: true });
    }
  });
});

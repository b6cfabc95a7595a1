/**
 * `repod export --to s3://...` on a Ceph RADOS Gateway (a real S3 server): the packages and the
 * latest/ tree are server-side copies, a second export after one more publish copies one package
 * and moves latest/ (its pointer, .repod/latest.json, last), and real dnf installs and upgrades
 * from the bucket over anonymous HTTP (--s3-public-read), pointed at .../latest/x86_64/.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repod } from '../cli/run-cli.ts';
import { createPackagerKey, type PackagerKey, signRpms } from '../helpers/gpg.ts';
import { type Rgw, rgwSkipReason, startRgw } from '../helpers/rgw.ts';
import { dnfClient } from '../helpers/rpm-clients.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { hasCommand, run } from '../helpers/run.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';

const skip = rgwSkipReason() || (!hasCommand('dnf') || !hasCommand('rpmbuild') ? 'dnf and rpmbuild are needed' : false);
const EPOCH = 1700000000;

describe('repod export to an S3 bucket (Ceph RGW)', { skip }, () => {
  let rgw: Rgw;
  let server: RunningServer;
  let key: PackagerKey;
  let work: string;
  let rpms: { dep: string; app1: string; app2: string };

  const flags = () => ['--s3-endpoint', rgw.endpoint, '--s3-region', rgw.region, '--s3-access-key-id', rgw.accessKey, '--s3-secret-access-key', rgw.secretKey];
  const anonymous = (key: string) => fetch(`${rgw.endpoint}/${rgw.bucket}/${key}`);
  const exportDist = async (extra: string[] = []) => {
    const r = await repod(['export', 'rocky9', '--to', `s3://${rgw.bucket}/repos`, '--storage', server.storage, '--json', ...flags(), ...extra], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `export failed:\n${r.stdout}\n${r.stderr}`);
    return r.json();
  };
  const upload = async (file: string) => {
    const { status, body } = await uploadFile(server, 'rocky9', file);
    assert.equal(status, 201, JSON.stringify(body));
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'repod-export-s3-'));
    key = await createPackagerKey();
    const app = (version: string) => ({
      name: 'repod-s3app',
      version,
      arch: 'x86_64',
      requires: ['repod-s3dep'],
      files: [{ path: '/usr/bin/repod-s3app', mode: '0755', content: `#!/bin/sh\necho repod-s3app ${version}\n` }],
      sourceDateEpoch: EPOCH,
    });
    const [dep] = await buildRpms(
      [{ name: 'repod-s3dep', version: '1.0', arch: 'noarch', files: [{ path: '/usr/share/repod-s3dep/x', content: 'dep\n' }], sourceDateEpoch: EPOCH }],
      work,
    );
    const [app1] = await buildRpms([app('1.0')], join(work, 'v1'));
    const [app2] = await buildRpms([app('2.0')], join(work, 'v2'));
    await signRpms(key, [dep, app1, app2]);
    rpms = { dep, app1, app2 };
    rgw = await startRgw();
    server = await startServer();
    await upload(dep);
    await upload(app1);
  });
  after(async () => {
    await server?.stop();
    await rgw?.stop();
    if (key) await run('gpgconf', ['--homedir', key.home, '--kill', 'all']).catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('exports with server-side copies; latest/ moves after one more publish copying one package; dnf installs from the bucket', async () => {
    const first = await exportDist(['--s3-public-read']);
    assert.equal(first.revision.number, 2);
    assert.equal(first.packages.copied, 2, JSON.stringify(first.packages));
    assert.equal(first.latest.switched, true);
    assert.ok(first.latest.files.copied > 5 && first.latest.files.unchanged === 0, JSON.stringify(first.latest));
    const pointer = async () => JSON.parse(await (await anonymous('repos/rocky9/.repod/latest.json')).text());
    assert.equal((await pointer()).revision, '2');
    for (const name of ['repomd.xml', 'repomd.xml.asc']) {
      const served = await (await fetch(`${server.url}/repos/rocky9/x86_64/repodata/${name}`)).text();
      const latest = await anonymous(`repos/rocky9/latest/x86_64/repodata/${name}`);
      assert.equal(latest.status, 200, `latest/${name} is public`);
      assert.equal(await latest.text(), served, name);
    }

    const keyFile = join(work, 'packager.asc');
    await writeFile(keyFile, await readFile(key.publicKeyPath, 'utf8'));
    const base = `${rgw.endpoint}/${rgw.bucket}/repos/rocky9/latest/x86_64/`;
    const client = await dnfClient(base, { gpgkeys: [`file://${keyFile}`, `${base}repodata/repomd.xml.key`] });
    try {
      await client.dnf(['install', 'repod-s3app']);
      assert.match(await readFile(join(client.root, 'usr/bin/repod-s3app'), 'utf8'), /repod-s3app 1\.0/);

      await upload(rpms.app2);
      // A reader going through latest/ while it moves finds every file the repomd.xml it read names.
      let stop = false;
      const problems: string[] = [];
      const seen = new Set<string>();
      const reader = (async () => {
        while (!stop) {
          const repomd = await anonymous('repos/rocky9/latest/x86_64/repodata/repomd.xml');
          if (repomd.status !== 200) {
            problems.push(`repomd.xml: ${repomd.status}`);
            continue;
          }
          const xml = await repomd.text();
          seen.add(xml);
          for (const [, href] of xml.matchAll(/href="([^"]+)"/g)) {
            const file = await anonymous(`repos/rocky9/latest/x86_64/${href}`);
            await file.arrayBuffer();
            if (file.status !== 200) problems.push(`${href}: ${file.status}`);
          }
        }
      })();
      const next = await exportDist(['--s3-public-read']).finally(() => {
        stop = true;
      });
      await reader;
      assert.deepEqual(problems, []);
      assert.ok(seen.size >= 1);
      assert.equal(next.revision.number, 3);
      assert.equal(next.packages.copied, 1, `one package sent: ${JSON.stringify(next.packages)}`);
      assert.ok(next.packages.linked >= 2, `the others copied server-side from revision 2: ${JSON.stringify(next.packages)}`);
      assert.deepEqual({ from: next.latest.from, to: next.latest.to, switched: next.latest.switched }, { from: '2', to: '3', switched: true });
      // latest/ gets the new package, the new metadata files and the entry points; the old packages stay.
      assert.ok(next.latest.files.unchanged >= 2, JSON.stringify(next.latest.files));
      assert.ok(next.latest.files.copied < first.latest.files.copied + 6, JSON.stringify(next.latest.files));
      assert.equal((await pointer()).revision, '3');
      assert.equal((await pointer()).previous, '2');
      await client.dnf(['--refresh', 'upgrade']);
      assert.match(await readFile(join(client.root, 'usr/bin/repod-s3app'), 'utf8'), /repod-s3app 2\.0/);

      // Nothing new: nothing copied, latest stays.
      const again = await exportDist();
      assert.equal(again.packages.copied, 0);
      assert.equal(again.latest.switched, false);
    } finally {
      await rm(client.dir, { recursive: true, force: true });
    }
  });

  it('refuses a bucket it cannot write before writing anything', async () => {
    const r = await repod(['export', 'rocky9', '--to', 's3://no-such-bucket-here/repos', '--storage', server.storage, ...flags()], { timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /cannot write to s3:\/\/no-such-bucket-here\/repos/);
  });
});

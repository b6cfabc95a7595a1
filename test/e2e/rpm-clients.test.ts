/**
 * Real dnf, zypper and dnf reposync against a running repod, on the file store and on a real S3
 * server (Ceph RGW): signed packages, signed metadata, a dependency, an upgrade, a mirror, and a
 * client that read repomd.xml before a publish.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createPackagerKey, type PackagerKey, signRpms } from '../helpers/gpg.ts';
import { type Rgw, rgwSkipReason, startRgw } from '../helpers/rgw.ts';
import { dnfClient, zypperClient } from '../helpers/rpm-clients.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { type RunningServer, type Runtime, startServer, uploadFile } from '../helpers/server.ts';

interface Built {
  dep: string;
  app1: string;
  app2: string;
  extra: string;
  key: PackagerKey;
}

async function buildPackages(): Promise<Built> {
  const out = await mkdtemp(join(tmpdir(), 'repod-e2e-rpms-'));
  const key = await createPackagerKey();
  const epoch = 1700000000;
  const [dep] = await buildRpms(
    [
      {
        name: 'repod-dep',
        version: '1.0',
        arch: 'noarch',
        provides: ['repod-dep-feature = 1.0'],
        files: [{ path: '/usr/share/repod-dep/data.txt', content: 'dep data\n' }],
        sourceDateEpoch: epoch,
      },
    ],
    out,
  );
  const app = (version: string) => ({
    name: 'repod-app',
    version,
    arch: 'x86_64',
    requires: ['repod-dep-feature >= 1.0'],
    files: [{ path: '/usr/bin/repod-app', mode: '0755', content: `#!/bin/sh\necho repod-app ${version}\n` }],
    sourceDateEpoch: epoch,
    changelog: [{ time: epoch, author: `Tester <t@example.com> - ${version}-1`, text: `- version ${version}` }],
  });
  const [app1] = await buildRpms([app('1.0')], join(out, 'v1'));
  const [app2] = await buildRpms([app('2.0')], join(out, 'v2'));
  const [extra] = await buildRpms([{ name: 'repod-extra', version: '0.1', arch: 'noarch', files: [{ path: '/usr/share/repod-extra/x' }], sourceDateEpoch: epoch }], out);
  await signRpms(key, [dep, app1, app2, extra]);
  return { dep, app1, app2, extra, key };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function clientSuite(name: string, serverEnv: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>, skip: string | false = false, runtime: Runtime = 'node') {
  describe(`real RPM clients (${name})`, { skip }, () => {
    let built: Built;
    let server: RunningServer;
    let cleanup: () => Promise<void> = async () => undefined;
    const dist = 'rocky9';
    const base = () => `${server.url}/repos/${dist}/x86_64/`;

    before(async () => {
      built = await buildPackages();
      const s = await serverEnv();
      cleanup = s.cleanup;
      server = await startServer(s.env, runtime);
      for (const file of [built.dep, built.app1]) {
        const { status, body } = await uploadFile(server, dist, file);
        assert.equal(status, 201, JSON.stringify(body));
      }
    });
    after(async () => {
      await server?.stop();
      await cleanup();
    });

    it('dnf with gpgcheck and repo_gpgcheck installs a package and its dependency, then upgrades it', async () => {
      const client = await dnfClient(base(), { gpgkeys: [`${server.url}/repos/gpg.key`, `file://${built.key.publicKeyPath}`] });
      await client.dnf(['install', 'repod-app']);
      assert.match(await readFile(join(client.root, 'usr/bin/repod-app'), 'utf8'), /repod-app 1\.0/);
      assert.equal(await readFile(join(client.root, 'usr/share/repod-dep/data.txt'), 'utf8'), 'dep data\n');

      const { status, body } = await uploadFile(server, dist, built.app2);
      assert.equal(status, 201, JSON.stringify(body));
      await client.dnf(['upgrade', '--refresh', 'repod-app']);
      assert.match(await readFile(join(client.root, 'usr/bin/repod-app'), 'utf8'), /repod-app 2\.0/);
    });

    it('zypper refreshes, installs and downloads with signature checks', async () => {
      const client = await zypperClient(base(), [built.key.publicKeyPath]);
      await client.zypper(['refresh']);
      await client.zypper(['install', 'repod-app']);
      assert.ok(existsSync(join(client.root, 'usr/bin/repod-app')));
      assert.ok(existsSync(join(client.root, 'usr/share/repod-dep/data.txt')));
      const out = await client.zypper(['download', 'repod-dep']);
      assert.match(out, /repod-dep/);
    });

    it('dnf reposync --download-metadata mirrors every package with verified checksums', async () => {
      const client = await dnfClient(base(), { gpgkeys: [`${server.url}/repos/gpg.key`, `file://${built.key.publicKeyPath}`] });
      const dest = await mkdtemp(join(tmpdir(), 'repod-reposync-'));
      await client.dnf(['reposync', '--repoid', 'repod', '--download-metadata', '-p', dest]);
      const root = join(dest, 'repod');
      const repomd = await readFile(join(root, 'repodata/repomd.xml'), 'utf8');
      for (const m of repomd.matchAll(/<checksum type="sha256">([0-9a-f]{64})<\/checksum>\s*<location href="([^"]+)"/g)) {
        assert.equal(sha256(await readFile(join(root, m[2]))), m[1], `${m[2]} matches repomd.xml`);
      }
      const primaryHref = /href="(repodata\/[^"]+-primary\.xml\.gz)"/.exec(repomd)![1];
      const primary = gunzipSync(await readFile(join(root, primaryHref))).toString();
      const packages = [...primary.matchAll(/<checksum type="sha256" pkgid="YES">([0-9a-f]{64})<\/checksum>[\s\S]*?<location href="([^"]+)"/g)];
      assert.equal(packages.length, 3, 'dep, app 1.0 and app 2.0');
      for (const [, sum, href] of packages) assert.equal(sha256(await readFile(join(root, href))), sum, href);
      assert.deepEqual((await readdir(join(root, 'Packages'))).sort(), ['repod-app-1.0-1.x86_64.rpm', 'repod-app-2.0-1.x86_64.rpm', 'repod-dep-1.0-1.noarch.rpm']);
    });

    const streams = name !== 'Ceph RGW';
    it(streams ? `streams packages itself (${name})` : 'redirects package downloads to presigned URLs of the S3 store', async () => {
      const path = `${base()}Packages/repod-dep-1.0-1.noarch.rpm`;
      const expected = sha256(await readFile(built.dep));
      const response = await fetch(path, { redirect: 'manual' });
      if (streams) {
        assert.equal(response.status, 200);
        assert.equal(sha256(new Uint8Array(await response.arrayBuffer())), expected);
        return;
      }
      assert.equal(response.status, 302);
      const location = response.headers.get('location')!;
      assert.ok(location.startsWith(rgw!.endpoint), location);
      assert.match(location, /X-Amz-Signature=/);
      assert.equal(sha256(new Uint8Array(await (await fetch(location)).arrayBuffer())), expected);
      const tampered = location.replace(/X-Amz-Signature=([0-9a-f])/, (_, c) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`);
      assert.equal((await fetch(tampered)).status, 403, 'the store verifies the signature');
    });

    it('a client holding an older repomd.xml still gets matching files after a publish', async () => {
      const repomd = await (await fetch(`${base()}repodata/repomd.xml`)).text();
      const hrefs = [...repomd.matchAll(/<checksum type="sha256">([0-9a-f]{64})<\/checksum>\s*<location href="([^"]+)"/g)];
      assert.equal(hrefs.length, 3);
      const { status } = await uploadFile(server, dist, built.extra);
      assert.equal(status, 201);
      const newer = await (await fetch(`${base()}repodata/repomd.xml`)).text();
      assert.notEqual(newer, repomd, 'the publish changed repomd.xml');
      for (const [, sum, href] of hrefs) {
        const response = await fetch(`${base()}${href}`);
        assert.equal(response.status, 200, href);
        assert.equal(sha256(new Uint8Array(await response.arrayBuffer())), sum, `${href} still has its old content`);
      }
    });
  });
}

clientSuite('file store', async () => ({ env: {}, cleanup: async () => undefined }));

let rgw: Rgw | undefined;
clientSuite(
  'Ceph RGW',
  async () => {
    rgw = await startRgw();
    return { env: { ...rgw.env, REPOD_STORAGE: `s3://${rgw.bucket}/repod` }, cleanup: async () => rgw?.stop() };
  },
  rgwSkipReason(),
);

// The same clients against the Worker (npm run start:worker: workerd, R2 emulated on disk).
clientSuite('Worker on R2', async () => ({ env: {}, cleanup: async () => undefined }), false, 'worker');

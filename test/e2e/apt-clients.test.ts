/**
 * Real apt-get against a running repod, on the file store and on Ceph RGW: signed-by, no warning,
 * a dependency installed into a scratch dpkg root, an upgrade, fetches through by-hash, and a
 * client that read InRelease before a publish finishing its update after it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { aptClient } from '../helpers/apt-client.ts';
import { dpkgDebBuild } from '../helpers/debs.ts';
import { type Rgw, rgwSkipReason, startRgw } from '../helpers/rgw.ts';
import { type RunningServer, type Runtime, startServer, uploadFile } from '../helpers/server.ts';

interface Built {
  dep: string;
  app1: string;
  app2: string;
  extra: string;
}

async function buildPackages(): Promise<Built> {
  const out = await mkdtemp(join(tmpdir(), 'repod-e2e-debs-'));
  const dep = dpkgDebBuild({ name: 'repod-aptdep', version: '1.0-1', arch: 'all', files: [{ path: 'usr/share/repod-aptdep/data.txt', content: 'dep data\n' }] }, out, {
    compression: 'xz',
  });
  const app = (version: string) =>
    dpkgDebBuild(
      {
        name: 'repod-aptapp',
        version,
        arch: 'amd64',
        depends: 'repod-aptdep (>= 1.0)',
        files: [{ path: 'usr/bin/repod-aptapp', content: `#!/bin/sh\necho repod-aptapp ${version}\n` }],
      },
      out,
      { compression: 'zstd' },
    );
  const extra = dpkgDebBuild({ name: 'libreopd-extra1', version: '0.1-1', arch: 'amd64', files: [{ path: 'usr/lib/libreopd-extra.so.1' }] }, out, { compression: 'gzip' });
  return { dep, app1: app('1.0-1'), app2: app('2.0-1'), extra };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const requests = (server: RunningServer) =>
  server.logs
    .join('')
    .split('\n')
    .filter((l) => l.includes('"message":"request"'));

function aptSuite(name: string, serverEnv: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>, skip: string | false = false, runtime: Runtime = 'node') {
  describe(`real apt (${name})`, { skip }, () => {
    let built: Built;
    let server: RunningServer;
    let cleanup: () => Promise<void> = async () => undefined;
    let key: string;
    const codename = 'bookworm';

    before(async () => {
      built = await buildPackages();
      const s = await serverEnv();
      cleanup = s.cleanup;
      server = await startServer({ ...s.env, REPOD_ACCESS_LOG: '1' }, runtime);
      for (const file of [built.dep, built.app1]) {
        const { status, body } = await uploadFile(server, codename, file);
        assert.equal(status, 201, JSON.stringify(body));
      }
      key = await (await fetch(`${server.url}/repos/gpg.key`)).text();
    });
    after(async () => {
      await server?.stop();
      await cleanup();
    });

    it('apt-get update has no warning, installs a package with its dependency, then upgrades it', async () => {
      const client = await aptClient({ url: `${server.url}/repos`, codename, keyArmored: key });
      const update = await client.aptGet(['update']);
      assert.doesNotMatch(update, /^(W|E):/m, update);
      // apt prefers xz among the compressions a Release lists: it fetched Packages.xz, by hash.
      const xzHash = /^ ([0-9a-f]{64}) +\d+ main\/binary-amd64\/Packages\.xz$/m.exec(await (await fetch(`${server.url}/repos/dists/${codename}/InRelease`)).text())?.[1];
      assert.ok(xzHash, 'InRelease lists main/binary-amd64/Packages.xz');
      assert.ok(
        requests(server).some((l) => l.includes(`/main/binary-amd64/by-hash/SHA256/${xzHash}`) && l.includes('"status":200')),
        'apt fetched Packages.xz',
      );
      assert.match(update, /InRelease/);
      await client.aptGet(['install', 'repod-aptapp']);
      assert.match(await readFile(join(client.root, 'usr/bin/repod-aptapp'), 'utf8'), /repod-aptapp 1\.0-1/);
      assert.equal(await readFile(join(client.root, 'usr/share/repod-aptdep/data.txt'), 'utf8'), 'dep data\n');

      const { status } = await uploadFile(server, codename, built.app2);
      assert.equal(status, 201);
      const again = await client.aptGet(['update']);
      assert.doesNotMatch(again, /^(W|E):/m, again);
      await client.aptGet(['upgrade']);
      assert.match(await readFile(join(client.root, 'usr/bin/repod-aptapp'), 'utf8'), /repod-aptapp 2\.0-1/);
      assert.match(await client.dpkgQuery(['-W', 'repod-aptapp']), /repod-aptapp\s+2\.0-1/);

      const byHash = requests(server).filter((l) => /\/repos\/dists\/bookworm\/main\/binary-amd64\/by-hash\/SHA256\/[0-9a-f]{64}/.test(l));
      assert.ok(byHash.length >= 2, 'apt fetched the Packages index through by-hash');
      assert.ok(
        byHash.every((l) => l.includes('"status":200')),
        byHash.join('\n'),
      );
    });

    it('a client that read InRelease before a publish finishes its update after it', async () => {
      const inRelease = await (await fetch(`${server.url}/repos/dists/${codename}/InRelease`)).text();
      const entries = [...inRelease.matchAll(/^ ([0-9a-f]{64}) +(\d+) (\S+)$/gm)];
      assert.ok(entries.length >= 6);
      const { status } = await uploadFile(server, codename, built.extra);
      assert.equal(status, 201);
      const newer = await (await fetch(`${server.url}/repos/dists/${codename}/InRelease`)).text();
      assert.notEqual(newer, inRelease);
      for (const [, hash, size, path] of entries) {
        const dir = path.slice(0, path.lastIndexOf('/') + 1);
        const response = await fetch(`${server.url}/repos/dists/${codename}/${dir}by-hash/SHA256/${hash}`);
        assert.equal(response.status, 200, path);
        const body = new Uint8Array(await response.arrayBuffer());
        assert.equal(body.length, Number(size));
        assert.equal(sha256(body), hash, `${path} of the older revision`);
      }
    });

    it('serves lib* sources under their pool prefix and arch all packages in every architecture', async () => {
      const amd64 = await (await fetch(`${server.url}/repos/dists/${codename}/main/binary-amd64/Packages`)).text();
      const arm64 = await (await fetch(`${server.url}/repos/dists/${codename}/main/binary-arm64/Packages`)).text();
      assert.match(amd64, /^Filename: pool\/main\/libr\/libreopd-extra1\/libreopd-extra1_0\.1-1_amd64\.deb$/m);
      assert.match(arm64, /^Package: repod-aptdep$/m);
      assert.doesNotMatch(arm64, /^Package: repod-aptapp$/m);
      const pkg = await fetch(`${server.url}/repos/pool/main/r/repod-aptdep/repod-aptdep_1.0-1_all.deb`, { redirect: 'manual' });
      if (name !== 'Ceph RGW') {
        assert.equal(pkg.status, 200);
        assert.equal(sha256(new Uint8Array(await pkg.arrayBuffer())), sha256(await readFile(built.dep)));
      } else {
        assert.equal(pkg.status, 302);
        assert.equal(sha256(new Uint8Array(await (await fetch(pkg.headers.get('location')!)).arrayBuffer())), sha256(await readFile(built.dep)));
      }
    });
  });
}

aptSuite('file store', async () => ({ env: {}, cleanup: async () => undefined }));
let rgw: Rgw | undefined;
aptSuite(
  'Ceph RGW',
  async () => {
    rgw = await startRgw();
    return { env: { ...rgw.env, REPOD_STORAGE: `s3://${rgw.bucket}/apt` }, cleanup: async () => rgw?.stop() };
  },
  rgwSkipReason(),
);

// The same apt against the Worker (npm run start:worker: workerd, R2 emulated on disk).
aptSuite('Worker on R2', async () => ({ env: {}, cleanup: async () => undefined }), false, 'worker');

/**
 * Signed copies of one RPM build (Koji's sigs) and dist-repo, with a real server, real rpmsign,
 * rpmkeys and dnf: a copy that differs only by its signature is stored as another copy (not a 409),
 * a rebuild with the same NEVRA is still refused, a distribution's key preference picks the copy it
 * publishes on upload, dist-repo swaps every package to its copy by the first listed key (failing
 * by default on a package no listed key signed, keeping or dropping it on request), repod signs a
 * stored package with its own key, and dnf installs with gpgcheck=1 and only the chosen key.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { createPackagerKey, type PackagerKey, signRpms } from '../helpers/gpg.ts';
import { dnfClient } from '../helpers/rpm-clients.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';
import { type OpenedStore, storesUnderTest } from '../helpers/store-suites.ts';

const exec = promisify(execFile);

async function keyIdOf(key: PackagerKey): Promise<string> {
  const { stdout } = await exec('gpg', ['--homedir', key.home, '--with-colons', '--list-keys', key.name]);
  return /^pub:[^:]*:[^:]*:[^:]*:([0-9A-F]{16}):/m.exec(stdout)![1];
}

/** `rpmkeys -Kv` of a file with only the given public key imported. */
async function checkSig(file: string, publicKeyPath: string): Promise<string> {
  const db = await mkdtemp(join(tmpdir(), 'repod-rpmdb-'));
  try {
    await exec('rpmkeys', ['--dbpath', db, '--import', publicKeyPath]);
    const { stdout } = await exec('rpmkeys', ['--dbpath', db, '-Kv', file]).catch((e) => e as { stdout: string });
    return stdout;
  } finally {
    await rm(db, { recursive: true, force: true });
  }
}

for (const store of storesUnderTest())
  describe(`signed copies and dist-repo (${store.name})`, { skip: store.skip }, () => {
    let opened: OpenedStore | undefined;
    let server: RunningServer;
    let dir: string;
    let keyA: PackagerKey;
    let keyB: PackagerKey;
    let idA: string;
    let idB: string;
    const rpm: Record<string, string> = {};
    const sha: Record<string, string> = {};

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'repod-sigcopies-'));
      [keyA, keyB] = await Promise.all([createPackagerKey('repod key A'), createPackagerKey('repod key B')]);
      [idA, idB] = await Promise.all([keyIdOf(keyA), keyIdOf(keyB)]);
      const spec = (name: string, description = 'first build') => ({ name, arch: 'noarch', autoReqProv: false, description, files: [{ path: `/usr/share/${name}/x` }] });
      const [copied, lonely] = await buildRpms([spec('sc-copied'), spec('sc-lonely')], dir);
      const rebuildDir = await mkdtemp(join(dir, 'rebuild-'));
      const [rebuilt] = await buildRpms([spec('sc-copied', 'another build of the same NEVRA')], rebuildDir);
      rpm.unsigned = copied;
      rpm.lonely = lonely;
      rpm.rebuilt = rebuilt;
      rpm.a = join(dir, 'a', 'sc-copied-1.0-1.noarch.rpm');
      rpm.b = join(dir, 'b', 'sc-copied-1.0-1.noarch.rpm');
      for (const [which, key] of [
        ['a', keyA],
        ['b', keyB],
      ] as const) {
        await exec('mkdir', ['-p', join(dir, which)]);
        await copyFile(copied, rpm[which]);
        await signRpms(key, [rpm[which]]);
      }
      const config = join(dir, 'distributions.json');
      await writeFile(
        config,
        JSON.stringify({
          distributions: [
            { kind: 'rpm', name: 'koji', architectures: ['x86_64'], packageSignatures: { policy: 'allow-missing' } },
            { kind: 'rpm', name: 'prefer-b', architectures: ['x86_64'], packageSignatures: { policy: 'allow-missing', keys: [idB.slice(8), idA] } },
          ],
        }),
      );
      opened = await store.open('signed-copies');
      server = await startServer({ ...opened.env, REPOD_DISTRIBUTIONS: config });
    });
    after(async () => {
      await server?.stop();
      await opened?.close();
      for (const d of [dir, keyA?.home, keyB?.home]) if (d) await rm(d, { recursive: true, force: true });
    });

    const api = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as any };
    };
    const published = async (dist: string) => {
      const repomd = await (await fetch(`${server.url}/repos/${dist}/x86_64/repodata/repomd.xml`)).text();
      const href = /href="(repodata\/[0-9a-f]+-primary\.xml\.gz)"/.exec(repomd)![1];
      const xml = gunzipSync(new Uint8Array(await (await fetch(`${server.url}/repos/${dist}/x86_64/${href}`)).arrayBuffer())).toString();
      return Object.fromEntries([...xml.matchAll(/<name>([^<]+)<\/name>[\s\S]*?<checksum type="sha256" pkgid="YES">([0-9a-f]+)</g)].map((m) => [m[1], m[2]]));
    };
    const download = async (dist: string, name: string) => {
      const file = join(dir, `${dist}-${name}-${Date.now()}.rpm`);
      const response = await fetch(`${server.url}/repos/${dist}/x86_64/Packages/${name}-1.0-1.noarch.rpm`);
      assert.equal(response.status, 200);
      await writeFile(file, new Uint8Array(await response.arrayBuffer()));
      return file;
    };

    it('a copy that differs only by its signature is stored as another copy; a rebuild is still a 409', async () => {
      const first = await uploadFile(server, 'koji', rpm.unsigned);
      assert.equal(first.status, 201, JSON.stringify(first.body));
      sha.unsigned = first.body.sha256;
      assert.equal((await uploadFile(server, 'koji', rpm.lonely)).status, 201);
      for (const which of ['a', 'b']) {
        const copy = await uploadFile(server, 'koji', rpm[which]);
        assert.ok(copy.status === 200 || copy.status === 201, `${which}: ${JSON.stringify(copy.body)}`);
        assert.notEqual(copy.body.sha256, sha.unsigned);
        sha[which] = copy.body.sha256;
      }
      assert.equal((await published('koji'))['sc-copied'], sha.unsigned, 'the first copy stays published');
      const rebuilt = await uploadFile(server, 'koji', rpm.rebuilt);
      assert.equal(rebuilt.status, 409, JSON.stringify(rebuilt.body));
      assert.equal(rebuilt.body.error, 'duplicate_package');
      const copies = await api('GET', `/api/v1/packages/${sha.unsigned}/signatures`);
      assert.equal(copies.status, 200);
      const byKey = Object.fromEntries(copies.body.copies.map((c: any) => [c.sha256, c.keyIds]));
      assert.deepEqual(Object.keys(byKey).sort(), [sha.unsigned, sha.a, sha.b].sort());
      assert.deepEqual(byKey[sha.a], [idA]);
      assert.deepEqual(byKey[sha.b], [idB]);
      assert.deepEqual(byKey[sha.unsigned], []);
    });

    it('dist-repo fails by default naming the packages no listed key signed, and publishes nothing', async () => {
      const before = await api('GET', '/api/v1/distributions');
      const result = await api('POST', '/api/v1/distributions/koji/dist-repo', { keys: [idB, idA] });
      assert.equal(result.status, 422, JSON.stringify(result.body));
      assert.equal(result.body.error, 'missing_signatures');
      assert.match(result.body.message, /sc-lonely-1\.0-1\.noarch/);
      assert.doesNotMatch(result.body.message, /sc-copied/);
      const afterwards = await api('GET', '/api/v1/distributions');
      const rev = (b: any) => b.distributions.find((d: any) => d.name === 'koji').revision.id;
      assert.equal(rev(afterwards.body), rev(before.body));
    });

    it('dist-repo B A --allow-missing-signatures publishes the copy signed by B and keeps the unsigned one', async () => {
      const result = await api('POST', '/api/v1/distributions/koji/dist-repo', { keys: [idB, idA], missing: 'allow' });
      assert.equal(result.status, 201, JSON.stringify(result.body));
      assert.deepEqual(
        result.body.changed.map((c: any) => [c.label, c.from, c.to, c.key]),
        [['sc-copied-1.0-1.noarch', sha.unsigned, sha.b, idB]],
      );
      assert.deepEqual(
        result.body.unsigned.map((p: any) => p.label),
        ['sc-lonely-1.0-1.noarch'],
      );
      const now = await published('koji');
      assert.equal(now['sc-copied'], sha.b);
      assert.ok(now['sc-lonely'], 'kept under allow-missing');
      const check = await checkSig(await download('koji', 'sc-copied'), keyB.publicKeyPath);
      assert.match(check, new RegExp(`key ID ${idB.slice(8).toLowerCase()}: OK`), check);
      // The same run again changes nothing: no new revision.
      const again = await api('POST', '/api/v1/distributions/koji/dist-repo', { keys: [idB, idA], missing: 'allow' });
      assert.equal(again.status, 200);
      assert.equal(again.body.status, 'unchanged');
      assert.equal(again.body.revision.id, result.body.revision.id);
    });

    it('dnf installs the copy with gpgcheck=1 and only key B imported', async () => {
      const client = await dnfClient(`${server.url}/repos/koji/x86_64/`, { gpgkeys: [`${server.url}/repos/gpg.key`, `file://${keyB.publicKeyPath}`], gpgcheck: true });
      try {
        await client.dnf(['install', 'sc-copied']);
        assert.ok(existsSync(join(client.root, 'usr/share/sc-copied/x')));
      } finally {
        await rm(client.dir, { recursive: true, force: true });
      }
    });

    it('dist-repo A --skip-missing-signatures switches to A and drops the unsigned package', async () => {
      const result = await api('POST', '/api/v1/distributions/koji/dist-repo', { keys: [idA.slice(8)], missing: 'skip' });
      assert.equal(result.status, 201, JSON.stringify(result.body));
      assert.deepEqual(
        result.body.dropped.map((p: any) => p.label),
        ['sc-lonely-1.0-1.noarch'],
      );
      const now = await published('koji');
      assert.deepEqual(now, { 'sc-copied': sha.a });
      assert.match(await checkSig(await download('koji', 'sc-copied'), keyA.publicKeyPath), new RegExp(`key ID ${idA.slice(8).toLowerCase()}: OK`));
    });

    it('an upload signed by a preferred key replaces the published copy; a less preferred one is only stored', async () => {
      const a = await uploadFile(server, 'prefer-b', rpm.a);
      assert.equal(a.status, 201, JSON.stringify(a.body));
      const b = await uploadFile(server, 'prefer-b', rpm.b);
      assert.equal(b.status, 201, JSON.stringify(b.body));
      assert.equal(b.body.status, 'published');
      assert.equal((await published('prefer-b'))['sc-copied'], sha.b);
      const unsigned = await uploadFile(server, 'prefer-b', rpm.unsigned);
      assert.ok(unsigned.status === 200 || unsigned.status === 201, JSON.stringify(unsigned.body));
      assert.equal((await published('prefer-b'))['sc-copied'], sha.b, 'an unsigned copy does not displace a signed one');
      assert.equal((await uploadFile(server, 'prefer-b', rpm.rebuilt)).status, 409);
    });

    it('repod signs a stored copy with its own key, and dist-repo publishes it', async () => {
      const keys = await api('GET', '/api/v1/keys');
      assert.equal(keys.status, 200, JSON.stringify(keys.body));
      const own = (keys.body.keys ?? keys.body)[0];
      const signed = await api('POST', `/api/v1/packages/${sha.unsigned}/signatures`, { key: own.fingerprint });
      assert.equal(signed.status, 201, JSON.stringify(signed.body));
      assert.notEqual(signed.body.sha256, sha.unsigned);
      assert.equal(signed.body.keyIds.length, 1);
      const result = await api('POST', '/api/v1/distributions/koji/dist-repo', { keys: [own.keyId, idB] });
      assert.equal(result.status, 201, JSON.stringify(result.body));
      assert.equal((await published('koji'))['sc-copied'], signed.body.sha256);
      const repodKey = join(dir, 'repod.asc');
      await writeFile(repodKey, await (await fetch(`${server.url}/repos/gpg.key`)).text());
      const check = await checkSig(await download('koji', 'sc-copied'), repodKey);
      assert.match(check, /Header V4 EdDSA\/SHA512 Signature, key ID [0-9a-f]+: OK/, check);
      assert.doesNotMatch(check, /NOKEY|BAD/);
      const bad = await api('POST', `/api/v1/packages/${sha.unsigned}/signatures`, { key: 'DEADBEEFDEADBEEF' });
      assert.equal(bad.status, 404);
      assert.equal(bad.body.error, 'unknown_key');
    });
  });

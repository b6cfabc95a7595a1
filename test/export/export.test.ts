/**
 * `repod export` end to end: a real server publishes into a file store, the real `repod` bin
 * exports the distributions straight from that store, a plain nginx serves the directory, and real
 * dnf (gpgcheck and repo_gpgcheck) and apt-get (signed-by) install from it. A second export after
 * one more publish copies only the new package and moves `latest`; readers going through `latest`
 * while it moves always find every file the entry point they read names.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repod } from '../cli/run-cli.ts';
import { aptClient } from '../helpers/apt-client.ts';
import { dpkgDebBuild } from '../helpers/debs.ts';
import { createPackagerKey, type PackagerKey, signRpms } from '../helpers/gpg.ts';
import { dnfClient } from '../helpers/rpm-clients.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { hasCommand, run } from '../helpers/run.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';
import { type StaticNginx, startStaticNginx, staticNginxSkipReason } from '../helpers/static-nginx.ts';

const skip = staticNginxSkipReason() || (!hasCommand('dnf') || !hasCommand('apt-get') || !hasCommand('rpmbuild') ? 'dnf, apt-get and rpmbuild are needed' : false);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const EPOCH = 1700000000;

interface Built {
  key: PackagerKey;
  rpm: { dep: string; app1: string; app2: string; extras: string[] };
  deb: { dep: string; app1: string; app2: string; extras: string[] };
}

async function buildPackages(): Promise<Built> {
  const out = await mkdtemp(join(tmpdir(), 'repod-export-pkgs-'));
  const key = await createPackagerKey();
  const [dep] = await buildRpms(
    [
      {
        name: 'repod-xdep',
        version: '1.0',
        arch: 'noarch',
        provides: ['repod-xdep-feature = 1.0'],
        files: [{ path: '/usr/share/repod-xdep/data.txt', content: 'dep data\n' }],
        sourceDateEpoch: EPOCH,
      },
    ],
    out,
  );
  const app = (version: string) => ({
    name: 'repod-xapp',
    version,
    arch: 'x86_64',
    requires: ['repod-xdep-feature >= 1.0'],
    files: [{ path: '/usr/bin/repod-xapp', mode: '0755', content: `#!/bin/sh\necho repod-xapp ${version}\n` }],
    sourceDateEpoch: EPOCH,
  });
  const [app1] = await buildRpms([app('1.0')], join(out, 'v1'));
  const [app2] = await buildRpms([app('2.0')], join(out, 'v2'));
  const extras = await buildRpms(
    [1, 2, 3].map((n) => ({ name: `repod-xextra${n}`, version: '0.1', arch: 'noarch', files: [{ path: `/usr/share/repod-xextra${n}/x` }], sourceDateEpoch: EPOCH })),
    join(out, 'extras'),
  );
  await signRpms(key, [dep, app1, app2, ...extras]);
  const debDep = dpkgDebBuild({ name: 'repod-xaptdep', version: '1.0-1', arch: 'all', files: [{ path: 'usr/share/repod-xaptdep/data.txt', content: 'dep data\n' }] }, out, {
    compression: 'xz',
  });
  const debApp = (version: string) =>
    dpkgDebBuild(
      {
        name: 'repod-xaptapp',
        version,
        arch: 'amd64',
        depends: 'repod-xaptdep (>= 1.0)',
        files: [{ path: 'usr/bin/repod-xaptapp', content: `#!/bin/sh\necho repod-xaptapp ${version}\n` }],
      },
      out,
      { compression: 'xz' },
    );
  const debExtras = [1, 2, 3].map((n) =>
    dpkgDebBuild({ name: `repod-xaptextra${n}`, version: '0.1-1', arch: 'all', files: [{ path: `usr/share/x${n}/x` }] }, out, { compression: 'gzip' }),
  );
  return { key, rpm: { dep, app1, app2, extras }, deb: { dep: debDep, app1: debApp('1.0-1'), app2: debApp('2.0-1'), extras: debExtras } };
}

describe('repod export to a directory, served by nginx', { skip }, () => {
  let built: Built;
  let server: RunningServer;
  let nginx: StaticNginx;
  let out: string;
  const cleanups: string[] = [];

  const exportDist = async (dist: string, extra: string[] = []) => {
    const r = await repod(['export', dist, '--to', out, '--storage', server.storage, '--json', ...extra], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `export ${dist} failed:\n${r.stdout}\n${r.stderr}`);
    return r.json();
  };
  const upload = async (dist: string, file: string) => {
    const { status, body } = await uploadFile(server, dist, file);
    assert.equal(status, 201, JSON.stringify(body));
  };

  before(async () => {
    built = await buildPackages();
    server = await startServer();
    for (const f of [built.rpm.dep, built.rpm.app1]) await upload('rocky9', f);
    for (const f of [built.deb.dep, built.deb.app1]) await upload('bookworm', f);
    out = await mkdtemp(join(tmpdir(), 'repod-export-out-'));
    cleanups.push(out);
    await chmod(out, 0o755);
    nginx = await startStaticNginx(out);
  });
  after(async () => {
    await nginx?.stop();
    await server?.stop();
    await run('gpgconf', ['--homedir', built.key.home, '--kill', 'all']).catch(() => undefined);
    for (const dir of cleanups) await rm(dir, { recursive: true, force: true });
  });

  it('exports an RPM distribution with the bytes the server serves; dnf installs from it with gpgcheck and repo_gpgcheck', async () => {
    const report = await exportDist('rocky9');
    assert.equal(report.revision.number, 2);
    assert.equal(report.latest.switched, true);
    assert.equal(await readlink(join(out, 'rocky9/latest')), '2');
    // The same signed entry point the server answers with for this revision.
    for (const name of ['repomd.xml', 'repomd.xml.asc']) {
      const served = await (await fetch(`${server.url}/repos/rocky9/x86_64/repodata/${name}`)).text();
      assert.equal(await readFile(join(out, 'rocky9/2/x86_64/repodata', name), 'utf8'), served, name);
    }
    const keyFile = join(out, 'packager.asc');
    await writeFile(keyFile, await readFile(built.key.publicKeyPath, 'utf8'));
    const client = await dnfClient(`${nginx.url}/rocky9/latest/x86_64/`, { gpgkeys: [`file://${keyFile}`, `${nginx.url}/rocky9/latest/x86_64/repodata/repomd.xml.key`] });
    cleanups.push(client.dir);
    await client.dnf(['install', 'repod-xapp']);
    assert.match(await readFile(join(client.root, 'usr/bin/repod-xapp'), 'utf8'), /repod-xapp 1\.0/);
    assert.equal(await readFile(join(client.root, 'usr/share/repod-xdep/data.txt'), 'utf8'), 'dep data\n');

    // One more publish: the next export copies one package, links the rest, and moves latest.
    await upload('rocky9', built.rpm.app2);
    const next = await exportDist('rocky9');
    assert.equal(next.revision.number, 3);
    assert.equal(next.packages.copied, 1, JSON.stringify(next.packages));
    assert.ok(next.packages.linked >= 2, JSON.stringify(next.packages));
    assert.deepEqual(next.latest, { from: '2', to: '3', switched: true });
    assert.equal(await readlink(join(out, 'rocky9/latest')), '3');
    const depName = built.rpm.dep.slice(built.rpm.dep.lastIndexOf('/') + 1);
    assert.equal((await stat(join(out, 'rocky9/3/x86_64/Packages', depName))).ino, (await stat(join(out, 'rocky9/2/x86_64/Packages', depName))).ino, 'a hard link, not a copy');
    await client.dnf(['upgrade']);
    assert.match(await readFile(join(client.root, 'usr/bin/repod-xapp'), 'utf8'), /repod-xapp 2\.0/);

    // Again with nothing new: nothing is copied, latest stays.
    const again = await exportDist('rocky9');
    assert.equal(again.packages.copied, 0);
    assert.equal(again.latest.switched, false);

    // A run stopped before its entry points (kill -9): the next one resumes with what is there.
    const appName = built.rpm.app2.slice(built.rpm.app2.lastIndexOf('/') + 1);
    for (const path of ['x86_64/repodata/repomd.xml', 'x86_64/repodata/repomd.xml.asc', `x86_64/Packages/${appName}`]) await rm(join(out, 'rocky9/3', path));
    await rm(join(out, 'rocky9/.repod/3.json'));
    const resumed = await exportDist('rocky9');
    assert.equal(resumed.packages.copied, 1, JSON.stringify(resumed.packages));
    assert.ok(resumed.files.unchanged >= 3 && resumed.packages.unchanged >= 2, JSON.stringify(resumed));
    assert.equal(await readFile(join(out, 'rocky9/3/x86_64/repodata/repomd.xml'), 'utf8'), await (await fetch(`${server.url}/repos/rocky9/x86_64/repodata/repomd.xml`)).text());
  });

  it('exports an APT distribution with by-hash; apt-get installs from it with signed-by', async () => {
    const report = await exportDist('bookworm');
    assert.equal(report.latest.switched, true);
    const n = report.revision.number;
    const served = await (await fetch(`${server.url}/repos/dists/bookworm/InRelease`)).text();
    assert.equal(await readFile(join(out, `bookworm/${n}/dists/bookworm/InRelease`), 'utf8'), served);
    const client = await aptClient({ url: `${nginx.url}/bookworm/latest`, codename: 'bookworm', keyArmored: await readFile(join(out, 'bookworm/latest/gpg.key'), 'utf8') });
    cleanups.push(client.dir);
    const update = await client.aptGet(['update']);
    assert.doesNotMatch(update, /^(W|E):/m, update);
    const xzHash = /^ ([0-9a-f]{64}) +\d+ main\/binary-amd64\/Packages\.xz$/m.exec(served)?.[1];
    assert.ok(
      (await nginx.accessLog()).some((l) => l.includes(`/bookworm/latest/dists/bookworm/main/binary-amd64/by-hash/SHA256/${xzHash} 200`)),
      'apt fetched Packages.xz by hash',
    );
    await client.aptGet(['install', 'repod-xaptapp']);
    assert.match(await readFile(join(client.root, 'usr/bin/repod-xaptapp'), 'utf8'), /repod-xaptapp 1\.0-1/);

    await upload('bookworm', built.deb.app2);
    const next = await exportDist('bookworm');
    assert.equal(next.packages.copied, 1, JSON.stringify(next.packages));
    assert.equal(next.latest.to, String(n + 1));
    const again = await client.aptGet(['update']);
    assert.doesNotMatch(again, /^(W|E):/m, again);
    await client.aptGet(['upgrade']);
    assert.match(await readFile(join(client.root, 'usr/bin/repod-xaptapp'), 'utf8'), /repod-xaptapp 2\.0-1/);
  });

  it('a client reading through latest while it moves finds every file the entry point it read names', async () => {
    let stop = false;
    const problems: string[] = [];
    const seen = new Set<string>();
    let reads = 0;
    const get = async (path: string) => {
      const r = await fetch(`${nginx.url}/${path}`);
      return { status: r.status, bytes: new Uint8Array(await r.arrayBuffer()) };
    };
    const rpmReader = async () => {
      while (!stop) {
        const repomd = await get('rocky9/latest/x86_64/repodata/repomd.xml');
        if (repomd.status !== 200) {
          problems.push(`repomd.xml: ${repomd.status}`);
          continue;
        }
        const xml = new TextDecoder().decode(repomd.bytes);
        seen.add(`rpm ${sha256(repomd.bytes)}`);
        for (const [, body] of xml.matchAll(/<data\b[^>]*>([\s\S]*?)<\/data>/g)) {
          const href = /href="([^"]+)"/.exec(body)![1];
          const want = /<checksum type="sha256">([0-9a-f]{64})</.exec(body)![1];
          const file = await get(`rocky9/latest/x86_64/${href}`);
          if (file.status !== 200 || sha256(file.bytes) !== want) problems.push(`${href}: ${file.status}`);
        }
        reads++;
      }
    };
    const aptReader = async () => {
      while (!stop) {
        const inRelease = await get('bookworm/latest/dists/bookworm/InRelease');
        if (inRelease.status !== 200) {
          problems.push(`InRelease: ${inRelease.status}`);
          continue;
        }
        const text = new TextDecoder().decode(inRelease.bytes);
        seen.add(`apt ${sha256(inRelease.bytes)}`);
        for (const [, hash, , path] of text.matchAll(/^ ([0-9a-f]{64}) +(\d+) (main\/binary-amd64\/Packages\.xz)$/gm)) {
          const file = await get(`bookworm/latest/dists/bookworm/main/binary-amd64/by-hash/SHA256/${hash}`);
          if (file.status !== 200 || sha256(file.bytes) !== hash) problems.push(`${path} by-hash: ${file.status}`);
          const named = await get(`bookworm/latest/dists/bookworm/${path}`);
          if (named.status !== 200) problems.push(`${path}: ${named.status}`);
        }
        reads++;
      }
    };
    const readers = [rpmReader(), rpmReader(), aptReader()];
    for (let i = 0; i < built.rpm.extras.length; i++) {
      await upload('rocky9', built.rpm.extras[i]);
      await upload('bookworm', built.deb.extras[i]);
      await exportDist('rocky9');
      await exportDist('bookworm');
    }
    stop = true;
    await Promise.all(readers);
    assert.deepEqual(problems, []);
    assert.ok(reads > 10, `only ${reads} reads`);
    assert.ok([...seen].filter((s) => s.startsWith('rpm')).length >= 2, 'the RPM readers saw latest move');
    assert.ok([...seen].filter((s) => s.startsWith('apt')).length >= 2, 'the APT reader saw latest move');
  });

  it('refuses an unknown distribution, an unknown revision or tag, and a target it cannot write, writing nothing', async () => {
    const unknown = await repod(['export', 'nosuchdist', '--to', out, '--storage', server.storage]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no distribution "nosuchdist"/);
    const noRevision = await repod(['export', 'rocky9', '--revision', '999', '--to', out, '--storage', server.storage]);
    assert.equal(noRevision.code, 1);
    assert.match(noRevision.stderr, /no revision "999"/);
    const noTag = await repod(['export', 'rocky9', '--tag', 'nope', '--to', out, '--storage', server.storage]);
    assert.equal(noTag.code, 1);
    assert.match(noTag.stderr, /no tag "nope"/);
    const never = await repod(['export', 'almalinux9', '--to', out, '--storage', server.storage]);
    assert.equal(never.code, 1);
    assert.match(never.stderr, /almalinux9 has no published revision/);
    const file = join(out, 'a-file');
    await writeFile(file, 'x');
    const notWritable = await repod(['export', 'rocky9', '--to', join(file, 'sub'), '--storage', server.storage]);
    assert.equal(notWritable.code, 1);
    assert.match(notWritable.stderr, /cannot write to the export directory .*a-file\/sub/);
    const noStore = await repod(['export', 'rocky9', '--to', out, '--storage', `file:${join(out, 'no-store-here')}`]);
    assert.equal(noStore.code, 1);
    assert.match(noStore.stderr, /no store at/);
    await assert.rejects(stat(join(out, 'no-store-here')));
    await assert.rejects(stat(join(out, 'nosuchdist')));
    await assert.rejects(stat(join(out, 'almalinux9')));
  });
});

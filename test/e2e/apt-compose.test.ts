/**
 * APT distributions as the Debian archive lays them out, with real apt-get against a running
 * repod: several components (named by the upload or by the Section prefix), udebs in
 * <component>/debian-installer/binary-<arch>/Packages and not in the main index, `all` packages in
 * every binary-<arch>, an i386 client, and the bad inputs refused with the revision unchanged.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { aptClient } from '../helpers/apt-client.ts';
import { dpkgDebBuild } from '../helpers/debs.ts';
import { run } from '../helpers/run.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';
import { type OpenedStore, storesUnderTest } from '../helpers/store-suites.ts';

const codename = 'trixie';
const DISTRIBUTIONS = JSON.stringify({
  distributions: [{ kind: 'apt', name: codename, suite: 'testing', components: ['main', 'contrib', 'non-free'], architectures: ['amd64', 'arm64', 'i386'] }],
});

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

for (const store of storesUnderTest())
  describe(`APT components, udebs and architectures (real apt-get, ${store.name})`, { skip: store.skip }, () => {
    let opened: OpenedStore | undefined;
    let server: RunningServer;
    let work: string;
    let key: string;
    const pkgs: Record<string, string> = {};

    const get = async (path: string) => {
      const response = await fetch(`${server.url}${path}`);
      assert.equal(response.status, 200, `${path}: ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    };
    const text = async (path: string) => new TextDecoder().decode(await get(path));
    const release = () => text(`/repos/dists/${codename}/Release`);
    const listed = (rel: string) => new Map([...rel.matchAll(/^ ([0-9a-f]{64}) +(\d+) (\S+)$/gm)].map((m) => [m[3], m[1]]));

    before(async () => {
      work = await mkdtemp(join(tmpdir(), 'repod-aptcompose-'));
      const out = join(work, 'debs');
      pkgs.lib = dpkgDebBuild({ name: 'repod-cdata', version: '1.0-1', arch: 'all', section: 'libs' }, out);
      pkgs.contrib = dpkgDebBuild(
        {
          name: 'repod-contrib-tool',
          version: '2.0-1',
          arch: 'amd64',
          section: 'contrib/net',
          depends: 'repod-cdata',
          files: [{ path: 'usr/bin/repod-contrib-tool', content: '#!/bin/sh\necho contrib\n' }],
        },
        out,
      );
      pkgs.nonfree = dpkgDebBuild({ name: 'repod-nf', version: '1.0', arch: 'amd64', section: 'misc' }, out);
      pkgs.i386 = dpkgDebBuild({ name: 'repod-x86-only', version: '3.0', arch: 'i386', section: 'utils' }, out);
      pkgs.arm64 = dpkgDebBuild({ name: 'repod-arm-only', version: '3.0', arch: 'arm64', section: 'utils' }, out);
      const udeb = { name: 'repod-di-step', version: '1.2', arch: 'amd64', section: 'debian-installer', fields: [['Package-Type', 'udeb']] as Array<[string, string]> };
      pkgs.udeb = dpkgDebBuild(udeb, out, { fileName: 'repod-di-step_1.2_amd64.udeb' });
      pkgs.udebAsDeb = dpkgDebBuild(udeb, join(work, 'as-deb'), { fileName: 'repod-di-step_1.2_amd64.deb' });
      pkgs.debAsUdeb = dpkgDebBuild({ name: 'repod-plain', version: '1.0', arch: 'amd64' }, join(work, 'as-udeb'), { fileName: 'repod-plain_1.0_amd64.udeb' });
      pkgs.firmware = dpkgDebBuild({ name: 'repod-fw', version: '1.0', arch: 'all', section: 'non-free-firmware/kernel' }, out);

      const config = join(work, 'distributions.json');
      await writeFile(config, DISTRIBUTIONS);
      opened = await store.open('apt-compose');
      server = await startServer({ ...opened.env, REPOD_DISTRIBUTIONS: config });
      key = await (await fetch(`${server.url}/repos/gpg.key`)).text();
    });
    after(async () => {
      await server?.stop();
      await opened?.close();
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('files each upload in its component: the named one, else the Section prefix, else the first', async () => {
      const contrib = await uploadFile(server, codename, pkgs.contrib);
      assert.equal(contrib.status, 201, JSON.stringify(contrib.body));
      assert.equal(contrib.body.filename, 'pool/contrib/r/repod-contrib-tool/repod-contrib-tool_2.0-1_amd64.deb');
      const lib = await uploadFile(server, codename, pkgs.lib);
      assert.equal(lib.status, 201, JSON.stringify(lib.body));
      assert.match(lib.body.filename, /^pool\/main\//);
      const nonfree = await uploadFile(server, codename, pkgs.nonfree, { component: 'non-free' });
      assert.equal(nonfree.status, 201, JSON.stringify(nonfree.body));
      assert.match(nonfree.body.filename, /^pool\/non-free\//);
      for (const file of [pkgs.i386, pkgs.arm64]) {
        const r = await uploadFile(server, codename, file);
        assert.equal(r.status, 201, JSON.stringify(r.body));
      }

      const rel = await release();
      assert.match(rel, /^Components: main contrib non-free$/m);
      assert.match(rel, /^Architectures: amd64 arm64 i386$/m);
      const files = listed(rel);
      for (const component of ['main', 'contrib', 'non-free'])
        for (const arch of ['amd64', 'arm64', 'i386'])
          for (const path of [`${component}/binary-${arch}/Packages`, `${component}/binary-${arch}/Packages.xz`, `${component}/Contents-${arch}.gz`])
            assert.ok(files.has(path), `Release lists ${path}`);

      const contribPackages = await text(`/repos/dists/${codename}/contrib/binary-amd64/Packages`);
      assert.match(contribPackages, /^Package: repod-contrib-tool$/m);
      assert.match(contribPackages, /^Section: contrib\/net$/m);
      const mainPackages = await text(`/repos/dists/${codename}/main/binary-amd64/Packages`);
      assert.doesNotMatch(mainPackages, /repod-contrib-tool|repod-nf/);
      // `all` in every binary-<arch>; an architecture's own packages only in its index.
      for (const arch of ['amd64', 'arm64', 'i386']) assert.match(await text(`/repos/dists/${codename}/main/binary-${arch}/Packages`), /^Package: repod-cdata$/m);
      assert.match(await text(`/repos/dists/${codename}/main/binary-i386/Packages`), /^Package: repod-x86-only$/m);
      assert.doesNotMatch(mainPackages, /repod-x86-only|repod-arm-only/);
      assert.match(await text(`/repos/dists/${codename}/non-free/binary-amd64/Packages`), /^Package: repod-nf$/m);
    });

    it('installs from contrib with a dependency in main (amd64 client)', async () => {
      const client = await aptClient({ url: `${server.url}/repos`, codename, component: 'main contrib non-free', keyArmored: key });
      try {
        const update = await client.aptGet(['update']);
        assert.doesNotMatch(update, /^(W|E):/m, update);
        await client.aptGet(['install', 'repod-contrib-tool']);
        const installed = await client.dpkgQuery(['-W', 'repod-contrib-tool', 'repod-cdata']);
        assert.match(installed, /^repod-contrib-tool\s+2\.0-1$/m);
        assert.match(installed, /^repod-cdata\s+1\.0-1$/m);
        // An amd64 client does not see i386 packages.
        await assert.rejects(client.aptGet(['download', 'repod-x86-only']), /Unable to locate|has no installation candidate|Can't select/);
      } finally {
        await rm(client.dir, { recursive: true, force: true });
      }
    });

    it('an i386 client sees i386 and all packages, not arm64 ones', async () => {
      const client = await aptClient({ url: `${server.url}/repos`, codename, component: 'main', keyArmored: key, arch: 'i386' });
      try {
        const update = await client.aptGet(['update']);
        assert.doesNotMatch(update, /^(W|E):/m, update);
        assert.match(update, /main i386 Packages/);
        await client.aptGet(['download', 'repod-x86-only', 'repod-cdata']);
        const names = await readdir(client.dir);
        assert.ok(names.includes('repod-x86-only_3.0_i386.deb'), names.join(' '));
        assert.ok(names.includes('repod-cdata_1.0-1_all.deb'), names.join(' '));
        await assert.rejects(client.aptGet(['download', 'repod-arm-only']), /Unable to locate|has no installation candidate|Can't select/);
      } finally {
        await rm(client.dir, { recursive: true, force: true });
      }
    });

    it('puts a udeb in <component>/debian-installer, stanza as apt-ftparchive writes it, readable by apt', async () => {
      const r = await uploadFile(server, codename, pkgs.udeb);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.filename, 'pool/main/r/repod-di-step/repod-di-step_1.2_amd64.udeb');
      const base = `/repos/dists/${codename}/main`;
      assert.doesNotMatch(await text(`${base}/binary-amd64/Packages`), /repod-di-step/, 'not in the main Packages');
      const plain = await text(`${base}/debian-installer/binary-amd64/Packages`);
      assert.match(plain, /^Package: repod-di-step$/m);
      assert.match(plain, /^Package-Type: udeb$/m);
      assert.equal((plain.match(/^Package: /gm) ?? []).length, 1, 'only the udeb');
      assert.doesNotMatch(await text(`${base}/debian-installer/binary-i386/Packages`), /repod-di-step/);

      // The stanza, byte for byte, against apt-ftparchive over the file laid out at its pool path.
      const root = join(work, 'ftparchive');
      const poolFile = join(root, r.body.filename);
      await mkdir(join(poolFile, '..'), { recursive: true });
      await writeFile(poolFile, await get(`/repos/${r.body.filename}`));
      const expected = await run('apt-ftparchive', ['packages', 'pool'], { cwd: root, timeoutMs: 60_000 });
      assert.equal(plain, expected);

      // Compressed forms and by-hash, as Release lists them, for every architecture.
      const files = listed(await release());
      for (const arch of ['amd64', 'arm64', 'i386']) assert.ok(files.has(`main/debian-installer/binary-${arch}/Packages.xz`), arch);
      for (const name of ['Packages', 'Packages.gz', 'Packages.xz']) {
        const path = `main/debian-installer/binary-amd64/${name}`;
        const hash = files.get(path);
        assert.ok(hash, `Release lists ${path}`);
        assert.equal(sha256(await get(`/repos/dists/${codename}/${path}`)), hash);
        assert.equal(sha256(await get(`/repos/dists/${codename}/main/debian-installer/binary-amd64/by-hash/SHA256/${hash}`)), hash);
      }
      assert.equal(execFileSync('xz', ['-dc'], { input: await get(`${base}/debian-installer/binary-amd64/Packages.xz`), timeout: 30_000 }).toString(), plain);

      // apt reads it as the installer does (a sources line naming main/debian-installer).
      const client = await aptClient({ url: `${server.url}/repos`, codename, component: 'main/debian-installer', keyArmored: key });
      try {
        const update = await client.aptGet(['update']);
        assert.doesNotMatch(update, /^(W|E):/m, update);
        const lists = await readdir(join(client.dir, 'state/lists'));
        const list = lists.find((n) => n.endsWith('main_debian-installer_binary-amd64_Packages'));
        assert.ok(list, lists.join(' '));
        assert.equal(await readFile(join(client.dir, 'state/lists', list), 'utf8'), plain);
      } finally {
        await rm(client.dir, { recursive: true, force: true });
      }
    });

    it('removes a udeb by its file name', async () => {
      const response = await fetch(`${server.url}/api/v1/distributions/${codename}/builds`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ remove: ['repod-di-step_1.2_amd64.udeb'] }),
      });
      assert.equal(response.status, 201, await response.clone().text());
      assert.deepEqual(
        (await response.json()).removed.map((r: { filename: string }) => r.filename),
        ['pool/main/r/repod-di-step/repod-di-step_1.2_amd64.udeb'],
      );
      assert.doesNotMatch(await text(`/repos/dists/${codename}/main/debian-installer/binary-amd64/Packages`), /repod-di-step/);
    });

    it('refuses bad input with a 4xx naming the problem, the revision unchanged', async () => {
      const before = await release();
      const cases: Array<{ file: string; extra?: Record<string, string>; code: string; message: RegExp }> = [
        { file: pkgs.udebAsDeb, code: 'package_type_mismatch', message: /sent as a \.deb.*Package-Type: udeb/ },
        { file: pkgs.debAsUdeb, code: 'package_type_mismatch', message: /sent as a \.udeb.*Package-Type: deb/ },
        { file: pkgs.nonfree, extra: { component: 'universe' }, code: 'unknown_component', message: /no component universe.*main, contrib, non-free/ },
        { file: pkgs.firmware, code: 'unknown_component', message: /no component non-free-firmware.*Section.*main, contrib, non-free/ },
      ];
      for (const c of cases) {
        const r = await uploadFile(server, codename, c.file, c.extra);
        assert.equal(r.status, 422, JSON.stringify(r.body));
        assert.equal(r.body.error, c.code, JSON.stringify(r.body));
        assert.match(JSON.stringify(r.body), c.message);
      }
      assert.equal(await release(), before, 'no new revision');
    });
  });

/**
 * Real dnf against a running repod serving a distribution with multilib (pungi's `devel` method,
 * a blacklist and a whitelist) and the debuginfo split: the x86_64 repository lists the chosen
 * i686 packages and no debuginfo, `dnf install <name>.i686` works there, and the arch's debug/
 * repository serves the debuginfo packages to `dnf --enablerepo` and `dnf debuginfo-install`.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { repod } from '../cli/run-cli.ts';
import { REPO_ROOT } from '../helpers/paths.ts';
import { type DnfClient, dnfClient } from '../helpers/rpm-clients.ts';
import { buildRpms, type RpmSpec } from '../helpers/rpmbuild.ts';
import { hasCommand, run } from '../helpers/run.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';
import { type OpenedStore, storesUnderTest } from '../helpers/store-suites.ts';

const DIST = 'ml9';
const EPOCH = 1700000000;

const spec = (name: string, arch: string, files: RpmSpec['files']): RpmSpec => ({ name, version: '1.0', release: '1', arch, files, sourceDateEpoch: EPOCH });
const marker = (name: string, arch: string) => ({ path: `/usr/share/${name}-${arch}/version`, content: `${name} ${arch}\n` });

const SPECS: RpmSpec[] = [
  spec('foo', 'x86_64', [marker('foo', 'x86_64')]),
  spec('foo-debuginfo', 'x86_64', [{ path: '/usr/lib/debug/foo.debug', content: 'debug\n' }]),
  spec('foo-debugsource', 'x86_64', [{ path: '/usr/src/debug/foo-1.0/foo.c', content: 'int main;\n' }]),
  // runtime: a shared library in /usr/lib
  spec('libbar', 'i686', [{ path: '/usr/lib/libbar.so.1', content: 'not really elf\n' }]),
  // devel: the unversioned link and a header
  spec('libbar-devel', 'i686', [
    { path: '/usr/lib/libbar.so', kind: 'symlink', target: 'libbar.so.1' },
    { path: '/usr/include/bar.h', content: 'int bar;\n' },
  ]),
  // neither: only with policy all, or whitelisted
  spec('bartool', 'i686', [marker('bartool', 'i686')]),
  spec('wltool', 'i686', [marker('wltool', 'i686')]),
  // runtime, but blacklisted
  spec('libbaz', 'i686', [{ path: '/usr/lib/libbaz.so.2', content: 'not really elf\n' }]),
  spec('libbar-debuginfo', 'i686', [{ path: '/usr/lib/debug/usr/lib/libbar.so.1.debug', content: 'debug\n' }]),
];

for (const store of storesUnderTest())
  describe(`real dnf with multilib and the debuginfo split (${store.name})`, { skip: hasCommand('dnf') ? store.skip : 'dnf is not installed' }, () => {
    let opened: OpenedStore | undefined;
    let server: RunningServer;
    let dir: string;
    let client: DnfClient;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'repod-multilib-'));
      const files = await buildRpms(SPECS, join(dir, 'rpms'));
      const config = join(dir, 'distributions.json');
      await writeFile(
        config,
        JSON.stringify({
          distributions: [{ kind: 'rpm', name: DIST, architectures: ['x86_64', 'i686'], multilib: { policy: 'devel', blacklist: ['libbaz'], whitelist: ['wltool'] } }],
        }),
      );
      opened = await store.open('multilib');
      server = await startServer({ ...opened.env, REPOD_DISTRIBUTIONS: config });
      for (const file of files) assert.equal((await uploadFile(server, DIST, file)).status, 201, file);
      client = await dnfClient(`${server.url}/repos/${DIST}/x86_64/`, { gpgkeys: [`${server.url}/repos/gpg.key`], gpgcheck: false });
    });
    after(async () => {
      await server?.stop();
      await opened?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
      if (client) await rm(client.dir, { recursive: true, force: true });
    });

    const listed = async (c: DnfClient, extra: string[] = []) =>
      (await c.dnf([...extra, 'repoquery', '--qf', '%{name}.%{arch}']))
        .split('\n')
        .filter((l) => /^[\w.+-]+\.(x86_64|i686|noarch)$/.test(l))
        .sort();

    it('the x86_64 repository lists the devel and runtime i686 packages, the whitelisted one, and no debuginfo', async () => {
      assert.deepEqual(await listed(client), ['foo.x86_64', 'libbar-devel.i686', 'libbar.i686', 'wltool.i686']);
    });

    it('dnf install libbar.i686 works on x86_64', async () => {
      await client.dnf(['install', 'libbar.i686', 'wltool.i686']);
      assert.equal(await readFile(join(client.root, 'usr/lib/libbar.so.1'), 'utf8'), 'not really elf\n');
      assert.equal(await readFile(join(client.root, 'usr/share/wltool-i686/version'), 'utf8'), 'wltool i686\n');
      await assert.rejects(client.dnf(['install', 'libbaz.i686']), /No match|Unable to find a match|No package/);
    });

    it('the i686 repository is unchanged: every i686 package but the debuginfo', async () => {
      const r = await fetch(`${server.url}/repos/${DIST}/i686/repodata/repomd.xml`);
      assert.equal(r.status, 200);
      const i686 = await dnfClient(`${server.url}/repos/${DIST}/i686/`, { gpgkeys: [`${server.url}/repos/gpg.key`], gpgcheck: false });
      try {
        assert.deepEqual(await listed(i686, ['--forcearch=i686']), ['bartool.i686', 'libbar-devel.i686', 'libbar.i686', 'libbaz.i686', 'wltool.i686']);
      } finally {
        await rm(i686.dir, { recursive: true, force: true });
      }
    });

    it('the debug repository serves the debuginfo to --enablerepo and dnf debuginfo-install', async () => {
      // A -debuginfo repository beside the main one, disabled as Fedora ships it.
      const repoText =
        (await readFile(client.config, 'utf8')) +
        [
          '[repod-debuginfo]',
          'name=repod debuginfo',
          `baseurl=${server.url}/repos/${DIST}/x86_64/debug/`,
          'enabled=0',
          'gpgcheck=0',
          `gpgkey=${server.url}/repos/gpg.key`,
          'metadata_expire=0',
          '',
        ].join('\n');
      await writeFile(client.config, repoText);
      assert.deepEqual(await listed(client, ['--enablerepo=repod-debuginfo', '--repo=repod-debuginfo']), ['foo-debuginfo.x86_64', 'foo-debugsource.x86_64']);
      await client.dnf(['--enablerepo=repod-debuginfo', 'install', 'foo-debugsource']);
      assert.equal(await readFile(join(client.root, 'usr/src/debug/foo-1.0/foo.c'), 'utf8'), 'int main;\n');
      // dnf-plugins-core's debuginfo-install, unpacked beside (scripts/dnf-plugins.sh), with its own plugin dir.
      const plugins = (await run('bash', [join(REPO_ROOT, 'scripts/dnf-plugins.sh')])).trim().split('\n').pop()!;
      const pluginDir = join(dir, 'plugins');
      await run('mkdir', ['-p', pluginDir]);
      await copyFile(join(plugins, 'root/usr/lib/python3/dist-packages/dnf-plugins/debuginfo-install.py'), join(pluginDir, 'debuginfo-install.py'));
      await client.dnf(['install', 'foo']);
      await run('dnf', ['-y', '-c', client.config, `--installroot=${client.root}`, '--releasever=9', `--setopt=pluginpath=${pluginDir}`, 'debuginfo-install', 'foo'], {
        env: { PYTHONPATH: `${plugins}/root/usr/lib/python3/dist-packages` },
      });
      assert.equal(await readFile(join(client.root, 'usr/lib/debug/foo.debug'), 'utf8'), 'debug\n');
    });

    it('package downloads follow the split: debuginfo only under debug/, main packages only in the main repository', async () => {
      assert.equal((await fetch(`${server.url}/repos/${DIST}/x86_64/Packages/foo-debuginfo-1.0-1.x86_64.rpm`)).status, 404);
      assert.equal((await fetch(`${server.url}/repos/${DIST}/x86_64/debug/Packages/foo-1.0-1.x86_64.rpm`)).status, 404);
      assert.equal((await fetch(`${server.url}/repos/${DIST}/x86_64/debug/Packages/foo-debuginfo-1.0-1.x86_64.rpm`)).status, 200);
      assert.equal((await fetch(`${server.url}/repos/${DIST}/noarch/debug/repodata/repomd.xml`)).status, 404);
      const hashed = await fetch(`${server.url}/hashed/${DIST}/x86_64/debug/repodata/repomd.xml`);
      assert.equal(hashed.status, 200);
      assert.match(await hashed.text(), /primary_db/);
      const setup = await (await fetch(`${server.url}/repos/${DIST}/client-setup`)).text();
      assert.match(setup, new RegExp(`\\[repod-${DIST}-debuginfo\\]\\nname=[^\\n]*\\nbaseurl=${server.url}/repos/${DIST}/\\$basearch/debug/\\nenabled=0`));
    });

    it('a static export holds what each repository lists: i686 packages under x86_64, debuginfo under x86_64/debug', async () => {
      const out = join(dir, 'export');
      const r = await repod(['export', DIST, '--to', out, '--storage', server.storage, '--json'], {
        env: { ...opened?.env, REPOD_DISTRIBUTIONS: join(dir, 'distributions.json') },
        timeoutMs: 120_000,
      });
      assert.equal(r.code, 0, r.stderr);
      const root = join(out, DIST, 'latest');
      for (const repo of ['x86_64', 'x86_64/debug', 'i686', 'i686/debug']) {
        const repomd = await readFile(join(root, repo, 'repodata/repomd.xml'), 'utf8');
        const primaryHref = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)![1];
        const primary = gunzipSync(await readFile(join(root, repo, primaryHref))).toString();
        const hrefs = [...primary.matchAll(/<location href="([^"]+)"/g)].map((m) => m[1]);
        assert.ok(hrefs.length > 0, `${repo} lists packages`);
        for (const href of hrefs) assert.ok((await stat(join(root, repo, href)).catch(() => null))?.isFile(), `${repo}/${href} is in the export`);
      }
      assert.ok((await stat(join(root, 'x86_64/Packages/libbar-1.0-1.i686.rpm'))).isFile());
      assert.ok((await stat(join(root, 'x86_64/debug/Packages/foo-debuginfo-1.0-1.x86_64.rpm'))).isFile());
    });
  });

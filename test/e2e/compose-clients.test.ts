/**
 * Real dnf against a running repod serving a distribution's compose documents: groups from a
 * comps.xml (group list, info, install), a module stream with defaults (module list, modular
 * filtering, enable, install) and advisories (updateinfo list, upgrade --security).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TEST_MODULES as MODULES } from '../helpers/compose-documents.ts';
import { type DnfClient, dnfClient } from '../helpers/rpm-clients.ts';
import { buildRpms, type RpmSpec } from '../helpers/rpmbuild.ts';
import { hasCommand } from '../helpers/run.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';
import { type OpenedStore, storesUnderTest } from '../helpers/store-suites.ts';

const DIST = 'rocky9';
const EPOCH = 1700000000;

const pkg = (name: string, version: string, release = '1'): RpmSpec => ({
  name,
  version,
  release,
  arch: 'noarch',
  files: [{ path: `/usr/share/${name}/version`, content: `${name} ${version}-${release}\n` }],
  sourceDateEpoch: EPOCH,
});

const COMPS = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>repod-tools</id>
    <name>Repod tools</name>
    <description>Tools of the repod tests</description>
    <default>false</default>
    <uservisible>true</uservisible>
    <packagelist>
      <packagereq type="mandatory">tool-a</packagereq>
      <packagereq type="default">tool-b</packagereq>
      <packagereq type="optional">tool-missing</packagereq>
    </packagelist>
  </group>
</comps>
`;

const UPDATEINFO = JSON.stringify({
  updates: [
    {
      id: 'REPOD-SEC-1',
      type: 'security',
      severity: 'Important',
      title: 'sec-pkg 1.1',
      issued: '2024-01-01 00:00:00',
      pkglist: [{ short: 'repod', name: 'repod', packages: [{ name: 'sec-pkg', version: '1.1', release: '1', arch: 'noarch', filename: 'sec-pkg-1.1-1.noarch.rpm' }] }],
    },
    {
      id: 'REPOD-BUG-1',
      type: 'bugfix',
      title: 'bug-pkg 1.1',
      issued: '2024-01-01 00:00:00',
      pkglist: [{ short: 'repod', name: 'repod', packages: [{ name: 'bug-pkg', version: '1.1', release: '1', arch: 'noarch', filename: 'bug-pkg-1.1-1.noarch.rpm' }] }],
    },
  ],
});

for (const store of storesUnderTest())
  describe(`real dnf with comps, modules and updateinfo (${store.name})`, { skip: hasCommand('dnf') ? store.skip : 'dnf is not installed' }, () => {
    let opened: OpenedStore | undefined;
    let server: RunningServer;
    let client: DnfClient;
    let updates: string[];
    const auth = () => ({ authorization: `Bearer ${server.adminToken}` });
    const send = async (method: string, path: string, body: string, type: string) => {
      const r = await fetch(`${server.url}/api/v1/distributions/${DIST}${path}`, { method, headers: { ...auth(), 'content-type': type }, body });
      assert.ok(r.status === 201, `${method} ${path}: ${r.status} ${await r.text()}`);
    };
    const installed = (name: string) => readFile(join(client.root, `usr/share/${name}/version`), 'utf8').catch(() => null);

    before(async () => {
      const out = await mkdtemp(join(tmpdir(), 'repod-compose-rpms-'));
      const first = await buildRpms(
        [pkg('tool-a', '1.0'), pkg('tool-b', '1.0'), pkg('sec-pkg', '1.0'), pkg('bug-pkg', '1.0'), pkg('modpkg', '0.9'), pkg('modpkg', '1.0', '1.module_r1')],
        out,
      );
      updates = await buildRpms([pkg('sec-pkg', '1.1'), pkg('bug-pkg', '1.1')], join(out, 'updates'));
      opened = await store.open('compose');
      server = await startServer(opened.env);
      for (const file of first) assert.equal((await uploadFile(server, DIST, file)).status, 201);
      await send('PUT', '/comps', COMPS, 'application/xml');
      await send('PUT', '/modules', MODULES, 'application/yaml');
      client = await dnfClient(`${server.url}/repos/${DIST}/x86_64/`, { gpgkeys: [`${server.url}/repos/gpg.key`], gpgcheck: false });
    });
    after(async () => {
      await server?.stop();
      await opened?.close();
    });

    it('dnf group list, group info and group install', async () => {
      assert.match(await client.dnf(['group', 'list', '--hidden']), /Repod tools/);
      const info = await client.dnf(['group', 'info', 'repod-tools']);
      assert.match(info, /Mandatory Packages:[\s\S]*tool-a/);
      assert.match(info, /Default Packages:[\s\S]*tool-b/);
      await client.dnf(['group', 'install', 'repod-tools']);
      assert.equal(await installed('tool-a'), 'tool-a 1.0-1\n');
      assert.equal(await installed('tool-b'), 'tool-b 1.0-1\n');
    });

    it('dnf module list; modular packages stay hidden until the stream is enabled; module install', async () => {
      assert.match(await client.dnf(['module', 'list']), /repodmod\s+stable\s+\[?d?\]?\s*default/);
      // Not enabled: only the non-modular build is available.
      const available = await client.dnf(['repoquery', '--qf', '%{name}-%{version}-%{release}', 'modpkg']);
      assert.match(available, /modpkg-0\.9-1/);
      assert.doesNotMatch(available, /module_r1/);
      await client.dnf(['module', 'enable', 'repodmod:stable']);
      const enabled = await client.dnf(['repoquery', '--qf', '%{name}-%{version}-%{release}', 'modpkg']);
      assert.match(enabled, /modpkg-1\.0-1\.module_r1/);
      assert.doesNotMatch(enabled, /modpkg-0\.9-1/, 'an enabled stream hides the non-modular builds of its packages');
      await client.dnf(['module', 'install', 'repodmod:stable/default']);
      assert.equal(await installed('modpkg'), 'modpkg 1.0-1.module_r1\n');
    });

    it('dnf updateinfo list, and upgrade --security takes only the security update', async () => {
      await client.dnf(['install', 'sec-pkg', 'bug-pkg']);
      for (const file of updates) assert.equal((await uploadFile(server, DIST, file)).status, 201);
      await send('POST', '/updateinfo', UPDATEINFO, 'application/json');
      const list = await client.dnf(['--refresh', 'updateinfo', 'list']);
      assert.match(list, /REPOD-SEC-1\s+Important\/Sec\.\s+sec-pkg-1\.1-1\.noarch/);
      assert.match(list, /REPOD-BUG-1\s+bugfix\s+bug-pkg-1\.1-1\.noarch/);
      await client.dnf(['upgrade', '--security']);
      assert.equal(await installed('sec-pkg'), 'sec-pkg 1.1-1\n');
      assert.equal(await installed('bug-pkg'), 'bug-pkg 1.0-1\n', 'the bugfix is not a security update');
    });
  });

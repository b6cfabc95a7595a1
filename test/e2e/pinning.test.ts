/**
 * Real dnf and apt against a pinned revision while newer revisions are published, and against a
 * distribution just rolled back.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { aptClient } from '../helpers/apt-client.ts';
import { dpkgDebBuild } from '../helpers/debs.ts';
import { dnfClient } from '../helpers/rpm-clients.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { type RunningServer, type Runtime, startServer, uploadFile } from '../helpers/server.ts';

for (const runtime of ['node', 'worker'] as Runtime[]) {
  describe(`pinned revisions and rollback with real clients (${runtime})`, () => {
    let server: RunningServer;
    let key: string;
    const files: Record<string, string> = {};

    before(async () => {
      const out = await mkdtemp(join(tmpdir(), 'repod-pin-'));
      for (const v of ['1.0', '2.0', '3.0']) {
        [files[`rpm${v}`]] = await buildRpms(
          [{ name: 'pinned-app', version: v, arch: 'noarch', autoReqProv: false, files: [{ path: '/usr/share/pinned-app/version', content: `${v}\n` }] }],
          join(out, v),
        );
        files[`deb${v}`] = dpkgDebBuild({ name: 'pinned-app', version: `${v}-1`, arch: 'all', files: [{ path: 'usr/share/pinned-app/version', content: `${v}\n` }] }, out);
      }
      server = await startServer({}, runtime);
      for (const v of ['1.0', '2.0']) {
        assert.equal((await uploadFile(server, 'rocky9', files[`rpm${v}`])).status, 201);
        assert.equal((await uploadFile(server, 'bookworm', files[`deb${v}`])).status, 201);
      }
      key = await (await fetch(`${server.url}/repos/gpg.key`)).text();
    });
    after(() => server?.stop());

    const dnfInstalls = async (base: string) => {
      const client = await dnfClient(base, { gpgkeys: [`${server.url}/repos/gpg.key`], gpgcheck: false });
      await client.dnf(['install', 'pinned-app']);
      return (await readFile(join(client.root, 'usr/share/pinned-app/version'), 'utf8')).trim();
    };
    const aptInstalls = async (url: string) => {
      const client = await aptClient({ url, codename: 'bookworm', keyArmored: key });
      const update = await client.aptGet(['update']);
      assert.doesNotMatch(update, /^(W|E):/m, update);
      await client.aptGet(['install', 'pinned-app']);
      return (await readFile(join(client.root, 'usr/share/pinned-app/version'), 'utf8')).trim();
    };

    it('dnf and apt on revision 1 get version 1.0 while newer revisions are published', async () => {
      const dnfClientOld = await dnfClient(`${server.url}/revisions/rocky9/1/x86_64/`, { gpgkeys: [`${server.url}/repos/gpg.key`], gpgcheck: false });
      await dnfClientOld.dnf(['makecache']);
      assert.equal((await uploadFile(server, 'rocky9', files['rpm3.0'])).status, 201);
      assert.equal((await uploadFile(server, 'bookworm', files['deb3.0'])).status, 201);
      await dnfClientOld.dnf(['install', 'pinned-app']);
      assert.equal((await readFile(join(dnfClientOld.root, 'usr/share/pinned-app/version'), 'utf8')).trim(), '1.0');
      assert.equal(await aptInstalls(`${server.url}/revisions/bookworm/1`), '1.0');
      assert.equal(await dnfInstalls(`${server.url}/repos/rocky9/x86_64/`), '3.0');
      assert.equal(await aptInstalls(`${server.url}/repos`), '3.0');
    });

    it('after a rollback to revision 2, fresh clients of the distribution get 2.0 and an existing apt updates cleanly', async () => {
      const existing = await aptClient({ url: `${server.url}/repos`, codename: 'bookworm', keyArmored: key });
      await existing.aptGet(['update']);
      for (const dist of ['rocky9', 'bookworm']) {
        const response = await fetch(`${server.url}/api/v1/distributions/${dist}/rollback`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ revision: 2 }),
        });
        assert.equal(response.status, 201, await response.text());
      }
      assert.equal(await dnfInstalls(`${server.url}/repos/rocky9/x86_64/`), '2.0');
      assert.equal(await aptInstalls(`${server.url}/repos`), '2.0');
      const again = await existing.aptGet(['update']);
      assert.doesNotMatch(again, /^(W|E):/m, again);
      await existing.aptGet(['install', 'pinned-app']);
      assert.equal((await readFile(join(existing.root, 'usr/share/pinned-app/version'), 'utf8')).trim(), '2.0');
    });
  });
}

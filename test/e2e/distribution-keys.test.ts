/**
 * A signing key set per distribution, with real tools: two distributions signed by two dedicated
 * keys of the keyring each verify (gpgv) only with their own key, /repos/<dist>/gpg.key serves
 * that key, apt-get and dnf holding only that key install from them, and a distribution that
 * names no keys keeps the default set.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { aptClient } from '../helpers/apt-client.ts';
import { dpkgDebBuild } from '../helpers/debs.ts';
import { dnfClient } from '../helpers/rpm-clients.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { run } from '../helpers/run.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';
import { type OpenedStore, storesUnderTest } from '../helpers/store-suites.ts';

for (const store of storesUnderTest())
  describe(`per-distribution signing keys (real gpgv, apt-get and dnf; ${store.name})`, { skip: store.skip }, () => {
    let opened: OpenedStore | undefined;
    let server: RunningServer;
    let dir: string;
    let gnupg: string;
    const keys: Record<string, { fingerprint: string; keyId: string }> = {};

    const api = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as any };
    };
    const text = async (path: string) => {
      const response = await fetch(`${server.url}${path}`);
      assert.equal(response.status, 200, path);
      return response.text();
    };
    /** A binary keyring of what the server serves at `path`, for gpgv. */
    const keyringOf = async (path: string, name: string) => {
      const armored = join(dir, `${name}.asc`);
      const keyring = join(dir, `${name}.gpg`);
      await writeFile(armored, await text(path));
      await rm(keyring, { force: true });
      await run('gpg', ['--batch', '--no-default-keyring', '--keyring', keyring, '--import', armored], { env: { GNUPGHOME: gnupg } });
      return keyring;
    };
    const fingerprintsIn = async (path: string) => {
      const armored = join(dir, 'shown.asc');
      await writeFile(armored, await text(path));
      const out = await run('gpg', ['--batch', '--with-colons', '--show-keys', armored], { env: { GNUPGHOME: gnupg } });
      // Primary keys only: the fpr record right after each pub record (subkeys have their own).
      const lines = out.split('\n');
      return lines.flatMap((l, i) => (l.startsWith('fpr:') && lines[i - 1]?.startsWith('pub:') ? [l.split(':')[9]] : []));
    };
    const verifies = async (keyring: string, signature: string, signed?: string) => {
      try {
        await run('gpgv', ['--keyring', keyring, signature, ...(signed ? [signed] : [])], { env: { GNUPGHOME: gnupg } });
        return true;
      } catch {
        return false;
      }
    };
    const save = async (path: string, name: string) => {
      const file = join(dir, name);
      await writeFile(file, await text(path));
      return file;
    };

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'repod-dist-keys-'));
      gnupg = join(dir, 'gnupg');
      await mkdir(gnupg, { mode: 0o700 });
      opened = await store.open('distribution-keys');
      server = await startServer(opened.env);
      for (const name of ['team-a', 'team-b']) {
        const r = await api('POST', '/api/v1/keys', { name, dedicated: true });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        assert.equal(r.body.name, name);
        assert.equal(r.body.dedicated, true);
        keys[name] = r.body;
      }
      // By name, by key id: both name keys of the keyring.
      for (const [name, kind, key] of [
        ['teama', 'apt', 'team-a'],
        ['teamb', 'apt', keys['team-b'].keyId],
        ['teamb-rpm', 'rpm', 'team-b'],
      ] as const) {
        const entry = kind === 'apt' ? { name, kind, components: ['main'], architectures: ['amd64'] } : { name, kind, architectures: ['x86_64'] };
        const r = await api('POST', '/api/v1/distributions', { ...entry, signing: { keys: [key] } });
        assert.equal(r.status, 201, JSON.stringify(r.body));
      }
      const deb = dpkgDebBuild({ name: 'keyed', version: '1.0-1', arch: 'all' }, dir);
      const [rpm] = await buildRpms([{ name: 'keyed', arch: 'noarch', autoReqProv: false, files: [{ path: '/usr/share/keyed/x' }] }], dir);
      for (const [dist, file] of [
        ['teama', deb],
        ['teamb', deb],
        ['bookworm', deb],
        ['teamb-rpm', rpm],
      ]) {
        const r = await uploadFile(server, dist, file);
        assert.equal(r.status, 201, JSON.stringify(r.body));
      }
    });
    after(async () => {
      await server?.stop();
      await opened?.close();
      if (server?.storage.startsWith('file:')) await rm(server.storage.slice(5), { recursive: true, force: true });
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('/repos/<dist>/gpg.key serves the distribution own key; the default key file holds no dedicated key', async () => {
      assert.deepEqual(await fingerprintsIn('/repos/teama/gpg.key'), [keys['team-a'].fingerprint]);
      assert.deepEqual(await fingerprintsIn('/repos/teamb/gpg.key'), [keys['team-b'].fingerprint]);
      assert.deepEqual(await fingerprintsIn('/repos/teamb-rpm/gpg.key'), [keys['team-b'].fingerprint]);
      const defaults = await fingerprintsIn('/repos/gpg.key');
      assert.equal(defaults.length, 1);
      assert.ok(!defaults.includes(keys['team-a'].fingerprint) && !defaults.includes(keys['team-b'].fingerprint));
      assert.deepEqual(await fingerprintsIn('/repos/bookworm/gpg.key'), defaults);
      assert.match(await text('/repos/teama/client-setup'), new RegExp(`signed by: ${keys['team-a'].fingerprint}`));
    });

    it('each InRelease and repomd.xml.asc verifies only with its own key (gpgv)', async () => {
      const a = await keyringOf('/repos/teama/gpg.key', 'a');
      const b = await keyringOf('/repos/teamb/gpg.key', 'b');
      const d = await keyringOf('/repos/gpg.key', 'default');
      const inA = await save('/repos/dists/teama/InRelease', 'a-InRelease');
      const inB = await save('/repos/dists/teamb/InRelease', 'b-InRelease');
      const inDefault = await save('/repos/dists/bookworm/InRelease', 'bookworm-InRelease');
      assert.deepEqual([await verifies(a, inA), await verifies(b, inA), await verifies(d, inA)], [true, false, false]);
      assert.deepEqual([await verifies(a, inB), await verifies(b, inB), await verifies(d, inB)], [false, true, false]);
      assert.deepEqual([await verifies(a, inDefault), await verifies(b, inDefault), await verifies(d, inDefault)], [false, false, true]);
      const releaseA = await save('/repos/dists/teama/Release', 'a-Release');
      const gpgA = await save('/repos/dists/teama/Release.gpg', 'a-Release.gpg');
      assert.deepEqual([await verifies(a, gpgA, releaseA), await verifies(b, gpgA, releaseA)], [true, false]);
      const repomd = await save('/repos/teamb-rpm/x86_64/repodata/repomd.xml', 'repomd.xml');
      const asc = await save('/repos/teamb-rpm/x86_64/repodata/repomd.xml.asc', 'repomd.xml.asc');
      assert.deepEqual([await verifies(b, asc, repomd), await verifies(a, asc, repomd), await verifies(d, asc, repomd)], [true, false, false]);
      assert.deepEqual(await fingerprintsIn('/repos/teamb-rpm/x86_64/repodata/repomd.xml.key'), [keys['team-b'].fingerprint]);
    });

    it('apt-get with only the distribution key installs; with the default key it refuses', async () => {
      const good = await aptClient({ url: `${server.url}/repos`, codename: 'teama', keyArmored: await text('/repos/teama/gpg.key') });
      const out = await good.aptGet(['update']);
      assert.doesNotMatch(out, /^(W|E):/m, out);
      await good.aptGet(['install', 'keyed']);
      assert.match(await good.dpkgQuery(['-W', 'keyed']), /keyed\s+1\.0-1/);
      const wrong = await aptClient({ url: `${server.url}/repos`, codename: 'teama', keyArmored: await text('/repos/gpg.key') });
      const refused = await wrong.aptGet(['update']).catch((error: Error) => error.message);
      assert.match(refused, /NO_PUBKEY|not signed|is not signed|invalid|EXPKEYSIG|BADSIG/i);
    });

    it('dnf with only the distribution key installs (repo_gpgcheck)', async () => {
      const key = join(dir, 'teamb-rpm.asc');
      await writeFile(key, await text('/repos/teamb-rpm/gpg.key'));
      const client = await dnfClient(`${server.url}/repos/teamb-rpm/x86_64/`, { gpgkeys: [`file://${key}`], gpgcheck: false, repoGpgcheck: true });
      await client.dnf(['makecache']);
      await client.dnf(['install', 'keyed']);
      const wrongKey = join(dir, 'team-a.asc');
      await writeFile(wrongKey, await text('/repos/teama/gpg.key'));
      const wrong = await dnfClient(`${server.url}/repos/teamb-rpm/x86_64/`, { gpgkeys: [`file://${wrongKey}`], gpgcheck: false, repoGpgcheck: true });
      await assert.rejects(wrong.dnf(['makecache']));
    });

    it('changing signing.keys re-signs at once (renders are cached per key set); a retired key cannot be the only one named', async () => {
      const inA = join(dir, 'a2-InRelease');
      const patched = await api('PATCH', '/api/v1/distributions/teama', { signing: { keys: ['team-a', 'team-b'] } });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      await writeFile(inA, await text('/repos/dists/teama/InRelease'));
      const a = await keyringOf('/repos/teama/gpg.key', 'a2');
      assert.deepEqual((await fingerprintsIn('/repos/teama/gpg.key')).sort(), [keys['team-a'].fingerprint, keys['team-b'].fingerprint].sort());
      assert.equal(await verifies(a, inA), true);
      // gpgv fails when any signature's key is missing, so ask it which signatures were good.
      const status = await run('gpgv', ['--status-fd', '1', '--keyring', await keyringOf('/repos/teamb/gpg.key', 'b2'), inA], { env: { GNUPGHOME: gnupg } }).catch(
        (e: Error) => e.message,
      );
      assert.match(status, new RegExp(`GOODSIG ${keys['team-b'].keyId}`), 'both keys sign during the change');
      const back = await api('PATCH', '/api/v1/distributions/teama', { signing: null });
      assert.equal(back.status, 200);
      await writeFile(inA, await text('/repos/dists/teama/InRelease'));
      assert.equal(await verifies(await keyringOf('/repos/gpg.key', 'd2'), inA), true, 'the default set again');
      const inUse = await api('POST', `/api/v1/keys/${keys['team-b'].fingerprint}/retire`);
      assert.equal(inUse.status, 409, 'the last active key of teamb and teamb-rpm');
      assert.equal(inUse.body.error, 'key_in_use');
      assert.deepEqual(inUse.body.details.distributions.sort(), ['teamb', 'teamb-rpm']);
      assert.equal((await api('POST', `/api/v1/keys/${keys['team-a'].fingerprint}/retire`)).status, 200, 'a dedicated key retires without touching the default set');
      const refused = await api('PATCH', '/api/v1/distributions/teamb', { signing: { keys: ['team-a'] } });
      assert.equal(refused.status, 422);
      assert.equal(refused.body.details.field, 'signing.keys');
    });
  });

/**
 * Key rotation with real clients: while the old and the new key both sign, apt with only the old
 * key and apt with only the new key both update without warnings, and dnf with repo_gpgcheck
 * likewise; keys are kept encrypted at rest; RSA-4096 keys sign too.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { aptClient } from '../helpers/apt-client.ts';
import { dpkgDebBuild } from '../helpers/debs.ts';
import { dnfClient } from '../helpers/rpm-clients.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';

describe('signing key rotation with real clients', () => {
  let server: RunningServer;
  let dir: string;
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repod-rotation-'));
    server = await startServer({ REPOD_KEY_PASSPHRASE: 'at-rest-secret' });
    const [rpm] = await buildRpms([{ name: 'rotated', arch: 'noarch', autoReqProv: false, files: [{ path: '/usr/share/rotated/x' }] }], dir);
    const deb = dpkgDebBuild({ name: 'rotated', version: '1.0-1', arch: 'all' }, dir);
    assert.equal((await uploadFile(server, 'rocky9', rpm)).status, 201);
    assert.equal((await uploadFile(server, 'bookworm', deb)).status, 201);
  });
  after(() => server?.stop());

  const aptUpdates = async (key: string) => {
    const client = await aptClient({ url: `${server.url}/repos`, codename: 'bookworm', keyArmored: key });
    const out = await client.aptGet(['update']);
    assert.doesNotMatch(out, /^(W|E):/m, out);
    await client.aptGet(['download', 'rotated']);
  };
  const dnfRefreshes = async (key: string, name: string) => {
    const path = join(dir, `${name}.asc`);
    await writeFile(path, key);
    const client = await dnfClient(`${server.url}/repos/rocky9/x86_64/`, { gpgkeys: [`file://${path}`], gpgcheck: false, repoGpgcheck: true });
    await client.dnf(['makecache']);
    await client.dnf(['install', 'rotated']);
  };

  it('keeps private keys encrypted at rest', async () => {
    const ring = JSON.parse(await readFile(join(server.storage.slice(5), 'keys/ring.json'), 'utf8'));
    assert.ok(ring.keys.length === 1 && ring.keys.every((k: any) => k.encrypted && k.private.includes('BEGIN PGP PRIVATE KEY BLOCK')));
    const { execFileSync } = await import('node:child_process');
    const keyFile = join(dir, 'stored.asc');
    await writeFile(keyFile, ring.keys[0].private);
    // gpg cannot use the stored key without the passphrase: it is really encrypted.
    const info = execFileSync('gpg', ['--batch', '--list-packets', keyFile], { env: { ...process.env, GNUPGHOME: dir } }).toString();
    assert.match(info, /protected/);
  });

  it('old-key and new-key clients both verify while both keys sign, and the new one after the old retires', async () => {
    const before = await api('GET', '/api/v1/keys');
    assert.equal(before.body.keys.length, 1);
    const oldKey = before.body.keys[0];
    const added = await api('POST', '/api/v1/keys', { algorithm: 'ed25519' });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    const newKey = added.body;
    const served = await (await fetch(`${server.url}/repos/gpg.key`)).text();
    assert.equal((served.match(/BEGIN PGP PUBLIC KEY BLOCK/g) ?? []).length, 1, 'one armored block');
    await aptUpdates(oldKey.publicKey);
    await aptUpdates(newKey.publicKey);
    await dnfRefreshes(oldKey.publicKey, 'old');
    await dnfRefreshes(newKey.publicKey, 'new');
    const retired = await api('POST', `/api/v1/keys/${oldKey.fingerprint}/retire`);
    assert.equal(retired.status, 200, JSON.stringify(retired.body));
    assert.equal((await api('POST', `/api/v1/keys/${newKey.fingerprint}/retire`)).status, 409, 'the last active key stays');
    // Other servers see the change within a few seconds; this one at once.
    await new Promise((r) => setTimeout(r, 5100));
    await aptUpdates(newKey.publicKey);
    const oldOnly = await aptClient({ url: `${server.url}/repos`, codename: 'bookworm', keyArmored: oldKey.publicKey });
    const refused = await oldOnly.aptGet(['update']).catch((e: Error) => e.message);
    assert.match(refused, /NO_PUBKEY|not signed|is not signed/, 'the retired key no longer signs');
  });

  it('imports an RSA-4096 key that then signs beside the Ed25519 one', async () => {
    const { generateSigningKey } = await import('../../src/signing/signer.ts');
    const armored = await generateSigningKey('imported', 'imported@example.com', undefined, 'rsa4096');
    const imported = await api('POST', '/api/v1/keys/import', { armored });
    assert.equal(imported.status, 201, JSON.stringify(imported.body));
    assert.match(imported.body.algorithm, /rsa.*4096/i);
    await new Promise((r) => setTimeout(r, 100));
    await aptUpdates(imported.body.publicKey);
    await dnfRefreshes(imported.body.publicKey, 'rsa');
  });
});

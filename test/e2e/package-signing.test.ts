/**
 * Package signature policy and signing on ingest with a real server, real rpm and real dnf:
 * require refuses unsigned uploads naming the policy, skip-missing stores but leaves out, a
 * tampered signed package is refused under every policy, and packages repod signs pass
 * `rpmkeys --checksig` with the served key and install with gpgcheck=1.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { corpusFile, needsCorpus } from '../helpers/corpus.ts';
import { createPackagerKey, type PackagerKey, signRpms } from '../helpers/gpg.ts';
import { dnfClient } from '../helpers/rpm-clients.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { run } from '../helpers/run.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';

describe('package signatures', () => {
  let server: RunningServer;
  let dir: string;
  let packager: PackagerKey;
  const rpms: Record<string, string> = {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repod-pkgsig-'));
    const config = join(dir, 'distributions.json');
    await writeFile(
      config,
      JSON.stringify({
        distributions: [
          { kind: 'rpm', name: 'strict', architectures: ['x86_64'], packageSignatures: { policy: 'require' } },
          { kind: 'rpm', name: 'lenient', architectures: ['x86_64'], packageSignatures: { policy: 'skip-missing' } },
          { kind: 'rpm', name: 'signing', architectures: ['x86_64'], packageSignatures: { policy: 'require', sign: true } },
          { kind: 'rpm', name: 'first-look', architectures: ['x86_64'], packageSignatures: { policy: 'soft' } },
        ],
      }),
    );
    server = await startServer({ REPOD_DISTRIBUTIONS: config });
    packager = await createPackagerKey();
    const spec = (name: string) => ({ name, arch: 'noarch', autoReqProv: false, files: [{ path: `/usr/share/${name}/x` }] });
    const [unsigned, signed, another] = await buildRpms([spec('sig-unsigned'), spec('sig-signed'), spec('sig-by-repod')], dir);
    await signRpms(packager, [signed]);
    Object.assign(rpms, { unsigned, signed, another });
    const tampered = join(dir, 'sig-tampered.rpm');
    const bytes = new Uint8Array(await readFile(signed));
    bytes[bytes.length - 100] ^= 0xff; // in the payload
    await writeFile(tampered, bytes);
    rpms.tampered = tampered;
  });
  after(() => server?.stop());

  const api = async (path: string, body: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const primaryNames = async (dist: string) => {
    const repomd = await (await fetch(`${server.url}/repos/${dist}/x86_64/repodata/repomd.xml`)).text();
    const href = /href="(repodata\/[0-9a-f]+-primary\.xml\.gz)"/.exec(repomd)![1];
    const xml = gunzipSync(new Uint8Array(await (await fetch(`${server.url}/repos/${dist}/x86_64/${href}`)).arrayBuffer())).toString();
    return [...xml.matchAll(/<name>([^<]+)<\/name>/g)].map((m) => m[1]).sort();
  };

  it('require refuses unsigned and unknown-key packages, naming the policy, and takes trusted ones', async () => {
    const unsigned = await uploadFile(server, 'strict', rpms.unsigned);
    assert.equal(unsigned.status, 422, JSON.stringify(unsigned.body));
    assert.equal(unsigned.body.error, 'signature_required');
    assert.match(unsigned.body.message, /policy require/);
    const shown = async (sha256: string) =>
      (await (await fetch(`${server.url}/api/v1/packages/${sha256}`, { headers: { authorization: `Bearer ${server.adminToken}` } })).json()) as any;
    // Stored first where the policy takes a signature by an unknown key: its record keeps that verdict.
    const firstLook = await uploadFile(server, 'first-look', rpms.signed);
    assert.equal(firstLook.status, 201, JSON.stringify(firstLook.body));
    assert.equal((await shown(firstLook.body.sha256)).signature.status, 'unknown-key');
    const verdictPath = (sha256: string) => join(server.storage.slice(5), 'packages', sha256.slice(0, 2), `${sha256}.signature.json`);
    assert.ok(!existsSync(verdictPath(firstLook.body.sha256)), 'the first upload writes its verdict into the record, no object of its own');
    const unknown = await uploadFile(server, 'strict', rpms.signed);
    assert.equal(unknown.status, 422, 'signed, but by a key repod does not trust yet');
    assert.equal((await api('/api/v1/keys/trusted', { armored: await readFile(packager.publicKeyPath, 'utf8') })).status, 201);
    const trusted = await uploadFile(server, 'strict', rpms.signed);
    assert.equal(trusted.status, 201, JSON.stringify(trusted.body));
    assert.equal(trusted.body.signature.status, 'signed');
    assert.equal(trusted.body.signature.trusted, true);
    // Recorded with the package and shown by the API: the latest upload's verdict replaces the first.
    const latest = await shown(trusted.body.sha256);
    assert.equal(latest.name, 'sig-signed');
    assert.equal(latest.signature.status, 'signed');
    assert.deepEqual(latest.signature.signers, trusted.body.signature.signers);
    assert.ok(existsSync(verdictPath(trusted.body.sha256)), 'a later upload keeps its verdict beside the record');
  });

  it('skip-missing stores an unsigned package but leaves it out of the revision', async () => {
    const result = await uploadFile(server, 'lenient', rpms.unsigned);
    assert.ok(result.status === 200 || result.status === 201, JSON.stringify(result.body));
    assert.equal(result.body.status, 'unchanged');
    const signed = await uploadFile(server, 'lenient', rpms.signed);
    assert.equal(signed.status, 201);
    assert.deepEqual(await primaryNames('lenient'), ['sig-signed']);
    assert.ok(existsSync(join(server.storage.slice(5), 'pool/sha256', result.body.sha256.slice(0, 2), result.body.sha256)), 'kept in the store');
  });

  it('a tampered signed package is refused under every policy', async () => {
    for (const dist of ['strict', 'lenient', 'rocky9']) {
      const result = await uploadFile(server, dist, rpms.tampered);
      assert.equal(result.status, 422, `${dist}: ${JSON.stringify(result.body)}`);
      assert.equal(result.body.error, 'bad_signature');
    }
  });

  it("rpm's own corrupted test package is refused", { skip: needsCorpus() }, async () => {
    const corrupted = await uploadFile(server, 'rocky9', corpusFile('hello-2.0-1.x86_64-corrupted.rpm'));
    assert.equal(corrupted.status, 422);
    assert.equal(corrupted.body.error, 'bad_signature');
  });

  it('packages signed on ingest pass rpmkeys --checksig and install with gpgcheck=1', async () => {
    const result = await uploadFile(server, 'signing', rpms.another);
    assert.equal(result.status, 201, JSON.stringify(result.body));
    assert.equal(result.body.signature.status, 'signed');
    const original = (await import('node:crypto'))
      .createHash('sha256')
      .update(await readFile(rpms.another))
      .digest('hex');
    assert.notEqual(result.body.sha256, original, 'the signed copy is a new blob');
    const downloaded = join(dir, 'downloaded.rpm');
    await writeFile(downloaded, new Uint8Array(await (await fetch(`${server.url}/repos/signing/x86_64/Packages/sig-by-repod-1.0-1.noarch.rpm`)).arrayBuffer()));
    const key = join(dir, 'repod.asc');
    await writeFile(key, await (await fetch(`${server.url}/repos/gpg.key`)).text());
    const db = await mkdtemp(join(tmpdir(), 'repod-rpmdb-'));
    await run('rpmkeys', ['--dbpath', db, '--import', key]);
    const check = await run('rpmkeys', ['--dbpath', db, '--checksig', '-v', downloaded]);
    assert.match(check, /Header V4 EdDSA\/SHA512 Signature, key ID [0-9a-f]+: OK/, check);
    assert.doesNotMatch(check, /NOKEY|BAD/);
    const client = await dnfClient(`${server.url}/repos/signing/x86_64/`, { gpgkeys: [`${server.url}/repos/gpg.key`], gpgcheck: true });
    await client.dnf(['install', 'sig-by-repod']);
    assert.ok(existsSync(join(client.root, 'usr/share/sig-by-repod/x')));
    await copyFile(downloaded, join(dir, 'kept.rpm'));
  });
});

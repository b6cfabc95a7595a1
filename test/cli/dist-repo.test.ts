/**
 * `repod dist-repo` with the real bin against a real server: usage errors, Koji's default refusal
 * naming the packages no listed key signed, --allow-missing-signatures publishing the signed copy
 * and keeping the rest, a second run changing nothing, and --skip-missing-signatures dropping.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { createPackagerKey, type PackagerKey, signRpms } from '../helpers/gpg.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';
import { repod } from './run-cli.ts';

const exec = promisify(execFile);

describe('repod dist-repo (real bin, real server)', () => {
  let server: RunningServer;
  let dir: string;
  let key: PackagerKey;
  let keyId: string;
  let env: Record<string, string>;
  const sha: Record<string, string> = {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repod-cli-distrepo-'));
    key = await createPackagerKey('repod cli dist-repo key');
    const { stdout } = await exec('gpg', ['--homedir', key.home, '--with-colons', '--list-keys', key.name]);
    keyId = /^pub:[^:]*:[^:]*:[^:]*:([0-9A-F]{16}):/m.exec(stdout)![1];
    const spec = (name: string) => ({ name, arch: 'noarch', autoReqProv: false, files: [{ path: `/usr/share/${name}/x` }] });
    const [copied, lonely] = await buildRpms([spec('cli-copied'), spec('cli-lonely')], dir);
    await mkdir(join(dir, 'signed'));
    const signed = join(dir, 'signed', 'cli-copied-1.0-1.noarch.rpm');
    await copyFile(copied, signed);
    await signRpms(key, [signed]);
    const config = join(dir, 'distributions.json');
    await writeFile(config, JSON.stringify({ distributions: [{ kind: 'rpm', name: 'koji', architectures: ['x86_64'], packageSignatures: { policy: 'allow-missing' } }] }));
    server = await startServer({ REPOD_DISTRIBUTIONS: config });
    env = { REPOD_URL: server.url, REPOD_TOKEN: server.adminToken };
    for (const [name, file] of Object.entries({ unsigned: copied, lonely, signed })) {
      const r = await uploadFile(server, 'koji', file);
      assert.ok(r.status === 200 || r.status === 201, `${name}: ${JSON.stringify(r.body)}`);
      sha[name] = r.body.sha256;
    }
  });
  after(async () => {
    await server?.stop();
    if (server?.storage.startsWith('file:')) await rm(server.storage.slice(5), { recursive: true, force: true });
    for (const d of [dir, key?.home]) if (d) await rm(d, { recursive: true, force: true });
  });

  it('documents itself and refuses wrong invocations with exit 2', async () => {
    const help = await repod(['dist-repo', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /repod dist-repo <dist> <key_id>\.\.\./);
    assert.match(help.stdout, /--skip-missing-signatures/);
    assert.match(help.stdout, /POST \/api\/v1\/distributions\/<dist>\/dist-repo/);
    assert.equal((await repod(['dist-repo', 'koji'], { env })).code, 2);
    const both = await repod(['dist-repo', 'koji', keyId, '--allow-missing-signatures', '--skip-missing-signatures'], { env });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /exclude each other/);
  });

  it('fails by default, naming the package no listed key signed', async () => {
    const r = await repod(['dist-repo', 'koji', keyId], { env });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /cli-lonely-1\.0-1\.noarch/);
    assert.match(r.stderr, /--allow-missing-signatures/);
  });

  it('--allow-missing-signatures publishes the signed copy and keeps the rest; a second run changes nothing', async () => {
    const r = await repod(['dist-repo', 'koji', keyId.slice(8).toLowerCase(), '--allow-missing-signatures'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 package re-signed, 0 dropped/);
    assert.match(r.stdout, /signed [0-9a-f]{8}: cli-copied-1\.0-1\.noarch/i);
    assert.match(r.stdout, /kept unsigned: cli-lonely-1\.0-1\.noarch/);
    const again = await repod(['dist-repo', 'koji', keyId, '--allow-missing-signatures', '--json'], { env });
    assert.equal(again.code, 0, again.stderr);
    const body = again.json();
    assert.equal(body.status, 'unchanged');
    assert.deepEqual(body.changed, []);
    const shown = await (await fetch(`${server.url}/api/v1/distributions`, { headers: { authorization: `Bearer ${server.adminToken}` } })).json();
    assert.equal((shown as any).distributions.find((d: any) => d.name === 'koji').revision.id, body.revision.id);
  });

  it('--skip-missing-signatures drops the package no listed key signed', async () => {
    const r = await repod(['dist-repo', 'koji', keyId, '--skip-missing-signatures', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const body = r.json();
    assert.equal(body.status, 'published');
    assert.deepEqual(
      body.dropped.map((p: any) => p.sha256),
      [sha.lonely],
    );
    const repomd = await (await fetch(`${server.url}/repos/koji/x86_64/repodata/repomd.xml`)).text();
    const href = /href="(repodata\/[0-9a-f]+-primary\.xml\.gz)"/.exec(repomd)![1];
    const primary = gunzipSync(new Uint8Array(await (await fetch(`${server.url}/repos/koji/x86_64/${href}`)).arrayBuffer())).toString();
    assert.deepEqual(
      [...primary.matchAll(/<checksum type="sha256" pkgid="YES">([0-9a-f]+)</g)].map((m) => m[1]),
      [sha.signed],
    );
  });
});

/**
 * APT distributions through the API on a real file store: refusals leave the distribution as it
 * was, and what repod serves agrees with apt-ftparchive on the same files.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Hono } from 'hono';
import type { Core } from '../../src/core/core.ts';
import { createApp } from '../../src/http/app.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';
import { dpkgDebBuild } from '../helpers/debs.ts';
import { selfBuiltLookup } from '../helpers/packages.ts';
import { run } from '../helpers/run.ts';

const TOKEN = 'apt-api-test-token';
let app: Hono;
let core: Core;

async function upload(path: string, fields: Record<string, string>) {
  const form = new FormData();
  form.append('file', new Blob([(await readFile(path)) as Uint8Array<ArrayBuffer>]), 'package');
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  const response = await app.request('/api/v1/upload', { method: 'POST', body: form, headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function revision() {
  return (await core.repository.currentRef('bookworm', true)).ref?.revision ?? null;
}

async function uploadsLeft() {
  const keys: string[] = [];
  for await (const e of core.caps.store.list('uploads/')) keys.push(e.key);
  return keys;
}

const DEBS = [
  'hello_2.10-3_amd64.deb',
  'cowsay_3.03+dfsg2-8_all.deb',
  'libcap2_2.66-4+deb12u3+b1_amd64.deb',
  'hostname_3.23+nmu1_amd64.deb',
  'sensible-utils_0.0.17+nmu1_all.deb',
  'libgcc-s1_12.2.0-14+deb12u1_amd64.deb',
];

// Self-built packages under the names the test talks about (helpers/packages.ts).
const fixture = await selfBuiltLookup([...DEBS, 'hello-2.0-1.x86_64.rpm', 'libboost-program-options-dev_1.62.0.1_i386.deb', 'pyspi_0.6.1-1.3.dsc']);

describe('APT API', () => {
  before(async () => {
    ({ core } = await buildNodeCore({ REPOD_STORAGE: `file:${await mkdtemp(join(tmpdir(), 'repod-apt-api-'))}`, REPOD_ADMIN_TOKEN: TOKEN }, () => undefined));
    app = createApp(core);
    for (const deb of DEBS) {
      const result = await upload(fixture(deb), { distribution: 'bookworm' });
      assert.equal(result.status, 201, JSON.stringify(result.body));
    }
  });

  it('refuses what an APT distribution cannot take, with the distribution unchanged', async () => {
    const before = await revision();
    const cases: Array<[string, Record<string, string>, number, string]> = [
      [fixture('hello-2.0-1.x86_64.rpm'), { distribution: 'bookworm' }, 422, 'wrong_package_type'],
      [fixture('libboost-program-options-dev_1.62.0.1_i386.deb'), { distribution: 'bookworm' }, 422, 'unsupported_architecture'],
      [fixture('hello_2.10-3_amd64.deb'), { distribution: 'bookworm', component: 'contrib' }, 422, 'unknown_component'],
      [fixture('hello_2.10-3_amd64.deb'), { distribution: 'rocky9' }, 422, 'wrong_package_type'],
      [fixture('pyspi_0.6.1-1.3.dsc'), { distribution: 'bookworm' }, 422, 'invalid_package'],
    ];
    for (const [path, fields, status, code] of cases) {
      const result = await upload(path, fields);
      assert.equal(result.status, status, `${path}: ${JSON.stringify(result.body)}`);
      assert.equal(result.body.error, code, JSON.stringify(result.body));
      assert.equal(await revision(), before);
      assert.deepEqual(await uploadsLeft(), []);
    }
    const truncated = join(await mkdtemp(join(tmpdir(), 'repod-trunc-')), 'hello.deb');
    const whole = await readFile(fixture('hello_2.10-3_amd64.deb'));
    await writeFile(truncated, whole.subarray(0, whole.length >> 1));
    const t = await upload(truncated, { distribution: 'bookworm' });
    assert.equal(t.status, 422, JSON.stringify(t.body));
    assert.equal(t.body.error, 'invalid_package');
    assert.equal(await revision(), before);
  });

  it('refuses the same package, version and architecture with other bytes', async () => {
    const before = await revision();
    const out = await mkdtemp(join(tmpdir(), 'repod-dup-'));
    const other = dpkgDebBuild({ name: 'hello', version: '2.10-3', arch: 'amd64' }, out);
    const result = await upload(other, { distribution: 'bookworm' });
    assert.equal(result.status, 409, JSON.stringify(result.body));
    assert.equal(result.body.status, 'duplicate');
    assert.equal(await revision(), before);
    assert.deepEqual(await uploadsLeft(), []);
  });

  it('serves Packages equal to apt-ftparchive packages and a Release whose hashes apt-ftparchive agrees with', async () => {
    // apt-ftparchive over a pool laid out the way repod lays it out.
    const root = await mkdtemp(join(tmpdir(), 'repod-ftparchive-'));
    const amd64 = gunzipSync(new Uint8Array(await (await app.request('/repos/dists/bookworm/main/binary-amd64/Packages.gz')).arrayBuffer())).toString();
    const plain = await (await app.request('/repos/dists/bookworm/main/binary-amd64/Packages')).text();
    assert.equal(amd64, plain, 'Packages.gz decompresses to Packages');
    for (const filename of [...plain.matchAll(/^Filename: (.+)$/gm)].map((m) => m[1])) {
      await mkdir(join(root, filename, '..'), { recursive: true });
      const deb = new Uint8Array(await (await app.request(`/repos/${filename}`)).arrayBuffer());
      await writeFile(join(root, filename), deb);
    }
    const expected = await run('apt-ftparchive', ['packages', 'pool'], { cwd: root });
    const stanzas = (text: string) => text.trim().split(/\n\n+/).sort();
    assert.deepEqual(stanzas(plain), stanzas(expected), 'each stanza byte for byte');

    const dists = join(root, 'dists/bookworm');
    const release = await (await app.request('/repos/dists/bookworm/Release')).text();
    const listed = [...release.matchAll(/^ ([0-9a-f]{64}) +(\d+) (\S+)$/gm)];
    for (const [, , , path] of listed) {
      await mkdir(join(dists, path, '..'), { recursive: true });
      await writeFile(join(dists, path), new Uint8Array(await (await app.request(`/repos/dists/bookworm/${path}`)).arrayBuffer()));
    }
    const theirs = await run('apt-ftparchive', ['release', '.'], { cwd: dists });
    const sha256Section = (text: string) =>
      text
        .slice(text.indexOf('SHA256:'))
        .split('\n')
        .slice(1)
        .filter((l) => /^ [0-9a-f]{64} /.test(l))
        .map((l) => l.trim().split(/\s+/).join(' '))
        .sort();
    assert.deepEqual(
      sha256Section(release),
      sha256Section(theirs).filter((l) => !l.endsWith(' Release')),
    );
    for (const field of ['Origin', 'Label', 'Suite', 'Codename', 'Date', 'Architectures', 'Components', 'Acquire-By-Hash', 'SHA256'])
      assert.match(release, new RegExp(`^${field}:`, 'm'));
    const inRelease = await (await app.request('/repos/dists/bookworm/InRelease')).text();
    // InRelease is the Release document: its clear-signed body (armor removed) is Release byte
    // for byte, with LF line endings as gpg --clearsign, reprepro and the Debian archive write it.
    const armorHead = /^-----BEGIN PGP SIGNED MESSAGE-----\nHash: [A-Z0-9]+\n\n/;
    assert.match(inRelease, armorHead);
    const body = inRelease.replace(armorHead, '').slice(0, inRelease.replace(armorHead, '').indexOf('-----BEGIN PGP SIGNATURE-----\n'));
    assert.ok(!inRelease.includes('\r'), 'no CR anywhere in InRelease');
    assert.equal(body, release);
    // The clear-signed and detached signatures verify with gpgv against the served key.
    const keyring = join(root, 'key.gpg');
    const armored = join(root, 'key.asc');
    await writeFile(armored, await (await app.request('/repos/gpg.key')).text());
    await run('gpg', ['--batch', '--no-default-keyring', '--keyring', keyring, '--import', armored]);
    await writeFile(join(root, 'InRelease'), inRelease);
    await run('gpgv', ['--keyring', keyring, join(root, 'InRelease')]);
    await writeFile(join(root, 'Release'), release);
    await writeFile(join(root, 'Release.gpg'), await (await app.request('/repos/dists/bookworm/Release.gpg')).text());
    await run('gpgv', ['--keyring', keyring, join(root, 'Release.gpg'), join(root, 'Release')]);
  });

  it('serves Contents with every file of every package of the architecture', async () => {
    const contents = gunzipSync(new Uint8Array(await (await app.request('/repos/dists/bookworm/main/Contents-amd64.gz')).arrayBuffer())).toString();
    assert.match(contents, /^usr\/bin\/hello\s+devel\/hello$/m);
    assert.match(contents, /^usr\/games\/cowsay\s+games\/cowsay$/m, 'arch all packages too');
    const arm = gunzipSync(new Uint8Array(await (await app.request('/repos/dists/bookworm/main/Contents-arm64.gz')).arrayBuffer())).toString();
    assert.doesNotMatch(arm, /usr\/bin\/hello/);
  });
});

describe('APT paths as clients encode them', () => {
  it('finds pool files and indexes whatever the percent-encoding, and never answers 500 to a bad escape', async () => {
    const base = '/repos/pool/main/c/cowsay/';
    for (const name of ['cowsay_3.03+dfsg2-8_all.deb', 'cowsay_3.03%2bdfsg2-8_all.deb', 'cowsay_3.03%2Bdfsg2-8_all.deb']) {
      assert.equal((await app.request(base + name)).status, 200, name);
    }
    assert.equal((await app.request(base + 'cowsay_3.03%20dfsg2-8_all.deb')).status, 404);
    const bad = await app.request(base + 'cowsay_%E0%A4%A.deb');
    assert.ok(bad.status >= 400 && bad.status < 500, `status ${bad.status}`);
    assert.equal((await app.request('/repos/dists/bookworm/main/binary-amd64/%50ackages')).status, 200);
    assert.equal((await app.request('/repos/dists/bookworm/%E0%A4%A')).status, 400);
  });
});

describe('APT caching headers', () => {
  it('only by-hash files are immutable; fixed paths revalidate', async () => {
    const fixed = await app.request('/repos/dists/bookworm/main/binary-amd64/Packages.gz');
    assert.match(fixed.headers.get('cache-control')!, /must-revalidate/);
    const release = await (await app.request('/repos/dists/bookworm/Release')).text();
    const hash = /^ ([0-9a-f]{64}) +\d+ main\/binary-amd64\/Packages\.gz$/m.exec(release)![1];
    const byHash = await app.request(`/repos/dists/bookworm/main/binary-amd64/by-hash/SHA256/${hash}`);
    assert.equal(byHash.status, 200);
    assert.match(byHash.headers.get('cache-control')!, /immutable/);
    assert.doesNotMatch(release, /^MD5Sum:/m);
    assert.match(release, / main\/binary-amd64\/Packages$/m, 'apt needs the uncompressed name listed');
    assert.equal((await app.request('/repos/dists/bookworm/main/binary-amd64/Packages')).status, 200);
  });
});

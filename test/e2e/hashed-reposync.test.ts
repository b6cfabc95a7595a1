/**
 * The hashed variant for mirrors: real `dnf reposync --download-metadata` gets a sorted
 * Packages/<letter>/ tree and sqlite databases matching repomd.xml; dnf still installs from it;
 * the databases are built once, on the first request, never while publishing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { selfBuiltLookup } from '../helpers/packages.ts';
import { type Rgw, rgwSkipReason, startRgw } from '../helpers/rgw.ts';
import { dnfClient } from '../helpers/rpm-clients.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { run } from '../helpers/run.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';

const FIXTURES = [
  'hello-2.0-1.x86_64.rpm',
  'Archer-3.4.5-6.x86_64.rpm',
  'animaniacs-0.1-1.noarch.rpm',
  'balicek-utf8-1.1.1-1.x86_64.rpm',
  'crypto-policies-20210617-1.gitc776d3e.el8.noarch.rpm',
  'yum-cron-3.4.3-9.fc16.noarch.rpm',
];
// Self-built packages under these names (helpers/packages.ts).
const fixture = await selfBuiltLookup(FIXTURES);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function hashedSuite(name: string, serverEnv: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>, skip: string | false = false) {
  describe(`hashed variant and sqlite (${name})`, { skip }, () => {
    let server: RunningServer;
    let cleanup: () => Promise<void> = async () => undefined;
    before(async () => {
      const s = await serverEnv();
      cleanup = s.cleanup;
      server = await startServer(s.env);
      for (const f of FIXTURES) assert.equal((await uploadFile(server, 'almalinux9', fixture(f))).status, 201);
      // Installable with nothing else: the fixtures above need a whole distribution around them.
      const [own] = await buildRpms(
        [{ name: 'zeta-hashed', arch: 'noarch', autoReqProv: false, files: [{ path: '/usr/share/zeta-hashed/readme' }] }],
        await mkdtemp(join(tmpdir(), 'repod-zeta-')),
      );
      assert.equal((await uploadFile(server, 'almalinux9', own)).status, 201);
    });
    after(async () => {
      await server?.stop();
      await cleanup();
    });

    it('builds the sqlite databases once, on the first request, not while publishing', async () => {
      const rendersBefore = server.logs
        .join('')
        .split('\n')
        .filter((l) => l.includes('"message":"rendered"') && l.includes('rpm-hashed'));
      assert.equal(rendersBefore.length, 0, 'publishing rendered nothing');
      const url = `${server.url}/hashed/almalinux9/x86_64/repodata/repomd.xml`;
      const answers = await Promise.all(Array.from({ length: 8 }, () => fetch(url).then((r) => r.text())));
      assert.ok(answers.every((a) => a === answers[0]));
      assert.match(answers[0], /<data type="primary_db">/);
      const renders = server.logs
        .join('')
        .split('\n')
        .filter((l) => l.includes('"message":"rendered"') && l.includes('rpm-hashed/x86_64'));
      assert.equal(renders.length, 1, 'eight concurrent first requests, one build');
    });

    it('dnf reposync --download-metadata mirrors a sorted tree whose every file matches repomd.xml', async () => {
      const client = await dnfClient(`${server.url}/hashed/almalinux9/x86_64/`, { gpgkeys: [`${server.url}/repos/gpg.key`], gpgcheck: false });
      const dest = await mkdtemp(join(tmpdir(), 'repod-hashed-sync-'));
      await client.dnf(['reposync', '--repoid', 'repod', '--download-metadata', '-p', dest]);
      const root = join(dest, 'repod');
      const repomd = await readFile(join(root, 'repodata/repomd.xml'), 'utf8');
      const records = [
        ...repomd.matchAll(
          /<data type="([a-z_]+)">\s*<checksum type="sha256">([0-9a-f]{64})<\/checksum>(?:\s*<open-checksum type="sha256">([0-9a-f]{64})<\/open-checksum>)?\s*<location href="([^"]+)"/g,
        ),
      ];
      assert.deepEqual(records.map((r) => r[1]).sort(), ['filelists', 'filelists_db', 'other', 'other_db', 'primary', 'primary_db']);
      for (const [, type, sum, open, href] of records) {
        const bytes = await readFile(join(root, href));
        assert.equal(sha256(bytes), sum, `${type} matches repomd.xml`);
        if (open) {
          const raw = gunzipSync(bytes);
          assert.equal(sha256(raw), open, `${type} open-checksum`);
          const db = join(dest, `${type}.sqlite`);
          await import('node:fs/promises').then((fs) => fs.writeFile(db, raw));
          assert.equal((await run('sqlite3', [db, 'PRAGMA integrity_check;'])).trim(), 'ok');
          if (type === 'primary_db') {
            const rows = (await run('sqlite3', [db, 'select location_href from packages order by 1;'])).trim().split('\n');
            assert.equal(rows.length, 7, 'every x86_64 and noarch package');
            assert.ok(
              rows.every((h) => /^Packages\/[a-z0-9]\/[^/]+\.rpm$/.test(h)),
              rows.join(' '),
            );
            const info = (await run('sqlite3', [db, 'select dbversion, checksum from db_info;'])).trim();
            const primarySum = records.find((r) => r[1] === 'primary')![2];
            assert.equal(info, `10|${primarySum}`);
          }
        }
      }
      const letters = (await readdir(join(root, 'Packages'))).sort();
      assert.deepEqual(letters, ['a', 'b', 'c', 'h', 'y', 'z']);
      assert.ok(existsSync(join(root, 'Packages/a/Archer-3.4.5-6.x86_64.rpm')));
      for (const f of ['hello-2.0-1.x86_64.rpm', 'Archer-3.4.5-6.x86_64.rpm']) {
        const path = join(root, 'Packages', f[0].toLowerCase(), f);
        assert.equal(sha256(await readFile(path)), sha256(await readFile(fixture(f))), f);
      }
    });

    it('dnf installs from the hashed variant and from a pinned revision of it', async () => {
      for (const base of [`${server.url}/hashed/almalinux9/x86_64/`, `${server.url}/revisions/almalinux9/7/hashed/x86_64/`]) {
        const client = await dnfClient(base, { gpgkeys: [`${server.url}/repos/gpg.key`], gpgcheck: false });
        await client.dnf(['install', 'zeta-hashed']);
        assert.ok(existsSync(join(client.root, 'usr/share/zeta-hashed/readme')), base);
      }
    });
  });
}

hashedSuite('file store', async () => ({ env: {}, cleanup: async () => undefined }));
let rgw: Rgw | undefined;
hashedSuite(
  'Ceph RGW',
  async () => {
    rgw = await startRgw();
    return { env: { ...rgw.env, REPOD_STORAGE: `s3://${rgw.bucket}/hashed` }, cleanup: async () => rgw?.stop() };
  },
  rgwSkipReason(),
);

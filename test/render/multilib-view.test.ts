/**
 * The views multilib and the debuginfo split make, rendered in-process from real rpmbuild packages:
 * each repository lists what its selection takes, a group partly taken is repacked into one new
 * gzip member, and every file still matches its repomd.xml checksum, sizes and package count.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createApp } from '../../src/http/app.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';
import { buildRpms, type RpmSpec } from '../helpers/rpmbuild.ts';

const spec = (name: string, arch: string, path: string): RpmSpec => ({
  name,
  version: '1',
  release: '1',
  arch,
  files: [{ path, content: `${name}\n` }],
  sourceDateEpoch: 1700000000,
});

const SPECS: RpmSpec[] = [
  spec('app', 'x86_64', '/usr/bin/app'),
  spec('app-debuginfo', 'x86_64', '/usr/lib/debug/usr/bin/app.debug'),
  spec('app-data', 'noarch', '/usr/share/app/data'),
  spec('libone', 'i686', '/usr/lib/libone.so.1'),
  spec('libone-devel', 'i686', '/usr/include/one.h'),
  spec('plain32', 'i686', '/usr/share/plain32/x'),
  spec('libone-debuginfo', 'i686', '/usr/lib/debug/usr/lib/libone.so.1.debug'),
];

type App = ReturnType<typeof createApp>;

describe('multilib and debug views', () => {
  let dir: string;
  let rpms: string[];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repod-multilib-view-'));
    rpms = await buildRpms(SPECS, join(dir, 'rpms'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function serve(multilib: object | undefined): Promise<App> {
    const config = join(dir, `dists-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(config, JSON.stringify({ distributions: [{ kind: 'rpm', name: 'ml', architectures: ['x86_64', 'i686'], ...(multilib ? { multilib } : {}) }] }));
    const env = { REPOD_STORAGE: `file:${await mkdtemp(join(dir, 'store-'))}`, REPOD_ADMIN_TOKEN: 't', REPOD_DISTRIBUTIONS: config };
    const app = createApp((await buildNodeCore(env, () => {})).core);
    for (const file of rpms) {
      const form = new FormData();
      form.append('file', new Blob([await readFile(file)]), file.slice(file.lastIndexOf('/') + 1));
      form.append('distribution', 'ml');
      assert.equal((await app.request('/api/v1/upload', { method: 'POST', body: form, headers: { authorization: 'Bearer t' } })).status, 201);
    }
    return app;
  }

  /** The packages a repository lists, after checking each XML file against repomd.xml. */
  async function listed(app: App, base: string): Promise<string[]> {
    const repomd = await (await app.request(`${base}/repodata/repomd.xml`)).text();
    let names: string[] = [];
    for (const type of ['primary', 'filelists', 'other']) {
      const block = new RegExp(
        `<data type="${type}">[\\s\\S]*?<checksum type="sha256">(\\w+)</checksum>[\\s\\S]*?<location href="([^"]+)"/>[\\s\\S]*?<size>(\\d+)</size>[\\s\\S]*?<open-size>(\\d+)</open-size>`,
      ).exec(repomd);
      assert.ok(block, `${base}: repomd lists ${type}`);
      const [, sha, href, size, openSize] = block;
      const gz = new Uint8Array(await (await app.request(`${base}/${href}`)).arrayBuffer());
      assert.equal(createHash('sha256').update(gz).digest('hex'), sha, `${base} ${type}`);
      assert.equal(gz.length, Number(size));
      const xml = gunzipSync(gz);
      assert.equal(xml.length, Number(openSize), `${base} ${type} open-size`);
      const text = xml.toString();
      const count = Number(/packages="(\d+)"/.exec(text)?.[1]);
      const found =
        type === 'primary'
          ? [...text.matchAll(/<name>([^<]+)<\/name>\s*<arch>([^<]+)<\/arch>/g)].map((m) => `${m[1]}.${m[2]}`)
          : [...text.matchAll(/ name="([^"]+)" arch="([^"]+)"/g)].map((m) => `${m[1]}.${m[2]}`);
      assert.equal(found.length, count, `${base} ${type}: packages="${count}"`);
      if (type === 'primary') names = found.sort();
      else assert.deepEqual(found.sort(), names, `${base} ${type} lists what primary lists`);
    }
    return names;
  }

  it('without multilib: x86_64 lists its own and noarch packages, no debuginfo; debug/ lists only debuginfo', async () => {
    const app = await serve(undefined);
    assert.deepEqual(await listed(app, '/repos/ml/x86_64'), ['app-data.noarch', 'app.x86_64']);
    assert.deepEqual(await listed(app, '/repos/ml/x86_64/debug'), ['app-debuginfo.x86_64']);
    assert.deepEqual(await listed(app, '/repos/ml/i686'), ['app-data.noarch', 'libone-devel.i686', 'libone.i686', 'plain32.i686']);
    assert.deepEqual(await listed(app, '/repos/ml/i686/debug'), ['libone-debuginfo.i686']);
    assert.deepEqual(await listed(app, '/hashed/ml/x86_64/debug'), ['app-debuginfo.x86_64']);
    assert.equal((await app.request('/repos/ml/noarch/debug/repodata/repomd.xml')).status, 404);
  });

  it('runtime, devel and all pick their i686 packages; the lists adjust them', async () => {
    assert.deepEqual(await listed(await serve({ policy: 'runtime' }), '/repos/ml/x86_64'), ['app-data.noarch', 'app.x86_64', 'libone.i686']);
    assert.deepEqual(await listed(await serve({ policy: 'devel' }), '/repos/ml/x86_64'), ['app-data.noarch', 'app.x86_64', 'libone-devel.i686', 'libone.i686']);
    const all = await serve({ policy: 'all', blacklist: ['libone-devel'] });
    assert.deepEqual(await listed(all, '/repos/ml/x86_64'), ['app-data.noarch', 'app.x86_64', 'libone.i686', 'plain32.i686']);
    assert.deepEqual(await listed(all, '/hashed/ml/x86_64'), ['app-data.noarch', 'app.x86_64', 'libone.i686', 'plain32.i686']);
    assert.deepEqual(await listed(await serve({ policy: 'runtime', whitelist: ['plain32'] }), '/repos/ml/x86_64'), [
      'app-data.noarch',
      'app.x86_64',
      'libone.i686',
      'plain32.i686',
    ]);
  });
});

/**
 * Revisions as a product, through the HTTP API on a real file store: builds, history, diff,
 * rollback, tags, promotion, migration, init, tokens, users and private distributions.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Hono } from 'hono';
import { layout } from '../../src/bucket/layout.ts';
import type { Core } from '../../src/core/core.ts';
import { createApp } from '../../src/http/app.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';
import { getJson, putJson } from '../../src/storage/objects.ts';
import { selfBuilt } from '../helpers/packages.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';

const ADMIN = 'revisions-api-admin';
let app: Hono;
let core: Core;
let rpms: Record<string, string>;
let storage: string;

const auth = (token: string) => ({ authorization: `Bearer ${token}` });
async function json(method: string, path: string, body?: unknown, token = ADMIN) {
  const response = await app.request(path, {
    method,
    headers: { ...auth(token), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}
async function build(dist: string, files: string[], fields: Array<[string, string]> = [], token = ADMIN) {
  const form = new FormData();
  for (const f of files) form.append('file', new Blob([(await readFile(f)) as Uint8Array<ArrayBuffer>]), f.slice(f.lastIndexOf('/') + 1));
  for (const [k, v] of fields) form.append(k, v);
  const response = await app.request(`/api/v1/distributions/${dist}/builds`, { method: 'POST', body: form, headers: auth(token) });
  return { status: response.status, body: (await response.json()) as any };
}
async function primaryNames(path: string): Promise<string[]> {
  const repomd = await (await app.request(`${path}/repodata/repomd.xml`)).text();
  const href = /href="(repodata\/[0-9a-f]+-primary\.xml\.gz)"/.exec(repomd)![1];
  const { gunzipSync } = await import('node:zlib');
  const xml = gunzipSync(new Uint8Array(await (await app.request(`${path}/${href}`)).arrayBuffer())).toString();
  return [...xml.matchAll(/<name>([^<]+)<\/name>[\s\S]*?<version epoch="\d+" ver="([^"]+)" rel="([^"]+)"/g)].map((m) => `${m[1]}-${m[2]}-${m[3]}`).sort();
}

describe('revisions API', () => {
  before(async () => {
    const distributions = join(await mkdtemp(join(tmpdir(), 'repod-config-')), 'distributions.json');
    await writeFile(distributions, JSON.stringify({ distributions: [{ kind: 'rpm', name: 'secret', architectures: ['x86_64'], private: true }] }));
    storage = `file:${await mkdtemp(join(tmpdir(), 'repod-rev-api-'))}`;
    ({ core } = await buildNodeCore({ REPOD_STORAGE: storage, REPOD_ADMIN_TOKEN: ADMIN, REPOD_DISTRIBUTIONS: distributions }, () => undefined));
    app = createApp(core);
    const out = await mkdtemp(join(tmpdir(), 'repod-rev-rpms-'));
    const spec = (name: string, version: string) => ({ name, version, arch: 'noarch', autoReqProv: false, files: [{ path: `/usr/share/${name}/${version}` }] });
    const files = await buildRpms([spec('tool', '1.0'), spec('tool-libs', '1.0'), spec('tool', '2.0'), spec('tool-libs', '2.0'), spec('other', '1.0')], out);
    rpms = { tool1: files[0], libs1: files[1], tool2: files[2], libs2: files[3], other: files[4] };
  });

  it('a build pushes several files as one revision', async () => {
    const result = await build('rocky9', [rpms.tool1, rpms.libs1, await selfBuilt('animaniacs-0.1-1.noarch.rpm')], [['message', 'build tool-1.0']]);
    assert.equal(result.status, 201, JSON.stringify(result.body));
    assert.equal(result.body.revision.number, 1);
    assert.equal(result.body.packages.length, 3);
    assert.deepEqual(await primaryNames('/repos/rocky9/x86_64'), ['animaniacs-0.1-1', 'tool-1.0-1', 'tool-libs-1.0-1']);
  });

  it('a build with a refused file publishes nothing and leaves no upload behind', async () => {
    const result = await build('rocky9', [rpms.other, await selfBuilt('hello_2.10-3_amd64.deb')]);
    assert.equal(result.status, 422, JSON.stringify(result.body));
    assert.equal((await core.repository.current('rocky9'))!.number, 1);
    for await (const _ of core.caps.store.list('uploads/')) assert.fail('an upload was left behind');
  });

  it('replace_names swaps the previous build of those names, and references reuse stored packages', async () => {
    const animaniacs = (await core.repository.findEntries((await core.repository.current('rocky9'))!, 'animaniacs\u0000'))[0].id;
    const result = await build(
      'rocky9',
      [rpms.tool2, rpms.libs2],
      [
        ['replace_names', 'tool,tool-libs'],
        ['package', animaniacs],
        ['remove', 'animaniacs-0.1-1.noarch'],
      ],
    );
    assert.equal(result.status, 201, JSON.stringify(result.body));
    assert.equal(result.body.revision.number, 2);
    // animaniacs was both removed and referenced: the reference wins (it is added back unchanged).
    assert.deepEqual(await primaryNames('/repos/rocky9/x86_64'), ['animaniacs-0.1-1', 'tool-2.0-1', 'tool-libs-2.0-1']);
    assert.deepEqual(result.body.removed.map((r: any) => r.label).sort(), ['tool-1.0-1.noarch', 'tool-libs-1.0-1.noarch']);
  });

  it('lists history newest first with paging, shows a revision, and diffs two', async () => {
    const page = await json('GET', '/api/v1/distributions/rocky9/revisions?limit=1');
    assert.equal(page.status, 200);
    assert.equal(page.body.revisions[0].number, 2);
    assert.equal(page.body.next, 2);
    const older = await json('GET', '/api/v1/distributions/rocky9/revisions?limit=5&before=2');
    assert.deepEqual(
      older.body.revisions.map((r: any) => r.number),
      [1],
    );
    assert.equal(older.body.revisions[0].message, 'build tool-1.0');
    const one = await json('GET', '/api/v1/distributions/rocky9/revisions/1');
    assert.equal(one.body.packages.length, 3);
    const diff = await json('GET', '/api/v1/distributions/rocky9/revisions/1/diff/2');
    assert.deepEqual(diff.body.upgraded.map((u: any) => `${u.name} ${u.from} -> ${u.to}`).sort(), ['tool 1.0-1 -> 2.0-1', 'tool-libs 1.0-1 -> 2.0-1']);
    assert.deepEqual(diff.body.added, []);
    assert.deepEqual(diff.body.removed, []);
    assert.equal((await json('GET', '/api/v1/distributions/rocky9/revisions/99')).status, 404);
  });

  it("history lists read each revision's summary object; a revision without one is summarized from itself", async () => {
    const [two, one] = (await json('GET', '/api/v1/distributions/rocky9/revisions?limit=2')).body.revisions;
    const stored = (await getJson<Record<string, unknown>>(core.caps.store, layout.revisionSummary('rocky9', two.id)))?.value;
    assert.deepEqual(stored, two, 'the summary written with revision 2 is what the listing shows');
    // A fresh server over the same store (no caches): revision 2's summary is read, not the
    // revision (marked here), and revision 1 without a summary is read whole, as an older store's.
    await putJson(core.caps.store, layout.revisionSummary('rocky9', two.id), { ...two, message: 'from the summary' });
    await core.caps.store.delete(layout.revisionSummary('rocky9', one.id));
    const fresh = createApp((await buildNodeCore({ REPOD_STORAGE: storage, REPOD_ADMIN_TOKEN: ADMIN }, () => undefined)).core);
    const listed = (await (await fresh.request('/api/v1/distributions/rocky9/revisions?limit=2')).json()) as any;
    assert.deepEqual(
      listed.revisions.map((r: any) => [r.number, r.message]),
      [
        [2, 'from the summary'],
        [1, one.message],
      ],
    );
    await putJson(core.caps.store, layout.revisionSummary('rocky9', two.id), two);
  });

  it('pinned revision URLs keep serving an old revision', async () => {
    assert.deepEqual(await primaryNames('/revisions/rocky9/1/x86_64'), ['animaniacs-0.1-1', 'tool-1.0-1', 'tool-libs-1.0-1']);
    const response = await app.request('/revisions/rocky9/1/x86_64/repodata/repomd.xml');
    assert.match(response.headers.get('cache-control')!, /immutable/);
    assert.equal((await app.request('/revisions/rocky9/1/x86_64/Packages/tool-1.0-1.noarch.rpm')).status, 200);
    assert.equal((await app.request('/repos/rocky9/x86_64/Packages/tool-1.0-1.noarch.rpm')).status, 404);
  });

  it('rolls back as a new revision equal to the old one', async () => {
    const before = await (await app.request('/repos/rocky9/x86_64/repodata/repomd.xml')).text();
    const result = await json('POST', '/api/v1/distributions/rocky9/rollback', { revision: 1 });
    assert.equal(result.status, 201, JSON.stringify(result.body));
    assert.equal(result.body.revision.number, 3);
    assert.deepEqual(await primaryNames('/repos/rocky9/x86_64'), ['animaniacs-0.1-1', 'tool-1.0-1', 'tool-libs-1.0-1']);
    assert.notEqual(await (await app.request('/repos/rocky9/x86_64/repodata/repomd.xml')).text(), before);
    const history = await json('GET', '/api/v1/distributions/rocky9/revisions');
    assert.equal(history.body.revisions[0].restoredFrom, (await json('GET', '/api/v1/distributions/rocky9/revisions/1')).body.id);
  });

  it('tags point at revisions and are served like distributions', async () => {
    assert.equal((await json('PUT', '/api/v1/distributions/rocky9/tags/stable', { revision: 2 })).status, 200);
    assert.deepEqual(await primaryNames('/tags/rocky9/stable/x86_64'), ['animaniacs-0.1-1', 'tool-2.0-1', 'tool-libs-2.0-1']);
    const list = await json('GET', '/api/v1/distributions/rocky9/tags');
    assert.deepEqual(
      list.body.tags.map((t: any) => [t.name, t.number]),
      [['stable', 2]],
    );
    assert.equal((await json('PUT', '/api/v1/distributions/rocky9/tags/current', { revision: 2 })).status, 400);
    assert.equal((await json('DELETE', '/api/v1/distributions/rocky9/tags/stable')).status, 200);
    assert.equal((await app.request('/tags/rocky9/stable/x86_64/repodata/repomd.xml')).status, 404);
  });

  it('promotes the newest version or a named one, and migrates a whole distribution, copying no bytes', async () => {
    await build('rocky9', [rpms.tool2]);
    const pool = async () => {
      let n = 0;
      for await (const _ of core.caps.store.list('pool/')) n++;
      return n;
    };
    const poolBefore = await pool();
    const promoted = await json('POST', '/api/v1/distributions/promote', { package: 'tool', from_dist: 'rocky9', to_dist: 'rocky8' });
    assert.equal(promoted.status, 201, JSON.stringify(promoted.body));
    assert.deepEqual(await primaryNames('/repos/rocky8/x86_64'), ['tool-2.0-1']);
    const named = await json('POST', '/api/v1/distributions/promote', { package: 'tool', from_dist: 'rocky9', to_dist: 'rocky8', version: '1.0' });
    assert.equal(named.status, 201, JSON.stringify(named.body));
    assert.deepEqual(await primaryNames('/repos/rocky8/x86_64'), ['tool-1.0-1', 'tool-2.0-1']);
    const migrated = await json('POST', '/api/v1/distributions/migrate', { from_dist: 'rocky9', to_dist: 'almalinux8' });
    assert.equal(migrated.status, 201, JSON.stringify(migrated.body));
    assert.deepEqual(await primaryNames('/repos/almalinux8/x86_64'), await primaryNames('/repos/rocky9/x86_64'));
    assert.equal(await pool(), poolBefore, 'no package bytes were copied');
    assert.equal((await json('POST', '/api/v1/distributions/promote', { package: 'tool', from_dist: 'rocky9', to_dist: 'bookworm' })).status, 422);
    assert.equal((await json('POST', '/api/v1/distributions/promote', { package: 'nope', from_dist: 'rocky9', to_dist: 'rocky8' })).status, 404);
    const init = await json('POST', '/api/v1/distributions/init');
    assert.ok(init.body.created.includes('fedora'));
    assert.ok(!init.body.created.includes('rocky9'));
    assert.equal((await core.repository.current('fedora'))!.packageCount, 0);
  });

  it('checks roles on every write, and tokens can be listed and revoked', async () => {
    const uploader = await json('POST', '/api/v1/tokens', { name: 'ci', role: 'uploader' });
    assert.equal(uploader.status, 201);
    const reader = await json('POST', '/api/v1/tokens', { name: 'viewer', role: 'reader' });
    assert.equal((await build('fedora', [rpms.other], [], reader.body.token)).status, 403);
    assert.equal((await build('fedora', [rpms.other], [], uploader.body.token)).status, 201);
    assert.equal((await json('POST', '/api/v1/distributions/rocky9/rollback', { revision: 1 }, uploader.body.token)).status, 403);
    assert.equal((await json('GET', '/api/v1/tokens', undefined, uploader.body.token)).status, 403);
    const list = await json('GET', '/api/v1/tokens');
    assert.ok(list.body.tokens.some((t: any) => t.id === uploader.body.id && t.name === 'ci'));
    assert.ok(JSON.stringify(list.body).indexOf(uploader.body.token) === -1, 'tokens are never shown again');
    assert.equal((await json('DELETE', `/api/v1/tokens/${uploader.body.id}`)).status, 200);
    assert.equal((await build('fedora', [rpms.other], [], uploader.body.token)).status, 401);
    assert.equal((await json('POST', '/api/v1/gc', { dry_run: true }, reader.body.token)).status, 403);
  });

  it('users log in, and private distributions take Basic or Bearer credentials', async () => {
    assert.equal((await json('POST', '/api/v1/users', { username: 'rel-eng', password: 'correct horse', role: 'maintainer' })).status, 201);
    const login = await app.request('/api/v1/auth/token', {
      method: 'POST',
      body: JSON.stringify({ username: 'rel-eng', password: 'correct horse' }),
      headers: { 'content-type': 'application/json' },
    });
    const { access_token } = (await login.json()) as any;
    assert.equal((await json('PUT', '/api/v1/distributions/rocky9/tags/testing', { revision: 3 }, access_token)).status, 200);
    assert.equal((await build('secret', [rpms.other])).status, 201);
    const anonymous = await app.request('/repos/secret/x86_64/repodata/repomd.xml');
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate')!, /^Basic realm=/);
    const basic = (user: string, secret: string) => ({ authorization: `Basic ${btoa(`${user}:${secret}`)}` });
    assert.equal((await app.request('/repos/secret/x86_64/repodata/repomd.xml', { headers: basic('rel-eng', 'correct horse') })).status, 200);
    assert.equal((await app.request('/repos/secret/x86_64/repodata/repomd.xml', { headers: basic('rel-eng', 'wrong') })).status, 401);
    const reader = await json('POST', '/api/v1/tokens', { name: 'mirror', role: 'reader' });
    assert.equal((await app.request('/repos/secret/x86_64/repodata/repomd.xml', { headers: basic('mirror', reader.body.token) })).status, 200);
    const privatePackage = await app.request('/repos/secret/x86_64/Packages/other-1.0-1.noarch.rpm', { headers: auth(reader.body.token) });
    assert.equal(privatePackage.status, 200);
    // A shared cache (nginx, a CDN, the Worker's cache) must never keep a private distribution's files.
    assert.equal(privatePackage.headers.get('cache-control'), 'private, max-age=31536000, immutable');
    const privateRepomd = await (await app.request('/repos/secret/x86_64/repodata/repomd.xml', { headers: auth(reader.body.token) })).text();
    const primary = /href="(repodata\/[^"]+-primary\.xml\.gz)"/.exec(privateRepomd)![1];
    const privateMetadata = await app.request(`/repos/secret/x86_64/${primary}`, { headers: auth(reader.body.token) });
    assert.equal(privateMetadata.status, 200);
    assert.match(privateMetadata.headers.get('cache-control')!, /^private, /);
    const publicRepomd = await app.request('/repos/rocky9/x86_64/repodata/repomd.xml');
    assert.equal(publicRepomd.status, 200, 'public ones stay public');
    assert.match(publicRepomd.headers.get('cache-control')!, /^public, /);
  });
});

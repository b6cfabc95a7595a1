/**
 * Distributions as data through the API, on real servers sharing one store: created, edited and
 * retired with the admin role, seen by a second server within the TTL, served to a real dnf,
 * with bad bodies refused as 422 naming the field.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dnfClient } from '../helpers/rpm-clients.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';

const TTL_MS = 300;

describe('distributions API (real servers, one store)', () => {
  let one: RunningServer;
  let two: RunningServer;
  let dir: string;
  let rpm: string;
  let maintainerToken: string;

  const call = async (server: RunningServer, method: string, path: string, body?: unknown, token = server.adminToken) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: response.status, body: json };
  };
  /** Polls until `check` holds, for at most a few TTLs: what "within the TTL" means with scheduling slack. */
  const eventually = async (check: () => Promise<boolean>, what: string) => {
    const deadline = Date.now() + TTL_MS * 10;
    for (;;) {
      if (await check()) return Date.now();
      if (Date.now() > deadline) assert.fail(`not within ${TTL_MS * 10} ms: ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repod-dists-api-'));
    one = await startServer({ REPOD_REF_TTL_MS: String(TTL_MS) });
    two = await startServer({ REPOD_STORAGE: one.storage, REPOD_REF_TTL_MS: String(TTL_MS) });
    [rpm] = await buildRpms([{ name: 'dynamic', arch: 'noarch', autoReqProv: false, files: [{ path: '/usr/share/dynamic/x' }] }], dir);
    const token = await call(one, 'POST', '/api/v1/tokens', { name: 'maint', role: 'maintainer' });
    assert.equal(token.status, 201, JSON.stringify(token.body));
    maintainerToken = token.body.token;
  });
  after(async () => {
    await one?.stop();
    await two?.stop();
    if (one?.storage.startsWith('file:')) await rm(one.storage.slice(5), { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  });

  it('seeds the store with the defaults', async () => {
    const stored = JSON.parse(await readFile(join(one.storage.slice(5), 'config/distributions.json'), 'utf8'));
    assert.equal(stored.format, 1);
    assert.ok(stored.distributions.some((d: any) => d.name === 'rocky9' && d.kind === 'rpm'));
    assert.ok(stored.distributions.some((d: any) => d.name === 'bookworm' && d.kind === 'apt'));
  });

  it('only an admin changes distributions', async () => {
    const entry = { name: 'nope9', kind: 'rpm', architectures: ['x86_64'] };
    assert.equal((await call(one, 'POST', '/api/v1/distributions', entry, maintainerToken)).status, 403);
    assert.equal((await call(one, 'POST', '/api/v1/distributions', entry, 'not-a-token')).status, 401);
    assert.equal((await call(one, 'PATCH', '/api/v1/distributions/rocky9', { sqlite: true }, maintainerToken)).status, 403);
    assert.equal((await call(one, 'DELETE', '/api/v1/distributions/rocky9', undefined, maintainerToken)).status, 403);
    assert.equal((await call(one, 'GET', '/api/v1/distributions/nope9')).status, 404);
  });

  it('refuses bad bodies with 422 naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ name: 'bad1', kind: 'rpm' }, 'architectures'],
      [{ name: 'bad1', kind: 'rpm', architectures: [] }, 'architectures'],
      [{ name: 'bad1', kind: 'deb', architectures: ['x86_64'] }, 'kind'],
      [{ kind: 'rpm', architectures: ['x86_64'] }, 'name'],
      [{ name: 'bad/1', kind: 'rpm', architectures: ['x86_64'] }, 'name'],
      [{ name: 'bad1', kind: 'rpm', architecture: ['x86_64'] }, 'architecture'],
      [{ name: 'bad1', kind: 'apt', architectures: ['amd64'] }, 'components'],
      [{ name: 'bad1', kind: 'rpm', architectures: ['x86_64'], debuginfo: 'elsewhere' }, 'debuginfo'],
      [{ name: 'bad1', kind: 'rpm', architectures: ['x86_64'], signing: { keys: [] } }, 'signing.keys'],
      [{ name: 'bad1', kind: 'rpm', architectures: ['x86_64'], signing: { keys: ['NOSUCHKEY'] } }, 'signing.keys'],
      [{ name: 'bad1', kind: 'rpm', architectures: ['x86_64'], security: { dependencies: { base: ['bookworm'] } } }, 'security.dependencies.base'],
      [[{ name: 'bad1' }], ''],
    ];
    for (const [body, field] of cases) {
      const r = await call(one, 'POST', '/api/v1/distributions', body);
      assert.equal(r.status, 422, `${JSON.stringify(body)} -> ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error, 'invalid_distribution', JSON.stringify(r.body));
      if (field) assert.equal(r.body.details?.field, field, `${JSON.stringify(body)} -> ${JSON.stringify(r.body)}`);
    }
    const notJson = await call(one, 'POST', '/api/v1/distributions', '{"name": ');
    assert.equal(notJson.status, 422);
    assert.equal((await call(one, 'POST', '/api/v1/distributions', { name: 'rocky9', kind: 'rpm', architectures: ['x86_64'] })).status, 409);
    assert.equal((await call(one, 'GET', '/api/v1/distributions/bad1')).status, 404, 'nothing was stored');
  });

  it('creates a distribution one server serves and the other sees within the TTL; dnf installs from it', async () => {
    const created = await call(one, 'POST', '/api/v1/distributions', { name: 'dyn9', kind: 'rpm', architectures: ['x86_64'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.name, 'dyn9');
    assert.equal(created.body.revision, null);
    const start = Date.now();
    const seen = await eventually(async () => (await call(two, 'GET', '/api/v1/distributions/dyn9')).status === 200, 'the second server lists dyn9');
    assert.ok(seen - start < TTL_MS * 10);
    // Uploaded through the second server, which learned of it from the store.
    const upload = await uploadFile(two, 'dyn9', rpm);
    assert.equal(upload.status, 201, JSON.stringify(upload.body));
    const key = join(dir, 'gpg.key');
    await writeFile(key, await (await fetch(`${one.url}/repos/dyn9/gpg.key`)).text());
    const client = await dnfClient(`${one.url}/repos/dyn9/x86_64/`, { gpgkeys: [`file://${key}`], gpgcheck: false, repoGpgcheck: true });
    await client.dnf(['makecache']);
    await client.dnf(['install', 'dynamic']);
    const list = await call(one, 'GET', '/api/v1/distributions');
    assert.equal(list.body.distributions.find((d: any) => d.name === 'dyn9').revision.number, 1);
  });

  it('PATCH changes the architectures (a merge patch); name and kind cannot change', async () => {
    assert.equal((await fetch(`${one.url}/repos/dyn9/aarch64/repodata/repomd.xml`)).status, 404);
    const patched = await call(one, 'PATCH', '/api/v1/distributions/dyn9', { architectures: ['x86_64', 'aarch64'], sqlite: true });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.deepEqual(patched.body.architectures, ['x86_64', 'aarch64']);
    assert.equal(patched.body.sqlite, true);
    const removed = await call(one, 'PATCH', '/api/v1/distributions/dyn9', { sqlite: null });
    assert.equal(removed.body.sqlite, undefined, 'null removes a field');
    const repomd = await fetch(`${one.url}/repos/dyn9/aarch64/repodata/repomd.xml`);
    assert.equal(repomd.status, 200);
    await eventually(async () => (await fetch(`${two.url}/repos/dyn9/aarch64/repodata/repomd.xml`)).status === 200, 'the second server serves aarch64');
    for (const [patch, field] of [
      [{ name: 'other' }, 'name'],
      [{ kind: 'apt' }, 'kind'],
      [{ architectures: 'x86_64' }, 'architectures'],
      [{ bogus: 1 }, 'bogus'],
    ] as const) {
      const r = await call(one, 'PATCH', '/api/v1/distributions/dyn9', patch);
      assert.equal(r.status, 422, JSON.stringify(r.body));
      assert.equal(r.body.details?.field, field);
    }
    assert.equal((await call(one, 'PATCH', '/api/v1/distributions/nosuch', { sqlite: true })).status, 404);
  });

  it('no edit is lost when both servers change distributions at once', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        call(i % 2 ? two : one, 'POST', '/api/v1/distributions', { name: `race${i}`, kind: 'apt', components: ['main'], architectures: ['amd64'] }),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      [201, 201, 201, 201, 201, 201],
      JSON.stringify(results.map((r) => r.body)),
    );
    const stored = JSON.parse(await readFile(join(one.storage.slice(5), 'config/distributions.json'), 'utf8'));
    for (let i = 0; i < 6; i++)
      assert.ok(
        stored.distributions.some((d: any) => d.name === `race${i}`),
        `race${i} is stored`,
      );
  });

  it('DELETE retires: refused while it has revisions or is a dependency base; then 404 everywhere; re-created with the same kind only', async () => {
    const refused = await call(one, 'DELETE', '/api/v1/distributions/dyn9');
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error, 'distribution_has_revisions');
    const dependent = await call(one, 'POST', '/api/v1/distributions', {
      name: 'dyn9-extra',
      kind: 'rpm',
      architectures: ['x86_64'],
      security: { dependencies: { base: ['dyn9'] } },
    });
    assert.equal(dependent.status, 201, JSON.stringify(dependent.body));
    const inUse = await call(one, 'DELETE', '/api/v1/distributions/dyn9?force=true');
    assert.equal(inUse.status, 409);
    assert.equal(inUse.body.error, 'distribution_in_use');
    // One that never had a revision goes without force.
    assert.equal((await call(one, 'DELETE', '/api/v1/distributions/dyn9-extra')).status, 200);
    const retired = await call(one, 'DELETE', '/api/v1/distributions/dyn9?force=true');
    assert.equal(retired.status, 200, JSON.stringify(retired.body));
    assert.equal(retired.body.status, 'retired');
    for (const path of ['/repos/dyn9/x86_64/repodata/repomd.xml', '/repos/dyn9/gpg.key', '/repos/dyn9/client-setup']) {
      assert.equal((await fetch(`${one.url}${path}`)).status, 404, path);
    }
    await eventually(async () => (await fetch(`${two.url}/repos/dyn9/x86_64/repodata/repomd.xml`)).status === 404, 'the second server stops serving dyn9');
    const list = await call(two, 'GET', '/api/v1/distributions');
    assert.ok(!list.body.distributions.some((d: any) => d.name === 'dyn9'));
    assert.ok(list.body.retired.some((d: any) => d.name === 'dyn9' && d.kind === 'rpm'));
    assert.equal((await call(one, 'DELETE', '/api/v1/distributions/dyn9')).status, 404);
    // Its revisions were kept: created again (same kind), it serves them again.
    const otherKind = await call(one, 'POST', '/api/v1/distributions', { name: 'dyn9', kind: 'apt', components: ['main'], architectures: ['amd64'] });
    assert.equal(otherKind.status, 409);
    assert.equal(otherKind.body.error, 'kind_mismatch');
    const again = await call(one, 'POST', '/api/v1/distributions', { name: 'dyn9', kind: 'rpm', architectures: ['x86_64'] });
    assert.equal(again.status, 201);
    assert.equal(again.body.revision.number, 1);
    assert.equal((await fetch(`${one.url}/repos/dyn9/x86_64/repodata/repomd.xml`)).status, 200);
  });

  it('changes are audited', async () => {
    const audit = await call(one, 'GET', '/api/v1/audit?limit=200');
    assert.equal(audit.status, 200, JSON.stringify(audit.body));
    const events: any[] = audit.body.events ?? audit.body.items ?? audit.body;
    const actions = events.map((e) => `${e.action} ${e.target ?? ''} ${e.status}`);
    assert.ok(actions.includes('POST /api/v1/distributions dyn9 201'), actions.join('\n'));
    assert.ok(actions.includes('PATCH /api/v1/distributions/:dist dyn9 200'), actions.join('\n'));
    assert.ok(actions.includes('DELETE /api/v1/distributions/:dist dyn9 200'), actions.join('\n'));
  });
});

describe('REPOD_DISTRIBUTIONS and the stored set across restarts', () => {
  it('the stored set wins; a file entry is applied again only when the file changes it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'repod-dists-seed-'));
    const storage = `file:${join(dir, 'store')}`;
    const file = join(dir, 'distributions.json');
    const entry = { name: 'seeded9', kind: 'rpm', architectures: ['x86_64'] };
    const gone = { name: 'gone9', kind: 'rpm', architectures: ['x86_64'] };
    await writeFile(file, JSON.stringify({ replaceDefaults: true, distributions: [entry, gone] }));
    const started: RunningServer[] = [];
    const start = async () => {
      const server = await startServer({ REPOD_STORAGE: storage, REPOD_DISTRIBUTIONS: file });
      started.push(server);
      return server;
    };
    const get = async (server: RunningServer, name: string) => {
      const r = await fetch(`${server.url}/api/v1/distributions/${name}`);
      return r.status === 200 ? ((await r.json()) as any) : null;
    };
    const send = (server: RunningServer, method: string, path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    try {
      let server = await start();
      assert.equal(await get(server, 'rocky9'), null, 'replaceDefaults seeds only the file');
      assert.equal((await send(server, 'PATCH', '/api/v1/distributions/seeded9', { architectures: ['x86_64', 'aarch64'] })).status, 200);
      assert.equal((await send(server, 'DELETE', '/api/v1/distributions/gone9')).status, 200);
      await server.stop();

      server = await start();
      assert.deepEqual((await get(server, 'seeded9')).architectures, ['x86_64', 'aarch64'], 'the API edit survives a restart with the same file');
      assert.equal(await get(server, 'gone9'), null, 'so does the retirement');
      await server.stop();

      await writeFile(file, JSON.stringify({ replaceDefaults: true, distributions: [{ ...entry, sqlite: true }, gone] }));
      server = await start();
      const changed = await get(server, 'seeded9');
      assert.deepEqual(changed.architectures, ['x86_64'], 'the changed file entry replaces the stored one');
      assert.equal(changed.sqlite, true);
      assert.equal(await get(server, 'gone9'), null, 'an unchanged entry does not come back');
      await server.stop();
    } finally {
      for (const server of started) await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

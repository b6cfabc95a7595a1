/**
 * Publishing under contention and removal: two servers (two cores with their own caches) on one
 * store, 20 publishers racing; every package lands, every revision in the chain is consistent.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Revision } from '../../src/bucket/revision.ts';
import type { Core } from '../../src/core/core.ts';
import { createApp } from '../../src/http/app.ts';
import { stagePackage } from '../../src/ingest/stage.ts';
import { entriesOf } from '../../src/revisions/history.ts';
import { publishBatch } from '../../src/revisions/publish.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';
import { bytesStream } from '../../src/storage/objects.ts';
import { type Rgw, rgwSkipReason, startRgw } from '../helpers/rgw.ts';
import { buildManyRpms } from '../helpers/rpmbuild.ts';

let rpms: string[];
before(async () => {
  rpms = await buildManyRpms(21, await mkdtemp(join(tmpdir(), 'repod-race-')), { prefix: 'race', arch: 'noarch', perSpec: 21 });
});

async function stage(core: Core, path: string) {
  return stagePackage(core.caps, bytesStream(new Uint8Array(await readFile(path))), { maxBytes: 1 << 30 });
}

/** The revision chain from the store's current ref (read fresh: a core caches refs for a second). */
async function chain(core: Core, dist: string): Promise<Revision[]> {
  const out: Revision[] = [];
  const { ref } = await core.repository.currentRef(dist, true);
  for (let r = ref ? await core.repository.revision(dist, ref.revision) : null; r; r = r.parent ? await core.repository.revision(dist, r.parent) : null) out.push(r);
  return out;
}

function raceSuite(name: string, env: () => Promise<Record<string, string>>, skip: string | false = false) {
  describe(`concurrent publishing (${name})`, { skip }, () => {
    // Group commit off: every publish is its own revision, so the compare-and-swap retry alone must land them all.
    it('20 racing publishers on two servers, one revision each: every package lands, no revision is lost', async () => {
      const e = { ...(await env()), REPOD_GROUP_COMMIT: '0' };
      const a = (await buildNodeCore({ ...e, REPOD_ADMIN_TOKEN: 't' }, () => undefined)).core;
      const b = (await buildNodeCore({ ...e, REPOD_ADMIN_TOKEN: 't' }, () => undefined)).core;
      const results = await Promise.all(
        rpms.slice(0, 20).map(async (path, i) => {
          const core = i % 2 ? a : b;
          return publishBatch(core, 'fedora', [await stage(core, path)], { author: `writer-${i}` });
        }),
      );
      assert.ok(results.every((r) => r.status === 'published'));
      const revisions = await chain(a, 'fedora');
      assert.equal(revisions.length, 20, 'one revision per publish');
      assert.equal(revisions[0].packageCount, 20);
      const numbers = results.map((r) => r.revision!.number).sort((x, y) => x - y);
      assert.deepEqual(
        numbers,
        Array.from({ length: 20 }, (_, i) => i + 1),
        'each publisher got its own revision',
      );
      for (const r of revisions) {
        assert.equal(r.packageCount, r.number, `revision ${r.number} holds exactly the packages published up to it`);
        for (const c of r.chunks) assert.ok(await a.caps.store.head(`chunks/${c.id.slice(0, 2)}/${c.id}.seg`), 'every chunk it names exists');
      }
      const names = (await a.repository.chunkIndex(revisions[0].chunks[0].id)).entries.map((e) => e.label).sort();
      assert.equal(names.length, 20);
    });

    // Group commit on: each server joins its concurrent publishes, and the two servers' groups still race on the ref.
    it('20 racing publishers on two servers, grouped: fewer revisions, every package lands in the revision its publisher was told', async () => {
      const e = await env();
      const dist = 'rocky9';
      const a = (await buildNodeCore({ ...e, REPOD_ADMIN_TOKEN: 't' }, () => undefined)).core;
      const b = (await buildNodeCore({ ...e, REPOD_ADMIN_TOKEN: 't' }, () => undefined)).core;
      const results = await Promise.all(
        rpms.slice(0, 20).map(async (path, i) => {
          const core = i % 2 ? a : b;
          return publishBatch(core, dist, [await stage(core, path)], { author: `writer-${i}` });
        }),
      );
      assert.ok(results.every((r) => r.status === 'published'));
      const revisions = await chain(a, dist);
      assert.ok(revisions.length < 20, `${revisions.length} revisions for 20 publishes`);
      assert.equal(revisions[0].packageCount, 20);
      const byId = new Map(revisions.map((r) => [r.id, r]));
      for (const result of results) {
        const revision = byId.get(result.revision!.id);
        assert.ok(revision, 'the revision a publisher was told is in the history');
        const labels = (await entriesOf(a.repository, revision)).map((entry) => entry.id);
        assert.ok(labels.includes(result.packages[0].sha256), 'and holds its package');
      }
      const authors = new Set<string>();
      for (const r of revisions) {
        for (const part of r.parts ?? [{ author: r.author }]) authors.add(part.author);
        for (const c of r.chunks) assert.ok(await a.caps.store.head(`chunks/${c.id.slice(0, 2)}/${c.id}.seg`), 'every chunk it names exists');
      }
      assert.deepEqual([...authors].sort(), Array.from({ length: 20 }, (_, i) => `writer-${i}`).sort(), 'the history names every author');
    });
  });
}

raceSuite('file store', async () => ({ REPOD_STORAGE: `file:${await mkdtemp(join(tmpdir(), 'repod-race-store-'))}` }));
let rgw: Rgw | undefined;
raceSuite(
  'Ceph RGW',
  async () => {
    rgw = await startRgw();
    return { ...rgw.env, REPOD_STORAGE: `s3://${rgw.bucket}/race` };
  },
  rgwSkipReason(),
);
after(async () => rgw?.stop());

describe('removing packages', () => {
  it('removes by file name or NEVRA as a new revision, with roles checked and unknown names refused', async () => {
    const { core } = await buildNodeCore({ REPOD_STORAGE: `file:${await mkdtemp(join(tmpdir(), 'repod-remove-'))}`, REPOD_ADMIN_TOKEN: 'admin-t' }, () => undefined);
    const app = createApp(core);
    await publishBatch(core, 'rocky9', await Promise.all(rpms.slice(0, 3).map((p) => stage(core, p))), { author: 't' });
    const uploader = (await core.tokens.issue({ subject: 'ci', role: 'uploader' })).token;
    const del = (name: string, token: string) =>
      app.request(`/api/v1/distributions/rocky9/packages/${encodeURIComponent(name)}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    const forbidden = await del('race-00000-1.0-1.noarch.rpm', uploader);
    assert.equal(forbidden.status, 403);
    assert.equal(((await forbidden.json()) as any).error, 'forbidden');
    const removed = await del('race-00000-1.0-1.noarch.rpm', 'admin-t');
    assert.equal(removed.status, 200, await removed.clone().text());
    assert.equal(((await removed.json()) as any).revision.number, 2);
    const byNevra = await del('race-00001-1.0-1.noarch', 'admin-t');
    assert.equal(byNevra.status, 200, await byNevra.clone().text());
    const missing = await del('race-00000-1.0-1.noarch.rpm', 'admin-t');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as any).error, 'package_not_found');
    const current = (await core.repository.current('rocky9'))!;
    assert.equal(current.number, 3);
    assert.equal(current.packageCount, 1);
    assert.equal((await app.request('/repos/rocky9/x86_64/Packages/race-00000-1.0-1.noarch.rpm')).status, 404);
    assert.equal((await app.request('/repos/rocky9/x86_64/Packages/race-00002-1.0-1.noarch.rpm')).status, 200);
  });
});

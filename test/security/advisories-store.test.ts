/**
 * The advisory feed kept in the BlobStore: two StoredAdvisoryFeed instances (two servers) on one
 * memory store see each other's pushes, read only what changed, agree on the version, survive
 * racing pushes (compare-and-swap on the manifest) and compaction.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { zipSync } from 'fflate';
import { layout } from '../../src/bucket/layout.ts';
import { nodeCapabilities } from '../../src/runtime/node-core.ts';
import { webCapabilities } from '../../src/runtime/web-capabilities.ts';
import { StoredAdvisoryFeed } from '../../src/security/advisories/feed-store.ts';
import { MemoryStore } from '../../src/storage/memory.ts';

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const quiet = () => undefined;

function advisory(id: string, name: string, fixed: string, modified = '2024-05-01T10:00:00Z') {
  return {
    id,
    modified,
    summary: `${id} in ${name}`,
    affected: [{ package: { ecosystem: 'Debian:12', name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] }],
  };
}

/** Counts reads per key prefix, to show which objects a server reads. */
function countingStore(): { store: MemoryStore; gets: string[] } {
  const store = new MemoryStore();
  const gets: string[] = [];
  const get = store.get.bind(store);
  store.get = (key, options) => {
    gets.push(key);
    return get(key, options);
  };
  return { store, gets };
}

const libssl = { kind: 'deb', name: 'libssl3', source: 'openssl', version: '3.0.11-1~deb12u2' } as const;

describe('StoredAdvisoryFeed', () => {
  test("a server trusts the feed it holds for ttlMs (no store read per upload), then sees another server's push", async () => {
    const store = new MemoryStore();
    let heads = 0;
    const head = store.head.bind(store);
    store.head = (key) => {
      heads++;
      return head(key);
    };
    const a = new StoredAdvisoryFeed(nodeCapabilities(store, quiet), { ttlMs: 0 });
    const b = new StoredAdvisoryFeed(nodeCapabilities(store, quiet), { ttlMs: 300 });
    assert.equal((await b.current()).size, 0);
    await a.push('one.json', enc(advisory('DSA-9', 'openssl', '3.0.13-1~deb12u1')));
    const before = heads;
    for (let i = 0; i < 50; i++) assert.equal((await b.current()).size, 0, 'within ttlMs the held feed answers');
    assert.equal(heads, before, 'and the store is not asked');
    await new Promise((resolve) => setTimeout(resolve, 350));
    assert.equal((await b.current()).size, 1);
  });

  test("two servers on one store see each other's pushes and agree on the version", async () => {
    const { store, gets } = countingStore();
    const a = new StoredAdvisoryFeed(nodeCapabilities(store, quiet), { ttlMs: 0 });
    const b = new StoredAdvisoryFeed(webCapabilities(store, quiet), { ttlMs: 0 });

    assert.equal((await a.current()).size, 0);
    assert.equal((await b.current()).size, 0);

    const zip = zipSync({
      'DSA-1.json': enc(advisory('DSA-1', 'openssl', '3.0.13-1~deb12u1')),
      'DSA-2.json': enc(advisory('DSA-2', 'zlib', '1:1.2.13.dfsg-1')),
      'DSA-bad.json': enc({ id: 'DSA-bad' }),
    });
    const pushed = await a.push('all.zip', zip);
    assert.equal(pushed.loaded, 2);
    assert.deepEqual(
      pushed.errors.map((e) => e.name),
      ['all.zip/DSA-bad.json'],
    );

    const seenByB = await b.current();
    assert.equal(seenByB.size, 2);
    assert.equal(seenByB.version(), pushed.version);
    assert.deepEqual(
      seenByB.findings('Debian:12', libssl).map((f) => f.id),
      ['DSA-1'],
    );

    // B pushes one advisory; A sees it. The segment A already holds is not read again.
    gets.length = 0;
    const second = await b.push('DSA-3.json', enc(advisory('DSA-3', 'openssl', '3.0.14-1~deb12u1')));
    const seenByA = await a.current();
    assert.equal(seenByA.version(), second.version);
    assert.deepEqual(
      seenByA.findings('Debian:12', libssl).map((f) => f.id),
      ['DSA-1', 'DSA-3'],
    );
    const segmentReads = gets.filter((k) => k.startsWith(layout.advisorySegmentsPrefix()));
    assert.equal(segmentReads.length, 1, `A read only the new segment: ${segmentReads.join(', ')}`);

    // Nothing changed: current() costs a head of the manifest, no read.
    gets.length = 0;
    const again = await a.current();
    assert.equal(again, seenByA, 'the same feed object while the manifest is unchanged');
    assert.deepEqual(gets, []);

    // A newer record of an id replaces the older one everywhere.
    await a.push('DSA-1.json', enc(advisory('DSA-1', 'openssl', '3.0.10-1', '2024-07-01T00:00:00Z')));
    assert.deepEqual(
      (await b.current()).findings('Debian:12', libssl).map((f) => f.id),
      ['DSA-3'],
    );
    // A feed handed out before is not changed by later pushes.
    assert.deepEqual(
      seenByA.findings('Debian:12', libssl).map((f) => f.id),
      ['DSA-1', 'DSA-3'],
    );

    // A third server starting now reads the whole feed.
    const c = new StoredAdvisoryFeed(nodeCapabilities(store, quiet), { ttlMs: 0 });
    assert.equal((await c.current()).version(), (await a.current()).version());
  });

  test('racing pushes from two servers both land (compare-and-swap on the manifest)', async () => {
    const store = new MemoryStore();
    const a = new StoredAdvisoryFeed(nodeCapabilities(store, quiet), { ttlMs: 0 });
    const b = new StoredAdvisoryFeed(webCapabilities(store, quiet), { ttlMs: 0 });
    await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => a.push(`a${i}.json`, enc(advisory(`A-${i}`, 'openssl', `3.0.${20 + i}-1`)))),
      ...Array.from({ length: 6 }, (_, i) => b.push(`b${i}.json`, enc(advisory(`B-${i}`, 'openssl', `3.0.${20 + i}-1`)))),
    ]);
    const fa = await a.current();
    const fb = await b.current();
    assert.equal(fa.size, 12);
    assert.equal(fa.version(), fb.version());
  });

  test('pushing the same file twice stores it once; a file with no valid advisory stores nothing', async () => {
    const store = new MemoryStore();
    const a = new StoredAdvisoryFeed(nodeCapabilities(store, quiet), { ttlMs: 0 });
    const file = enc([advisory('DSA-1', 'openssl', '3.0.13-1'), advisory('DSA-2', 'zlib', '1.3-1')]);
    const first = await a.push('batch.json', file);
    const second = await a.push('batch.json', file);
    assert.equal(second.version, first.version);
    const manifest = JSON.parse(new TextDecoder().decode(await readObject(store, layout.advisoryManifest())));
    assert.equal(manifest.segments.length, 1);

    const none = await a.push('junk.json', new TextEncoder().encode('not json'));
    assert.equal(none.loaded, 0);
    assert.equal(none.errors.length, 1);
    assert.equal(none.version, first.version);
  });

  test('past maxSegments a push compacts the feed into one segment; other servers follow', async () => {
    const store = new MemoryStore();
    const a = new StoredAdvisoryFeed(nodeCapabilities(store, quiet), { maxSegments: 3, ttlMs: 0 });
    const b = new StoredAdvisoryFeed(webCapabilities(store, quiet), { maxSegments: 3, ttlMs: 0 });
    for (let i = 0; i < 3; i++) await a.push(`f${i}.json`, enc(advisory(`D-${i}`, 'openssl', `3.0.${i}-1`)));
    assert.equal((await b.current()).size, 3);
    const last = await b.push('f3.json', enc(advisory('D-3', 'openssl', '3.0.3-1')));
    const manifest = JSON.parse(new TextDecoder().decode(await readObject(store, layout.advisoryManifest())));
    assert.equal(manifest.segments.length, 1);
    assert.equal(manifest.segments[0].advisories, 4);
    const segments: string[] = [];
    for await (const entry of store.list(layout.advisorySegmentsPrefix())) segments.push(entry.key);
    assert.deepEqual(segments, [manifest.segments[0].key], 'the replaced segments are deleted');
    const fa = await a.current();
    assert.equal(fa.size, 4);
    assert.equal(fa.version(), last.version);

    // A server re-reading its advisory directory at start pushes the same files again: nothing is written.
    const before = (await store.head(layout.advisoryManifest()))!.etag;
    for (let i = 0; i < 4; i++) await b.push(`f${i}.json`, enc(advisory(`D-${i}`, 'openssl', `3.0.${i}-1`)));
    await a.push('old.json', enc(advisory('D-0', 'openssl', '9.9-1', '2020-01-01T00:00:00Z')));
    assert.equal((await store.head(layout.advisoryManifest()))!.etag, before);
  });

  test('a custom prefix keeps feeds apart', async () => {
    const store = new MemoryStore();
    const one = new StoredAdvisoryFeed(nodeCapabilities(store, quiet), { prefix: 'one/', ttlMs: 0 });
    const two = new StoredAdvisoryFeed(nodeCapabilities(store, quiet), { prefix: 'two/', ttlMs: 0 });
    await one.push('a.json', enc(advisory('DSA-1', 'openssl', '3.0.13-1')));
    assert.equal((await two.current()).size, 0);
    assert.ok(await store.head('one/manifest.json'));
  });
});

async function readObject(store: MemoryStore, key: string): Promise<Uint8Array> {
  const object = await store.get(key);
  assert.ok(object, key);
  return new Uint8Array(await new Response(object.body).arrayBuffer());
}

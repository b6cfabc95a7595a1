/**
 * The catalog as a process holds it: a summary by column for search, the other fields read from
 * the store's slices when an import asks for them. Catalogs are written by the sync's own
 * CatalogStage into a memory store, each index in its own slice (the stage ends a slice with each
 * index), so an answer spans several slices.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { layout } from '../../src/bucket/layout.ts';
import { Catalog } from '../../src/import/catalog.ts';
import { type CatalogPointer, CatalogStage, readCatalogPointer, type StoredCatalogEntry } from '../../src/import/catalog-store.ts';
import type { BlobStore } from '../../src/storage/blob-store.ts';
import { memoryStore } from '../../src/storage/memory.ts';

const BASE = 'http://mirror.example/debian/';
const SHA = (n: number) => n.toString(16).padStart(64, '0');

function apt(name: string, version: string, architecture: string, extra: Partial<StoredCatalogEntry> = {}): StoredCatalogEntry {
  const filename = `pool/main/${name[0]}/${name}/${name}_${version}_${architecture}.deb`;
  return {
    name,
    version,
    architecture,
    size: 1000 + name.length,
    sha256: SHA(name.length * 7 + version.length),
    url: BASE + filename,
    filename,
    description: `${name} — the ${name} package`,
    component: 'main',
    ...extra,
  };
}

/** Writes `indexes` (index name → entries) as a sync does, a slice each, and switches the pointer. */
async function writeCatalog(store: BlobStore, sourceId: number, job: string, indexes: Record<string, StoredCatalogEntry[]>, kind: 'apt' | 'rpm' = 'apt'): Promise<CatalogPointer> {
  const caps = { store, gzip: (d: Uint8Array) => gzipSync(d) };
  const stage = new CatalogStage(caps, sourceId, job);
  const records: CatalogPointer['indexes'] = [];
  let count = 0;
  for (const [index, entries] of Object.entries(indexes)) {
    for (const e of entries) await stage.add(e);
    records.push({ index, checksum: `sha256:${index}${job}`, count: entries.length, segments: await stage.endIndex(), readAt: new Date().toISOString() });
    count += entries.length;
  }
  const pointer: CatalogPointer = { format: 1, sourceId, kind, job, syncedAt: new Date().toISOString(), count, indexes: records };
  await stage.commit(pointer, await readCatalogPointer({ store }, sourceId));
  return pointer;
}

function catalogOver(store: BlobStore, ids: number[] = [1]): Catalog {
  const caps = { store, gunzip: (d: Uint8Array) => new Uint8Array(gunzipSync(d)), requestsShareWork: true };
  return new Catalog(caps, { listCached: async () => ids.map((id) => ({ id })) as never }, { ttlMs: 60_000 });
}

/** Counts the gets of catalog slices. */
function countingSliceGets(store: BlobStore): { store: BlobStore; gets: () => number } {
  let gets = 0;
  const counted = Object.create(store) as BlobStore;
  counted.get = (key, options) => {
    if (key.endsWith('.ndjson.gz')) gets++;
    return store.get(key, options);
  };
  return { store: counted, gets: () => gets };
}

const INDEXES = {
  'main/amd64': [
    apt('libssl3', '3.0.11-1', 'amd64', { depends: 'libc6 (>= 2.34)', source: 'openssl' }),
    apt('openssl', '3.0.11-1', 'amd64', { depends: 'libssl3 (>= 3.0.9)' }),
    apt('bash', '5.2.15-2+b2', 'amd64', { preDepends: 'libc6 (>= 2.36)', depends: 'base-files (>= 2.1.12), debianutils (>= 5.6-0.1)' }),
  ],
  'main/arm64': [apt('bash', '5.2.15-2+b2', 'arm64', { preDepends: 'libc6 (>= 2.36)' }), apt('libc6', '2.36-9', 'arm64'), apt('bash-completion', '1:2.11-6', 'all')],
  'main/i386': [apt('bash', '5.1-2', 'i386'), apt('bash', '5.2.15-2+b2', 'i386'), apt('ssl-cert', '1.1.2', 'all', { provides: 'make-ssl-cert' })],
  'main/extra': [apt('libc6', '2.36-9', 'amd64', { provides: 'libc6-x86-64' }), apt('bashtop', '0.9.25-1', 'all'), apt('python3-openssl', '23.0.0-1', 'all')],
};

describe('the catalog in memory', () => {
  it('searches names: exact, then prefix, then substring, newest version first, by architecture', async () => {
    const store = memoryStore();
    await writeCatalog(store, 1, 'j1', INDEXES);
    const catalog = catalogOver(store);
    const found = await catalog.search({ q: 'bash' });
    assert.deepEqual(
      found.map((p) => `${p.name} ${p.version} ${p.architecture}`),
      ['bash 5.2.15-2+b2 amd64', 'bash 5.2.15-2+b2 arm64', 'bash 5.2.15-2+b2 i386', 'bash 5.1-2 i386', 'bash-completion 1:2.11-6 all', 'bashtop 0.9.25-1 all'],
    );
    assert.deepEqual(
      (await catalog.search({ q: 'SSL' })).map((p) => p.name),
      ['ssl-cert', 'libssl3', 'openssl', 'python3-openssl'],
      'a prefix before substrings; the query is case-insensitive',
    );
    assert.deepEqual(
      (await catalog.search({ q: 'bash', arch: 'arm64' })).map((p) => `${p.name} ${p.architecture}`),
      ['bash arm64', 'bash-completion all', 'bashtop all'],
    );
    assert.deepEqual(
      (await catalog.search({ q: 'bash', limit: 2 })).map((p) => p.architecture),
      ['amd64', 'arm64'],
    );
    assert.deepEqual((await catalog.search({ q: 'ssl\nbash' })).length, 0, 'no match across two names');
    assert.equal((await catalog.search({ q: '' })).length, 12);
  });

  it('answers a search with the summary only; versions() reads the rest from the slices', async () => {
    const store = memoryStore();
    await writeCatalog(store, 1, 'j1', INDEXES);
    const catalog = catalogOver(store);
    const [hit] = await catalog.search({ q: 'openssl' });
    assert.deepEqual(hit, {
      sourceId: 1,
      kind: 'apt',
      syncedAt: hit!.syncedAt,
      ...apt('openssl', '3.0.11-1', 'amd64'),
    });
    assert.equal(hit!.depends, undefined, 'dependencies are not held in memory');
    const bash = await catalog.versions(1, 'bash');
    assert.deepEqual(
      bash.map((p) => [p.version, p.architecture, p.preDepends ?? null]),
      [
        ['5.2.15-2+b2', 'amd64', 'libc6 (>= 2.36)'],
        ['5.2.15-2+b2', 'arm64', 'libc6 (>= 2.36)'],
        ['5.2.15-2+b2', 'i386', null],
        ['5.1-2', 'i386', null],
      ],
    );
    assert.equal(bash[0]!.depends, 'base-files (>= 2.1.12), debianutils (>= 5.6-0.1)');
    assert.equal(bash[0]!.url, `${BASE}pool/main/b/bash/bash_5.2.15-2+b2_amd64.deb`);
    assert.equal(bash[0]!.sourceId, 1);
    assert.deepEqual(await catalog.versions(1, 'nothing'), []);
    assert.deepEqual(await catalog.versions(2, 'bash'), []);
    const amd64 = await catalog.packages(1, (a) => a === 'amd64' || a === 'all');
    assert.deepEqual(
      amd64.map((p) => `${p.name} ${p.architecture}`),
      ['bash amd64', 'bash-completion all', 'bashtop all', 'libc6 amd64', 'libssl3 amd64', 'openssl amd64', 'python3-openssl all', 'ssl-cert all'],
    );
    assert.equal(amd64.find((p) => p.name === 'ssl-cert')!.provides, 'make-ssl-cert');
    assert.equal((await catalog.packages(1)).length, 12);
  });

  it('keeps RPM names as they are cased, and checksums that are not sha256', async () => {
    const store = memoryStore();
    const rpm = (name: string, version: string, extra: Partial<StoredCatalogEntry> = {}): StoredCatalogEntry => ({
      name,
      version,
      architecture: 'x86_64',
      size: 10,
      sha256: SHA(name.length),
      url: `https://rpm.example/os/Packages/${name}-${version}.x86_64.rpm`,
      filename: `Packages/${name}-${version}.x86_64.rpm`,
      description: name,
      ...extra,
    });
    await writeCatalog(
      store,
      1,
      'j1',
      {
        a: [rpm('PackageKit', '1.2.6-1.el9'), rpm('packagekit-extra', '1.0-1'), rpm('abc', '1:2.0-1')],
        b: [
          rpm('abc', '1.9-3', { sha256: '', checksum: { type: 'sha1', value: 'ab'.repeat(20) } }),
          rpm('odd', '1-1', { url: 'https://elsewhere.example/odd.rpm', requires: [{ name: 'abc', flags: 'GE', epoch: '1', version: '2.0' }] }),
        ],
      },
      'rpm',
    );
    const catalog = catalogOver(store);
    assert.deepEqual(
      (await catalog.search({ q: 'packagekit' })).map((p) => p.name),
      ['PackageKit', 'packagekit-extra'],
    );
    assert.equal((await catalog.versions(1, 'PackageKit')).length, 1);
    assert.equal((await catalog.versions(1, 'packagekit')).length, 0, 'names are exact');
    const abc = await catalog.versions(1, 'abc');
    assert.deepEqual(
      abc.map((p) => [p.version, p.sha256, p.checksum?.type ?? null]),
      [
        ['1:2.0-1', SHA(3), null],
        ['1.9-3', '', 'sha1'],
      ],
    );
    const [odd] = await catalog.search({ q: 'odd' });
    assert.equal(odd!.url, 'https://elsewhere.example/odd.rpm');
    assert.deepEqual((await catalog.versions(1, 'odd'))[0]!.requires, [{ name: 'abc', flags: 'GE', epoch: '1', version: '2.0' }]);
  });

  it('reads the new catalog when a sync replaced the slices it holds', async () => {
    const store = memoryStore();
    await writeCatalog(store, 1, 'j1', INDEXES);
    const catalog = catalogOver(store);
    assert.equal((await catalog.versions(1, 'openssl'))[0]!.version, '3.0.11-1');
    // Another server's sync: new slices, the old ones deleted. This process still holds the old
    // catalog (its pointer is checked once a minute here), but the fields it reads are gone.
    await writeCatalog(store, 1, 'j2', { 'main/amd64': [apt('openssl', '3.0.13-1', 'amd64', { depends: 'libssl3 (>= 3.0.13)' })] });
    const openssl = await catalog.versions(1, 'openssl');
    assert.deepEqual(
      openssl.map((p) => [p.version, p.depends]),
      [['3.0.13-1', 'libssl3 (>= 3.0.13)']],
    );
    assert.deepEqual(
      (await catalog.search({ q: 'ssl' })).map((p) => p.name),
      ['openssl'],
    );
  });

  it('keeps what it holds when a sync of its own process found every index unchanged', async () => {
    const counting = countingSliceGets(memoryStore());
    const first = await writeCatalog(counting.store, 1, 'j1', INDEXES);
    const catalog = catalogOver(counting.store);
    await catalog.search({ q: 'bash' });
    const loaded = counting.gets();
    assert.equal(loaded, 4, 'one read of each slice');
    // An unchanged sync: a new pointer (another job, another time) naming the same slices.
    const again = { ...first, job: 'j2', syncedAt: new Date(Date.now() + 1000).toISOString() };
    const previous = await readCatalogPointer({ store: counting.store }, 1);
    await counting.store.put(layout.importCatalogPointer(1), new TextEncoder().encode(JSON.stringify(again)), { ifMatch: previous!.etag });
    catalog.refresh(1);
    const [bash] = await catalog.search({ q: 'bash' });
    assert.equal(bash!.syncedAt, again.syncedAt, 'the new pointer is read');
    assert.equal(counting.gets(), loaded, 'no slice read again');
    // A changed one is read.
    await writeCatalog(counting.store, 1, 'j3', { 'main/amd64': [apt('bash', '5.3-1', 'amd64')] });
    catalog.refresh(1);
    assert.deepEqual(
      (await catalog.search({ q: 'bash' })).map((p) => p.version),
      ['5.3-1'],
    );
  });
});

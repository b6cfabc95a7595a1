/**
 * A render after a publish works out only the chunks the publish wrote: what a view takes from
 * every other chunk is remembered by chunk id (rpm-view.ts). The remembered parts must give the
 * same metadata as a render from nothing, for a plain view, a hashed one and a multilib one; and
 * the repository keeps chunk bytes in memory, so neither a render nor serving a file reads them again;
 * a process whose cache cannot hold the chunks reads only the ranges it hashes and serves.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EntryWithSegments } from '../../src/bucket/chunk.ts';
import type { Revision } from '../../src/bucket/revision.ts';
import type { Capabilities } from '../../src/capabilities.ts';
import type { RpmDistribution } from '../../src/config/distributions.ts';
import { parseRpm } from '../../src/formats/rpm/reader.ts';
import { RPM_STREAMS, rpmEntry } from '../../src/ingest/rpm-entry.ts';
import { Renderer } from '../../src/render/render-cache.ts';
import { type ChunkContributions, renderRpmView } from '../../src/render/rpm-view.ts';
import { chunkIndexBytes, Repository } from '../../src/revisions/repository.ts';
import { nodeCapabilities } from '../../src/runtime/node-core.ts';
import { createSigner, generateSigningKey, type Signer } from '../../src/signing/signer.ts';
import type { BlobStore } from '../../src/storage/blob-store.ts';
import { FileStore } from '../../src/storage/file.ts';
import { readAllBytes } from '../../src/storage/objects.ts';
import { LruCache } from '../../src/util/lru-cache.ts';
import { selfBuilt } from '../helpers/packages.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** A store that counts reads of chunk objects: all (ranged gets and readImmutable included), and those of a whole chunk. */
function countingStore(inner: BlobStore): { store: BlobStore; chunkReads: () => number; wholeChunkReads: () => number } {
  let reads = 0;
  let whole = 0;
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'get') {
        return (key: string, options?: Parameters<BlobStore['get']>[1]) => {
          if (key.startsWith('chunks/')) reads++;
          if (key.startsWith('chunks/') && !options?.range) whole++;
          return target.get(key, options);
        };
      }
      if (prop === 'readImmutable' && target.readImmutable) {
        return (key: string, start: number, end: number) => {
          if (key.startsWith('chunks/')) reads++;
          return target.readImmutable!(key, start, end);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store, chunkReads: () => reads, wholeChunkReads: () => whole };
}

describe('RPM renders after a publish', () => {
  let dir: string;
  let caps: Capabilities;
  let chunkReads: () => number;
  let wholeChunkReads: () => number;
  let signer: Signer;
  let entries: (from: number, to: number, arch?: string) => EntryWithSegments[];
  const dist: RpmDistribution = { kind: 'rpm', name: 'd', architectures: ['x86_64', 'i686'] } as RpmDistribution;
  const multilib: RpmDistribution = { ...dist, multilib: { policy: 'devel' } } as RpmDistribution;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repod-contributions-'));
    const counted = countingStore(new FileStore({ root: join(dir, 'store'), fsync: false }));
    chunkReads = counted.chunkReads;
    wholeChunkReads = counted.wholeChunkReads;
    caps = nodeCapabilities(counted.store, () => {});
    signer = await createSigner(await generateSigningKey());
    // One real package, renamed: every entry is a real primary/filelists/other fragment.
    const bytes = new Uint8Array(await readFile(await selfBuilt('hello-2.0-1.x86_64.rpm')));
    const pkg = parseRpm(bytes).pkg;
    entries = (from, to, arch = 'x86_64') =>
      Array.from({ length: to - from }, (_, i) => {
        const name = `pkg${String(from + i).padStart(5, '0')}${arch === 'i686' ? '-devel' : ''}`;
        const facts = { sha256: sha(`${name}.${arch}`), size: bytes.length, fileTime: 1700000000, fileName: `${name}-2.0-1.${arch}.rpm` };
        return rpmEntry({ ...pkg, name, arch }, facts);
      });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  let dists = 0;
  async function publish(repository: Repository, name: string, add: EntryWithSegments[]): Promise<Revision> {
    const { revision } = await repository.publish(name, 'rpm', RPM_STREAMS, () => ({ add, remove: [], replace: true }), { author: 't', message: 'm' });
    return revision!;
  }

  /** A repository whose chunkIndex calls are counted: a render calls it for each chunk it works out. */
  function counted(repository: Repository): { repository: Repository; indexCalls: () => number } {
    let calls = 0;
    const wrapped = Object.create(repository) as Repository;
    wrapped.chunkIndex = (id: string) => {
      calls++;
      return repository.chunkIndex(id);
    };
    return { repository: wrapped, indexCalls: () => calls };
  }

  for (const [label, view, variant] of [
    ['a plain view', dist, 'plain'],
    ['a hashed view', dist, 'hashed'],
    ['a multilib view (picks single entries)', multilib, 'plain'],
  ] as const) {
    it(`${label}: the next render works out only the new chunks, and equals a render from nothing`, async () => {
      const repository = new Repository(caps, { refTtlMs: 1000 });
      const name = `d${dists++}`;
      const first = await publish(repository, name, [...entries(0, 700), ...entries(0, 100, 'i686')]);
      assert.ok(first.chunks.length >= 3, `several chunks (${first.chunks.length})`);
      const contributions: ChunkContributions = new LruCache(1000);
      const a = counted(repository);
      await renderRpmView({ caps, repository: a.repository, signer, contributions }, view, first, 'x86_64', { variant });
      assert.equal(a.indexCalls(), first.chunks.length);

      // A package replaced in the middle, then one added at the end.
      const replaced = entries(350, 351).map((e) => ({ ...e, entry: { ...e.entry, id: sha('changed') } }));
      await publish(repository, name, replaced);
      const added = await publish(repository, name, entries(700, 701));
      const fresh = added.chunks.filter((c) => !first.chunks.some((f) => f.id === c.id)).length;
      assert.ok(fresh >= 1 && fresh < added.chunks.length, `${fresh} of ${added.chunks.length} chunks are new`);
      const b = counted(repository);
      const remembered = await renderRpmView({ caps, repository: b.repository, signer, contributions }, view, added, 'x86_64', { variant });
      assert.equal(b.indexCalls(), fresh, 'only the chunks the publishes wrote are worked out');
      const scratch = await renderRpmView({ caps, repository, signer }, view, added, 'x86_64', { variant });
      assert.equal(remembered.documents['repodata/repomd.xml'], scratch.documents['repodata/repomd.xml']);
      assert.deepEqual(remembered.files, scratch.files);
    });
  }

  it('keeps chunk bytes in memory: a render and the files it lists read no chunk from the store', async () => {
    const repository = new Repository(caps, { refTtlMs: 1000 });
    const revision = await publish(repository, 'served', entries(0, 600));
    const before = chunkReads();
    const manifest = await renderRpmView({ caps, repository, signer }, dist, revision, 'x86_64');
    const renderer = new Renderer(caps, undefined, (id, start, end) => repository.chunkRange(id, start, end));
    const primary = manifest.files.find((f) => f.type === 'primary')!;
    const served = await readAllBytes(renderer.stream(primary));
    assert.equal(chunkReads(), before, 'chunks written by this process are served from memory');
    assert.equal(served.length, primary.size);
    assert.equal(sha256Of(served), primary.checksums.sha256);

    // Another process (a fresh repository) reads each chunk once, whatever it renders and serves.
    const other = new Repository(caps, { refTtlMs: 1000 });
    const start = chunkReads();
    await renderRpmView({ caps, repository: other, signer }, dist, revision, 'x86_64');
    await readAllBytes(new Renderer(caps, undefined, (id, start, end) => other.chunkRange(id, start, end)).stream(primary));
    await renderRpmView({ caps, repository: other, signer }, dist, revision, 'x86_64', { variant: 'hashed' });
    assert.equal(chunkReads() - start, revision.chunks.length);

    // With no room for chunks, serving reads ranges from the store as before, to the same bytes.
    const small = new Repository(caps, { refTtlMs: 1000, chunkCacheBytes: 0 });
    const ranged = await readAllBytes(new Renderer(caps).stream(primary));
    const fromSmall = await readAllBytes(new Renderer(caps, undefined, (id, start, end) => small.chunkRange(id, start, end)).stream(primary));
    assert.deepEqual(ranged, served);
    assert.deepEqual(fromSmall, served);
  });

  it('with chunks that outgrow the cache, renders and downloads read only the ranges they use', async () => {
    const writer = new Repository(caps, { refTtlMs: 1000 });
    await publish(writer, 'large', entries(0, 600));
    // A process whose chunk cache holds nothing, as one serving a distribution far larger than its cache.
    const reader = new Repository(caps, { refTtlMs: 1000, chunkCacheBytes: 0 });
    const contributions: ChunkContributions = new LruCache(1000);
    const first = (await reader.current('large'))!;
    await renderRpmView({ caps, repository: reader, signer, contributions }, dist, first, 'x86_64');

    const next = await publish(writer, 'large', entries(600, 601));
    const fresh = next.chunks.filter((c) => !first.chunks.some((f) => f.id === c.id)).length;
    const [reads, whole] = [chunkReads(), wholeChunkReads()];
    const manifest = await renderRpmView({ caps, repository: reader, signer, contributions }, dist, next, 'x86_64');
    // The new chunk is read whole once (its index); every chunk's hashed streams come as one range.
    assert.equal(wholeChunkReads() - whole, fresh);
    assert.equal(chunkReads() - reads, fresh + next.chunks.length);
    const scratch = await renderRpmView({ caps, repository: writer, signer }, dist, next, 'x86_64');
    assert.deepEqual(manifest.files, scratch.files);

    const primary = manifest.files.find((f) => f.type === 'primary')!;
    const before = wholeChunkReads();
    const served = await readAllBytes(new Renderer(caps, undefined, (id, start, end, into) => reader.chunkRange(id, start, end, into)).stream(primary));
    assert.equal(wholeChunkReads(), before, 'a download reads each segment as a range');
    assert.equal(sha256Of(served), primary.checksums.sha256);
    // The chunks' ranges (about 6.6 KB each here) go out joined, not one piece each.
    const pieces: number[] = [];
    const stream = new Renderer(caps, undefined, (id, start, end, into) => reader.chunkRange(id, start, end, into)).stream(primary).getReader();
    for (let r = await stream.read(); !r.done; r = await stream.read()) pieces.push(r.value.length);
    const ranges = primary.segments.filter((s) => 'chunk' in s);
    assert.equal(pieces.length, primary.segments.length - ranges.length + 1, `${pieces.length} pieces for ${primary.segments.length} segments`);
    assert.equal(
      pieces.reduce((a, b) => a + b, 0),
      primary.size,
    );
  });

  it('keeps decoded chunk indexes within a bound on their heap size, reading an evicted one again', async () => {
    const writer = new Repository(caps, { refTtlMs: 1000 });
    const revision = await publish(writer, 'bounded', entries(0, 700));
    const ids = revision.chunks.map((c) => c.id);
    assert.ok(ids.length >= 3, `${ids.length} chunks`);
    const sizes = await Promise.all(ids.map(async (id) => chunkIndexBytes(await writer.chunkIndex(id))));
    // Room for the largest index, not for two: reading another evicts the one before.
    const reader = new Repository(caps, { refTtlMs: 1000, chunkCacheBytes: 0, chunkIndexBytes: Math.max(...sizes) + 1 });
    const reads = chunkReads();
    const first = await reader.chunkIndex(ids[0]!);
    assert.equal(await reader.chunkIndex(ids[0]!), first, 'held while within the bound');
    await reader.chunkIndex(ids[1]!);
    const again = await reader.chunkIndex(ids[0]!);
    assert.notEqual(again, first, 'decoded anew');
    assert.deepEqual(again.entries, first.entries);
    assert.equal(chunkReads() - reads, 3);
    // By default (and on a server, a quarter of REPOD_CACHE_BYTES) a few thousand entries' worth stay.
    const roomy = new Repository(caps, { refTtlMs: 1000, chunkCacheBytes: 0 });
    const held = await Promise.all(ids.map((id) => roomy.chunkIndex(id)));
    assert.deepEqual(await Promise.all(ids.map((id) => roomy.chunkIndex(id))), held);
  });
});

function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

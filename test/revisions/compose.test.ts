import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { constants, deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';
import { CHUNK_MAX_ENTRIES, decodeChunk, type EntryWithSegments, type StreamSpec } from '../../src/bucket/chunk.ts';
import { GzipBlockCache } from '../../src/bucket/gzip-block-cache.ts';
import { gzipBlocks } from '../../src/bucket/gzip-blocks.ts';
import type { ChunkRef } from '../../src/bucket/revision.ts';
import { ConflictError, NotFoundError } from '../../src/errors.ts';
import { type ComposeIo, compose } from '../../src/revisions/compose.ts';

const STREAMS: StreamSpec[] = [
  { name: 'a', mode: 'raw' },
  { name: 'b', mode: 'gzip' },
];
const gzip = (d: Uint8Array) => new Uint8Array(gzipSync(d));
const gunzip = (d: Uint8Array) => new Uint8Array(gunzipSync(d));

function item(key: string, content = key): EntryWithSegments {
  const segs = STREAMS.map((s) => new TextEncoder().encode(`${s.name}:${content};`));
  const id = createHash('sha256').update(content).digest('hex');
  return { entry: { key, id, arch: key.endsWith('n') ? 'noarch' : 'x86_64', file: `${key}.rpm`, label: key, rawLengths: segs.map((s) => s.length) }, segments: segs };
}

function memoryIo() {
  const chunks = new Map<string, Uint8Array>();
  let loads = 0;
  const io: ComposeIo = {
    loadChunk: async (id) => {
      loads++;
      return chunks.get(id)!;
    },
    chunkId: async (bytes) => createHash('sha256').update(bytes).digest('hex'),
    gzip,
    gunzip,
  };
  return { chunks, io, loads: () => loads };
}

async function apply(refs: ChunkRef[], mem: ReturnType<typeof memoryIo>, change: Parameters<typeof compose>[2], generation = 1) {
  const result = await compose(refs, STREAMS, change, mem.io, generation);
  for (const w of result.written) mem.chunks.set(w.id, w.bytes);
  return result;
}

function allKeys(refs: ChunkRef[], mem: ReturnType<typeof memoryIo>): string[] {
  return refs.flatMap((r) => decodeChunk(mem.chunks.get(r.id)!).entries.map((e) => e.key));
}

describe('compose', () => {
  it('builds sorted chunks and keeps every stream of every entry', async () => {
    const mem = memoryIo();
    const keys = Array.from({ length: 2500 }, (_, i) => `pkg${String(i).padStart(5, '0')}`).reverse();
    const result = await apply([], mem, { add: keys.map((k) => item(k)), remove: [] });
    assert.equal(result.added.length, 2500);
    assert.ok(result.chunks.length >= 3, 'split into several chunks');
    assert.ok(result.chunks.every((c) => c.count <= CHUNK_MAX_ENTRIES));
    assert.deepEqual(allKeys(result.chunks, mem), [...keys].sort());
    const bytes = mem.chunks.get(result.chunks[0].id)!;
    const first = decodeChunk(bytes);
    const items = first.withSegments(bytes, gunzip);
    assert.equal(new TextDecoder().decode(items[0].segments[0]), 'a:pkg00000;');
    assert.equal(new TextDecoder().decode(items[0].segments[1]), 'b:pkg00000;');
    assert.equal(new TextDecoder().decode(items[1].segments[1]), 'b:pkg00001;');
  });

  it('keeps one gzip member per architecture group, and raw segments group by group', async () => {
    const mem = memoryIo();
    const result = await apply([], mem, { add: ['an', 'b', 'cn', 'd'].map((k) => item(k)), remove: [] });
    const bytes = mem.chunks.get(result.chunks[0].id)!;
    const index = decodeChunk(bytes);
    assert.equal(index.groups.length, 2, 'noarch and x86_64 members of stream b');
    const noarch = index.ranges(1, (t) => t.arch === 'noarch');
    assert.equal(noarch.length, 1);
    const text = new TextDecoder().decode(gunzip(bytes.subarray(noarch[0][0], noarch[0][1])));
    assert.equal(text, 'b:an;b:cn;');
    const raw = index.ranges(0, (t) => t.arch === 'x86_64');
    assert.deepEqual(
      raw.map(([s, e]) => new TextDecoder().decode(bytes.subarray(s, e))),
      ['a:b;a:d;'],
      'one range per group',
    );
    assert.equal(
      index.rawSize(1, (t) => t.arch === 'noarch'),
      10,
    );
  });

  it('touches only the chunk a change lands in (O(change))', async () => {
    const mem = memoryIo();
    const keys = Array.from({ length: 3000 }, (_, i) => `pkg${String(i).padStart(5, '0')}`);
    const base = await apply([], mem, { add: keys.map((k) => item(k)), remove: [] });
    const before = mem.loads();
    const next = await apply(base.chunks, mem, { add: [item('pkg01500x')], remove: [] }, 2);
    assert.equal(mem.loads() - before, 1, 'one chunk read');
    assert.deepEqual(
      next.chunks.map((c) => c.since),
      next.chunks.map((c, i) => (c.id === base.chunks[i]?.id ? 1 : 2)),
      'untouched chunks keep the generation that wrote them; the rewritten one gets the new one',
    );
    assert.equal(next.written.length, 1, 'one chunk written');
    assert.equal(next.chunks.filter((c, i) => c.id !== base.chunks[i]?.id).length, 1);
    assert.equal(
      next.chunks.reduce((n, c) => n + c.count, 0),
      3001,
    );
  });

  it('removes by key, refuses unknown keys, and empties to no chunks', async () => {
    const mem = memoryIo();
    const base = await apply([], mem, { add: [item('a'), item('b')], remove: [] });
    await assert.rejects(apply(base.chunks, mem, { add: [], remove: ['zzz'] }), NotFoundError);
    const one = await apply(base.chunks, mem, { add: [], remove: ['a'] });
    assert.deepEqual(allKeys(one.chunks, mem), ['b']);
    const none = await apply(one.chunks, mem, { add: [], remove: ['b'] });
    assert.deepEqual(none.chunks, []);
  });

  it('treats identical content as unchanged and different content as a conflict unless replacing', async () => {
    const mem = memoryIo();
    const base = await apply([], mem, { add: [item('a', 'one')], remove: [] });
    const same = await apply(base.chunks, mem, { add: [item('a', 'one')], remove: [] });
    assert.equal(same.unchanged.length, 1);
    assert.equal(same.added.length, 0);
    assert.deepEqual(same.chunks, base.chunks);
    await assert.rejects(apply(base.chunks, mem, { add: [item('a', 'two')], remove: [] }), ConflictError);
    const replaced = await apply(base.chunks, mem, { add: [item('a', 'two')], remove: [], replace: true });
    assert.equal(replaced.added.length, 1);
    assert.equal(replaced.removed.length, 1);
  });

  it('counts entries per architecture in chunk refs', async () => {
    const mem = memoryIo();
    const base = await apply([], mem, { add: [item('xn'), item('y'), item('zn')], remove: [] });
    assert.deepEqual(base.chunks[0].arches, { noarch: 2, x86_64: 1 });
  });

  it('with gzip blocks, recompresses only the blocks a one-entry change lands in, in every stream', async () => {
    const streams: StreamSpec[] = [
      { name: 'primary', mode: 'gzip' },
      { name: 'filelists', mode: 'gzip' },
      { name: 'plain', mode: 'raw' },
      { name: 'other', mode: 'gzip' },
    ];
    const rich = (key: string): EntryWithSegments => {
      const segs = streams.map((st) => new TextEncoder().encode(`<${st.name}><name>${key}</name><summary>the ${key} package, ${st.name} part</summary></${st.name}>\n`));
      return {
        entry: { key, id: createHash('sha256').update(key).digest('hex'), arch: 'x86_64', file: `${key}.rpm`, label: key, rawLengths: segs.map((x) => x.length) },
        segments: segs,
      };
    };
    const deflated: number[] = [];
    const cache = new GzipBlockCache();
    const known = new Map<string, EntryWithSegments[]>();
    const stored = new Map<string, Uint8Array>();
    const io: ComposeIo = {
      loadChunk: async (id) => stored.get(id)!,
      knownEntries: (id) => known.get(id),
      chunkId: async (bytes) => createHash('sha256').update(bytes).digest('hex'),
      gzip: () => assert.fail('gzip groups are built from deflate blocks'),
      gunzip,
      gzipBlocks: {
        deflate: (data, dictionary) => {
          deflated.push(data.length);
          return new Uint8Array(deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH, ...(dictionary ? { dictionary } : {}) }));
        },
        cache,
      },
    };
    const keep = (r: Awaited<ReturnType<typeof compose>>) => {
      for (const w of r.written) {
        known.set(w.id, w.items);
        stored.set(w.id, w.bytes);
      }
    };
    const keys = Array.from({ length: 255 }, (_, i) => `pkg${String(i * 2).padStart(5, '0')}`);
    const base = await compose([], streams, { add: keys.map(rich), remove: [] }, io, 1);
    keep(base);
    assert.equal(base.chunks.length, 1, 'one chunk, of 256 entries after the add');
    const blocksPerStream = gzipBlocks(base.written[0].items, 0).length;
    assert.ok(blocksPerStream >= 4, `several blocks per stream (${blocksPerStream})`);
    assert.equal(deflated.length, 3 * blocksPerStream, 'a new chunk compresses every block of its three gzip streams');

    deflated.length = 0;
    const next = await compose(base.chunks, streams, { add: [rich('pkg00201')], remove: [] }, io, 2);
    keep(next);
    assert.ok(deflated.length >= 3 && deflated.length <= 6, `one or two blocks per gzip stream (${deflated.length} compressed)`);
    const total = next.written[0].items.reduce((n, i) => n + i.segments[0].length + i.segments[1].length + i.segments[3].length, 0);
    assert.ok(deflated.reduce((a, b) => a + b, 0) < total / 3, 'a small part of the chunk');

    // The chunk reads back to the same entries, and matches one encoded without a cache.
    const bytes = next.written[0].bytes;
    const back = decodeChunk(bytes).withSegments(bytes, gunzip);
    assert.deepEqual(
      back.map((i) => i.segments.map((x) => new TextDecoder().decode(x))),
      next.written[0].items.map((i) => i.segments.map((x) => new TextDecoder().decode(x))),
    );
    const fresh = await compose([], streams, { add: next.written[0].items, remove: [] }, { ...io, gzipBlocks: { deflate: io.gzipBlocks!.deflate } }, 2);
    assert.deepEqual(fresh.written[0].bytes, bytes, 'cache hits give the bytes a fresh compression gives');

    // A removal rewrites as little, and a chunk loaded from storage (not known) reads back the same.
    known.clear();
    deflated.length = 0;
    const removed = await compose(next.chunks, streams, { add: [], remove: ['pkg00100'] }, io, 3);
    assert.ok(deflated.length <= 6, `${deflated.length} blocks compressed`);
    const rb = removed.written[0].bytes;
    assert.equal(decodeChunk(rb).withSegments(rb, gunzip).length, 255);
  });
});

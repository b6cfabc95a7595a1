/**
 * Gzip groups built block by block (src/bucket/gzip-blocks.ts): one valid gzip member that real
 * gunzips read, the same bytes whether blocks come from the cache or are compressed afresh, and a
 * cache that never hands out the segment of other bytes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { constants, deflateRawSync, gunzipSync, crc32 as zlibCrc32 } from 'node:zlib';
import { Gunzip } from 'fflate';
import type { EntryWithSegments } from '../../src/bucket/chunk.ts';
import { GzipBlockCache } from '../../src/bucket/gzip-block-cache.ts';
import { type DeflateSegment, endsGzipBlock, GZIP_BLOCK_MAX_BYTES, gzipBlocks, gzipGroupMember } from '../../src/bucket/gzip-blocks.ts';
import { crc32, crc32Combine } from '../../src/bucket/gzip-crc32.ts';
import { concatBytes } from '../../src/util/bytes.ts';

const nodeDeflate: DeflateSegment = (data, dictionary) =>
  new Uint8Array(deflateRawSync(data, { level: 6, finishFlush: constants.Z_SYNC_FLUSH, ...(dictionary ? { dictionary } : {}) }));

function counting(deflate: DeflateSegment) {
  const calls: number[] = [];
  const fn: DeflateSegment = (data, dictionary) => {
    calls.push(data.length);
    return deflate(data, dictionary);
  };
  return { fn, calls };
}

/** An RPM-like entry whose one stream holds a primary-like fragment (similar neighbours compress well). */
function entry(key: string, fileTime = 1700000000, file = `${key}.rpm`): EntryWithSegments {
  const text = `<package type="rpm"><name>${key}</name><arch>x86_64</arch><time file="${fileTime}"/><location href="Packages/${file}"/><summary>Package ${key} for tests</summary></package>\n`;
  const segment = new TextEncoder().encode(text);
  return {
    entry: { key, id: createHash('sha256').update(key).digest('hex'), arch: 'x86_64', file, label: key, rawLengths: [segment.length] },
    segments: [segment],
  };
}

const keys = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `pkg${String(from + i).padStart(5, '0')}`);
const member = (items: EntryWithSegments[], deflate: DeflateSegment, cache?: GzipBlockCache) => {
  const m = gzipGroupMember('primary', items, 0, { deflate, ...(cache ? { cache } : {}) });
  const bytes = concatBytes(m.parts);
  assert.equal(bytes.length, m.length);
  return { bytes, rawLength: m.rawLength };
};
const text = (items: EntryWithSegments[]) => concatBytes(items.map((i) => i.segments[0]));

function fflateGunzip(data: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  new Gunzip((chunk) => parts.push(chunk)).push(data, true);
  return concatBytes(parts);
}

describe('gzip blocks', () => {
  it('CRC-32 and its combination agree with zlib', () => {
    const data = new Uint8Array(70_001).map((_, i) => (i * 2654435761) >>> 24);
    for (const n of [0, 1, 7, 8, 9, 1000, 70_001]) assert.equal(crc32(data.subarray(0, n)), zlibCrc32(data.subarray(0, n)));
    for (const [a, b] of [
      [0, 5],
      [100, 0],
      [1000, 3000],
      [1, 70_000],
    ]) {
      const whole = zlibCrc32(data.subarray(0, a + b));
      assert.equal(crc32Combine(crc32(data.subarray(0, a)), crc32(data.subarray(a, a + b)), b), whole);
      assert.equal(crc32(data.subarray(a, a + b), crc32(data.subarray(0, a))), whole);
    }
  });

  it('cuts blocks after entries whose key ends one, and at the byte cap', () => {
    const items = keys(400).map((k) => entry(k));
    const blocks = gzipBlocks(items, 0);
    assert.ok(blocks.length > 3 && blocks.length < 40, `about one block per 32 entries (${blocks.length})`);
    assert.deepEqual(blocks.flat(), items);
    for (const b of blocks.slice(0, -1)) assert.ok(endsGzipBlock(b[b.length - 1].entry.key));
    const big = keys(3).map((k) => {
      const e = entry(k);
      e.segments[0] = new Uint8Array(GZIP_BLOCK_MAX_BYTES);
      return e;
    });
    assert.equal(gzipBlocks(big, 0).length, 3, 'a block ends once it holds the cap');
  });

  it('makes one gzip member that zlib, fflate and gzip(1) read back', () => {
    const items = keys(300).map((k) => entry(k));
    const { bytes, rawLength } = member(items, nodeDeflate);
    assert.equal(rawLength, text(items).length);
    assert.deepEqual(new Uint8Array(gunzipSync(bytes)), text(items));
    assert.deepEqual(fflateGunzip(bytes), text(items), 'as the Worker reads it');
    const dir = mkdtempSync(join(tmpdir(), 'gzip-blocks-'));
    try {
      writeFileSync(join(dir, 'primary.xml.gz'), bytes);
      // gzip -t checks the trailer's CRC-32 and length against what it inflated.
      execFileSync('gzip', ['-t', join(dir, 'primary.xml.gz')], { timeout: 10_000 });
      assert.deepEqual(new Uint8Array(execFileSync('gzip', ['-dc', join(dir, 'primary.xml.gz')], { timeout: 10_000 })), text(items));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(new Uint8Array(gunzipSync(member([entry('only')], nodeDeflate).bytes)), text([entry('only')]));
  });

  it('compresses about as well as one pass over the group', () => {
    const items = keys(1000).map((k) => entry(k));
    const single = deflateRawSync(text(items), { level: 6 }).length + 18;
    const blocks = member(items, nodeDeflate).bytes.length;
    assert.ok(blocks < single * 1.03, `${blocks} bytes against ${single} in one pass`);
  });

  it('gives the same bytes from the cache as compressed afresh, and compresses only the block a change lands in', () => {
    const items = keys(256).map((k) => entry(k));
    const cache = new GzipBlockCache();
    const cold = counting(nodeDeflate);
    const first = member(items, cold.fn, cache).bytes;
    const blockCount = gzipBlocks(items, 0).length;
    assert.equal(cold.calls.length, blockCount, 'a cold cache compresses every block');
    assert.deepEqual(first, member(items, nodeDeflate).bytes, 'with or without a cache: the same bytes');

    const warm = counting(nodeDeflate);
    assert.deepEqual(member(items, warm.fn, cache).bytes, first);
    assert.equal(warm.calls.length, 0, 'nothing changed, nothing compressed');

    // One new entry in the middle (not one that ends a block): its block alone is compressed again.
    const inner = keys(1, 100_000)
      .map((k) => `pkg00128x${k}`)
      .find((k) => !endsGzipBlock(k))!;
    const changed = [...items.slice(0, 129), entry(inner), ...items.slice(129)];
    const once = counting(nodeDeflate);
    const bytes = member(changed, once.fn, cache).bytes;
    assert.equal(once.calls.length, 1, 'one block compressed');
    assert.ok(once.calls[0] < text(items).length / 4, 'a small part of the group');
    assert.deepEqual(bytes, member(changed, nodeDeflate).bytes);
    assert.deepEqual(new Uint8Array(gunzipSync(bytes)), text(changed));
  });

  it('handles removal and insertion at a block boundary', () => {
    const items = keys(256).map((k) => entry(k));
    const cache = new GzipBlockCache();
    member(items, nodeDeflate, cache);
    const boundary = items.findIndex((i, n) => n > 50 && endsGzipBlock(i.entry.key));
    assert.ok(boundary > 0);
    const check = (next: EntryWithSegments[], most: number) => {
      const c = counting(nodeDeflate);
      const bytes = member(next, c.fn, cache).bytes;
      assert.deepEqual(bytes, member(next, nodeDeflate).bytes);
      assert.deepEqual(new Uint8Array(gunzipSync(bytes)), text(next));
      assert.ok(c.calls.length >= 1 && c.calls.length <= most, `${c.calls.length} blocks compressed`);
    };
    // Removing the entry that ends a block joins it with the next one, primed by a new fragment.
    check([...items.slice(0, boundary), ...items.slice(boundary + 1)], 1);
    // Inserting right after it starts the next block with a new entry.
    const after = `${items[boundary].entry.key}a`;
    assert.ok(!endsGzipBlock(after), 'pick a key that does not end a block');
    check([...items.slice(0, boundary + 1), entry(after), ...items.slice(boundary + 1)], 1);
    // Replacing it with other bytes under the same identity changes its block and the next one's primer.
    check([...items.slice(0, boundary), entry(items[boundary].entry.key, 1800000000), ...items.slice(boundary + 1)], 2);
  });

  it('never takes a kept segment for other bytes under the same identity', () => {
    const items = keys(100).map((k) => entry(k));
    const cache = new GzipBlockCache();
    member(items, nodeDeflate, cache);
    // A fragment rendered again with another file time: the same key, id, file and length.
    const again = items.map((i, n) => (n === 10 ? entry(i.entry.key, 1700000001) : i));
    assert.equal(again[10].entry.rawLengths[0], items[10].entry.rawLengths[0]);
    const c = counting(nodeDeflate);
    const bytes = member(again, c.fn, cache).bytes;
    assert.ok(c.calls.length >= 1);
    assert.deepEqual(new Uint8Array(gunzipSync(bytes)), text(again));
    // Another file name (another pool path) is another identity.
    const moved = items.map((i, n) => (n === 20 ? entry(i.entry.key, 1700000000, `other/${i.entry.key}.rpm`) : i));
    assert.deepEqual(new Uint8Array(gunzipSync(member(moved, nodeDeflate, cache).bytes)), text(moved));
  });

  it('keeps at most its byte budget, least recently used out first', () => {
    const cache = new GzipBlockCache(64 * 1024);
    for (let round = 0; round < 20; round++)
      member(
        keys(200, round * 1000).map((k) => entry(k)),
        nodeDeflate,
        cache,
      );
    const { bytes, entries } = cache.stats();
    assert.ok(bytes <= 64 * 1024 && entries > 0, `${bytes} bytes in ${entries} segments`);
    const recent = keys(200, 19 * 1000).map((k) => entry(k));
    const c = counting(nodeDeflate);
    member(recent, c.fn, cache);
    assert.ok(c.calls.length < gzipBlocks(recent, 0).length, 'the most recent group is still there');
  });
});

/**
 * The distribution page's search reads only the chunks a page shows: at 100,000 packages (100
 * chunks of 1,000) the first page, a name search and the next page each read one or two chunks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IndexEntry } from '../../src/bucket/chunk.ts';
import { joinKey } from '../../src/bucket/keys.ts';
import type { Revision } from '../../src/bucket/revision.ts';
import { parsePackageQuery, searchPackages } from '../../src/ui/package-search.ts';

const CHUNKS = 100;
const PER_CHUNK = 1000;
const name = (n: number) => `pkg${String(n).padStart(6, '0')}`;

function bigRevision(): { revision: Revision; reads: string[]; repository: { chunkIndex(id: string): Promise<{ entries: IndexEntry[] }> } } {
  const chunks = [];
  const entries = new Map<string, IndexEntry[]>();
  for (let c = 0; c < CHUNKS; c++) {
    const list: IndexEntry[] = [];
    for (let i = 0; i < PER_CHUNK; i++) {
      const n = c * PER_CHUNK + i;
      const arch = n % 10 === 0 ? 'noarch' : 'x86_64';
      list.push({
        key: joinKey(name(n), arch, '1.0', '1'),
        id: String(n).padStart(64, '0'),
        arch,
        file: `${name(n)}-1.0-1.${arch}.rpm`,
        label: `${name(n)}-1.0-1.${arch}`,
        rawLengths: [],
      });
    }
    const id = `chunk${c}`;
    entries.set(id, list);
    chunks.push({
      id,
      first: list[0].key,
      last: list[list.length - 1].key,
      count: list.length,
      arches: c === 99 ? { x86_64: 900, noarch: 100, aarch64: 0 } : { x86_64: 900, noarch: 100 },
      bytes: 0,
    });
  }
  const reads: string[] = [];
  const revision = {
    format: 1,
    kind: 'rpm',
    distribution: 'big',
    id: '000001-x',
    number: 1,
    parent: null,
    created: '',
    author: '',
    message: '',
    streams: [],
    changes: { added: [], removed: [] },
    packageCount: CHUNKS * PER_CHUNK,
    chunks,
  } as Revision;
  return {
    revision,
    reads,
    repository: {
      async chunkIndex(id: string) {
        reads.push(id);
        return { entries: entries.get(id)! };
      },
    },
  };
}

test('the first page, the next page and a name search read one chunk each at 100,000 packages', async () => {
  const { revision, reads, repository } = bigRevision();
  const first = await searchPackages(repository as any, revision, [], parsePackageQuery(''), { limit: 50 });
  assert.equal(first.rows.length, 50);
  assert.equal(first.rows[0].name, name(0));
  assert.deepEqual(reads, ['chunk0']);
  const second = await searchPackages(repository as any, revision, [], parsePackageQuery(''), { limit: 50, after: first.next! });
  assert.equal(second.rows[0].name, name(50));
  reads.length = 0;
  const found = await searchPackages(repository as any, revision, [], parsePackageQuery('name:pkg054321'), { limit: 50 });
  assert.deepEqual(
    found.rows.map((r) => r.name),
    [name(54321)],
  );
  assert.deepEqual(reads, ['chunk54']);
  // Past the last chunk boundary the next page starts in the next chunk.
  reads.length = 0;
  const edge = await searchPackages(repository as any, revision, [], parsePackageQuery(''), { limit: 3, after: revision.chunks[3].last });
  assert.equal(edge.rows[0].name, name(4000));
  assert.deepEqual(reads, ['chunk4']);
});

test('filters combine, an arch no chunk holds reads nothing, and a rare word stops at the chunk budget', async () => {
  const { revision, reads, repository } = bigRevision();
  const noarch = await searchPackages(repository as any, revision, [], parsePackageQuery('arch:noarch version:1.0 pkg0012'), { limit: 5 });
  assert.deepEqual(
    noarch.rows.map((r) => r.name),
    ['pkg001200', 'pkg001210', 'pkg001220', 'pkg001230', 'pkg001240'],
  );
  reads.length = 0;
  const none = await searchPackages(repository as any, revision, [], parsePackageQuery('arch:aarch64'), { limit: 5 });
  assert.deepEqual(none.rows, []);
  assert.deepEqual(reads, []);
  reads.length = 0;
  const rare = await searchPackages(repository as any, revision, [], parsePackageQuery('pkg099999'), { limit: 5 });
  assert.equal(rare.partial, true);
  assert.ok(reads.length <= 32, `read ${reads.length} chunks`);
  assert.ok(rare.next);
});

/**
 * A revision diff reads only the chunks the two revisions do not share: a one-package change at
 * 100 chunks reads the two chunks that differ, not all 200, and finds the same answer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IndexEntry } from '../../src/bucket/chunk.ts';
import { joinKey } from '../../src/bucket/keys.ts';
import type { ChunkRef, Revision } from '../../src/bucket/revision.ts';
import { diffRevisions } from '../../src/revisions/history.ts';
import type { Repository } from '../../src/revisions/repository.ts';

const entry = (name: string, version: string): IndexEntry => ({
  key: joinKey(name, 'x86_64', version, '1'),
  id: `${name}-${version}`.padEnd(64, '0'),
  arch: 'x86_64',
  file: `${name}-${version}-1.x86_64.rpm`,
  label: `${name}-${version}-1.x86_64`,
  rawLengths: [0, 0, 0],
});

const ref = (id: string, e: IndexEntry): ChunkRef => ({ id, first: e.key, last: e.key, count: 1, arches: { x86_64: 1 }, bytes: 0 }) as ChunkRef;

const revision = (id: string, chunks: ChunkRef[]): Revision =>
  ({
    format: 1,
    kind: 'rpm',
    distribution: 'd',
    id,
    number: 1,
    parent: null,
    created: '',
    author: '',
    message: '',
    streams: [],
    changes: { added: [], removed: [] },
    packageCount: chunks.length,
    chunks,
  }) as Revision;

test('a diff reads only the chunks that differ', async () => {
  const chunks = new Map<string, IndexEntry>();
  const before: ChunkRef[] = [];
  for (let i = 0; i < 100; i++) {
    const e = entry(`pkg${String(i).padStart(3, '0')}`, '1.0');
    chunks.set(`c${i}`, e);
    before.push(ref(`c${i}`, e));
  }
  const upgraded = entry('pkg042', '2.0');
  chunks.set('c42-new', upgraded);
  const after = before.map((c) => (c.id === 'c42' ? ref('c42-new', upgraded) : c));
  const reads: string[] = [];
  const repository = {
    chunkIndex: async (id: string) => {
      reads.push(id);
      return { entries: [chunks.get(id)!] };
    },
  } as unknown as Repository;
  const diff = await diffRevisions(repository, revision('a', before), revision('b', after));
  assert.deepEqual(diff.upgraded, [{ name: 'pkg042', arch: 'x86_64', from: '1.0-1', to: '2.0-1' }]);
  assert.deepEqual([diff.added, diff.removed, diff.downgraded], [[], [], []]);
  assert.deepEqual(reads.sort(), ['c42', 'c42-new']);
});

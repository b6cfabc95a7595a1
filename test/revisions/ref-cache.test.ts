/**
 * The cached view of a distribution's current ref: when it expires under load, the requests in
 * flight share one read of the ref object; a fresh read (publishers, history) always reads.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layout } from '../../src/bucket/layout.ts';
import { Repository } from '../../src/revisions/repository.ts';
import { nodeCapabilities } from '../../src/runtime/node-core.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { putJson } from '../../src/storage/objects.ts';

function countingStore(): { store: MemoryStore; refReads: () => number } {
  const store = new MemoryStore();
  let reads = 0;
  const get = store.get.bind(store);
  store.get = (key, options) => {
    if (key === layout.ref('rocky9')) reads++;
    return get(key, options);
  };
  return { store, refReads: () => reads };
}

test('concurrent readers of an expired ref share one read; fresh reads do not', async () => {
  const { store, refReads } = countingStore();
  await putJson(store, layout.ref('rocky9'), { format: 1, distribution: 'rocky9', revision: '0000000001-a' });
  const repository = new Repository(
    nodeCapabilities(store, () => undefined),
    { refTtlMs: 0 },
  );
  const answers = await Promise.all(Array.from({ length: 20 }, () => repository.currentRef('rocky9')));
  assert.equal(refReads(), 1, 'twenty concurrent readers, one read');
  for (const a of answers) assert.equal(a.ref?.revision, '0000000001-a');

  await putJson(store, layout.ref('rocky9'), { format: 1, distribution: 'rocky9', revision: '0000000002-b' });
  const [fresh1, fresh2] = await Promise.all([repository.currentRef('rocky9', true), repository.currentRef('rocky9', true)]);
  assert.equal(refReads(), 3, 'each fresh read reads');
  assert.equal(fresh1.ref?.revision, '0000000002-b');
  assert.equal(fresh2.ref?.revision, '0000000002-b');
  // Expired again (TTL 0): the next reader reads once more and sees the new ref.
  assert.equal((await repository.currentRef('rocky9')).ref?.revision, '0000000002-b');
  assert.equal(refReads(), 4);
});

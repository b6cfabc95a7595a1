/**
 * OpenDescriptors, the table of descriptors the file store keeps open for immutable objects: one
 * descriptor per object however many reads share it, bounded without thrashing under a scan, and a
 * descriptor closed only once no read uses it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OpenDescriptors } from '../../src/storage/open-descriptors.ts';

function table(max: number, idleMs: number) {
  let clock = 0;
  let next = 3;
  const opened: string[] = [];
  const open = new Set<number>();
  const closed: number[] = [];
  const descriptors = new OpenDescriptors({
    max,
    idleMs,
    now: () => clock,
    open: async (key) => {
      if (key.startsWith('missing')) return null;
      opened.push(key);
      const fd = next++;
      open.add(fd);
      return fd;
    },
    close: (fd) => {
      assert.ok(open.delete(fd), `descriptor ${fd} closed twice or never opened`);
      closed.push(fd);
    },
  });
  const read = (key: string) => descriptors.use(key, async (fd) => fd);
  return { descriptors, read, opened, open, closed, tick: (ms: number) => (clock += ms) };
}

describe('OpenDescriptors', () => {
  it('opens an object once for many reads, concurrent ones included; a missing object is null', async () => {
    const t = table(4, 1000);
    const fds = await Promise.all([t.read('a'), t.read('a'), t.read('a')]);
    assert.equal(await t.read('a'), fds[0]);
    assert.equal(new Set(fds).size, 1, 'one descriptor kept');
    assert.equal(t.open.size, 1, 'the descriptors a race opened twice were closed');
    assert.equal(await t.read('missing-b'), null);
    assert.equal(t.descriptors.size, 1);
  });

  it('when full, keeps what it holds: a scan over more objects than it holds reads the rest and closes them', async () => {
    const t = table(3, 1000);
    for (const key of ['c1', 'c2', 'c3', 'c4', 'c5']) await t.read(key);
    assert.equal(t.descriptors.size, 3);
    assert.equal(t.open.size, 3, 'c4 and c5 were read and closed at once');
    t.opened.length = 0;
    for (const key of ['c1', 'c2', 'c3', 'c4']) await t.read(key);
    assert.deepEqual(t.opened, ['c4'], 'the second scan finds c1..c3 open');
  });

  it('closes descriptors unread for idleMs at the next use, and a forgotten (deleted) object at once', async () => {
    const t = table(3, 1000);
    for (const key of ['c1', 'c2', 'c3']) await t.read(key);
    t.tick(600);
    await t.read('c2');
    t.tick(600);
    await t.read('c4');
    assert.deepEqual(t.descriptors.size, 2, 'c1 and c3, unread for 1200 ms, made room for c4');
    t.opened.length = 0;
    await t.read('c2');
    await t.read('c4');
    assert.deepEqual(t.opened, []);
    t.descriptors.forget('c2');
    assert.equal(t.descriptors.size, 1);
    assert.equal(t.open.size, 1);
    await t.read('c2');
    assert.deepEqual(t.opened, ['c2']);
  });

  it('closes an aged-out descriptor only when the reads using it end', async () => {
    const t = table(1, 0);
    let release!: () => void;
    const slow = t.descriptors.use('x', (fd) => new Promise<number>((resolve) => (release = () => resolve(fd))));
    await new Promise((r) => setImmediate(r));
    t.tick(1);
    await t.read('y');
    assert.equal(t.descriptors.size, 1);
    assert.deepEqual(t.closed, [], 'x is still being read');
    release();
    const fd = await slow;
    assert.deepEqual(t.closed, [fd], 'closed after its read');
  });
});

/**
 * Group commit, in-process: how concurrent changes form a group (group-commit.ts) and how a
 * group's changes apply in order with one verdict each (compose-group.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EntryWithSegments, IndexEntry } from '../../src/bucket/chunk.ts';
import { applyInOrder, type PackageState } from '../../src/revisions/compose-group.ts';
import { GroupCommitter } from '../../src/revisions/group-commit.ts';

function item(key: string, id: string): EntryWithSegments {
  return { entry: { key, id, label: key, arch: 'noarch', file: `${key}.rpm` } as IndexEntry, segments: [] } as unknown as EntryWithSegments;
}

function stateOf(items: EntryWithSegments[]): PackageState {
  const entries = items.map((i) => i.entry).sort((a, b) => (a.key < b.key ? -1 : 1));
  return {
    findEntry: async (key) => entries.find((e) => e.key === key) ?? null,
    findEntries: async (prefix) => entries.filter((e) => e.key.startsWith(prefix)),
  };
}

describe('group committer', () => {
  it('starts a lone change at once; changes arriving meanwhile join the next publish, each with its own verdict', async () => {
    const calls: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const committer = new GroupCommitter<string, string>(async (_key, changes) => {
      const publish = calls.push(changes);
      if (publish === 1) await gate;
      return changes.map((c) => (c === 'bad' ? { ok: false, error: new Error(`refused ${c}`) } : { ok: true, value: `${c}@${publish}` }));
    });
    const first = committer.submit('rocky9', 'a');
    assert.deepEqual(calls, [['a']], 'the first change publishes without waiting');
    const rest = ['b', 'bad', 'c'].map((c) => committer.submit('rocky9', c).catch((e: Error) => e.message));
    const other = committer.submit('bookworm', 'x');
    assert.equal(committer.waiting('rocky9'), 3);
    assert.deepEqual(calls, [['a'], ['x']], 'another distribution does not wait');
    release();
    assert.equal(await first, 'a@1');
    assert.deepEqual(await Promise.all(rest), ['b@3', 'refused bad', 'c@3']);
    assert.equal(await other, 'x@2');
    assert.deepEqual(calls[2], ['b', 'bad', 'c'], 'the queued changes publish together, in arrival order');
    assert.equal(committer.waiting('rocky9'), 0);
  });

  it('a failure of the whole publish reaches every change of the group; the next group goes on', async () => {
    let n = 0;
    const committer = new GroupCommitter<string, string>(async (_key, changes) => {
      if (++n === 1) throw new Error('store down');
      return changes.map((c) => ({ ok: true, value: c }));
    });
    const results = await Promise.allSettled([committer.submit('d', 'a'), committer.submit('d', 'b')]);
    assert.equal(results[0].status, 'rejected');
    assert.deepEqual(results[1], { status: 'fulfilled', value: 'b' });
  });

  it('a publish waits a moment for announced changes still on their way, and no longer', async () => {
    const calls: string[][] = [];
    const committer = new GroupCommitter<string, string>(async (_key, changes) => {
      calls.push(changes);
      return changes.map((c) => ({ ok: true, value: c }));
    });
    // Two uploads still arriving when the first is submitted: its publish takes the one that arrives within the wait.
    const comingB = committer.announce();
    const lost = committer.announce();
    const a = committer.submit('d', 'a');
    assert.deepEqual(calls, [], 'changes are on their way: the publish waits');
    await new Promise((resolve) => setTimeout(resolve, 1));
    comingB();
    const b = committer.submit('d', 'b');
    const started = Date.now();
    assert.deepEqual(await Promise.all([a, b]), ['a', 'b']);
    assert.deepEqual(calls, [['a', 'b']], 'one publish for both');
    assert.ok(Date.now() - started < 1000, 'an announced change that never comes holds the publish a few milliseconds only');
    lost();
    lost(); // dropped twice: counted once
    // Nothing on its way: a lone change publishes at once.
    const c = committer.submit('d', 'c');
    assert.deepEqual(calls.at(-1), ['c']);
    assert.equal(await c, 'c');
  });

  it('off (REPOD_GROUP_COMMIT=0): every change publishes alone and at once', async () => {
    const calls: string[][] = [];
    const committer = new GroupCommitter<string, string>(async (_key, changes) => {
      calls.push(changes);
      return changes.map((c) => ({ ok: true, value: c }));
    }, false);
    await Promise.all(['a', 'b', 'c'].map((c) => committer.submit('d', c)));
    assert.deepEqual(calls, [['a'], ['b'], ['c']]);
  });
});

describe('applying a group in order', () => {
  const parent = stateOf([item('a', '1'), item('b', '2')]);

  it('resolves each change on the state the ones before it left, as if published one after another', async () => {
    const { net, verdicts } = await applyInOrder(parent, [
      async () => ({ add: [item('c', '3')], remove: [] }),
      // Removes what the change before it added, found by prefix on the accumulated state (replace_names-style).
      async (state) => ({ add: [], remove: (await state.findEntries('c')).map((e) => e.key) }),
      async (state) => ({ add: [item('d', '4')], remove: (await state.findEntries('a')).map((e) => e.key) }),
    ]);
    assert.ok(verdicts.every((v) => v.ok));
    assert.deepEqual(
      verdicts.map((v) => v.ok && [v.value.added.map((e) => e.key), v.value.removed.map((e) => e.key)]),
      [
        [['c'], []],
        [[], ['c']],
        [['d'], ['a']],
      ],
    );
    assert.deepEqual(
      net.add.map((i) => i.entry.key),
      ['d'],
      'c came and went within the group',
    );
    assert.deepEqual(net.remove, ['a']);
  });

  it('a refused change leaves the state as it was and gets its own error; the others apply', async () => {
    const { net, verdicts } = await applyInOrder(parent, [
      async () => ({ add: [item('c', '3')], remove: [] }),
      async () => ({ add: [item('e', '5'), item('c', 'other bytes')], remove: [] }), // duplicate with other bytes
      async () => ({ add: [], remove: ['zz'] }), // not there
      async () => ({ add: [item('c', '3')], remove: ['b'] }), // same bytes again: unchanged
      async () => {
        throw new Error('resolution failed');
      },
    ]);
    assert.deepEqual(
      verdicts.map((v) => (v.ok ? 'ok' : ((v.error as { code?: string }).code ?? (v.error as Error).message))),
      ['ok', 'duplicate_package', 'package_not_found', 'ok', 'resolution failed'],
    );
    assert.ok(verdicts[3].ok && verdicts[3].value.unchanged.length === 1);
    assert.deepEqual(
      net.add.map((i) => i.entry.key),
      ['c'],
      'nothing of the refused change (not even e) is applied',
    );
    assert.deepEqual(net.remove, ['b']);
  });
});

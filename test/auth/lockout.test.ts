/**
 * The lockout's state in the store: counted per account and per address under hashed names,
 * locked at the threshold, unlocked when the lock ends, and no failure lost when servers count
 * at the same moment (compare-and-swap on a real file store opened twice, as two servers do).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Lockout, type LockoutRecord } from '../../src/auth/lockout.ts';
import { layout } from '../../src/bucket/layout.ts';
import { nodeCapabilities } from '../../src/runtime/node-core.ts';
import { openFileStore } from '../../src/storage/file.ts';

async function capsAt(root: string, clock: { now: number }) {
  const caps = nodeCapabilities(await openFileStore(root), () => undefined);
  return { ...caps, now: () => new Date(clock.now) };
}

describe('Lockout', () => {
  it('locks an account at its threshold for lockSeconds, stores no name in clear, and forgets old failures', async () => {
    const root = await mkdtemp(join(tmpdir(), 'repod-lockout-'));
    const clock = { now: Date.parse('2025-03-01T10:00:00Z') };
    const lockout = new Lockout(await capsAt(root, clock), { accountFailures: 3, addressFailures: 100, windowSeconds: 60, lockSeconds: 120 });
    await lockout.failure('admin', '192.0.2.1');
    await lockout.failure('admin', '192.0.2.1');
    clock.now += 61_000; // the first two leave the window
    await lockout.failure('admin', '192.0.2.1');
    await lockout.failure('admin', '192.0.2.1');
    assert.deepEqual(await lockout.check('admin', '192.0.2.1'), { locked: false });
    await lockout.failure('admin', '192.0.2.1');
    assert.deepEqual(await lockout.check('admin', '192.0.2.99'), { locked: true, scope: 'account', retryAfterSeconds: 120 });
    assert.deepEqual(await lockout.check('someone-else', '192.0.2.1'), { locked: false });
    clock.now += 119_500;
    assert.deepEqual(await lockout.check('admin', '192.0.2.1'), { locked: true, scope: 'account', retryAfterSeconds: 1 });
    clock.now += 500;
    assert.deepEqual(await lockout.check('admin', '192.0.2.1'), { locked: false });

    const files = (await readdir(join(root, 'auth/lockout'), { recursive: true })).map(String).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 2);
    for (const f of files) {
      assert.match(f, /^(account|address)\/[0-9a-f]{64}\.json$/);
      const text = await readFile(join(root, 'auth/lockout', f), 'utf8');
      assert.ok(!text.includes('admin') && !text.includes('192.0.2'), 'no name or address in clear');
    }
    assert.equal(await lockout.sweep(), files.length, 'records with nothing left to say are collected');
  });

  it('a success forgets the account failures but not the address failures', async () => {
    const root = await mkdtemp(join(tmpdir(), 'repod-lockout-'));
    const clock = { now: Date.now() };
    const lockout = new Lockout(await capsAt(root, clock), { accountFailures: 2, addressFailures: 3 });
    await lockout.failure('alice', '198.51.100.1');
    await lockout.success('alice');
    await lockout.failure('alice', '198.51.100.1');
    assert.deepEqual(await lockout.check('alice', '198.51.100.2'), { locked: false });
    await lockout.failure('bob', '198.51.100.1');
    const state = await lockout.check('carol', '198.51.100.1');
    assert.equal(state.locked && state.scope, 'address');
  });

  it('counts every failure when two servers count at the same moment', async () => {
    const root = await mkdtemp(join(tmpdir(), 'repod-lockout-'));
    const clock = { now: Date.now() };
    // One store handle, as one process has: two handles on one directory in one process take
    // each other's file locks for leaked ones (file.ts), which two processes never do.
    const shared = await capsAt(root, clock);
    const a = new Lockout(shared, { accountFailures: 1000, addressFailures: 1000 });
    const b = new Lockout(shared, { accountFailures: 1000, addressFailures: 1000 });
    await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 ? a : b).failure('admin', `203.0.113.${i % 3}`)));
    const caps = await capsAt(root, clock);
    const h = caps.hash('sha256');
    h.update(new TextEncoder().encode('admin'));
    const record = JSON.parse(await readFile(join(root, layout.lockout('account', await h.digest())), 'utf8')) as LockoutRecord;
    assert.equal(record.failures.length, 24, 'no failure was lost to a racing write');
  });
});

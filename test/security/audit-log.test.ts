/**
 * The audit log in the store: one create-only object per event under a time-sorted key, queried
 * by time range, actor and action, page by page in both orders, and nothing lost when writers
 * race (even on the same random id).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RepodError } from '../../src/errors.ts';
import { nodeCapabilities } from '../../src/runtime/node-core.ts';
import { type AuditEvent, AuditLog } from '../../src/security/audit-log.ts';
import { openFileStore } from '../../src/storage/file.ts';

async function fileCaps(clock: { now: number }) {
  const root = await mkdtemp(join(tmpdir(), 'repod-audit-'));
  const caps = nodeCapabilities(await openFileStore(root), () => undefined);
  return { root, caps: { ...caps, now: () => new Date(clock.now) } };
}

const event = (actor: string, action: string, status = 200): Omit<AuditEvent, 'time' | 'id'> => ({ actor, role: 'uploader', action, status, address: '192.0.2.1' });

describe('AuditLog', () => {
  it('stores each event as its own object under audit/<yyyy>/<mm>/<dd>/ and queries by time, actor and action', async () => {
    const clock = { now: Date.parse('2025-01-30T23:59:59.000Z') };
    const { root, caps } = await fileCaps(clock);
    const log = new AuditLog(caps);
    log.record(event('ci', 'POST /api/v1/upload'));
    await log.flush();
    clock.now = Date.parse('2025-01-31T08:00:00.000Z');
    log.record({ ...event('alice', 'POST /api/v1/distributions/:dist/rollback'), target: 'rocky9', path: '/api/v1/distributions/rocky9/rollback' });
    await log.flush();
    clock.now = Date.parse('2025-02-02T12:00:00.000Z');
    log.record(event('ci', 'DELETE /api/v1/uploads/:id', 404));
    await log.flush();

    const days = (await readdir(join(root, 'audit'), { recursive: true }))
      .map(String)
      .filter((f) => f.endsWith('.json'))
      .sort();
    assert.deepEqual(
      days.map((f) => f.slice(0, 11)),
      ['2025/01/30/', '2025/01/31/', '2025/02/02/'],
    );

    const all = await log.query({});
    assert.deepEqual(
      all.events.map((e) => e.action),
      ['DELETE /api/v1/uploads/:id', 'POST /api/v1/distributions/:dist/rollback', 'POST /api/v1/upload'],
      'newest first',
    );
    const rollback = all.events[1];
    assert.equal(rollback.actor, 'alice');
    assert.equal(rollback.role, 'uploader');
    assert.equal(rollback.target, 'rocky9');
    assert.equal(rollback.status, 200);
    assert.equal(rollback.address, '192.0.2.1');
    assert.equal(rollback.time, '2025-01-31T08:00:00.000Z');
    assert.equal((rollback as unknown as Record<string, unknown>).format, undefined);

    assert.deepEqual(
      (await log.query({ actor: 'ci' })).events.map((e) => e.status),
      [404, 200],
    );
    assert.deepEqual(
      (await log.query({ action: 'POST' })).events.map((e) => e.actor),
      ['alice', 'ci'],
    );
    assert.deepEqual(
      (await log.query({ since: '2025-01-31', until: '2025-02-01' })).events.map((e) => e.actor),
      ['alice'],
    );
    assert.deepEqual(
      (await log.query({ since: '2025-01-31T08:00:00.001Z' })).events.map((e) => e.status),
      [404],
    );
    assert.deepEqual(
      (await log.query({ order: 'asc' })).events.map((e) => e.time),
      ['2025-01-30T23:59:59.000Z', '2025-01-31T08:00:00.000Z', '2025-02-02T12:00:00.000Z'],
    );
    assert.deepEqual((await log.query({ since: '2030-01-01' })).events, []);
    assert.deepEqual((await new AuditLog((await fileCaps(clock)).caps).query({})).events, [], 'an empty log');
  });

  it('pages with a cursor in both orders without skipping or repeating an event', async () => {
    const clock = { now: Date.parse('2025-05-01T00:00:00.000Z') };
    const { caps } = await fileCaps(clock);
    const log = new AuditLog(caps);
    for (let i = 0; i < 23; i++) {
      clock.now += 3_600_000 * 5; // spread over several days
      log.record(event(`user${i}`, 'POST /api/v1/upload'));
    }
    await log.flush();
    for (const order of ['asc', 'desc'] as const) {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await log.query({ limit: 5, order, ...(cursor ? { cursor } : {}) });
        assert.ok(page.events.length <= 5);
        seen.push(...page.events.map((e) => e.actor));
        cursor = page.next;
        pages++;
      } while (cursor);
      const expected = Array.from({ length: 23 }, (_, i) => `user${i}`);
      assert.deepEqual(seen, order === 'asc' ? expected : expected.reverse(), order);
      assert.equal(pages, 5);
    }
    const filtered = await log.query({ actor: 'user7', limit: 1 });
    assert.equal(filtered.events.length, 1);
    assert.equal(filtered.next, undefined, 'no more matches: no next page');
  });

  it('loses no event when two writers record at the same instant, even on a colliding random id', async () => {
    const clock = { now: Date.parse('2025-06-01T12:00:00.000Z') };
    const { caps } = await fileCaps(clock);
    let draws = 0;
    // The first draws of both writers return the same id: create-only writes must not overwrite.
    const colliding = { ...caps, randomId: () => (draws++ < 4 ? 'same-random-id-0000' : caps.randomId()) };
    const a = new AuditLog(colliding);
    const b = new AuditLog(colliding);
    for (let i = 0; i < 60; i++) (i % 2 ? a : b).record(event(`w${i}`, 'POST /api/v1/upload'));
    await Promise.all([a.flush(), b.flush()]);
    const page = await a.query({ limit: 1000 });
    assert.equal(page.events.length, 60);
    assert.equal(new Set(page.events.map((e) => e.actor)).size, 60);
    assert.equal(new Set(page.events.map((e) => e.id)).size, 60);
  });

  it('refuses bad query values with a 400 naming them', async () => {
    const { caps } = await fileCaps({ now: Date.now() });
    const log = new AuditLog(caps);
    for (const q of [{ since: 'yesterday' }, { limit: 0 }, { limit: 5000 }, { cursor: '../../etc/passwd' }]) {
      await assert.rejects(log.query(q), (e: unknown) => e instanceof RepodError && e.status === 400, JSON.stringify(q));
    }
  });

  it('does not make the caller wait for the store, and hands the write to defer', async () => {
    const { caps } = await fileCaps({ now: Date.now() });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slowStore = Object.create(caps.store) as typeof caps.store;
    slowStore.put = async (...args: Parameters<typeof caps.store.put>) => {
      await gate;
      return caps.store.put(...args);
    };
    const deferred: Promise<unknown>[] = [];
    const log = new AuditLog({ ...caps, store: slowStore }, { defer: (p) => deferred.push(p) });
    log.record(event('ci', 'POST /api/v1/upload'));
    assert.equal(deferred.length, 1, 'record returned while the write still waits');
    release();
    await deferred[0];
    assert.equal((await log.query({})).events.length, 1);
  });
});

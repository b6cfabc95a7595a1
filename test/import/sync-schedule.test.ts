/**
 * Scheduled syncs: when a source is due (before and after its time, in the server's time zone
 * with DST, missed days, a changed schedule), and that of several servers ticking over one store
 * exactly one starts the sync: real cores over one memory store, their real sync jobs (against an
 * upstream that refuses connections, so each job ends at once with an error).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { layout } from '../../src/bucket/layout.ts';
import type { Core } from '../../src/core/core.ts';
import { createCore } from '../../src/core/create-core.ts';
import { SyncLease } from '../../src/import/lease.ts';
import { dueSources, latestOccurrence, SyncScheduler, scheduleDecision, type TimeZoneOffset, utcOffset } from '../../src/import/sync-schedule.ts';
import { nodeCapabilities } from '../../src/runtime/node-core.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { getJson } from '../../src/storage/objects.ts';

const at = (iso: string) => new Date(iso);
const iso = (d: Date | null | undefined) => d?.toISOString();

/** Europe/Berlin in 2024: UTC+1, UTC+2 from 2024-03-31T01:00Z. */
const berlin: TimeZoneOffset = (d) => (d.getTime() >= Date.parse('2024-03-31T01:00:00Z') ? 120 : 60);

describe('scheduled sync: when a source is due', () => {
  it('finds the newest occurrence at or before now, in the server time zone', () => {
    assert.equal(iso(latestOccurrence('02:00', at('2024-05-10T01:59:59Z'), utcOffset)), '2024-05-09T02:00:00.000Z');
    assert.equal(iso(latestOccurrence('02:00', at('2024-05-10T02:00:00Z'), utcOffset)), '2024-05-10T02:00:00.000Z');
    assert.equal(iso(latestOccurrence('23:59', at('2024-05-10T02:00:00Z'), utcOffset)), '2024-05-09T23:59:00.000Z');
    // UTC+2 at 00:30Z is 02:30 local: today's 02:00 local was 00:00Z.
    assert.equal(iso(latestOccurrence('02:00', at('2024-05-10T00:30:00Z'), () => 120)), '2024-05-10T00:00:00.000Z');
    // UTC-5 at 03:00Z is 22:00 of the day before: the last 23:30 local was two UTC days back.
    assert.equal(iso(latestOccurrence('23:30', at('2024-05-10T03:00:00Z'), () => -300)), '2024-05-09T04:30:00.000Z');
    // Across the switch to summer time, 03:00 local is 02:00Z the day before and 01:00Z the day of.
    assert.equal(iso(latestOccurrence('03:00', at('2024-03-31T00:30:00Z'), berlin)), '2024-03-30T02:00:00.000Z');
    assert.equal(iso(latestOccurrence('03:00', at('2024-03-31T12:00:00Z'), berlin)), '2024-03-31T01:00:00.000Z');
    assert.equal(latestOccurrence('2:00', at('2024-05-10T00:00:00Z'), utcOffset), null);
  });

  it('runs the first occurrence after the source was created, not one before', () => {
    const source = { id: 1, schedule: '02:00', created: '2024-05-09T10:00:00Z' };
    assert.equal(scheduleDecision(source, at('2024-05-09T10:00:30Z'), null, utcOffset), null, "today's 02:00 was before the source existed");
    assert.equal(scheduleDecision(source, at('2024-05-10T01:59:59Z'), null, utcOffset), null, 'before the time');
    const due = scheduleDecision(source, at('2024-05-10T02:00:30Z'), null, utcOffset);
    assert.deepEqual(due && { action: due.action, slot: iso(due.slot) }, { action: 'run', slot: '2024-05-10T02:00:00.000Z' });
    const created0130 = { id: 2, schedule: '02:00', created: '2024-05-10T01:30:00Z' };
    assert.equal(scheduleDecision(created0130, at('2024-05-10T05:00:00Z'), null, utcOffset)?.action, 'run', 'a server down at 02:00 catches up at its next tick');
    assert.equal(scheduleDecision({ id: 3, created: '2024-05-01T00:00:00Z' }, at('2024-05-10T05:00:00Z'), null, utcOffset), null, 'no schedule, never due');
  });

  it('runs missed days once, then waits for the next time', () => {
    const source = { id: 1, schedule: '02:00', created: '2024-05-01T00:00:00Z' };
    const last = { schedule: '02:00', slot: '2024-05-10T02:00:00.000Z' };
    assert.equal(scheduleDecision(source, at('2024-05-10T09:00:00Z'), last, utcOffset), null, 'already claimed today');
    assert.equal(scheduleDecision(source, at('2024-05-11T01:59:00Z'), last, utcOffset), null);
    // Down from the 10th to the 13th at 09:00: one run, for the newest missed time.
    const late = scheduleDecision(source, at('2024-05-13T09:00:00Z'), last, utcOffset);
    assert.deepEqual(late && { action: late.action, slot: iso(late.slot) }, { action: 'run', slot: '2024-05-13T02:00:00.000Z' });
    const claimed = { schedule: '02:00', slot: iso(late!.slot)! };
    assert.equal(scheduleDecision(source, at('2024-05-13T09:00:30Z'), claimed, utcOffset), null, 'not once per missed day');
    assert.equal(scheduleDecision(source, at('2024-05-14T02:00:00Z'), claimed, utcOffset)?.action, 'run');
  });

  it('a changed schedule starts at its next occurrence', () => {
    const last = { schedule: '02:00', slot: '2024-05-10T02:00:00.000Z' };
    // Changed to 08:00 and seen at 09:00: today's 08:00 passed before the change; tomorrow's runs.
    const source = { id: 1, schedule: '08:00', created: '2024-05-01T00:00:00Z' };
    const change = scheduleDecision(source, at('2024-05-10T09:00:00Z'), last, utcOffset);
    assert.deepEqual(change && { action: change.action, slot: iso(change.slot) }, { action: 'rebase', slot: '2024-05-10T08:00:00.000Z' });
    const recorded = { schedule: '08:00', slot: iso(change!.slot)! };
    assert.equal(scheduleDecision(source, at('2024-05-10T09:00:30Z'), recorded, utcOffset), null);
    assert.equal(scheduleDecision(source, at('2024-05-11T08:00:10Z'), recorded, utcOffset)?.action, 'run');
    // Changed to 08:00 and seen at 07:00: today's 08:00 runs.
    const early = scheduleDecision(source, at('2024-05-10T07:00:00Z'), last, utcOffset)!;
    assert.equal(early.action, 'rebase');
    assert.equal(scheduleDecision(source, at('2024-05-10T08:00:30Z'), { schedule: '08:00', slot: iso(early.slot)! }, utcOffset)?.action, 'run');
  });

  it('dueSources picks the due ones', () => {
    const sources = [
      { id: 1, schedule: '02:00', created: '2024-05-01T00:00:00Z' },
      { id: 2, schedule: '10:00', created: '2024-05-01T00:00:00Z' },
      { id: 3, created: '2024-05-01T00:00:00Z' },
      { id: 4, schedule: '02:00', created: '2024-05-01T00:00:00Z' },
    ];
    const last = new Map([[4, { schedule: '02:00', slot: '2024-05-10T02:00:00.000Z' }]]);
    const due = dueSources(sources, at('2024-05-10T03:00:00Z'), last, utcOffset);
    assert.deepEqual(
      due.map((d) => [d.sourceId, d.action, iso(d.slot)]),
      [
        [1, 'run', '2024-05-10T02:00:00.000Z'],
        [2, 'run', '2024-05-09T10:00:00.000Z'],
      ],
    );
  });
});

describe('scheduled sync: several servers over one store', { timeout: 60_000 }, () => {
  const store = new MemoryStore();
  let cores: Core[];
  let closedPort: number;

  before(async () => {
    // A port nobody listens on: each sync ends at once with "unreachable".
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    cores = [];
    for (let i = 0; i < 2; i++) {
      const { core } = await createCore(
        nodeCapabilities(store, () => undefined),
        { storeName: 'memory:', adminToken: 'schedule-admin-token-0123456789', securityGate: false, outboundAllowedHosts: '127.0.0.1' },
      );
      cores.push(core);
    }
  });
  after(async () => {
    for (const core of cores ?? []) for (const job of await core.syncJobs.list()) await core.syncJobs.settled(job.id);
  });

  const settleAll = async () => {
    for (const core of cores) for (const job of await core.syncJobs.list()) await core.syncJobs.settled(job.id);
  };

  it('exactly one of the ticking schedulers starts the sync, once per day', async () => {
    const source = await cores[0].importSources.create({ name: 'sched', url: `http://127.0.0.1:${closedPort}/repo/`, kind: 'rpm', schedule: '02:00' }, 'test');
    const other = await cores[1].importSources.create({ name: 'unscheduled', url: `http://127.0.0.1:${closedPort}/other/`, kind: 'rpm' }, 'test');
    // Four schedulers (two per server) over the two cores, as a fleet ticking at the same moment.
    const schedulers = [0, 1, 0, 1].map((i) => new SyncScheduler(cores[i], { timeZoneOffsetMinutes: utcOffset }));
    const created = Date.parse(source.created);
    const beforeTime = latestOccurrence('02:00', new Date(created + 24 * 3600_000), utcOffset)!;
    const early = await Promise.all(schedulers.map((s) => s.tick(new Date(beforeTime.getTime() - 60_000))));
    assert.deepEqual(early.flat(), [], 'nothing before the first 02:00 after creation');

    // Three days later: the missed days give one run in all.
    const later = new Date(beforeTime.getTime() + 2 * 24 * 3600_000 + 5 * 60_000);
    const runs = (await Promise.all(schedulers.map((s) => s.tick(later)))).flat();
    const started = runs.filter((r) => r.outcome === 'started');
    assert.equal(started.length, 1, JSON.stringify(runs));
    assert.ok(
      runs.every((r) => r.sourceId === source.id && (r.outcome === 'started' || r.outcome === 'claimed_elsewhere')),
      JSON.stringify(runs),
    );
    await settleAll();
    const jobs = await cores[1].syncJobs.list();
    assert.deepEqual(
      jobs.map((j) => [j.sourceId, j.actor]),
      [[source.id, 'schedule']],
    );
    assert.notEqual(other.id, source.id);
    const record = await getJson<{ slot: string; schedule: string }>(store, layout.importLastScheduled(source.id));
    assert.equal(record?.value.slot, started[0].slot);
    assert.equal(record?.value.schedule, '02:00');

    // Ticks later the same day start nothing; the next day's time starts one more.
    const again = (await Promise.all(schedulers.map((s) => s.tick(new Date(later.getTime() + 30_000))))).flat();
    assert.deepEqual(again, []);
    const nextDay = (await Promise.all(schedulers.map((s) => s.tick(new Date(later.getTime() + 24 * 3600_000))))).flat();
    assert.equal(nextDay.filter((r) => r.outcome === 'started').length, 1, JSON.stringify(nextDay));
    await settleAll();
    assert.equal((await cores[0].syncJobs.list()).length, 2);
    await cores[0].importSources.remove(source.id);
    await cores[0].importSources.remove(other.id);
  });

  it('a sync already running stands for the scheduled one', async () => {
    const source = await cores[0].importSources.create({ name: 'busy', url: `http://127.0.0.1:${closedPort}/busy/`, kind: 'rpm', schedule: '04:30' }, 'test');
    const lease = await SyncLease.acquire(cores[0].caps, source.id, 'manual-job', 60_000);
    try {
      const scheduler = new SyncScheduler(cores[1], { timeZoneOffsetMinutes: utcOffset });
      const when = new Date(Date.parse(source.created) + 2 * 24 * 3600_000);
      const runs = await scheduler.tick(when);
      assert.deepEqual(
        runs.map((r) => [r.sourceId, r.outcome]),
        [[source.id, 'already_running']],
      );
      assert.deepEqual(await scheduler.tick(new Date(when.getTime() + 60_000)), [], 'the slot was claimed all the same');
    } finally {
      await lease.release();
      await cores[0].importSources.remove(source.id);
    }
  });

  it('a changed schedule is recorded by one server and runs at its next time', async () => {
    const source = await cores[0].importSources.create({ name: 'moved', url: `http://127.0.0.1:${closedPort}/moved/`, kind: 'rpm', schedule: '02:00' }, 'test');
    const schedulers = [new SyncScheduler(cores[0], { timeZoneOffsetMinutes: utcOffset }), new SyncScheduler(cores[1], { timeZoneOffsetMinutes: utcOffset })];
    const day2 = latestOccurrence('02:00', new Date(Date.parse(source.created) + 48 * 3600_000), utcOffset)!;
    const first = (await Promise.all(schedulers.map((s) => s.tick(new Date(day2.getTime() + 60_000))))).flat();
    assert.equal(first.filter((r) => r.outcome === 'started').length, 1);
    await settleAll();
    await cores[1].importSources.update(source.id, { schedule: '08:00' });
    // Seen at 09:00: today's 08:00 is not caught up.
    const seen = new Date(day2.getTime() + 7 * 3600_000);
    const changed = (await Promise.all(schedulers.map((s) => s.tick(seen)))).flat();
    assert.ok(changed.length > 0 && changed.every((r) => r.outcome === 'rescheduled'), JSON.stringify(changed));
    assert.deepEqual((await Promise.all(schedulers.map((s) => s.tick(new Date(seen.getTime() + 60_000))))).flat(), []);
    const next = (await Promise.all(schedulers.map((s) => s.tick(new Date(day2.getTime() + 30 * 3600_000 + 60_000))))).flat();
    assert.deepEqual(
      next.filter((r) => r.outcome === 'started').map((r) => r.slot),
      [new Date(day2.getTime() + 30 * 3600_000).toISOString()],
    );
    await settleAll();
    await cores[0].importSources.remove(source.id);
  });
});

/**
 * Scheduled syncs: a source with `schedule: "HH:MM"` is synced once a day at that time of the
 * server's time zone. Every server ticks; for each due source the first to advance the source's
 * `lastScheduled` object by compare-and-swap starts the sync, the others see their write refused
 * and do nothing, so of a fleet ticking at once exactly one starts it. A server that was down at
 * the time runs the sync once at its next tick, not once per missed day: the object records the
 * newest occurrence claimed, and only an occurrence after it is due.
 *
 * The decision (`dueSources`) is pure: sources, the time, and what the store says was claimed.
 */
import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { PreconditionFailedError, RepodError } from '../errors.ts';
import { getJson, putJson } from '../storage/objects.ts';
import type { ImportSource } from './sources.ts';

/** The stored `import/schedule/<source id>.json`. */
export interface LastScheduled {
  format: 1;
  sourceId: number;
  /** The schedule the slot belongs to; a different one on the source means it was changed. */
  schedule: string;
  /** ISO time of the newest occurrence claimed (or, after a change, the one the new schedule starts after). */
  slot: string;
  /** When the claim was written. */
  claimedAt: string;
}

/** What a source is due for now. `run`: claim the slot and sync. `rebase`: the schedule changed; record it, sync nothing. */
export interface ScheduleDecision {
  sourceId: number;
  action: 'run' | 'rebase';
  schedule: string;
  /** The occurrence to record as claimed. */
  slot: Date;
}

/** Minutes east of UTC of the server's time zone at a given moment (DST changes it). */
export type TimeZoneOffset = (at: Date) => number;

/** The host's own time zone (UTC on Workers). */
export const localTimeZoneOffset: TimeZoneOffset = (at) => -at.getTimezoneOffset();

export const utcOffset: TimeZoneOffset = () => 0;

const SCHEDULE = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/**
 * The newest daily occurrence of `schedule` ("HH:MM" wall-clock time in the zone `offset`
 * describes) at or before `now`; null for a malformed schedule.
 */
export function latestOccurrence(schedule: string, now: Date, offset: TimeZoneOffset = localTimeZoneOffset): Date | null {
  const m = SCHEDULE.exec(schedule);
  if (!m) return null;
  const nowMs = now.getTime();
  // Wall-clock time as if it were UTC: its calendar day is the local day.
  const wallNow = new Date(nowMs + offset(now) * MINUTE);
  let wall = Date.UTC(wallNow.getUTCFullYear(), wallNow.getUTCMonth(), wallNow.getUTCDate(), Number(m[1]), Number(m[2]));
  for (let step = 0; step < 3; step++) {
    // The offset at the occurrence itself, not now's: a DST change between them moves it.
    const guess = wall - offset(now) * MINUTE;
    const instant = wall - offset(new Date(guess)) * MINUTE;
    if (instant <= nowMs) return new Date(instant);
    wall -= DAY;
  }
  return null;
}

/** What of a source decides its schedule. */
export type ScheduledSource = Pick<ImportSource, 'id' | 'schedule' | 'created'>;

/**
 * The decision for one source. Without a record, occurrences count from the source's creation
 * (one created at 10:00 with "02:00" first syncs the next day at 02:00). A record for another
 * schedule means the schedule changed: the new one starts at its next occurrence, with no
 * catch-up run for a time that passed before the change was seen.
 */
export function scheduleDecision(
  source: ScheduledSource,
  now: Date,
  last: Pick<LastScheduled, 'schedule' | 'slot'> | null,
  offset: TimeZoneOffset = localTimeZoneOffset,
): ScheduleDecision | null {
  if (!source.schedule) return null;
  const occurrence = latestOccurrence(source.schedule, now, offset);
  if (!occurrence) return null;
  if (last && last.schedule !== source.schedule) return { sourceId: source.id, action: 'rebase', schedule: source.schedule, slot: occurrence };
  const since = Date.parse(last ? last.slot : source.created);
  if (Number.isFinite(since) && occurrence.getTime() <= since) return null;
  return { sourceId: source.id, action: 'run', schedule: source.schedule, slot: occurrence };
}

/** Which sources are due at `now`, given what the store says was last claimed for each (absent: never). */
export function dueSources(
  sources: readonly ScheduledSource[],
  now: Date,
  lastScheduled: ReadonlyMap<number, Pick<LastScheduled, 'schedule' | 'slot'> | null>,
  offset: TimeZoneOffset = localTimeZoneOffset,
): ScheduleDecision[] {
  const out: ScheduleDecision[] = [];
  for (const source of sources) {
    const decision = scheduleDecision(source, now, lastScheduled.get(source.id) ?? null, offset);
    if (decision) out.push(decision);
  }
  return out;
}

/** What a tick did for one source. */
export interface ScheduledRun {
  sourceId: number;
  schedule: string;
  slot: string;
  /**
   * started: this server claimed the slot and started the sync (`job`); already_running: it
   * claimed the slot but a sync of the source was running (409), which stands for this one;
   * claimed_elsewhere: another server claimed the slot first; rescheduled: the schedule changed
   * and was recorded; failed: the claim or the start failed (`error`).
   */
  outcome: 'started' | 'already_running' | 'claimed_elsewhere' | 'rescheduled' | 'failed';
  job?: string;
  error?: string;
}

export interface SyncSchedulerOptions {
  /** The server's time zone. Default: the host's (UTC on Workers). */
  timeZoneOffsetMinutes?: TimeZoneOffset;
}

/** The parts of the core a scheduler uses. */
export interface SchedulerServices {
  caps: Pick<Capabilities, 'store' | 'now' | 'log'>;
  importSources: { list(): Promise<ImportSource[]> };
  syncJobs: { start(sourceId: number, actor?: string): Promise<{ id: string }> };
  /** Mirror distributions may have been created or edited on another server since the last request here. */
  distributions?: { refresh(): Promise<void> };
}

export class SyncScheduler {
  readonly #offset: TimeZoneOffset;
  /** Per source, the newest state seen in the store: an occurrence not after its slot needs no read. */
  readonly #known = new Map<number, { schedule: string; slot: number }>();
  #ticking: Promise<ScheduledRun[]> | null = null;

  constructor(
    private readonly services: SchedulerServices,
    options: SyncSchedulerOptions = {},
  ) {
    this.#offset = options.timeZoneOffsetMinutes ?? localTimeZoneOffset;
  }

  /**
   * Starts the syncs due at `now` (default: the clock), one claim per source. A tick still
   * running when the next comes is joined rather than doubled. Never throws: failures are logged
   * and reported in the answer.
   */
  tick(now: Date = this.services.caps.now()): Promise<ScheduledRun[]> {
    this.#ticking ??= this.#tick(now).finally(() => {
      this.#ticking = null;
    });
    return this.#ticking;
  }

  async #tick(now: Date): Promise<ScheduledRun[]> {
    const { caps } = this.services;
    let sources: ImportSource[];
    try {
      await this.services.distributions?.refresh();
      sources = await this.services.importSources.list();
    } catch (error) {
      caps.log('scheduled sync: cannot list import sources', { message: messageOf(error) });
      return [];
    }
    const runs: ScheduledRun[] = [];
    for (const source of sources) {
      if (!source.schedule) {
        this.#known.delete(source.id);
        continue;
      }
      const occurrence = latestOccurrence(source.schedule, now, this.#offset);
      const known = this.#known.get(source.id);
      if (!occurrence || (known && known.schedule === source.schedule && occurrence.getTime() <= known.slot)) continue;
      try {
        const run = await this.#consider(source, now);
        if (run) runs.push(run);
      } catch (error) {
        this.#known.delete(source.id);
        caps.log('scheduled sync failed', { source: source.id, message: messageOf(error) });
        runs.push({ sourceId: source.id, schedule: source.schedule, slot: occurrence.toISOString(), outcome: 'failed', error: messageOf(error) });
      }
    }
    return runs;
  }

  /** Reads the source's record, decides, claims by compare-and-swap, and starts the sync if the claim won. */
  async #consider(source: ImportSource, now: Date): Promise<ScheduledRun | null> {
    const { caps, syncJobs } = this.services;
    const key = layout.importLastScheduled(source.id);
    const found = await getJson<LastScheduled>(caps.store, key);
    const decision = scheduleDecision(source, now, found?.value ?? null, this.#offset);
    const baseline = found ? { schedule: found.value.schedule, slot: Date.parse(found.value.slot) } : { schedule: source.schedule!, slot: Date.parse(source.created) };
    if (!decision) {
      this.#known.set(source.id, baseline);
      return null;
    }
    const slot = decision.slot.toISOString();
    const record: LastScheduled = { format: 1, sourceId: source.id, schedule: decision.schedule, slot, claimedAt: now.toISOString() };
    try {
      await putJson(caps.store, key, record, found ? { ifMatch: found.etag } : { ifNoneMatch: '*' });
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      // Another server wrote first: it claimed this slot (or recorded the change).
      this.#known.delete(source.id);
      return { sourceId: source.id, schedule: decision.schedule, slot, outcome: decision.action === 'run' ? 'claimed_elsewhere' : 'rescheduled' };
    }
    this.#known.set(source.id, { schedule: decision.schedule, slot: decision.slot.getTime() });
    if (decision.action === 'rebase') {
      caps.log('scheduled sync: schedule changed', { source: source.id, schedule: decision.schedule });
      return { sourceId: source.id, schedule: decision.schedule, slot, outcome: 'rescheduled' };
    }
    try {
      const job = await syncJobs.start(source.id, 'schedule');
      caps.log('scheduled sync started', { source: source.id, schedule: decision.schedule, slot, job: job.id });
      return { sourceId: source.id, schedule: decision.schedule, slot, outcome: 'started', job: job.id };
    } catch (error) {
      if (error instanceof RepodError && error.code === 'sync_running') {
        caps.log('scheduled sync skipped: a sync of the source is running', { source: source.id, slot });
        return { sourceId: source.id, schedule: decision.schedule, slot, outcome: 'already_running' };
      }
      caps.log('scheduled sync could not start', { source: source.id, slot, message: messageOf(error) });
      return { sourceId: source.id, schedule: decision.schedule, slot, outcome: 'failed', error: messageOf(error) };
    }
  }
}

function messageOf(error: unknown): string {
  return (error as Error)?.message ?? String(error);
}

/**
 * Sync jobs: each sync of a source runs as a job with an id, a status and an event log kept in
 * the store, so any server can list it and replay its events; the server running it also streams
 * them live. One sync per source at a time across all servers (a SyncLease). A job keeps running
 * when the client that started it goes away; cancel stops it, from any server (a marker object
 * the running server looks for at each lease renewal, or at once when it runs here).
 */
import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { ConflictError, NotFoundError, RepodError } from '../errors.ts';
import { getJson, putJson } from '../storage/objects.ts';
import type { Catalog } from './catalog.ts';
import { readCatalogPointer } from './catalog-store.ts';
import { SyncLease } from './lease.ts';
import { type ImportSource, type ImportSources, unknownSource } from './sources.ts';
import { type MirrorRevision, type SyncMirrors, syncSource } from './sync.ts';
import type { UpstreamFetch } from './upstream-fetch.ts';

export type SyncJobStatus = 'running' | 'done' | 'error' | 'cancelled';

/** One line of a sync's stream, exactly as Repod's users parse it. */
export interface SyncEvent {
  status: 'syncing' | 'done' | 'error';
  count: number;
  message: string;
}

export interface SyncJob {
  id: string;
  type: 'sync';
  sourceId: number;
  sourceName: string;
  status: SyncJobStatus;
  count: number;
  message: string;
  started: string;
  finished?: string;
  actor?: string;
  /** Index files read from the upstream and those skipped as unchanged (once done). */
  read?: string[];
  skipped?: string[];
  /** What the sync published into the source's mirror distributions (once done). */
  mirrors?: MirrorRevision[];
  error?: { code: string; message: string };
  events: SyncEvent[];
}

interface StoredJob extends SyncJob {
  format: 1;
}

/** A job running in this process: its events as they come, and who listens. */
interface LiveJob {
  job: StoredJob;
  controller: AbortController;
  listeners: Set<() => void>;
  done: Promise<void>;
}

export interface SyncJobsOptions {
  /** How long a lease lasts without renewal. Default 60 s. */
  leaseTtlMs?: number;
  /** How often a running sync renews its lease and looks for a cancel. Default 10 s. */
  renewEveryMs?: number;
  /** The mirror distributions a sync of the source publishes (mirror/mirror-sync.ts). */
  mirrors?: (source: ImportSource, jobId: string, actor: string | undefined) => Promise<SyncMirrors | null>;
}

export class SyncJobs {
  readonly #live = new Map<string, LiveJob>();
  readonly #leaseTtlMs: number;
  readonly #renewEveryMs: number;
  readonly #mirrors: SyncJobsOptions['mirrors'];

  constructor(
    private readonly caps: Capabilities,
    private readonly sources: ImportSources,
    private readonly catalog: Catalog,
    private readonly fetch: (url: string, signal: AbortSignal) => Promise<Response>,
    options: SyncJobsOptions = {},
  ) {
    this.#leaseTtlMs = options.leaseTtlMs ?? 60_000;
    this.#renewEveryMs = options.renewEveryMs ?? 10_000;
    this.#mirrors = options.mirrors;
  }

  /**
   * Starts a sync of the source and answers its job at once (status running, first event
   * written). 404 for an unknown source, 409 `sync_running` naming the job already running.
   */
  async start(sourceId: number, actor?: string): Promise<SyncJob> {
    const source = await this.sources.get(sourceId);
    if (!source) throw unknownSource(sourceId);
    const id = jobId(this.caps);
    const lease = await SyncLease.acquire(this.caps, sourceId, id, this.#leaseTtlMs);
    const job: StoredJob = {
      format: 1,
      id,
      type: 'sync',
      sourceId,
      sourceName: source.name,
      status: 'running',
      count: 0,
      message: 'Fetching index...',
      started: this.caps.now().toISOString(),
      ...(actor ? { actor } : {}),
      events: [{ status: 'syncing', count: 0, message: 'Fetching index...' }],
    };
    try {
      await putJson(this.caps.store, layout.importJob(id), job, { ifNoneMatch: '*' });
    } catch (error) {
      await lease.release().catch(() => undefined);
      throw error;
    }
    const live: LiveJob = { job, controller: new AbortController(), listeners: new Set(), done: Promise.resolve() };
    this.#live.set(id, live);
    live.done = this.#run(live, lease);
    return publicJob(job);
  }

  /** Newest first, without their event logs. */
  async list(limit = 100): Promise<Array<Omit<SyncJob, 'events'>>> {
    const keys: string[] = [];
    for await (const entry of this.caps.store.list(layout.importJobsPrefix())) keys.push(entry.key);
    keys.sort().reverse();
    const out: Array<Omit<SyncJob, 'events'>> = [];
    for (const key of keys.slice(0, limit)) {
      const id = key.slice(layout.importJobsPrefix().length, -'.json'.length);
      const job = await this.get(id);
      if (job) {
        const { events: _events, ...summary } = job;
        out.push(summary);
      }
    }
    return out;
  }

  /**
   * The job as this process or the store knows it. A job the store says is running but whose
   * lease is gone or held for another job lost its server: it is reported (and recorded) as an error.
   */
  async get(id: string): Promise<SyncJob | null> {
    if (!/^[0-9TZ.]+-[A-Za-z0-9_-]+$/.test(id)) return null;
    const live = this.#live.get(id);
    if (live) return publicJob(live.job);
    const found = await getJson<StoredJob>(this.caps.store, layout.importJob(id));
    if (!found) return null;
    const job = found.value;
    if (job.status === 'running') {
      const lease = await SyncLease.read(this.caps, job.sourceId);
      if (!lease || lease.job !== id || Date.parse(lease.expires) < this.caps.now().getTime()) {
        const message = 'the server running this sync stopped before it ended';
        const ended: StoredJob = {
          ...job,
          status: 'error',
          message,
          finished: this.caps.now().toISOString(),
          error: { code: 'sync_interrupted', message },
          events: [...job.events, { status: 'error', count: job.count, message }],
        };
        await putJson(this.caps.store, layout.importJob(id), ended, { ifMatch: found.etag }).catch(() => undefined);
        return publicJob(ended);
      }
    }
    return publicJob(job);
  }

  /** Whether the job runs in this process (its events can be followed live). */
  isLive(id: string): boolean {
    return this.#live.has(id);
  }

  /**
   * The job's events from `from` on, then (while it runs) each new one as it comes; ends with the
   * job. A job running on another server is followed by reading the store every `pollMs`.
   */
  async *events(id: string, from = 0, signal?: AbortSignal, pollMs = 500): AsyncGenerator<{ index: number; event: SyncEvent }> {
    let next = Math.max(0, from);
    for (;;) {
      const live = this.#live.get(id);
      const job = live ? live.job : await this.get(id);
      if (!job) {
        if (next === Math.max(0, from)) throw new NotFoundError(`no import job ${id}`, 'unknown_job');
        return;
      }
      while (next < job.events.length) {
        yield { index: next, event: job.events[next]! };
        next++;
      }
      if (job.status !== 'running' || signal?.aborted) return;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          live?.listeners.delete(wake);
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        const timer = setTimeout(wake, live ? 30_000 : pollMs);
        live?.listeners.add(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }

  /** Asks the job to stop: at once when it runs here, at its next lease renewal elsewhere. 409 when it already ended. */
  async cancel(id: string, actor?: string): Promise<SyncJob> {
    const live = this.#live.get(id);
    if (live) {
      if (live.job.status === 'running') live.controller.abort(cancelled(actor));
      await live.done;
      return publicJob(live.job);
    }
    const job = await this.get(id);
    if (!job) throw new NotFoundError(`no import job ${id}`, 'unknown_job');
    if (job.status !== 'running') throw new ConflictError(`job ${id} already ended (${job.status})`, 'job_ended', { status: job.status });
    await putJson(this.caps.store, layout.importJobCancel(id), { format: 1, job: id, actor, at: this.caps.now().toISOString() });
    return job;
  }

  /** Waits for a job running here to end (tests, shutdown). */
  async settled(id: string): Promise<void> {
    await this.#live.get(id)?.done;
  }

  async #run(live: LiveJob, lease: SyncLease): Promise<void> {
    const { job, controller } = live;
    let saving: Promise<unknown> = Promise.resolve();
    const save = () => {
      const snapshot = JSON.stringify(job);
      saving = saving
        .then(() => this.caps.store.put(layout.importJob(job.id), new TextEncoder().encode(snapshot), { contentType: 'application/json' }))
        .catch((error) => this.caps.log('import job not saved', { job: job.id, message: String((error as Error)?.message ?? error) }));
    };
    const wakeAll = () => {
      for (const wake of [...live.listeners]) wake();
    };
    const record = (event: SyncEvent) => {
      job.events.push(event);
      job.count = event.count;
      job.message = event.message;
      save();
    };
    const emit = (event: SyncEvent) => {
      record(event);
      wakeAll();
    };
    const renewal = setInterval(() => {
      void (async () => {
        try {
          await lease.renew();
          const cancel = await getJson<{ actor?: string }>(this.caps.store, layout.importJobCancel(job.id));
          if (cancel) controller.abort(cancelled(cancel.value.actor));
        } catch (error) {
          controller.abort(error);
        }
      })();
    }, this.#renewEveryMs);
    try {
      const source = await this.sources.get(job.sourceId);
      if (!source) throw unknownSource(job.sourceId);
      const previous = await readCatalogPointer(this.caps, job.sourceId);
      const fetch: UpstreamFetch = (url) => this.fetch(url, controller.signal);
      const result = await syncSource({
        caps: this.caps,
        fetch,
        source,
        jobId: job.id,
        previous,
        signal: controller.signal,
        progress: (count, message) => emit({ status: 'syncing', count, message }),
        mirrors: await this.#mirrors?.(source, job.id, job.actor),
      });
      this.catalog.refresh(job.sourceId);
      // Loaded now, in the background: the first search after a sync otherwise pays for reading the whole catalog.
      void this.catalog.pointer(job.sourceId).catch(() => undefined);
      await this.sources.recordSync(job.sourceId, { at: result.pointer.syncedAt, job: job.id, count: result.count });
      job.status = 'done';
      job.read = result.read;
      job.skipped = result.skipped;
      if (result.mirrors.length > 0) job.mirrors = result.mirrors;
      job.finished = this.caps.now().toISOString();
      // Told to listeners only once the lease is free, so a client may sync again at once.
      record({ status: 'done', count: result.count, message: 'Index updated' });
    } catch (error) {
      const aborted = controller.signal.aborted && error === controller.signal.reason;
      const isCancel = error instanceof RepodError && error.code === 'sync_cancelled';
      const message = error instanceof RepodError ? error.message : `sync failed: ${(error as Error)?.message ?? String(error)}`;
      if (!(error instanceof RepodError) || (error.status >= 500 && !aborted)) {
        this.caps.log('import sync failed', { job: job.id, source: job.sourceId, message, code: (error as RepodError)?.code });
      }
      job.status = isCancel ? 'cancelled' : 'error';
      job.error = { code: error instanceof RepodError ? error.code : 'internal_error', message };
      job.finished = this.caps.now().toISOString();
      record({ status: 'error', count: job.count, message });
    } finally {
      clearInterval(renewal);
      await saving;
      await lease.release().catch(() => undefined);
      await this.caps.store.delete(layout.importJobCancel(job.id)).catch(() => undefined);
      this.#live.delete(job.id);
      wakeAll();
    }
  }
}

function cancelled(actor?: string): RepodError {
  return new RepodError('sync_cancelled', `Sync cancelled${actor ? ` by ${actor}` : ''}`, { status: 409 });
}

/** Time-sortable: the compact UTC time, then randomness. */
function jobId(caps: Pick<Capabilities, 'now' | 'randomId'>): string {
  const compact = caps.now().toISOString().replace(/[-:]/g, '');
  return `${compact}-${caps
    .randomId()
    .replace(/[^A-Za-z0-9_-]/g, '')
    .slice(0, 16)}`;
}

function publicJob(job: StoredJob | SyncJob): SyncJob {
  const { format: _format, ...rest } = job as StoredJob;
  return { ...rest, events: [...rest.events] };
}

/**
 * The right to sync one source, fleet-wide: a small object in the store, created create-only by
 * the server that starts a sync, renewed by compare-and-swap while it runs, and deleted at the
 * end. A holder that dies stops renewing; once the expiry passes, the next sync takes the lease
 * over (compare-and-swap on the expired object, so only one taker wins).
 */
import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { ConflictError, PreconditionFailedError, RepodError } from '../errors.ts';
import { getJson, putJson } from '../storage/objects.ts';

export interface LeaseRecord {
  format: 1;
  sourceId: number;
  /** Who holds it: random per lease, so a renewal by an old holder after a takeover fails. */
  holder: string;
  /** The job it is held for. */
  job: string;
  /** ISO time after which another server may take it. */
  expires: string;
}

export class SyncLease {
  #etag: string;

  private constructor(
    private readonly caps: Pick<Capabilities, 'store' | 'now'>,
    readonly record: LeaseRecord,
    etag: string,
    private readonly ttlMs: number,
  ) {
    this.#etag = etag;
  }

  /** The source's lease for `job`, or a 409 `sync_running` naming the job that holds it. */
  static async acquire(caps: Pick<Capabilities, 'store' | 'now' | 'randomId'>, sourceId: number, job: string, ttlMs: number): Promise<SyncLease> {
    const key = layout.importSyncLease(sourceId);
    for (let attempt = 0; attempt < 10; attempt++) {
      const record: LeaseRecord = { format: 1, sourceId, holder: caps.randomId(), job, expires: new Date(caps.now().getTime() + ttlMs).toISOString() };
      const current = await getJson<LeaseRecord>(caps.store, key);
      if (current && Date.parse(current.value.expires) > caps.now().getTime()) {
        throw new ConflictError(`source ${sourceId} is already being synced by job ${current.value.job}`, 'sync_running', { job: current.value.job, source_id: sourceId });
      }
      try {
        const { etag } = await putJson(caps.store, key, record, current ? { ifMatch: current.etag } : { ifNoneMatch: '*' });
        return new SyncLease(caps, record, etag, ttlMs);
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
      }
    }
    throw new ConflictError(`source ${sourceId}: could not take the sync lease (contention), try again`, 'sync_running', { source_id: sourceId });
  }

  /** The lease as stored, or null. */
  static async read(caps: Pick<Capabilities, 'store'>, sourceId: number): Promise<LeaseRecord | null> {
    return (await getJson<LeaseRecord>(caps.store, layout.importSyncLease(sourceId)))?.value ?? null;
  }

  /** Pushes the expiry forward; throws `lease_lost` when another server took the lease. */
  async renew(): Promise<void> {
    this.record.expires = new Date(this.caps.now().getTime() + this.ttlMs).toISOString();
    try {
      this.#etag = (await putJson(this.caps.store, layout.importSyncLease(this.record.sourceId), this.record, { ifMatch: this.#etag })).etag;
    } catch (error) {
      if (error instanceof PreconditionFailedError) {
        throw new RepodError('lease_lost', `the sync lease of source ${this.record.sourceId} was taken over by another server`, { status: 409 });
      }
      throw error;
    }
  }

  /** Deletes the lease if it is still this one. */
  async release(): Promise<void> {
    const key = layout.importSyncLease(this.record.sourceId);
    const current = await getJson<LeaseRecord>(this.caps.store, key);
    if (current?.value.holder === this.record.holder) await this.caps.store.delete(key);
  }
}

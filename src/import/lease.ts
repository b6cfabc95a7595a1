/**
 * The right to sync one source, fleet-wide: a store lease (storage/lease.ts) at
 * `import/leases/<source id>.json`. A second sync of the source is a 409 `sync_running` naming
 * the job that holds it.
 */
import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { ConflictError, RepodError } from '../errors.ts';
import { type LeaseErrors, type LeaseRecord, StoreLease } from '../storage/lease.ts';

export interface SyncLeaseRecord extends LeaseRecord {
  sourceId: number;
}

export type SyncLease = StoreLease<SyncLeaseRecord>;

function errors(sourceId: number): LeaseErrors {
  return {
    busy: (current) => new ConflictError(`source ${sourceId} is already being synced by job ${current.job}`, 'sync_running', { job: current.job, source_id: sourceId }),
    lost: () => new RepodError('lease_lost', `the sync lease of source ${sourceId} was taken over by another server`, { status: 409 }),
  };
}

export const SyncLease = {
  /** The source's lease for `job`, or a 409 `sync_running` naming the job that holds it. */
  acquire(caps: Pick<Capabilities, 'store' | 'now' | 'randomId'>, sourceId: number, job: string, ttlMs: number): Promise<SyncLease> {
    return StoreLease.acquire<SyncLeaseRecord>(caps, layout.importSyncLease(sourceId), { sourceId, job }, ttlMs, errors(sourceId));
  },
  /** The lease as stored, or null. */
  read(caps: Pick<Capabilities, 'store'>, sourceId: number): Promise<SyncLeaseRecord | null> {
    return StoreLease.read<SyncLeaseRecord>(caps, layout.importSyncLease(sourceId));
  },
};

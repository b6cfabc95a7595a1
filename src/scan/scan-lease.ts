import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { ConflictError, RepodError } from '../errors.ts';
import { StoreLease } from '../storage/lease.ts';

/** The one scan of a location allowed at a time, fleet-wide: a store lease at the location's key. */
export interface ScanLease {
  renew(): Promise<void>;
  release(): Promise<void>;
}

/** Takes the location's lease for `job`, or throws a 409 `scan_running` naming the scan that holds it. */
export function acquireScanLease(caps: Pick<Capabilities, 'store' | 'now' | 'randomId'>, id: string, job: string, ttlMs: number): Promise<ScanLease> {
  return StoreLease.acquire(caps, layout.scanLease(id), { job }, ttlMs, {
    busy: (current) => new ConflictError(`another scan of this location is running (job ${current.job})`, 'scan_running', { job: current.job }),
    lost: () => new RepodError('lease_lost', 'the scan lease of this location was taken over by another scan', { status: 409 }),
  });
}

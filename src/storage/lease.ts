/**
 * The right to do one thing at a time, fleet-wide (a sync of a source, a scan of a location): a
 * small object in the store, created create-only by the holder, renewed by compare-and-swap while
 * the work runs, and deleted at the end. A holder that dies stops renewing; once the expiry
 * passes, the next taker takes the lease over (compare-and-swap on the expired object, so only
 * one taker wins).
 */
import type { Capabilities } from '../capabilities.ts';
import { PreconditionFailedError, type RepodError } from '../errors.ts';
import type { BlobStore } from './blob-store.ts';
import { getJson, putJson } from './objects.ts';

export interface LeaseRecord {
  format: 1;
  /** Who holds it: random per lease, so a renewal by an old holder after a takeover fails. */
  holder: string;
  /** The job it is held for. */
  job: string;
  /** ISO time after which another holder may take it. */
  expires: string;
}

export interface LeaseErrors {
  /** The lease is held (not expired) by another job. */
  busy(current: LeaseRecord): RepodError;
  /** Another holder took the lease over while this one worked. */
  lost(): RepodError;
}

const ATTEMPTS = 10;

export class StoreLease<R extends LeaseRecord = LeaseRecord> {
  #etag: string;

  private constructor(
    private readonly caps: { store: BlobStore; now(): Date },
    readonly key: string,
    readonly record: R,
    etag: string,
    private readonly ttlMs: number,
    private readonly errors: LeaseErrors,
  ) {
    this.#etag = etag;
  }

  /** The lease at `key` for `job` (extra fields in `fields`), or the `busy` error naming its holder. */
  static async acquire<R extends LeaseRecord>(
    caps: Pick<Capabilities, 'store' | 'now' | 'randomId'>,
    key: string,
    fields: Omit<R, keyof LeaseRecord> & { job: string },
    ttlMs: number,
    errors: LeaseErrors,
  ): Promise<StoreLease<R>> {
    let current: { value: R; etag: string } | null = null;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const record = { format: 1, ...fields, holder: caps.randomId(), expires: new Date(caps.now().getTime() + ttlMs).toISOString() } as R;
      current = await getJson<R>(caps.store, key);
      if (current && Date.parse(current.value.expires) > caps.now().getTime()) throw errors.busy(current.value);
      try {
        const { etag } = await putJson(caps.store, key, record, current ? { ifMatch: current.etag } : { ifNoneMatch: '*' });
        return new StoreLease<R>(caps, key, record, etag, ttlMs, errors);
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
      }
    }
    // Ten lost races in a row: someone else keeps winning it.
    throw errors.busy(current?.value ?? ({ format: 1, holder: '', job: 'unknown', expires: '' } as LeaseRecord));
  }

  /** The lease as stored, or null. */
  static async read<R extends LeaseRecord>(caps: Pick<Capabilities, 'store'>, key: string): Promise<R | null> {
    return (await getJson<R>(caps.store, key))?.value ?? null;
  }

  /** Pushes the expiry forward; throws the `lost` error when another holder took the lease. */
  async renew(): Promise<void> {
    this.record.expires = new Date(this.caps.now().getTime() + this.ttlMs).toISOString();
    try {
      this.#etag = (await putJson(this.caps.store, this.key, this.record, { ifMatch: this.#etag })).etag;
    } catch (error) {
      if (error instanceof PreconditionFailedError) throw this.errors.lost();
      throw error;
    }
  }

  /** Deletes the lease if it is still this one. */
  async release(): Promise<void> {
    const current = await getJson<R>(this.caps.store, this.key);
    if (current?.value.holder === this.record.holder) await this.caps.store.delete(this.key);
  }
}

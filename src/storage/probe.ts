import { PreconditionFailedError } from '../errors.ts';
import type { BlobStore } from './blob-store.ts';

export interface ProbeResult {
  /** The store refused a second create-only write and a stale compare-and-swap. */
  ok: boolean;
  /** What went wrong when not ok. */
  reason?: string;
}

/**
 * Checks that `store` really enforces conditional writes, on a scratch key under `prefix`:
 * create-only twice (the second must fail), compare-and-swap with a stale etag (must fail) and with
 * the fresh one (must succeed). The server calls it at start and refuses multi-writer use on a store
 * that ignores the conditions (an old MinIO, some S3 gateways). Errors of the store itself (cannot
 * write at all) are thrown, not reported as `ok: false`.
 */
export async function probeConditionalWritesDetailed(store: BlobStore, prefix = '_probe/'): Promise<ProbeResult> {
  const key = `${prefix}conditional-writes-${crypto.randomUUID()}`;
  const bytes = (text: string) => new TextEncoder().encode(text);
  const lost = async (write: () => Promise<unknown>) => {
    try {
      await write();
      return false;
    } catch (error) {
      if (error instanceof PreconditionFailedError) return true;
      throw error;
    }
  };
  try {
    // Plain write first: a failure here is the store's, not a missing feature.
    await store.put(key, bytes('0'));
    await store.delete(key);
    let first;
    try {
      first = await store.put(key, bytes('1'), { ifNoneMatch: '*' });
    } catch (error) {
      return { ok: false, reason: `create-only put failed: ${(error as Error).message}` };
    }
    if (!(await lost(() => store.put(key, bytes('2'), { ifNoneMatch: '*' })))) {
      return { ok: false, reason: 'a second create-only put (If-None-Match: *) succeeded' };
    }
    const second = await store.put(key, bytes('3'), { ifMatch: first.etag });
    if (!(await lost(() => store.put(key, bytes('4'), { ifMatch: first.etag })))) {
      return { ok: false, reason: 'a compare-and-swap put with a stale etag (If-Match) succeeded' };
    }
    await store.put(key, bytes('5'), { ifMatch: second.etag });
    return { ok: true };
  } finally {
    await store.delete(key).catch(() => undefined);
  }
}

/** true when the store enforces create-only and compare-and-swap writes (see probeConditionalWritesDetailed). */
export async function probeConditionalWrites(store: BlobStore, prefix?: string): Promise<boolean> {
  return (await probeConditionalWritesDetailed(store, prefix)).ok;
}

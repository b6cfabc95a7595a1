import { PreconditionFailedError, RepodError } from '../errors.ts';
import type { BlobInfo, BlobObject, BlobStore, ByteRange, CopyOptions, ListEntry, MoveOptions, PresignOptions, PutOptions } from './blob-store.ts';

/** Where a measured store counts (src/metrics/repod-metrics.ts provides these). */
export interface StoreMeter {
  now(): number;
  storeOperations: { inc(labels: { driver: string; operation: string; outcome: string }): void };
  storeErrors: { inc(labels: { driver: string; operation: string }): void };
  storeDuration: { observe(labels: { driver: string; operation: string }, seconds: number): void };
}

/**
 * A BlobStore that counts and times every operation of the store it wraps, by driver, operation
 * and outcome, and otherwise behaves exactly as that store (same driver name, capabilities and
 * errors). A missing object, a lost conditional write and a caller's bad request are outcomes,
 * not store errors: only failures of the store itself count as errors, which is what an
 * operator alerts on.
 */
export function measuredStore(store: BlobStore, meter: StoreMeter): BlobStore {
  const driver = store.driver;
  const record = (operation: string, started: number, outcome: string) => {
    meter.storeDuration.observe({ driver, operation }, (meter.now() - started) / 1000);
    meter.storeOperations.inc({ driver, operation, outcome });
    if (outcome === 'error') meter.storeErrors.inc({ driver, operation });
  };
  const failed = (error: unknown) => {
    if (error instanceof PreconditionFailedError) return 'precondition_failed';
    if (error instanceof RepodError && error.status < 500) return error.status === 404 ? 'not_found' : 'refused';
    return 'error';
  };
  async function measure<T>(operation: string, work: () => Promise<T>, found: (value: T) => boolean = () => true): Promise<T> {
    const started = meter.now();
    try {
      const value = await work();
      record(operation, started, found(value) ? 'ok' : 'not_found');
      return value;
    } catch (error) {
      record(operation, started, failed(error));
      throw error;
    }
  }

  const measured: BlobStore = {
    driver,
    capabilities: store.capabilities,
    get: (key: string, options?: { range?: ByteRange }): Promise<BlobObject | null> =>
      measure(
        'get',
        () => store.get(key, options),
        (o) => o !== null,
      ),
    head: (key: string): Promise<BlobInfo | null> =>
      measure(
        'head',
        () => store.head(key),
        (o) => o !== null,
      ),
    put: (key: string, body: Uint8Array | ReadableStream<Uint8Array>, options?: PutOptions) => measure('put', () => store.put(key, body, options)),
    delete: (key: string) => measure('delete', () => store.delete(key)),
    move: (from: string, to: string, options?: MoveOptions) => measure('move', () => store.move(from, to, options)),
    list: (prefix: string): AsyncIterable<ListEntry> => ({
      async *[Symbol.asyncIterator]() {
        const started = meter.now();
        try {
          yield* store.list(prefix);
          record('list', started, 'ok');
        } catch (error) {
          record('list', started, failed(error));
          throw error;
        }
      },
    }),
  };
  if (store.presign) {
    const presign = store.presign.bind(store);
    measured.presign = (key: string, options: PresignOptions) => measure('presign', () => presign(key, options));
  }
  // A ranged get the store answers without a stream: counted as a get.
  if (store.readImmutable) {
    const readImmutable = store.readImmutable.bind(store);
    measured.readImmutable = (key: string, start: number, end: number, into?: Uint8Array) =>
      measure(
        'get',
        () => readImmutable(key, start, end, into),
        (o) => o !== null,
      );
  }
  // Optional like presign: present only where the store copies server-side.
  if (store.copy) {
    const copy = store.copy.bind(store);
    measured.copy = (from: string, to: string, options?: CopyOptions) => measure('copy', () => copy(from, to, options));
  }
  return measured;
}

/** Helpers shared by the storage tests and their child processes (no node:test here). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import { PreconditionFailedError } from '../../src/errors.ts';
import type { BlobStore } from '../../src/storage/blob-store.ts';

export const text = (s: string) => new TextEncoder().encode(s);
export const decode = (b: Uint8Array) => new TextDecoder().decode(b);

export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) parts.push(chunk);
  return Buffer.concat(parts);
}

export async function getText(store: BlobStore, key: string): Promise<string | null> {
  const object = await store.get(key);
  return object ? decode(await readAll(object.body)) : null;
}

export async function listKeys(store: BlobStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of store.list(prefix)) keys.push(entry.key);
  return keys;
}

/** A stream of the given chunks (each enqueued on demand). */
export function streamOf(...chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]);
      else controller.close();
    },
  });
}

/** A generated stream of `size` deterministic bytes in fresh 1 MiB chunks, and its expected sha256. */
export function generated(size: number, seed = 1): { stream: ReadableStream<Uint8Array>; sha256: string } {
  const CHUNK = 1 << 20;
  const hash = createHash('sha256');
  const chunkAt = (offset: number, length: number) => {
    const buf = new Uint8Array(length);
    const words = new Uint32Array(buf.buffer, 0, length >>> 2);
    let x = (offset / CHUNK + seed * 7919) >>> 0 || 1;
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x;
    }
    return buf;
  };
  for (let offset = 0; offset < size; offset += CHUNK) hash.update(chunkAt(offset, Math.min(CHUNK, size - offset)));
  const sha256 = hash.digest('hex');
  let offset = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= size) {
        controller.close();
        return;
      }
      const length = Math.min(CHUNK, size - offset);
      controller.enqueue(chunkAt(offset, length));
      offset += length;
    },
  });
  return { stream, sha256 };
}

let gcFunction: (() => void) | undefined;
/** A full garbage collection (exposed at run time: the test runner gives no --expose-gc). */
function gc(): void {
  if (!gcFunction) {
    v8.setFlagsFromString('--expose-gc');
    gcFunction = vm.runInNewContext('gc') as () => void;
  }
  gcFunction();
  gcFunction(); // the second completes the first one's concurrent sweep of dead array buffers
}

/** Memory held by live objects: heap plus array buffers, measured right after a full GC. */
function liveBytes(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * Runs `fn` while sampling live memory (after a forced GC, so garbage not yet collected does not
 * count); returns its result and the peak growth over the start. A sample is two full collections,
 * tens of milliseconds in a process holding an SDK: the pause after each is five times what it took,
 * so sampling costs a sixth of the CPU at most, not all of it. A driver that buffered the object
 * holds it for the whole transfer, seconds, and is seen all the same.
 */
export async function peakMemoryGrowth<T>(fn: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const start = liveBytes();
  let peak = start;
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  const sample = () => {
    const began = performance.now();
    peak = Math.max(peak, liveBytes());
    if (!done) timer = setTimeout(sample, Math.max(20, 5 * (performance.now() - began)));
  };
  timer = setTimeout(sample, 20);
  try {
    const result = await fn();
    peak = Math.max(peak, liveBytes());
    return { result, growth: peak - start };
  } finally {
    done = true;
    clearTimeout(timer);
  }
}

export async function rejectsWith(promise: Promise<unknown>, type: new (...args: never[]) => Error): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`);
    return error;
  }
  assert.fail(`expected ${type.name}, but it resolved`);
}

/** CAS increment of a decimal counter with retry on conflict; returns the number of conflicts seen. */
export async function casIncrement(store: BlobStore, key: string): Promise<number> {
  let conflicts = 0;
  for (;;) {
    const object = await store.get(key);
    try {
      if (!object) {
        await store.put(key, text('1'), { ifNoneMatch: '*' });
      } else {
        const value = Number(decode(await readAll(object.body)));
        await store.put(key, text(String(value + 1)), { ifMatch: object.etag });
      }
      return conflicts;
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      conflicts++;
      await new Promise((r) => setTimeout(r, Math.random() * 5 * Math.min(conflicts, 10)));
    }
  }
}

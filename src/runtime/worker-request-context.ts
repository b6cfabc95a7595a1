// Workers offer AsyncLocalStorage only as node:async_hooks (the nodejs_als compatibility flag in
// wrangler.toml); this file is the Worker's one exception to the core's no-node rule (biome.json).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestScope } from '../http/request-id.ts';

/**
 * The Worker's request scope: one isolate serves many requests at once, so the id of the request
 * a log line belongs to is kept across its awaits (and the waitUntil work it starts), as Node's
 * scope does, and added to every line the core writes meanwhile.
 */
const storage = new AsyncLocalStorage<Record<string, unknown>>();

export const workerRequestScope: RequestScope = {
  run: (fields, work) => storage.run(fields, work),
};

/** One JSON line per event on the Worker's log (wrangler tail), with the request's id when in one. */
export function workerLog(message: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ time: new Date().toISOString(), message, ...storage.getStore(), ...fields }));
}

import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestScope } from '../http/request-id.ts';

/**
 * Node's request scope: the fields of the request being served (its id), kept across every await
 * of its work, so jsonLog adds them to each line the core writes meanwhile without the core
 * passing them around.
 */
const storage = new AsyncLocalStorage<Record<string, unknown>>();

export const nodeRequestScope: RequestScope = {
  run: (fields, work) => storage.run(fields, work),
};

/** The current request's log fields, or none outside a request. */
export function requestLogFields(): Record<string, unknown> | undefined {
  return storage.getStore();
}

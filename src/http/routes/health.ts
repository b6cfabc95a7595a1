import { Hono } from 'hono';
import type { Core } from '../../core/core.ts';

const STORE_TIMEOUT_MS = 5000;

/**
 * Readiness for load balancers and orchestrators (`GET /api/v1/ready`): 200 when the store
 * answers a HEAD within 5 s (a missing object is an answer), 503 otherwise, so a node that cannot
 * reach its bucket is taken out of rotation instead of failing requests. Liveness is
 * `/api/v1/health`, which never touches the store: a store outage must not restart every node.
 */
export function healthRoutes(core: Pick<Core, 'caps'>): Hono {
  const app = new Hono();
  app.get('/ready', async (c) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        core.caps.store.head('_probe/ready'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${STORE_TIMEOUT_MS} ms`)), STORE_TIMEOUT_MS);
        }),
      ]);
      return c.json({ status: 'ready', storage: core.caps.store.driver });
    } catch (error) {
      const message = `the store (${core.caps.store.driver}) does not answer: ${(error as Error).message}`;
      core.caps.log('not ready', { message });
      return c.json({ status: 'error', error: 'store_unavailable', message }, 503);
    } finally {
      clearTimeout(timer);
    }
  });
  return app;
}

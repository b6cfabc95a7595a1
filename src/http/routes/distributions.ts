import { Hono } from 'hono';
import type { Core } from '../../core.ts';

/** `GET /api/v1/distributions`: what is configured and where each one stands. */
export function distributionRoutes(core: Core): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    const list = await Promise.all(
      core.distributions.all().map(async (d) => {
        const { ref } = await core.repository.currentRef(d.name);
        return { ...d, revision: ref ? { id: ref.revision, number: ref.number, updated: ref.updated } : null };
      }),
    );
    return c.json({ distributions: list });
  });
  return app;
}

import { Hono } from 'hono';
import type { Tokens } from '../../auth/tokens.ts';
import { NotFoundError, RepodError } from '../../errors.ts';
import type { Webhooks } from '../../security/webhooks/webhooks.ts';
import { requireRole } from '../auth.ts';
import { describeRoute, type OperationDoc } from '../openapi/describe.ts';

/** What the OpenAPI document (/api/v1/openapi.json) says of each route below. */
const docs = {
  post: { summary: 'Register a webhook', tags: ['Webhooks'], role: 'admin', body: { json: { type: 'object' } }, responses: { 201: 'the webhook and its secret' } },
  get: { summary: 'List webhooks', tags: ['Webhooks'], role: 'admin' },
  getId: { summary: 'One webhook', tags: ['Webhooks'], role: 'admin' },
  deleteId: { summary: 'Delete a webhook', tags: ['Webhooks'], role: 'admin' },
  getIdDeliveries: { summary: 'Recent deliveries of a webhook', tags: ['Webhooks'], role: 'admin', query: { limit: 'at most this many (1-500, default 50)' } },
} satisfies Record<string, OperationDoc>;

/** Outgoing webhooks (admin role), mounted at /api/v1/webhooks. Secrets go in and never come back out. */
export function webhookRoutes(core: { tokens: Tokens; webhooks: Webhooks }): Hono {
  const app = new Hono();

  app.post('/', describeRoute(docs.post), async (c) => {
    const principal = await requireRole(core, c, 'admin');
    const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
    const { url, events, secret } = body ?? {};
    if (typeof url !== 'string' || !Array.isArray(events) || typeof secret !== 'string') {
      throw new RepodError('invalid_request', 'the body must be JSON {"url": "https://...", "events": ["published", ...] or ["*"], "secret": "..."}', { status: 400 });
    }
    return c.json(await core.webhooks.create({ url, events, secret }, principal.subject), 201);
  });

  app.get('/', describeRoute(docs.get), async (c) => {
    await requireRole(core, c, 'admin');
    return c.json({ webhooks: await core.webhooks.list() });
  });

  app.get('/:id', describeRoute(docs.getId), async (c) => {
    await requireRole(core, c, 'admin');
    const hook = await core.webhooks.get(c.req.param('id'));
    if (!hook) throw unknown(c.req.param('id'));
    return c.json(hook);
  });

  app.delete('/:id', describeRoute(docs.deleteId), async (c) => {
    await requireRole(core, c, 'admin');
    if (!(await core.webhooks.remove(c.req.param('id')))) throw unknown(c.req.param('id'));
    return c.json({ status: 'deleted', id: c.req.param('id') });
  });

  app.get('/:id/deliveries', describeRoute(docs.getIdDeliveries), async (c) => {
    await requireRole(core, c, 'admin');
    const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 50) || 50, 1), 500);
    const deliveries = await core.webhooks.deliveries(c.req.param('id'), limit);
    if (!deliveries) throw unknown(c.req.param('id'));
    return c.json({ deliveries });
  });
  return app;
}

const unknown = (id: string) => new NotFoundError(`no webhook ${JSON.stringify(id)}`, 'unknown_webhook');

import { Hono } from 'hono';
import type { Tokens } from '../../auth/tokens.ts';
import { RepodError } from '../../errors.ts';
import type { AuditLog } from '../../security/audit-log.ts';
import { requireRole } from '../auth.ts';
import { describeRoute, type OperationDoc } from '../openapi/describe.ts';

/** What the OpenAPI document (/api/v1/openapi.json) says of each route below. */
const docs = {
  get: { summary: 'Read the audit log of writes', tags: ['Audit'], role: 'auditor' },
} satisfies Record<string, OperationDoc>;

/**
 * `GET /api/v1/audit?since=&until=&actor=&action=&limit=&cursor=&order=`: the audit log, for the
 * auditor role and above. Newest first unless `order=asc`; `next` in the answer is the `cursor`
 * of the following page (absent on the last one). `action` is a prefix (`POST`,
 * `POST /api/v1/upload`), `actor` exact, `since`/`until` ISO times or dates.
 */
export function auditRoutes(core: { tokens: Tokens; audit: AuditLog }): Hono {
  const app = new Hono();
  app.get('/', describeRoute(docs.get), async (c) => {
    await requireRole(core, c, 'auditor');
    const q = c.req.query();
    const order = q.order ?? 'desc';
    if (order !== 'asc' && order !== 'desc') throw new RepodError('invalid_request', 'order is asc or desc', { status: 400 });
    let limit: number | undefined;
    if (q.limit !== undefined) {
      limit = /^\d{1,4}$/.test(q.limit) ? Number(q.limit) : Number.NaN;
      if (!(limit >= 1 && limit <= 1000)) throw new RepodError('invalid_request', 'limit is a whole number from 1 to 1000', { status: 400 });
    }
    const page = await core.audit.query({
      ...(q.since ? { since: q.since } : {}),
      ...(q.until ? { until: q.until } : {}),
      ...(q.actor ? { actor: q.actor } : {}),
      ...(q.action ? { action: q.action } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
      ...(limit !== undefined ? { limit } : {}),
      order,
    });
    return c.json({ events: page.events, ...(page.next ? { next: page.next } : {}) });
  });
  return app;
}

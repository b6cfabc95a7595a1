import { Hono } from 'hono';
import { isRole } from '../../auth/roles.ts';
import type { Core } from '../../core/core.ts';
import { NotFoundError, RepodError } from '../../errors.ts';
import { collectGarbage } from '../../revisions/gc.ts';
import { requireRole } from '../auth.ts';
import { describeRoute, type OperationDoc } from '../openapi/describe.ts';

/** What the OpenAPI document (/api/v1/openapi.json) says of each route below. */
const docs = {
  postTokens: {
    summary: 'Create a long-lived API token (shown once)',
    tags: ['Admin'],
    role: 'admin',
    body: { json: { type: 'object' } },
    responses: { 201: 'the token, shown once' },
  },
  getTokens: { summary: 'List API tokens (never their secrets)', tags: ['Admin'], role: 'admin' },
  deleteTokensId: { summary: 'Revoke an API token', tags: ['Admin'], role: 'admin' },
  postGc: {
    summary: 'Collect garbage: delete objects no kept revision reaches',
    tags: ['Admin'],
    role: 'admin',
    body: { json: { type: 'object', properties: { dry_run: { type: 'boolean' }, keep: { type: 'integer' }, grace_seconds: { type: 'integer' } } }, required: false },
  },
  postUsers: { summary: 'Create or update a user with a role', tags: ['Admin'], role: 'admin', body: { json: { type: 'object' } }, responses: { 201: 'the user' } },
  getUsers: { summary: 'List users', tags: ['Admin'], role: 'admin' },
  deleteUsersName: { summary: 'Delete a user', tags: ['Admin'], role: 'admin' },
} satisfies Record<string, OperationDoc>;

/** Tokens and users (admin role). */
export function adminRoutes(core: Pick<Core, 'caps' | 'tokens' | 'users'>): Hono {
  const app = new Hono();

  app.post('/tokens', describeRoute(docs.postTokens), async (c) => {
    const principal = await requireRole(core, c, 'admin');
    const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
    const { name, role, expires_in } = body ?? {};
    if (typeof name !== 'string' || !name || !isRole(role) || (expires_in !== undefined && (typeof expires_in !== 'number' || expires_in <= 0))) {
      throw new RepodError('invalid_request', 'the body must be JSON {"name", "role": reader|auditor|uploader|maintainer|admin, "expires_in"?: seconds}', { status: 400 });
    }
    const { token, record, id } = await core.tokens.issue({ subject: `token:${name}`, name, role, ttlSeconds: expires_in as number | undefined });
    core.caps.log('token created', { id, name, role, by: principal.subject });
    return c.json({ token, id, name, role: record.role, created: record.created, ...(record.expires ? { expires: record.expires } : {}) }, 201);
  });
  app.get('/tokens', describeRoute(docs.getTokens), async (c) => {
    await requireRole(core, c, 'admin');
    const tokens = await core.tokens.list();
    return c.json({ tokens: tokens.map((t) => ({ id: t.id, name: t.name ?? t.subject, role: t.role, created: t.created, ...(t.expires ? { expires: t.expires } : {}) })) });
  });
  app.delete('/tokens/:id', describeRoute(docs.deleteTokensId), async (c) => {
    const principal = await requireRole(core, c, 'admin');
    if (!(await core.tokens.revoke(c.req.param('id')))) throw new NotFoundError(`no token ${c.req.param('id')}`, 'unknown_token');
    core.caps.log('token revoked', { id: c.req.param('id'), by: principal.subject });
    return c.json({ status: 'revoked', id: c.req.param('id') });
  });

  // Retention: keep the last `keep` revisions of every distribution (and every tagged one);
  // delete what none of them needs, never anything younger than the grace period.
  app.post('/gc', describeRoute(docs.postGc), async (c) => {
    const principal = await requireRole(core, c, 'admin');
    const body = (await c.req.json().catch(() => ({}))) as { dry_run?: unknown; keep?: unknown; grace_seconds?: unknown };
    const keep = body.keep === undefined ? undefined : Number(body.keep);
    const grace = body.grace_seconds === undefined ? undefined : Number(body.grace_seconds);
    if ((keep !== undefined && (!Number.isInteger(keep) || keep < 1)) || (grace !== undefined && (!Number.isFinite(grace) || grace < 0))) {
      throw new RepodError('invalid_request', 'keep is an integer >= 1 and grace_seconds a number >= 0', { status: 400 });
    }
    const report = await collectGarbage(core.caps.store, { dryRun: body.dry_run !== false, keepLast: keep, graceSeconds: grace });
    core.caps.log('gc', { by: principal.subject, dryRun: report.dryRun, deleted: report.deleted, bytesFreed: report.bytesFreed });
    return c.json(report);
  });

  app.post('/users', describeRoute(docs.postUsers), async (c) => {
    await requireRole(core, c, 'admin');
    const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
    const { username, password, role } = body ?? {};
    if (typeof username !== 'string' || typeof password !== 'string' || !isRole(role)) {
      throw new RepodError('invalid_request', 'the body must be JSON {"username", "password", "role"}', { status: 400 });
    }
    return c.json(await core.users.create(username, password, role), 201);
  });
  app.get('/users', describeRoute(docs.getUsers), async (c) => {
    await requireRole(core, c, 'admin');
    return c.json({ users: await core.users.list() });
  });
  app.delete('/users/:name', describeRoute(docs.deleteUsersName), async (c) => {
    await requireRole(core, c, 'admin');
    if (!(await core.users.remove(c.req.param('name')))) throw new NotFoundError(`no user ${c.req.param('name')}`, 'unknown_user');
    return c.json({ status: 'deleted', username: c.req.param('name') });
  });
  return app;
}

import { Hono } from 'hono';
import { isRole } from '../../auth/roles.ts';
import type { Core } from '../../core/core.ts';
import { NotFoundError, RepodError } from '../../errors.ts';
import { adminPage, tokenCreatedPage } from '../../ui/pages/admin.tsx';
import { auditPage } from '../../ui/pages/audit.tsx';
import type { UiGuards } from './ui.ts';

type AdminCore = Pick<Core, 'caps' | 'users' | 'tokens' | 'keyring' | 'audit'>;

const ALGORITHMS = ['ed25519', 'rsa4096', 'rsa3072', 'rsa2048'] as const;
const field = (fields: Record<string, unknown>, name: string) => (typeof fields[name] === 'string' ? (fields[name] as string).trim() : '');

/**
 * The UI's administration (admin role): users, API tokens (the secret shown once), signing keys
 * (rotate by adding a key, retire, re-activate); and the audit log (auditor role). The same
 * services as /api/v1/users, /api/v1/tokens, /api/v1/keys and /api/v1/audit; every POST is
 * checked for its CSRF token first, then for the role, and audited by uiRoutes' middleware.
 */
export function uiAdminRoutes(core: AdminCore, ui: UiGuards): Hono {
  const app = new Hono();

  app.get('/ui/admin', async (c) => {
    await ui.requireUiRole(c, 'admin');
    const [users, tokens, keys] = await Promise.all([core.users.list(), core.tokens.list(), core.keyring.list()]);
    return c.html(
      await adminPage(await ui.viewerOf(c), {
        users: users.map((u) => ({ username: u.username, role: u.role, created: u.created })),
        // Sign-in sessions are tokens too (without a name): the page lists the named automation tokens.
        tokens: tokens
          .filter((t) => t.name !== undefined)
          .map((t) => ({ id: t.id, name: t.name ?? t.subject, role: t.role, created: t.created, ...(t.expires ? { expires: t.expires } : {}) })),
        keys: keys.map(({ fingerprint, keyId, algorithm, created, status }) => ({ fingerprint, keyId, algorithm, created, status })),
        externalKey: core.keyring.external,
      }),
    );
  });

  app.post('/ui/admin/users', async (c) => {
    const fields = await c.req.parseBody();
    await ui.requireCsrf(c, fields);
    await ui.requireUiRole(c, 'admin');
    const role = field(fields, 'role');
    const password = typeof fields.password === 'string' ? fields.password : '';
    if (!isRole(role) || !password) throw new RepodError('invalid_request', 'a user needs a name, a password and a role', { status: 400 });
    await core.users.create(field(fields, 'username'), password, role);
    return c.redirect('/ui/admin#users', 303);
  });

  app.post('/ui/admin/users/:name/delete', async (c) => {
    const fields = await c.req.parseBody();
    await ui.requireCsrf(c, fields);
    await ui.requireUiRole(c, 'admin');
    if (!(await core.users.remove(c.req.param('name')))) throw new NotFoundError(`no user ${c.req.param('name')}`, 'unknown_user');
    return c.redirect('/ui/admin#users', 303);
  });

  app.post('/ui/admin/tokens', async (c) => {
    const fields = await c.req.parseBody();
    await ui.requireCsrf(c, fields);
    const principal = await ui.requireUiRole(c, 'admin');
    const name = field(fields, 'name');
    const role = field(fields, 'role');
    const days = field(fields, 'expires_in_days');
    if (!name || !isRole(role) || (days && !/^[1-9][0-9]{0,4}$/.test(days)))
      throw new RepodError('invalid_request', 'a token needs a name, a role, and a whole number of days to expire after (or none)', { status: 400 });
    const { token, record, id } = await core.tokens.issue({ subject: `token:${name}`, name, role, ...(days ? { ttlSeconds: Number(days) * 86_400 } : {}) });
    core.caps.log('token created', { id, name, role, by: principal.subject });
    return c.html(await tokenCreatedPage(await ui.viewerOf(c), { token, name, role: record.role, ...(record.expires ? { expires: record.expires } : {}) }), 201);
  });

  app.post('/ui/admin/tokens/:id/revoke', async (c) => {
    const fields = await c.req.parseBody();
    await ui.requireCsrf(c, fields);
    const principal = await ui.requireUiRole(c, 'admin');
    if (!(await core.tokens.revoke(c.req.param('id')))) throw new NotFoundError(`no token ${c.req.param('id')}`, 'unknown_token');
    core.caps.log('token revoked', { id: c.req.param('id'), by: principal.subject });
    return c.redirect('/ui/admin#tokens', 303);
  });

  // A rotation starts with a new key beside the old one; the old one is retired later (below).
  app.post('/ui/admin/keys/rotate', async (c) => {
    const fields = await c.req.parseBody();
    await ui.requireCsrf(c, fields);
    await ui.requireUiRole(c, 'admin');
    const algorithm = field(fields, 'algorithm') || 'ed25519';
    if (!(ALGORITHMS as readonly string[]).includes(algorithm)) throw new RepodError('invalid_request', `algorithm must be one of ${ALGORITHMS.join(', ')}`, { status: 400 });
    await core.keyring.generate(algorithm as (typeof ALGORITHMS)[number]);
    return c.redirect('/ui/admin#keys', 303);
  });

  for (const [action, status] of [
    ['retire', 'retired'],
    ['activate', 'active'],
  ] as const) {
    app.post(`/ui/admin/keys/:fingerprint/${action}`, async (c) => {
      const fields = await c.req.parseBody();
      await ui.requireCsrf(c, fields);
      await ui.requireUiRole(c, 'admin');
      await core.keyring.setStatus(c.req.param('fingerprint'), status);
      return c.redirect('/ui/admin#keys', 303);
    });
  }

  app.get('/ui/audit', async (c) => {
    await ui.requireUiRole(c, 'auditor');
    const q = c.req.query();
    const filter = { actor: (q.actor ?? '').trim(), action: (q.action ?? '').trim(), since: (q.since ?? '').trim() };
    // Writes of this very request are deferred: what the log holds so far is what it shows.
    await core.audit.flush();
    const page = await core.audit.query({
      ...(filter.actor ? { actor: filter.actor } : {}),
      ...(filter.action ? { action: filter.action } : {}),
      ...(filter.since ? { since: filter.since } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
      limit: 50,
    });
    const next = page.next ? new URLSearchParams({ ...Object.fromEntries(Object.entries(filter).filter(([, v]) => v)), cursor: page.next }).toString() : null;
    return c.html(await auditPage(await ui.viewerOf(c), { events: page.events, filter, next }));
  });

  return app;
}

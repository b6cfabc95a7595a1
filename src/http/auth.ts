import type { Context } from 'hono';
import { roleAtLeast, type Role } from '../auth/roles.ts';
import type { Principal } from '../auth/tokens.ts';
import type { Core } from '../core.ts';
import { RepodError } from '../errors.ts';

/** The caller's principal from `Authorization: Bearer <token>`; 401 without one, 403 below `role`. */
export async function requireRole(core: Core, c: Context, role: Role): Promise<Principal> {
  const header = c.req.header('authorization') ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw new RepodError('unauthorized', 'authentication required: send Authorization: Bearer <token>', { status: 401 });
  const principal = await core.tokens.verify(m[1]);
  if (!principal) throw new RepodError('unauthorized', 'invalid or expired token', { status: 401 });
  if (!roleAtLeast(principal.role, role)) {
    throw new RepodError('forbidden', `this needs the ${role} role; ${principal.subject} has ${principal.role}`, { status: 403 });
  }
  return principal;
}

import type { Context } from 'hono';
import type { Principal } from '../auth/roles.ts';
import { type Role, roleAtLeast } from '../auth/roles.ts';
import type { Core } from '../core/core.ts';
import { RepodError } from '../errors.ts';

/** The caller's principal from `Authorization: Bearer <token>`; 401 without one, 403 below `role`. */
export async function requireRole(core: Pick<Core, 'tokens'>, c: Context, role: Role): Promise<Principal> {
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

/**
 * Read access to a distribution. Public ones need nothing; a private one takes HTTP Basic (what apt's
 * auth.conf and dnf's username/password send: a user's password, or any API token as the password)
 * or a Bearer token, of at least the reader role.
 */
export async function requireReader(core: Pick<Core, 'tokens'>, c: Context, dist: { name: string; private?: boolean }): Promise<void> {
  if (!dist.private) return;
  privateReads.add(c.req.raw);
  const header = c.req.header('authorization') ?? '';
  let principal: Principal | null = null;
  const bearer = /^Bearer\s+(\S+)$/i.exec(header);
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
  if (bearer) principal = await core.tokens.verify(bearer[1]);
  else if (basic) {
    let decoded = '';
    try {
      decoded = atob(basic[1]);
    } catch {
      decoded = '';
    }
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      const user = decoded.slice(0, colon);
      const secret = decoded.slice(colon + 1);
      principal = (await core.tokens.verify(secret)) ?? (await core.tokens.authenticate(user, secret));
    }
  }
  if (!principal) {
    throw new RepodError('unauthorized', `distribution ${dist.name} is private: send HTTP Basic credentials or a Bearer token`, {
      status: 401,
      details: { realm: `repod ${dist.name}` },
    });
  }
}

/** Requests that read a private distribution: their answers must never sit in a shared cache. */
const privateReads = new WeakSet<Request>();

/**
 * Turns `public` caching into `private` on answers about private distributions: immutable files
 * are still cached for a year, but only by the client that was allowed to read them, never by
 * nginx, a CDN or the Worker's cache in front of repod, which would hand them to anyone.
 */
export async function keepPrivateAnswersPrivate(c: Context, next: () => Promise<void>): Promise<void> {
  await next();
  if (!privateReads.has(c.req.raw)) return;
  const cacheControl = c.res.headers.get('cache-control');
  if (cacheControl?.startsWith('public')) c.res.headers.set('cache-control', `private${cacheControl.slice('public'.length)}`);
}

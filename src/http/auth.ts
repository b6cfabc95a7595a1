import type { Context } from 'hono';
import type { Lockout } from '../auth/lockout.ts';
import type { SignInRateLimiter } from '../auth/rate-limit.ts';
import type { Principal } from '../auth/roles.ts';
import { type Role, roleAtLeast } from '../auth/roles.ts';
import type { Core } from '../core/core.ts';
import { RepodError } from '../errors.ts';
import type { AuditLog } from '../security/audit-log.ts';
import { addressOf } from './client-address.ts';

/**
 * What guards sign-in with a password (`POST /api/v1/auth/token` and HTTP Basic on private
 * distributions). Each is optional so the routes work without them (tests of other parts);
 * the composition root wires all three.
 */
export interface SignInServices {
  /** Locks an account or an address after repeated failures (in the store: fleet-wide). */
  lockout?: Lockout;
  /** Sign-in attempts per address per minute, on `POST /api/v1/auth/token` (per process). */
  signInLimiter?: SignInRateLimiter;
  /** Where failed sign-ins are recorded. */
  audit?: AuditLog;
}

/** What this request is known to act for, once requireRole, requireReader or signIn found out. */
const principals = new WeakMap<Request, Principal>();
/** The user name a sign-in tried, for the audit of a request that ends with no principal. */
const attemptedUsers = new WeakMap<Request, string>();
/** Called once a request's principal is known (the API rate limit hooks in here; it may throw). */
const authenticatedHooks = new WeakMap<Request, (principal: Principal) => void>();
/** What HTTP Basic credentials came to, per request. */
const basicOutcomes = new WeakMap<Request, Promise<Principal | null>>();
/** Requests the audit middleware records when they end: sign-in need not record them itself. */
const auditedRequests = new WeakSet<Request>();

export function principalOf(c: Context): Principal | undefined {
  return principals.get(c.req.raw);
}

/** Who the audit log names for a request: its principal, else the user a sign-in tried, else anonymous. */
export function actorOf(c: Context): { actor: string; role?: Role } {
  const principal = principals.get(c.req.raw);
  if (principal) return { actor: principal.subject, role: principal.role };
  return { actor: attemptedUsers.get(c.req.raw) ?? 'anonymous' };
}

/** Runs `hook` when requireRole has found the request's principal, before its role is checked. */
export function whenAuthenticated(c: Context, hook: (principal: Principal) => void): void {
  authenticatedHooks.set(c.req.raw, hook);
}

/** Marks a request the audit middleware records on its way out. */
export function auditedOnExit(c: Context): void {
  auditedRequests.add(c.req.raw);
}

function remember(c: Context, principal: Principal): void {
  principals.set(c.req.raw, principal);
  authenticatedHooks.get(c.req.raw)?.(principal);
}

/** The caller's principal from `Authorization: Bearer <token>`; 401 without one, 403 below `role`. */
export async function requireRole(core: Pick<Core, 'tokens'>, c: Context, role: Role): Promise<Principal> {
  const header = c.req.header('authorization') ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw new RepodError('unauthorized', 'authentication required: send Authorization: Bearer <token>', { status: 401 });
  const principal = await core.tokens.verify(m[1]);
  if (!principal) throw new RepodError('unauthorized', 'invalid or expired token', { status: 401 });
  remember(c, principal);
  if (!roleAtLeast(principal.role, role)) {
    throw new RepodError('forbidden', `this needs the ${role} role; ${principal.subject} has ${principal.role}`, { status: 403 });
  }
  return principal;
}

/**
 * Checks a user name and password behind the sign-in guards: the attempt limit per address
 * (when `limitAttempts`), then the lockout of the account and of the address, then the password.
 * A wrong password counts against both and answers null; a refusal by a guard throws 429 with
 * Retry-After, before the password is looked at, so even the right one is refused while locked.
 * Every failure is audited with the user name that was tried.
 */
export async function signIn(
  core: Pick<Core, 'tokens'> & SignInServices,
  c: Context,
  username: string,
  password: string,
  options: { limitAttempts: boolean },
): Promise<Principal | null> {
  const address = addressOf(c);
  attemptedUsers.set(c.req.raw, username);
  const refuse = (error: RepodError, retryAfterSeconds: number): never => {
    c.header('retry-after', String(retryAfterSeconds));
    auditFailure(core, c, username, address, error.status);
    throw error;
  };
  if (options.limitAttempts && core.signInLimiter) {
    const decision = core.signInLimiter.take(address);
    if (!decision.allowed) {
      refuse(
        new RepodError('too_many_sign_ins', `too many sign-in attempts from this address (at most ${decision.limit} a minute): try again in ${decision.resetSeconds} s`, {
          status: 429,
          details: { retry_after: decision.resetSeconds },
        }),
        decision.resetSeconds,
      );
    }
  }
  if (core.lockout) {
    const state = await core.lockout.check(username, address);
    if (state.locked) {
      const what = state.scope === 'account' ? `account ${username}` : 'this address';
      refuse(
        new RepodError(`${state.scope}_locked`, `sign-in for ${what} is locked after repeated failed attempts: try again in ${state.retryAfterSeconds} s`, {
          status: 429,
          details: { scope: state.scope, retry_after: state.retryAfterSeconds },
        }),
        state.retryAfterSeconds,
      );
    }
  }
  const principal = await core.tokens.authenticate(username, password);
  if (!principal) {
    await core.lockout?.failure(username, address);
    auditFailure(core, c, username, address, 401);
    return null;
  }
  await core.lockout?.success(username);
  principals.set(c.req.raw, principal);
  return principal;
}

/** Records a failed sign-in, unless the audit middleware will record the whole request anyway. */
function auditFailure(core: SignInServices, c: Context, username: string, address: string, status: number): void {
  if (!core.audit || auditedRequests.has(c.req.raw)) return;
  core.audit.record({ actor: username, action: `${c.req.method} ${c.req.path}`, status, address, target: 'sign-in' }, { defer: waitUntilOf(c) });
}

/** The request's waitUntil where the runtime has one (Workers), so a deferred write outlives the response. */
export function waitUntilOf(c: Context): ((p: Promise<unknown>) => void) | undefined {
  try {
    const ctx = c.executionCtx;
    return (p) => ctx.waitUntil(p);
  } catch {
    return undefined; // Node: no execution context, and none needed
  }
}

/**
 * Read access to a distribution. Public ones need nothing; a private one takes HTTP Basic (what apt's
 * auth.conf and dnf's username/password send: a user's password, or any API token as the password)
 * or a Bearer token, of at least the reader role. A password goes through signIn's lockout, not its
 * attempt limit: apt and dnf send the credentials again with every file of an update.
 */
export async function requireReader(core: Pick<Core, 'tokens'> & SignInServices, c: Context, dist: { name: string; private?: boolean }): Promise<void> {
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
      // One answer per request, however many private distributions it concerns: one wrong password is one failure.
      let outcome = basicOutcomes.get(c.req.raw);
      if (!outcome) {
        // An API token as the password is not a guess at a password: no lockout for it.
        outcome = (async () => (await core.tokens.verify(secret)) ?? (await signIn(core, c, user, secret, { limitAttempts: false })))();
        basicOutcomes.set(c.req.raw, outcome);
      }
      principal = await outcome;
    }
  }
  if (principal) principals.set(c.req.raw, principal);
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

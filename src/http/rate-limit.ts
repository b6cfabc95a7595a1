import type { MiddlewareHandler } from 'hono';
import type { RateDecision, RateLimiter } from '../auth/rate-limit.ts';
import { RepodError } from '../errors.ts';
import { whenAuthenticated } from './auth.ts';

/**
 * The API budget of each principal (auth/rate-limit.ts), spent when requireRole has found who is
 * asking: the principal is only known there, and nothing is spent for requests that never
 * authenticate (health, sign-in, upload parts carrying their session's secret). Every answer to
 * a counted request says the budget: `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
 * `X-RateLimit-Reset` (seconds until the window restarts, like Retry-After); past the limit the
 * answer is 429 with `Retry-After`. Mount on `/api/*` and the upload paths, never on /repos: what
 * dnf and apt fetch is not limited.
 */
export function rateLimitMiddleware(limiter: RateLimiter): MiddlewareHandler {
  return async (c, next) => {
    let decision: RateDecision | null = null;
    whenAuthenticated(c, (principal) => {
      const taken = limiter.take(principal.subject, principal.role);
      if (taken.limit === Number.POSITIVE_INFINITY) return;
      decision = taken;
      if (!taken.allowed) {
        throw new RepodError(
          'rate_limited',
          `${principal.subject} made more than ${taken.limit} API requests in this window (role ${principal.role}): try again in ${taken.resetSeconds} s`,
          {
            status: 429,
            details: { limit: taken.limit, retry_after: taken.resetSeconds },
          },
        );
      }
    });
    await next();
    const d = decision as RateDecision | null;
    if (!d) return;
    const budget: Array<[string, string]> = [
      ['x-ratelimit-limit', String(d.limit)],
      ['x-ratelimit-remaining', String(d.remaining)],
      ['x-ratelimit-reset', String(d.resetSeconds)],
    ];
    if (!d.allowed) budget.push(['retry-after', String(d.resetSeconds)]);
    try {
      for (const [k, v] of budget) c.res.headers.set(k, v);
    } catch {
      // Some responses (Response.redirect, a fetched one) have immutable headers: answer a copy.
      const copy = new Response(c.res.body, c.res);
      for (const [k, v] of budget) copy.headers.set(k, v);
      c.res = copy;
    }
  };
}

import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { RepodMetrics } from './repod-metrics.ts';

/** Requests no route matched (answered by the not-found handler): one label, whatever the path. */
const unmatched = new WeakSet<Request>();

export function markUnmatched(c: Context): void {
  unmatched.add(c.req.raw);
}

/**
 * The route pattern that answered (`/repos/:dist/:arch/repodata/:name`), never the raw path, so
 * the number of series stays bounded whatever clients ask for. A request a middleware answered
 * (a rate limit) is labelled with that middleware's pattern.
 */
export function routeLabel(c: Context): string {
  if (unmatched.has(c.req.raw)) return 'unmatched';
  return matchedRoutes(c)[c.req.routeIndex]?.path ?? 'unmatched';
}

/** Counts and times every request by method, route and status. */
export function measureRequests(metrics: RepodMetrics, onDone?: (c: Context, route: string, ms: number) => void): MiddlewareHandler {
  return async (c, next) => {
    const started = metrics.now();
    await next();
    const ms = metrics.now() - started;
    const route = routeLabel(c);
    // HEAD is answered by the GET routes; keep it apart since clients (zypper) probe with it.
    metrics.httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
    metrics.httpDuration.observe({ method: c.req.method, route }, ms / 1000);
    onDone?.(c, route, ms);
  };
}

/**
 * An upload's outcome from its answer, whose status codes are the API's contract (DESIGN.md):
 * 201 published, 202 held for review, 200 already there, 409 duplicate, 422 refused.
 */
export function ingestOutcome(status: number): string {
  if (status === 201) return 'published';
  if (status === 202) return 'pending_review';
  if (status === 200) return 'unchanged';
  if (status === 409) return 'duplicate';
  if (status === 422) return 'rejected';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status >= 500) return 'error';
  return 'invalid';
}

/** Counts the outcome of every package upload (one package per request: the upload routes and the completion of an upload in parts). */
export function measureIngest(metrics: RepodMetrics): MiddlewareHandler {
  return async (c, next) => {
    await next();
    if (c.req.method === 'POST') metrics.ingest.inc({ outcome: ingestOutcome(c.res.status) });
  };
}

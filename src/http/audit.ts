import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AuditLog } from '../security/audit-log.ts';
import { actorOf, auditedOnExit, waitUntilOf } from './auth.ts';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Route parameters that name what a write is about, in the order a target lists them. */
const TARGET_PARAMS = ['dist', 'name', 'tag', 'id', 'number', 'fingerprint'];

const targets = new WeakMap<Request, string>();

/**
 * Lets a route name what its write was about when the path does not say it (an upload's
 * distribution and package are in its body): `rocky9/hello-2.0-1.x86_64`.
 */
export function noteAuditTarget(c: Context, target: string): void {
  targets.set(c.req.raw, target);
}

/**
 * Records every write (any method but GET, HEAD and OPTIONS) once it has been answered: who (the
 * principal requireRole found, or the user a sign-in tried), what (method and route, and a
 * target), the status, and the client address. Mount it on `/api/*` and the upload paths. The
 * event is written after the handler produced its response, without waiting for the store.
 */
export function auditMiddleware(audit: AuditLog, options: { clientAddress: (c: Context) => string }): MiddlewareHandler {
  return async (c, next) => {
    if (READS.has(c.req.method)) return next();
    auditedOnExit(c);
    try {
      await next();
    } finally {
      // A handler that threw past hono's error handler has no response yet: record it as a failure.
      const status = c.finalized ? c.res.status : 500;
      const route = routePath(c);
      const pattern = route && !route.endsWith('*') ? route : c.req.path;
      audit.record(
        {
          ...actorOf(c),
          action: `${c.req.method} ${pattern}`,
          path: c.req.path,
          ...targetOf(c),
          status,
          address: options.clientAddress(c),
        },
        { defer: waitUntilOf(c) },
      );
    }
  };
}

function targetOf(c: Context): { target?: string } {
  const noted = targets.get(c.req.raw);
  if (noted) return { target: noted };
  let params: Record<string, string> = {};
  try {
    params = c.req.param() as Record<string, string>;
  } catch {
    params = {};
  }
  const parts = TARGET_PARAMS.filter((k) => params[k]).map((k) => params[k]);
  const distribution = c.req.query('distribution');
  if (parts.length === 0 && distribution) parts.push(distribution);
  return parts.length > 0 ? { target: parts.join('/') } : {};
}

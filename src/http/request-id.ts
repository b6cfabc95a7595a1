import type { Context, MiddlewareHandler } from 'hono';

/**
 * Every request gets an id: the caller's `X-Request-ID` when it is a sane token (a proxy's or a
 * client's, so one id follows a request across hops), otherwise a new random one. It is echoed
 * in the response's `X-Request-ID` and carried by every log line written while the request runs.
 */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Letters, digits and `._:+=@/-`, at most 128: enough for UUIDs, trace ids and base64url, nothing that breaks a log line. */
const VALID_ID = /^[A-Za-z0-9][A-Za-z0-9._:+=@/-]{0,127}$/;

/**
 * Runs a request's work with fields every log line written during it carries. Node keeps them in
 * an AsyncLocalStorage (src/runtime/node-request-context.ts); without one only the lines the HTTP
 * layer writes itself (access log, errors) carry the id.
 */
export interface RequestScope {
  run<T>(fields: Record<string, unknown>, work: () => Promise<T>): Promise<T>;
}

const ids = new WeakMap<Request, string>();

/** This request's id (set by requestIdMiddleware). */
export function requestIdOf(c: Context): string | undefined {
  return ids.get(c.req.raw);
}

export function acceptedRequestId(value: string | undefined): string | null {
  return value !== undefined && VALID_ID.test(value) ? value : null;
}

/**
 * New ids: a random prefix per process and a counter, so a request costs no random bytes (they
 * showed in profiles of the hottest answers). Ids stay unique across a fleet by their prefix; they
 * name requests in logs and are not secrets.
 */
export function requestIdMaker(randomId: () => string): () => string {
  // 16 random characters and a 6-digit base-36 counter: 22 characters, as long as a random id.
  const LIMIT = 36 ** 6;
  let prefix = '';
  let next = LIMIT;
  return () => {
    if (next === LIMIT) {
      prefix = randomId().slice(0, 16);
      next = 0;
    }
    return prefix + (next++).toString(36).padStart(6, '0');
  };
}

export function requestIdMiddleware(randomId: () => string, scope?: RequestScope): MiddlewareHandler {
  const newId = requestIdMaker(randomId);
  return async (c, next) => {
    const id = acceptedRequestId(c.req.header(REQUEST_ID_HEADER)) ?? newId();
    ids.set(c.req.raw, id);
    if (scope) await scope.run({ requestId: id }, () => next());
    else await next();
    try {
      c.res.headers.set(REQUEST_ID_HEADER, id);
    } catch {
      // Headers of a response made elsewhere can be immutable: answer a copy.
      c.res = new Response(c.res.body, c.res);
      c.res.headers.set(REQUEST_ID_HEADER, id);
    }
  };
}

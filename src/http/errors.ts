import type { Context } from 'hono';
import { RepodError } from '../errors.ts';

/** Every error leaves the server as JSON naming the problem; only unexpected ones are logged. */
export function errorBody(error: RepodError): Record<string, unknown> {
  return { status: 'error', error: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
}

export function handleError(error: Error, c: Context, log: (m: string, f?: Record<string, unknown>) => void): Response {
  if (error instanceof RepodError) {
    if (error.status >= 500) log('request failed', { path: c.req.path, code: error.code, message: error.message, cause: String(error.cause ?? '') });
    const response = c.json(errorBody(error), error.status as 400);
    // A 401 on a private repository asks for credentials the way apt and dnf expect.
    if (error.status === 401 && typeof error.details?.realm === 'string') response.headers.set('www-authenticate', `Basic realm="${error.details.realm}"`);
    return response;
  }
  log('unexpected error', { path: c.req.path, message: error.message, stack: error.stack });
  return c.json({ status: 'error', error: 'internal_error', message: 'internal server error' }, 500);
}

export function notFound(c: Context): Response {
  return c.json({ status: 'error', error: 'not_found', message: `no such path: ${c.req.path}` }, 404);
}

import { type Context, Hono } from 'hono';
import type { Session } from '../../auth/tokens.ts';
import type { Core } from '../../core/core.ts';
import { RepodError } from '../../errors.ts';
import { requireRole, type SignInServices, signIn } from '../auth.ts';
import { describeRoute, type OperationDoc } from '../openapi/describe.ts';

/** What the OpenAPI document (/api/v1/openapi.json) says of each route below. */
const docs = {
  postToken: {
    summary: 'Sign in with a user name and password (Repod-compatible)',
    tags: ['Auth'],
    body: {
      json: { type: 'object', required: ['username', 'password'], properties: { username: { type: 'string' }, password: { type: 'string' } } },
      multipart: { username: 'string', password: 'string' },
    },
    responses: {
      200: {
        description: 'access_token, token_type, expires_in, refresh_token',
        schema: {
          type: 'object',
          required: ['access_token', 'token_type'],
          properties: { access_token: { type: 'string' }, token_type: { type: 'string' }, expires_in: { type: 'integer' }, refresh_token: { type: 'string' } },
        },
      },
      429: 'too many attempts, or locked (Retry-After)',
    },
  },
  postRefresh: {
    summary: "Rotate a session's tokens with its refresh token",
    tags: ['Auth'],
    body: { json: { type: 'object', required: ['refresh_token'], properties: { refresh_token: { type: 'string' } } } },
  },
  postLogout: { summary: 'End the session of the bearer token', tags: ['Auth'], role: 'reader' },
} satisfies Record<string, OperationDoc>;

/**
 * Sign-in, Repod-compatible: `POST /api/v1/auth/token` with {username, password} as JSON or form
 * fields answers `{access_token, token_type, expires_in}` (plus a `refresh_token`, which Repod's
 * clients ignore). Behind the sign-in guards: 10 attempts a minute per address, lockout after
 * repeated failures (429 with Retry-After).
 *
 * `POST /api/v1/auth/refresh` {refresh_token} rotates a session's tokens; `POST /api/v1/auth/logout`
 * with the bearer token ends its session.
 */
export function authRoutes(core: Pick<Core, 'tokens'> & SignInServices): Hono {
  const app = new Hono();
  app.post('/token', describeRoute(docs.postToken), async (c) => {
    const fields = await readFields(c, 'username and password');
    const { username, password } = fields;
    if (typeof username !== 'string' || typeof password !== 'string') {
      throw new RepodError('invalid_request', 'username and password are required', { status: 400 });
    }
    const principal = await signIn(core, c, username, password, { limitAttempts: true });
    if (!principal) throw new RepodError('invalid_credentials', 'invalid username or password', { status: 401 });
    return c.json(answer(await core.tokens.startSession(principal)));
  });

  app.post('/refresh', describeRoute(docs.postRefresh), async (c) => {
    const { refresh_token: refreshToken } = await readFields(c, 'refresh_token');
    if (typeof refreshToken !== 'string' || !refreshToken) throw new RepodError('invalid_request', 'refresh_token is required', { status: 400 });
    return c.json(answer(await core.tokens.refresh(refreshToken)));
  });

  app.post('/logout', describeRoute(docs.postLogout), async (c) => {
    await requireRole(core, c, 'reader');
    const token = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')![1];
    const { id } = await core.tokens.logout(token);
    return c.json({ status: 'logged_out', token_id: id });
  });
  return app;
}

async function readFields(c: Context, what: string): Promise<Record<string, unknown>> {
  const type = c.req.header('content-type') ?? '';
  try {
    const fields = type.includes('application/json') ? await c.req.json() : await c.req.parseBody();
    if (typeof fields !== 'object' || fields === null) throw new TypeError('not an object');
    return fields as Record<string, unknown>;
  } catch {
    throw new RepodError('invalid_request', `the body must be JSON or form fields with ${what}`, { status: 400 });
  }
}

function answer(session: Session) {
  return {
    access_token: session.token,
    token_type: 'bearer',
    expires_in: session.expiresIn,
    refresh_token: session.refreshToken,
    refresh_expires_in: session.refreshExpiresIn,
  };
}

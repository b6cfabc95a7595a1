import { Hono } from 'hono';
import type { Core } from '../../core/core.ts';
import { RepodError } from '../../errors.ts';

/** `POST /api/v1/auth/token` with {username, password} as JSON or form fields (Repod-compatible). */
export function authRoutes(core: Pick<Core, 'tokens'>): Hono {
  const app = new Hono();
  app.post('/token', async (c) => {
    const type = c.req.header('content-type') ?? '';
    let fields: Record<string, unknown> = {};
    try {
      if (type.includes('application/json')) fields = (await c.req.json()) as Record<string, unknown>;
      else fields = (await c.req.parseBody()) as Record<string, unknown>;
    } catch {
      throw new RepodError('invalid_request', 'the body must be JSON or form fields with username and password', { status: 400 });
    }
    const { username, password } = fields;
    if (typeof username !== 'string' || typeof password !== 'string') {
      throw new RepodError('invalid_request', 'username and password are required', { status: 400 });
    }
    const { token, expiresIn } = await core.tokens.login(username, password);
    return c.json({ access_token: token, token_type: 'bearer', expires_in: expiresIn });
  });
  return app;
}

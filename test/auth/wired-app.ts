/**
 * The sign-in guards, the API rate limit and the audit log wired around the real app the way the
 * composition root wires them (see the report of this part), over a real file store. Shared by
 * the in-process tests and by the server entry of the two-process test.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { Lockout, type LockoutOptions } from '../../src/auth/lockout.ts';
import { parseRateLimits, RateLimiter, SignInRateLimiter } from '../../src/auth/rate-limit.ts';
import type { Core } from '../../src/core/core.ts';
import { createApp } from '../../src/http/app.ts';
import { requireReader, type SignInServices } from '../../src/http/auth.ts';
import { clientAddresses } from '../../src/http/client-address.ts';
import { handleError } from '../../src/http/errors.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';
import { AuditLog } from '../../src/security/audit-log.ts';

export const ADMIN_TOKEN = 'sign-in-abuse-admin-token-0123456789';
export const ADMIN_PASSWORD = 'correct horse battery staple';

export interface WiredOptions {
  storage?: string;
  lockout?: LockoutOptions;
  signInAttempts?: number;
  rateLimits?: string;
  trustProxy?: boolean;
  accessTtlSeconds?: number;
}

export type WiredCore = Core & Required<SignInServices> & { audit: AuditLog; apiLimiter: RateLimiter };

export async function wiredApp(options: WiredOptions = {}): Promise<{ app: Hono; core: WiredCore; storage: string }> {
  const storage = options.storage ?? `file:${await mkdtemp(join(tmpdir(), 'repod-abuse-'))}`;
  const quiet = () => undefined;
  const { core: base } = await buildNodeCore({ REPOD_STORAGE: storage, REPOD_ADMIN_TOKEN: ADMIN_TOKEN, REPOD_ADMIN_PASSWORD: ADMIN_PASSWORD }, quiet);
  if (options.accessTtlSeconds) await base.tokens.configure({ adminToken: ADMIN_TOKEN, adminPassword: ADMIN_PASSWORD, accessTtlSeconds: options.accessTtlSeconds });
  const now = () => base.caps.now().getTime();
  const core: WiredCore = {
    ...base,
    lockout: new Lockout(base.caps, options.lockout),
    signInLimiter: new SignInRateLimiter({ attempts: options.signInAttempts ?? 10 }, now),
    audit: new AuditLog(base.caps),
    apiLimiter: new RateLimiter({ limits: parseRateLimits(options.rateLimits) }, now),
  };
  const app = new Hono({ strict: true });
  app.onError((error, c) => handleError(error, c, quiet));
  // A private distribution's file, as the repo routes guard it (before the app, which answers 404 for unknown paths).
  app.use(clientAddresses({ trustProxy: options.trustProxy }));
  app.get('/private/:dist/file', async (c) => {
    await requireReader(core, c, { name: c.req.param('dist'), private: true });
    return c.text('secret file');
  });
  app.route('/', createApp(core, { trustProxy: options.trustProxy }));
  return { app, core, storage };
}

import { Hono } from 'hono';
import type { Core } from '../core/core.ts';
import { auditMiddleware } from './audit.ts';
import { keepPrivateAnswersPrivate } from './auth.ts';
import { addressOf, clientAddresses } from './client-address.ts';
import { handleError, notFound } from './errors.ts';
import { rateLimitMiddleware } from './rate-limit.ts';
import { adminRoutes } from './routes/admin.ts';
import { aptRepoRoutes } from './routes/apt-repos.ts';
import { auditRoutes } from './routes/audit.ts';
import { authRoutes } from './routes/auth.ts';
import { clientSetupRoutes } from './routes/client-setup.ts';
import { distributionRoutes } from './routes/distributions.ts';
import { healthRoutes } from './routes/health.ts';
import { historyRoutes } from './routes/history.ts';
import { importRoutes, importShortRoutes } from './routes/import.ts';
import { importPackageRoutes } from './routes/import-packages.ts';
import { keyApiRoutes, keyRoutes } from './routes/keys.ts';
import { packageRoutes } from './routes/packages.ts';
import { rpmRepoRoutes } from './routes/rpm-repos.ts';
import { securityRoutes } from './routes/security.ts';
import { uploadRoutes } from './routes/upload.ts';
import { uploadsRoutes } from './routes/uploads.ts';
import { webhookRoutes } from './routes/webhooks.ts';

/** The whole HTTP surface, runtime-neutral: Node and Workers entries only hand it requests. */
export function createApp(core: Core, options: { accessLog?: boolean; trustProxy?: boolean } = {}): Hono {
  const app = new Hono({ strict: true });
  if (options.accessLog) {
    app.use(async (c, next) => {
      const started = Date.now();
      await next();
      core.caps.log('request', { method: c.req.method, path: c.req.path, status: c.res.status, ms: Date.now() - started });
    });
  }
  app.use(keepPrivateAnswersPrivate);
  app.use(clientAddresses({ trustProxy: options.trustProxy }));
  // Every write is audited with its outcome, and API calls are counted per principal (client GETs of /repos never are).
  for (const path of ['/api/*', '/upload', '/upload/*', '/import/*']) {
    app.use(path, auditMiddleware(core.audit, { clientAddress: addressOf }));
    app.use(path, rateLimitMiddleware(core.apiLimiter));
  }
  app.onError((error, c) => handleError(error, c, core.caps.log));
  app.notFound(notFound);
  app.get('/api/v1/health', (c) => c.json({ status: 'ok' }));
  app.route('/api/v1', healthRoutes(core));
  app.route('/api/v1/auth', authRoutes(core));
  app.route('/api/v1/distributions', distributionRoutes(core));
  app.route('/api/v1/distributions', historyRoutes(core));
  app.route('/api/v1', adminRoutes(core));
  app.route('/api/v1/packages', packageRoutes(core));
  app.route('/', uploadRoutes(core));
  app.route('/api/v1/uploads', uploadsRoutes(core));
  app.route('/api/v1/security', securityRoutes(core));
  app.route('/api/v1/webhooks', webhookRoutes(core));
  app.route('/api/v1/audit', auditRoutes(core));
  app.route('/', importPackageRoutes(core));
  app.route('/api/v1/import', importRoutes(core));
  app.route('/import', importShortRoutes(core));
  app.route('/repos', keyRoutes(core));
  app.route('/repos', clientSetupRoutes(core));
  app.route('/api/v1/keys', keyApiRoutes(core));
  const rpm = rpmRepoRoutes(core);
  const apt = aptRepoRoutes(core);
  app.route('/repos', apt.repos);
  app.route('/repos', rpm.repos);
  app.route('/hashed', rpm.hashed);
  // APT first: /revisions/<dist>/<id>/dists/... would otherwise look like an RPM arch named "dists".
  app.route('/revisions', apt.revisions);
  app.route('/revisions', rpm.revisions);
  app.route('/tags', apt.tags);
  app.route('/tags', rpm.tags);
  return app;
}

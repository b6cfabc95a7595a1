import { Hono } from 'hono';
import type { Core } from '../core/core.ts';
import { markUnmatched, measureIngest, measureRequests } from '../metrics/http-metrics.ts';
import { auditMiddleware } from './audit.ts';
import { keepPrivateAnswersPrivate } from './auth.ts';
import { addressOf, clientAddresses } from './client-address.ts';
import { handleError, notFound } from './errors.ts';
import { describeRoute } from './openapi/describe.ts';
import { rateLimitMiddleware } from './rate-limit.ts';
import { type RequestScope, requestIdMiddleware, requestIdOf } from './request-id.ts';
import { adminRoutes } from './routes/admin.ts';
import { apiDocsRoutes } from './routes/api-docs.ts';
import { aptRepoRoutes } from './routes/apt-repos.ts';
import { auditRoutes } from './routes/audit.ts';
import { authRoutes } from './routes/auth.ts';
import { clientSetupRoutes } from './routes/client-setup.ts';
import { composeDocumentRoutes } from './routes/compose-documents.ts';
import { distRepoRoutes } from './routes/dist-repo.ts';
import { distributionRoutes } from './routes/distributions.ts';
import { healthRoutes, probeRoutes } from './routes/health.ts';
import { historyRoutes } from './routes/history.ts';
import { importRoutes, importShortRoutes } from './routes/import.ts';
import { importPackageRoutes } from './routes/import-packages.ts';
import { keyApiRoutes, keyRoutes } from './routes/keys.ts';
import { type MetricsOptions, metricsRoutes } from './routes/metrics.ts';
import { packageRoutes } from './routes/packages.ts';
import { rpmRepoRoutes } from './routes/rpm-repos.ts';
import { securityRoutes } from './routes/security.ts';
import { uiRoutes } from './routes/ui.ts';
import { uploadRoutes } from './routes/upload.ts';
import { uploadsRoutes } from './routes/uploads.ts';
import { webhookRoutes } from './routes/webhooks.ts';

export interface AppOptions {
  /** One JSON line per request (REPOD_ACCESS_LOG=1). */
  accessLog?: boolean;
  trustProxy?: boolean;
  /** Where the runtime keeps a request's log fields (its id) for every line logged during it. */
  requestScope?: RequestScope;
  /** REPOD_METRICS_TOKEN, and how a cluster's processes are summed for /metrics. */
  metrics?: MetricsOptions;
}

/** Answered without the distributions: they never wait for the stored set to be re-read. */
const PROBES = /^\/(?:health(?:\/|$)|metrics$|api\/v1\/(?:health|ready)$)/;
/** How long a request waits at most for the stored distributions to be re-read (a runtime's own fast path waits the same). */
export const REFRESH_WAIT_MS = 2000;

/** The whole HTTP surface, runtime-neutral: Node and Workers entries only hand it requests. */
export function createApp(core: Core, options: AppOptions = {}): Hono {
  const app = new Hono({ strict: true });
  // First: the request id is known to everything after, and every request is measured.
  app.use(requestIdMiddleware(core.caps.randomId, options.requestScope));
  app.use(
    measureRequests(core.metrics, (c, route, ms) => {
      if (options.accessLog) core.caps.log('request', { requestId: requestIdOf(c), method: c.req.method, path: c.req.path, route, status: c.res.status, ms });
    }),
  );
  // Distributions are edited on any server of a fleet: every request sees the set as of at most
  // REPOD_REF_TTL_MS ago (one HEAD of the stored set when that has passed). A slow store delays a
  // request by at most REFRESH_WAIT_MS; probes and /metrics never wait on it.
  app.use(async (c, next) => {
    if (!PROBES.test(c.req.path)) await core.distributions.refresh({ waitMs: REFRESH_WAIT_MS });
    await next();
  });
  app.use(keepPrivateAnswersPrivate);
  app.use(clientAddresses({ trustProxy: options.trustProxy }));
  // Every write is audited with its outcome, and API calls are counted per principal (client GETs of /repos never are).
  for (const path of ['/api/*', '/upload', '/upload/*', '/import/*']) {
    app.use(path, auditMiddleware(core.audit, { clientAddress: addressOf }));
    app.use(path, rateLimitMiddleware(core.apiLimiter));
  }
  // Package uploads are counted by outcome (the statuses of their answers are the API's contract).
  for (const path of ['/api/v1/upload', '/api/v1/upload/', '/upload', '/upload/', '/api/v1/uploads/:id/complete']) app.use(path, measureIngest(core.metrics));
  app.onError((error, c) => handleError(error, c, (message, fields) => core.caps.log(message, { requestId: requestIdOf(c), ...fields })));
  app.notFound((c) => {
    markUnmatched(c);
    return notFound(c);
  });
  app.get('/api/v1/health', describeRoute({ summary: 'Liveness (never touches the store)', tags: ['Health'] }), (c) => c.json({ status: 'ok' }));
  app.route('/', probeRoutes(core));
  app.route('/', metricsRoutes(core, options.metrics));
  app.route(
    '/',
    apiDocsRoutes(() => app.routes),
  );
  app.route('/api/v1', healthRoutes(core));
  app.route('/api/v1/auth', authRoutes(core));
  app.route('/api/v1/distributions', distributionRoutes(core));
  app.route('/api/v1/distributions', historyRoutes(core));
  app.route('/api/v1/distributions', composeDocumentRoutes(core));
  app.route('/api/v1/distributions', distRepoRoutes(core));
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
  // The web UI: `/` and `/ui/...` (server-rendered pages; see src/ui).
  app.route('/', uiRoutes(core));
  return app;
}

import { Hono } from 'hono';
import type { Core } from '../../core/core.ts';
import { describeRoute } from '../openapi/describe.ts';

const STORE_TIMEOUT_MS = 5000;
/** A store slower than this still answers, but the server is degraded (clients will feel it). */
const SLOW_STORE_MS = 1000;

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface CheckResult {
  status: HealthStatus;
  latency_ms: number;
  message?: string;
  [detail: string]: unknown;
}

type HealthCore = Pick<Core, 'caps' | 'keyring'>;

/** `work` within `ms`, or a rejection naming the wait. */
async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The store answers a HEAD (a missing object is an answer). */
async function storeCheck(core: HealthCore): Promise<CheckResult> {
  const started = Date.now();
  const driver = core.caps.store.driver;
  try {
    await within(STORE_TIMEOUT_MS, core.caps.store.head('_probe/ready'));
    const latency = Date.now() - started;
    if (latency > SLOW_STORE_MS) return { status: 'degraded', latency_ms: latency, driver, message: `the store answered in ${latency} ms` };
    return { status: 'healthy', latency_ms: latency, driver };
  } catch (error) {
    return { status: 'unhealthy', latency_ms: Date.now() - started, driver, message: `the store (${driver}) does not answer: ${(error as Error).message}` };
  }
}

/** The keyring is loaded: metadata can be signed, so clients with repo_gpgcheck can use what this server answers. */
async function keyringCheck(core: HealthCore): Promise<CheckResult> {
  const started = Date.now();
  try {
    const signer = await within(STORE_TIMEOUT_MS, core.keyring.signer());
    if (signer.fingerprints.length === 0) return { status: 'unhealthy', latency_ms: Date.now() - started, message: 'no active signing key' };
    return { status: 'healthy', latency_ms: Date.now() - started, keys: signer.fingerprints.length };
  } catch (error) {
    return { status: 'unhealthy', latency_ms: Date.now() - started, message: `the signing keyring cannot be loaded: ${(error as Error).message}` };
  }
}

/** Every check, and the worst of their statuses. */
export async function healthReport(core: HealthCore): Promise<{ status: HealthStatus; checks: Record<string, CheckResult> }> {
  const [store, keyring] = await Promise.all([storeCheck(core), keyringCheck(core)]);
  const checks = { store, keyring };
  const statuses = Object.values(checks).map((c) => c.status);
  const status: HealthStatus = statuses.includes('unhealthy') ? 'unhealthy' : statuses.includes('degraded') ? 'degraded' : 'healthy';
  return { status, checks };
}

const HEALTH_SCHEMA = {
  type: 'object',
  required: ['status', 'checks'],
  properties: {
    status: { enum: ['healthy', 'degraded', 'unhealthy'] },
    checks: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['status', 'latency_ms'],
        properties: { status: { enum: ['healthy', 'degraded', 'unhealthy'] }, latency_ms: { type: 'number' }, message: { type: 'string' } },
      },
    },
  },
};

/**
 * Probes for load balancers and orchestrators, at the root:
 *   /health/live   the process answers (never touches the store: a store outage must not restart every node)
 *   /health/ready  the store answers and the signing keyring is loaded; 503 otherwise, so a node
 *                  that cannot reach its bucket is taken out of rotation instead of failing requests
 *   /health        {status: healthy|degraded|unhealthy, checks}; 503 when unhealthy
 */
export function probeRoutes(core: HealthCore): Hono {
  const app = new Hono();
  app.get(
    '/health/live',
    describeRoute({ summary: 'Liveness: the process answers', tags: ['Health'], responses: { 200: { description: 'alive', schema: { type: 'object' } } } }),
    (c) => c.json({ status: 'healthy' }),
  );
  const report = { 200: { description: 'healthy or degraded', schema: HEALTH_SCHEMA }, 503: { description: 'unhealthy', schema: HEALTH_SCHEMA } };
  app.get('/health/ready', describeRoute({ summary: 'Readiness: the store answers and the signing keyring is loaded', tags: ['Health'], responses: report }), async (c) => {
    const report = await healthReport(core);
    if (report.status === 'unhealthy') core.caps.log('not ready', { checks: report.checks });
    return c.json(report, report.status === 'unhealthy' ? 503 : 200);
  });
  app.get('/health', describeRoute({ summary: 'Health of this server and of what it depends on', tags: ['Health'], responses: report }), async (c) => {
    const report = await healthReport(core);
    return c.json(report, report.status === 'unhealthy' ? 503 : 200);
  });
  return app;
}

/**
 * The older probes under /api/v1, kept as they answer: `/api/v1/ready` (200 `{status: "ready"}`,
 * 503 `{error: "store_unavailable"}`), now also with the checks; liveness is `/api/v1/health`
 * (app.ts).
 */
export function healthRoutes(core: HealthCore): Hono {
  const app = new Hono();
  app.get(
    '/ready',
    describeRoute({
      summary: 'Readiness: the store answers and the signing keyring is loaded',
      description: 'The same checks as /health/ready, in the shape this route always had.',
      tags: ['Health'],
      responses: { 200: 'ready', 503: { description: 'not ready: the store or the keyring is unavailable' } },
    }),
    async (c) => {
      const report = await healthReport(core);
      if (report.status !== 'unhealthy') return c.json({ status: 'ready', storage: core.caps.store.driver, checks: report.checks });
      const failing = Object.values(report.checks).find((check) => check.status === 'unhealthy')!;
      core.caps.log('not ready', { checks: report.checks });
      const code = report.checks.store.status === 'unhealthy' ? 'store_unavailable' : 'keyring_unavailable';
      return c.json({ status: 'error', error: code, message: failing.message ?? 'not ready', checks: report.checks }, 503);
    },
  );
  return app;
}

import { Hono } from 'hono';
import type { Core } from '../../core/core.ts';
import { RepodError } from '../../errors.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../../metrics/exposition.ts';
import type { MetricFamily } from '../../metrics/registry.ts';

export interface MetricsOptions {
  /** REPOD_METRICS_TOKEN: when set, a scrape must send `Authorization: Bearer <it>`. */
  token?: string;
  /**
   * The counters of every process of a cluster (REPOD_WORKERS), this one's included: a scrape
   * that reaches any worker then sees the whole server. Absent: this process's own.
   */
  gather?: () => Promise<MetricFamily[][]>;
}

/** Compares without returning early, so the time taken does not tell how much of a guess was right. */
function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** `GET /metrics` in Prometheus text format (src/metrics/repod-metrics.ts lists what is measured). */
export function metricsRoutes(core: Pick<Core, 'metrics'>, options: MetricsOptions = {}): Hono {
  const app = new Hono();
  app.get('/metrics', async (c) => {
    if (options.token) {
      const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
      if (!m || !sameSecret(m[1], options.token)) {
        c.header('www-authenticate', 'Bearer realm="repod metrics"');
        throw new RepodError('unauthorized', 'this server needs a bearer token to read /metrics (REPOD_METRICS_TOKEN)', { status: 401 });
      }
    }
    const processes = options.gather ? await options.gather() : undefined;
    const text = await core.metrics.exposition(processes);
    return c.body(text, 200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
  });
  return app;
}

import type { Revision } from '../bucket/revision.ts';
import { renderExposition, sumFamilies } from './exposition.ts';
import { type MetricFamily, MetricsRegistry, type Sample } from './registry.ts';

/** How the gauges find each distribution's current revision (the Repository and Distributions of the core). */
export interface DistributionSource {
  names(): string[];
  current(name: string): Promise<Revision | null>;
}

/**
 * Everything repod measures, by name. One per process, made by the runtime before the store (the
 * store's decorator counts into it) and handed to createCore; /metrics writes it out.
 *
 * Label values are bounded: routes are patterns (`/repos/:dist/:arch/repodata/:name`), never raw
 * paths; distributions come from the configuration.
 */
export class RepodMetrics {
  readonly registry = new MetricsRegistry();

  readonly httpRequests = this.registry.counter('repod_http_requests_total', 'HTTP requests answered, by method, route pattern and status code.', ['method', 'route', 'status']);
  readonly httpDuration = this.registry.histogram('repod_http_request_duration_seconds', 'Time to answer an HTTP request (until the headers; a streamed body may take longer).', [
    'method',
    'route',
  ]);
  readonly readyAnswers = this.registry.counter(
    'repod_http_ready_answers_total',
    'Requests answered from a ready answer the app made earlier for the same path (a warm repository file sent without running the app), by route pattern; they are counted in repod_http_requests_total too.',
    ['route'],
  );
  readonly publishes = this.registry.counter(
    'repod_publishes_total',
    'Attempts to move a distribution to a new revision, by operation (publish, rollback) and outcome (published, unchanged, conflict, error).',
    ['distribution', 'operation', 'outcome'],
  );
  readonly publishDuration = this.registry.histogram('repod_publish_duration_seconds', 'Time to compose and publish a revision, lost races and retries included.', [
    'distribution',
    'operation',
  ]);
  readonly ingest = this.registry.counter(
    'repod_ingest_total',
    'Package uploads by outcome: published, pending_review, unchanged (already there), duplicate, rejected (by the gate or unreadable), invalid (a bad request), unauthorized, error.',
    ['outcome'],
  );
  readonly renderCache = this.registry.counter('repod_render_cache_total', 'Rendered views asked for, by result: hit (in memory or already in the store) or miss (rendered now).', [
    'result',
  ]);
  readonly storeOperations = this.registry.counter(
    'repod_store_operations_total',
    'Object store operations by driver, operation and outcome (ok, not_found, precondition_failed, error).',
    ['driver', 'operation', 'outcome'],
  );
  readonly storeErrors = this.registry.counter('repod_store_errors_total', 'Object store operations that failed (not a missing object nor a lost conditional write).', [
    'driver',
    'operation',
  ]);
  readonly storeDuration = this.registry.histogram('repod_store_operation_duration_seconds', 'Time an object store operation took (a get: until the body starts).', [
    'driver',
    'operation',
  ]);

  constructor(private readonly clock: () => number = () => Date.now()) {}

  /** Milliseconds, for timing. */
  now(): number {
    return this.clock();
  }

  /** Adds the per-distribution gauges, read from each distribution's current revision at scrape time. */
  watchDistributions(source: DistributionSource): void {
    const currents = async () => {
      const found = await Promise.all(source.names().map(async (name) => ({ name, revision: await source.current(name) })));
      return found;
    };
    this.registry.gauge({
      name: 'repod_distribution_revision',
      help: 'Number of the current revision of each distribution (how many revisions it has had; 0 before its first publish).',
      collect: async () => (await currents()).map(({ name, revision }): Sample => ({ labels: { distribution: name }, value: revision?.number ?? 0 })),
    });
    this.registry.gauge({
      name: 'repod_distribution_packages',
      help: 'Packages in the current revision of each distribution, by architecture.',
      collect: async () => {
        const samples: Sample[] = [];
        for (const { name, revision } of await currents()) {
          const arches = new Map<string, number>();
          for (const chunk of revision?.chunks ?? []) for (const [arch, n] of Object.entries(chunk.arches ?? {})) arches.set(arch, (arches.get(arch) ?? 0) + n);
          for (const [arch, n] of [...arches].sort()) samples.push({ labels: { distribution: name, arch }, value: n });
        }
        return samples;
      },
    });
  }

  /**
   * The text a scrape answers: the counters and histograms (this process's own, or the sum of
   * `processes`, every process of a cluster with this one among them) and the gauges read now. A
   * gauge that cannot be read (the store is down) is left out and `repod_metrics_gauge_errors`
   * says which.
   */
  async exposition(processes?: MetricFamily[][]): Promise<string> {
    const counted = processes ? sumFamilies(processes) : this.registry.own();
    const { families, failed } = await this.registry.readGauges();
    const meta: MetricFamily[] = [
      {
        type: 'gauge',
        name: 'repod_metrics_processes',
        help: 'Processes whose counters this scrape sums (REPOD_WORKERS: the workers that answered in time).',
        samples: [{ labels: {}, value: processes ? processes.length : 1 }],
      },
      {
        type: 'gauge',
        name: 'repod_metrics_gauge_errors',
        help: 'Gauges that could not be read for this scrape (1 each).',
        samples: failed.map((name) => ({ labels: { gauge: name }, value: 1 })),
      },
    ];
    return renderExposition([...counted, ...families, ...meta]);
  }

  /** This process's counters and histograms, to be summed with the other processes' (a cluster). */
  own(): MetricFamily[] {
    return this.registry.own();
  }
}

/**
 * A small metrics registry: counters and histograms with labels, and gauges read at scrape time.
 * Pure (no I/O, no runtime globals) so it runs on Node and on Workers alike; prom-client needs
 * Node. What it holds is a list of families that exposition.ts writes in Prometheus text format
 * and that several processes' snapshots can be summed into (a REPOD_WORKERS cluster).
 */

export type Labels = Record<string, string>;

/** One time series: its labels and value; a histogram's series also has its buckets, sum and count. */
export interface Sample {
  labels: Labels;
  value: number;
}

export interface HistogramSample {
  labels: Labels;
  /** Cumulative counts, one per upper bound of the family's `buckets` (the +Inf bucket is `count`). */
  buckets: number[];
  sum: number;
  count: number;
}

export type MetricFamily =
  | { type: 'counter'; name: string; help: string; samples: Sample[] }
  | { type: 'gauge'; name: string; help: string; samples: Sample[] }
  | { type: 'histogram'; name: string; help: string; bounds: number[]; samples: HistogramSample[] };

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Label values in a fixed order: the key of one series. */
function seriesKey(labelNames: readonly string[], labels: Labels): string {
  return labelNames.map((n) => labels[n] ?? '').join('\u0000');
}

function checkNames(name: string, labelNames: readonly string[]): void {
  if (!NAME.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
  for (const l of labelNames) if (!LABEL.test(l) || l.startsWith('__') || l === 'le') throw new Error(`invalid label name ${JSON.stringify(l)} on ${name}`);
}

function pick(labelNames: readonly string[], labels: Labels): Labels {
  const picked: Labels = {};
  for (const n of labelNames) picked[n] = labels[n] ?? '';
  return picked;
}

export class Counter<L extends string = string> {
  private readonly series = new Map<string, Sample>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[] = [],
  ) {
    checkNames(name, labelNames);
  }

  inc(labels: Partial<Record<L, string>> = {}, by = 1): void {
    if (!(by >= 0)) throw new Error(`a counter only goes up (${this.name} by ${by})`);
    const key = seriesKey(this.labelNames, labels as Labels);
    const found = this.series.get(key);
    if (found) found.value += by;
    else this.series.set(key, { labels: pick(this.labelNames, labels as Labels), value: by });
  }

  /** One series, found once: a hot path increments it without building its key each time. */
  seriesOf(labels: Partial<Record<L, string>> = {}): { inc(by?: number): void } {
    const key = seriesKey(this.labelNames, labels as Labels);
    let found = this.series.get(key);
    if (!found) {
      found = { labels: pick(this.labelNames, labels as Labels), value: 0 };
      this.series.set(key, found);
    }
    const sample = found;
    return {
      inc: (by = 1) => {
        if (!(by >= 0)) throw new Error(`a counter only goes up (${this.name} by ${by})`);
        sample.value += by;
      },
    };
  }

  /** The current value of one series (0 when it was never incremented). */
  get(labels: Partial<Record<L, string>> = {}): number {
    return this.series.get(seriesKey(this.labelNames, labels as Labels))?.value ?? 0;
  }

  family(): MetricFamily {
    return { type: 'counter', name: this.name, help: this.help, samples: [...this.series.values()].map((s) => ({ labels: { ...s.labels }, value: s.value })) };
  }
}

/** Upper bounds in seconds, from a fast cached answer to a long publish. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class Histogram<L extends string = string> {
  private readonly series = new Map<string, HistogramSample>();
  readonly bounds: number[];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[] = [],
    bounds: readonly number[] = LATENCY_BUCKETS,
  ) {
    checkNames(name, labelNames);
    this.bounds = [...bounds].sort((a, b) => a - b);
  }

  observe(labels: Partial<Record<L, string>>, value: number): void {
    const key = seriesKey(this.labelNames, labels as Labels);
    let found = this.series.get(key);
    if (!found) {
      found = { labels: pick(this.labelNames, labels as Labels), buckets: this.bounds.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, found);
    }
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]) found.buckets[i]++;
    found.sum += value;
    found.count++;
  }

  /** One series, found once: a hot path observes it without building its key each time. */
  seriesOf(labels: Partial<Record<L, string>>): { observe(value: number): void } {
    const key = seriesKey(this.labelNames, labels as Labels);
    let found = this.series.get(key);
    if (!found) {
      found = { labels: pick(this.labelNames, labels as Labels), buckets: this.bounds.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, found);
    }
    const sample = found;
    const bounds = this.bounds;
    return {
      observe: (value) => {
        for (let i = 0; i < bounds.length; i++) if (value <= bounds[i]!) sample.buckets[i]!++;
        sample.sum += value;
        sample.count++;
      },
    };
  }

  /** Runs `work` and observes how long it took, in seconds, with labels that may depend on its outcome. */
  async time<T>(now: () => number, work: () => Promise<T>, labels: (outcome: { value?: T; error?: unknown }) => Partial<Record<L, string>>): Promise<T> {
    const started = now();
    try {
      const value = await work();
      this.observe(labels({ value }), (now() - started) / 1000);
      return value;
    } catch (error) {
      this.observe(labels({ error }), (now() - started) / 1000);
      throw error;
    }
  }

  family(): MetricFamily {
    return {
      type: 'histogram',
      name: this.name,
      help: this.help,
      bounds: [...this.bounds],
      samples: [...this.series.values()].map((s) => ({ labels: { ...s.labels }, buckets: [...s.buckets], sum: s.sum, count: s.count })),
    };
  }
}

/** A gauge whose samples are worked out when scraped (from the store, a cache), not kept. */
export interface GaugeCollector {
  name: string;
  help: string;
  collect(): Promise<Sample[]>;
}

/**
 * The metrics of one process. Counters and histograms are this process's own (summed across a
 * cluster); gauges are read at scrape time and are the same whichever process reads them.
 */
export class MetricsRegistry {
  private readonly instruments: Array<Counter | Histogram> = [];
  private readonly gauges: GaugeCollector[] = [];

  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    const counter = new Counter<L>(name, help, labelNames);
    this.add(counter);
    return counter;
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], bounds?: readonly number[]): Histogram<L> {
    const histogram = new Histogram<L>(name, help, labelNames, bounds);
    this.add(histogram);
    return histogram;
  }

  gauge(collector: GaugeCollector): void {
    checkNames(collector.name, []);
    this.gauges.push(collector);
  }

  private add(instrument: Counter | Histogram): void {
    if (this.instruments.some((i) => i.name === instrument.name)) throw new Error(`metric ${instrument.name} is registered twice`);
    this.instruments.push(instrument as Counter | Histogram);
  }

  /** This process's counters and histograms (what a cluster's processes send to be summed). */
  own(): MetricFamily[] {
    return this.instruments.map((i) => i.family());
  }

  /** The gauges, each read now; one that fails is left out (and named in `failed`) rather than failing the scrape. */
  async readGauges(): Promise<{ families: MetricFamily[]; failed: string[] }> {
    const failed: string[] = [];
    const families = await Promise.all(
      this.gauges.map(async (g): Promise<MetricFamily | null> => {
        try {
          return { type: 'gauge', name: g.name, help: g.help, samples: await g.collect() };
        } catch {
          failed.push(g.name);
          return null;
        }
      }),
    );
    return { families: families.filter((f): f is MetricFamily => f !== null), failed };
  }
}

import cluster, { type Worker } from 'node:cluster';
import type { MetricFamily } from '../metrics/registry.ts';

/**
 * REPOD_WORKERS=N and /metrics: each worker counts its own requests, and node:cluster hands a
 * scrape to any one of them. So the worker that gets a scrape asks the primary, the primary asks
 * every worker for its counters (over the cluster's IPC channel) and hands them all back, and the
 * answer sums them: a scrape sees the whole server whichever worker answers it. A worker that does
 * not answer within GATHER_MS is left out (repod_metrics_processes says how many were summed).
 * When a worker dies, its counts go with it: the sums drop, which Prometheus' rate() reads as a
 * counter reset.
 */
const GATHER_MS = 1000;

type Message =
  | { repod: 'metrics-gather'; id: number }
  | { repod: 'metrics-collect'; id: number }
  | { repod: 'metrics-own'; id: number; families: MetricFamily[] }
  | { repod: 'metrics-gathered'; id: number; processes: MetricFamily[][] };

function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && typeof (value as { repod?: unknown }).repod === 'string';
}

/** In the primary: answers workers' gather requests. */
export function serveMetricsGathering(): void {
  let next = 0;
  const gatherings = new Map<number, { processes: MetricFamily[][]; waiting: Set<Worker>; done: () => void }>();
  cluster.on('message', (worker, message: unknown) => {
    if (!isMessage(message)) return;
    if (message.repod === 'metrics-gather') {
      const id = ++next;
      const requester = worker;
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w?.isConnected() === true);
      const gathering = {
        processes: [] as MetricFamily[][],
        waiting: new Set(workers),
        done: () => {
          clearTimeout(timer);
          gatherings.delete(id);
          if (requester.isConnected()) requester.send({ repod: 'metrics-gathered', id: message.id, processes: gathering.processes } satisfies Message);
        },
      };
      const timer = setTimeout(gathering.done, GATHER_MS);
      gatherings.set(id, gathering);
      for (const w of workers) w.send({ repod: 'metrics-collect', id } satisfies Message);
      if (workers.length === 0) gathering.done();
    } else if (message.repod === 'metrics-own') {
      const gathering = gatherings.get(message.id);
      if (!gathering?.waiting.delete(worker)) return;
      gathering.processes.push(message.families);
      if (gathering.waiting.size === 0) gathering.done();
    }
  });
}

/**
 * In a worker: answers the primary's requests for this process's counters, and returns how to
 * gather every worker's (null outside a cluster).
 */
export function clusterMetricsGatherer(own: () => MetricFamily[]): (() => Promise<MetricFamily[][]>) | null {
  if (!cluster.isWorker || !process.send) return null;
  let next = 0;
  const pending = new Map<number, (processes: MetricFamily[][]) => void>();
  process.on('message', (message: unknown) => {
    if (!isMessage(message)) return;
    if (message.repod === 'metrics-collect') process.send!({ repod: 'metrics-own', id: message.id, families: own() } satisfies Message);
    else if (message.repod === 'metrics-gathered') {
      pending.get(message.id)?.(message.processes);
      pending.delete(message.id);
    }
  });
  return () =>
    new Promise((resolve) => {
      const id = ++next;
      // The primary answers within GATHER_MS; should it not, this process's own counters are better than nothing.
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve([own()]);
      }, GATHER_MS * 3);
      pending.set(id, (processes) => {
        clearTimeout(timer);
        resolve(processes.length ? processes : [own()]);
      });
      process.send!({ repod: 'metrics-gather', id } satisfies Message);
    });
}

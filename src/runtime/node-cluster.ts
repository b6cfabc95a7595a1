import cluster, { type Worker } from 'node:cluster';

/**
 * REPOD_WORKERS=N: N server processes on one port (node:cluster hands connections to them). Each
 * worker is a whole stateless server over the same store, so nothing is shared but the socket;
 * the primary only keeps N of them alive.
 */
export function workerCount(value: string | undefined): number {
  if (value === undefined || value === '') return 1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`REPOD_WORKERS must be a whole number >= 1, not ${JSON.stringify(value)}`);
  return n;
}

export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

/** Id of this worker (1, 2, ...), or null in a single-process server. */
export function clusterWorkerId(): number | null {
  return cluster.worker?.id ?? null;
}

/**
 * Forks `count` workers and replaces each one that dies, until SIGINT or SIGTERM, which stop them
 * all. A worker that dies soon after it started is restarted after a growing pause, so a broken
 * configuration does not fork in a tight loop.
 */
export function superviseWorkers(count: number, log: (message: string, fields?: Record<string, unknown>) => void): void {
  let stopping = false;
  let pauseMs = 0;
  const started = new Map<Worker, number>();
  const fork = () => started.set(cluster.fork(), Date.now());
  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (started.get(worker) ?? 0);
    started.delete(worker);
    if (stopping) {
      if (started.size === 0) process.exit(0);
      return;
    }
    pauseMs = lived < 5000 ? Math.min(10_000, Math.max(250, pauseMs * 2)) : 0;
    log('repod worker died, starting another', { pid: worker.process.pid, code, signal, restartInMs: pauseMs });
    setTimeout(fork, pauseMs);
  });
  for (let i = 0; i < count; i++) fork();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      stopping = true;
      if (started.size === 0) process.exit(0);
      for (const worker of started.keys()) worker.kill('SIGTERM');
    });
  }
}

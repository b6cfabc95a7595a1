/**
 * One verdict per change of a group: its own result, or its own error (a refused change never
 * takes the rest of its group down).
 */
export type Verdict<R> = { ok: true; value: R } | { ok: false; error: unknown };

interface Waiting<T, R> {
  change: T;
  resolve(value: R): void;
  reject(error: unknown): void;
}

/**
 * Joins concurrent changes to one distribution into one publish. Writers of one distribution fight
 * over one ref, so publishing them one by one serialises on compare-and-swap retries; instead, a
 * change that finds no publish in flight for its distribution starts one at once (a lone change
 * never waits for a window), and the changes that arrive meanwhile queue up and are all taken by
 * the next publish. `commit` answers one verdict per change, in the order given.
 */
export class GroupCommitter<T, R> {
  private readonly queues = new Map<string, Waiting<T, R>[]>();

  constructor(
    private readonly commit: (key: string, changes: T[]) => Promise<Verdict<R>[]>,
    /** Off: every change is committed alone, at once (REPOD_GROUP_COMMIT=0, to compare). */
    private readonly enabled = true,
  ) {}

  /** Changes of `key` waiting for the publish in flight to end (for observing and testing). */
  waiting(key: string): number {
    return this.queues.get(key)?.length ?? 0;
  }

  submit(key: string, change: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const waiting = { change, resolve, reject };
      if (!this.enabled) {
        void this.run(key, [waiting]);
        return;
      }
      const queue = this.queues.get(key);
      if (queue) {
        queue.push(waiting); // a publish is in flight: the next one takes this change
        return;
      }
      this.queues.set(key, []);
      void this.drain(key, [waiting]);
    });
  }

  /** Publishes `first`, then everything that queued up meanwhile, until the queue is empty. */
  private async drain(key: string, first: Waiting<T, R>[]): Promise<void> {
    let batch = first;
    while (batch.length > 0) {
      await this.run(key, batch);
      const queue = this.queues.get(key) ?? [];
      batch = queue.splice(0, queue.length);
    }
    this.queues.delete(key);
  }

  private async run(key: string, batch: Waiting<T, R>[]): Promise<void> {
    let verdicts: Verdict<R>[];
    try {
      verdicts = await this.commit(
        key,
        batch.map((w) => w.change),
      );
    } catch (error) {
      // Not any one change's fault (the store failed, the retries ran out): every change hears it.
      for (const w of batch) w.reject(error);
      return;
    }
    batch.forEach((w, i) => {
      const verdict = verdicts[i];
      if (verdict?.ok) w.resolve(verdict.value);
      else w.reject(verdict ? verdict.error : new Error('group commit gave no verdict'));
    });
  }
}

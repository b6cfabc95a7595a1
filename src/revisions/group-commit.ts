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
 * How long a publish may wait for changes announced but not submitted yet (uploads still being
 * received and checked). A few milliseconds against tens for an upload: a group that waits takes in
 * the uploads that were about to miss it, and each publish (a compose, a chunk, a revision, a
 * compare-and-swap) then serves more of them.
 */
const LINGER_MS = 4;

/**
 * Joins concurrent changes to one distribution into one publish. Writers of one distribution fight
 * over one ref, so publishing them one by one serialises on compare-and-swap retries; instead, a
 * change that finds no publish in flight for its distribution starts one (at once when no other
 * change was announced: a lone change never waits for a window; else after at most LINGER_MS), and
 * the changes that arrive meanwhile queue up and are all taken by the next publish. `commit`
 * answers one verdict per change, in the order given.
 */
export class GroupCommitter<T, R> {
  private readonly queues = new Map<string, Waiting<T, R>[]>();
  /** Changes announced and not yet submitted or dropped, for any key (see announce). */
  private announced = 0;
  private readonly wakers: Array<() => void> = [];

  constructor(
    private readonly commit: (key: string, changes: T[]) => Promise<Verdict<R>[]>,
    /** Off: every change is committed alone, at once (REPOD_GROUP_COMMIT=0, to compare). */
    private readonly enabled = true,
  ) {}

  /** Changes of `key` waiting for the publish in flight to end (for observing and testing). */
  waiting(key: string): number {
    return this.queues.get(key)?.length ?? 0;
  }

  /**
   * A change is on its way (a request whose upload is still arriving): a publish about to start
   * waits up to LINGER_MS for it. The returned function says it arrived (call it just before
   * submit) or was dropped; calling it again does nothing. A lone change announces nothing else,
   * so its publish starts at once, as before.
   */
  announce(): () => void {
    if (!this.enabled) return () => undefined;
    this.announced++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.announced--;
      for (const wake of this.wakers.splice(0)) wake();
    };
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
      if (this.announced > 0) {
        await this.linger();
        batch.push(...(this.queues.get(key) ?? []).splice(0));
      }
      await this.run(key, batch);
      const queue = this.queues.get(key) ?? [];
      batch = queue.splice(0, queue.length);
    }
    this.queues.delete(key);
  }

  /** Waits until no announced change is still on its way, or LINGER_MS. */
  private async linger(): Promise<void> {
    const deadline = Date.now() + LINGER_MS;
    while (this.announced > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          // Timed out: no arrival will wake it, so it leaves the list (a slow upload would pile them up).
          const at = this.wakers.indexOf(wake);
          if (at >= 0) this.wakers.splice(at, 1);
          resolve();
        }, left);
        this.wakers.push(wake);
      });
    }
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

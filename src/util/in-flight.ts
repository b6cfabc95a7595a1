/**
 * Work in progress by key: concurrent asks for the same key share one run, where the runtime lets
 * a request wait for work that another request started. Where it does not (Workers), each ask
 * runs its own: the work is idempotent, sharing only saves repeats.
 */
export class InFlight<K, V> {
  private readonly pending = new Map<K, Promise<V>>();

  constructor(private readonly shared: boolean) {}

  run(key: K, work: () => Promise<V>): Promise<V> {
    if (!this.shared) return work();
    let running = this.pending.get(key);
    if (!running) {
      running = work().finally(() => this.pending.delete(key));
      this.pending.set(key, running);
    }
    return running;
  }
}

/**
 * Reads items 0..count-1 in order, keeping up to `window` reads started ahead of the one taken:
 * a consumer that hashes or streams one item at a time, while the store answers the next reads
 * side by side (each waits on a round trip, not on this thread). Memory holds at most `window`
 * results. A read that fails is reported when its item is taken, not when it fails.
 */
export class ReadAhead<T> {
  private readonly started = new Map<number, Promise<T>>();
  private next = 0;
  /** Items whose read has started: 0..launched-1. */
  private launched = 0;

  constructor(
    private readonly count: number,
    private readonly window: number,
    private readonly read: (index: number) => Promise<T>,
  ) {}

  /** Item `index`, which must be the next one in order. */
  take(index: number): Promise<T> {
    if (index !== this.next) throw new RangeError(`ReadAhead: item ${index} taken out of order (next is ${this.next})`);
    this.next++;
    for (const end = Math.min(this.count, index + this.window); this.launched < end; this.launched++) {
      const promise = this.read(this.launched);
      // Handled when taken; until then a failure must not count as unhandled.
      promise.catch(() => undefined);
      this.started.set(this.launched, promise);
    }
    const promise = this.started.get(index)!;
    this.started.delete(index);
    return promise;
  }
}

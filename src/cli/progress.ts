import { formatBytes } from './output.ts';

/**
 * A one-line progress bar over a known number of bytes, redrawn in place on a terminal
 * (`\r` + erase line) at most every `intervalMs`. Only drawn on stderr, never mixed with --json.
 *
 *   [##########..........]  48%  12.0 MiB/25.0 MiB  30.1 MiB/s  hello-2.0-1.x86_64.rpm (1/3)
 */
export interface ProgressSink {
  write(text: string): unknown;
  columns?: number;
}

export class Progress {
  private done = 0;
  private label = '';
  private lastDraw = 0;
  private readonly started: number;
  private drawn = false;
  private finished = false;

  constructor(
    private readonly sink: ProgressSink,
    readonly total: number,
    private readonly options: { intervalMs?: number; now?: () => number } = {},
  ) {
    this.started = this.now();
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** What is being sent now (a file name). */
  setLabel(label: string): void {
    this.label = label;
    this.draw(true);
  }

  add(bytes: number): void {
    this.done += bytes;
    this.draw(false);
  }

  get transferred(): number {
    return this.done;
  }

  /** Every byte is out: say what happens next (the server is publishing). */
  waiting(text: string): void {
    this.label = text;
    this.draw(true);
  }

  /** Erases the bar so what follows starts on a clean line. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.drawn) this.sink.write('\r\x1b[2K');
  }

  render(): string {
    const width = 20;
    const fraction = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const filled = Math.round(fraction * width);
    const seconds = Math.max(0.001, (this.now() - this.started) / 1000);
    const rate = this.done / seconds;
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${percent}  ${formatBytes(this.done)}/${formatBytes(this.total)}  ${formatBytes(rate)}/s  ${this.label}`;
    const columns = this.sink.columns || 80; // 0 on a pty without a size
    return line.length > columns - 1 ? `${line.slice(0, Math.max(0, columns - 2))}…` : line;
  }

  private draw(force: boolean): void {
    if (this.finished) return;
    const now = this.now();
    if (!force && now - this.lastDraw < (this.options.intervalMs ?? 100) && this.done < this.total) return;
    this.lastDraw = now;
    this.drawn = true;
    this.sink.write(`\r\x1b[2K${this.render()}`);
  }
}

/** A pass-through stream that reports every chunk's size: how upload progress is measured. */
export function countingStream(onBytes: (n: number) => void): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      onBytes(chunk.byteLength);
      controller.enqueue(chunk);
    },
  });
}

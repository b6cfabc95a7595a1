/**
 * Where `repod export` writes a static tree: a directory today (src/cli/commands/export.ts), an
 * S3 prefix later. Paths are '/'-separated and relative to the target's root; the exporter only
 * ever names paths it built itself (no '..', no leading '/').
 */
export interface ExportTarget {
  /** Names the target in messages (`/srv/export`, `s3://bucket/prefix`). */
  readonly name: string;
  /**
   * Fails with RepodError 'target_not_writable' when nothing could be written, before the
   * exporter writes anything: a half-written tree is worse than a clear refusal.
   */
  checkWritable(): Promise<void>;
  /** The size of the file at `path`, or null when there is none. */
  size(path: string): Promise<number | null>;
  /** The bytes of the file at `path`, or null when there is none. */
  read(path: string): Promise<ReadableStream<Uint8Array> | null>;
  /**
   * Writes a file atomically: readers see no file (or the old one) until the whole new one is in
   * place. A body stream that errors (a failed checksum) leaves nothing behind.
   */
  write(path: string, body: Uint8Array | ReadableStream<Uint8Array>): Promise<void>;
  /**
   * Makes `to` hold the bytes of the existing file `from` without sending them again (a hard
   * link in a directory, a server-side copy in a bucket), atomically like write().
   */
  link(from: string, to: string): Promise<void>;
  /** The revision folder name `<dist>/latest` stands for now (e.g. "42"), or null. */
  latest(dist: string): Promise<string | null>;
  /** Makes `<dist>/latest` stand for `<dist>/<revisionDir>` in one step (readers see the old or the new tree). */
  switchLatest(dist: string, revisionDir: string): Promise<void>;
}

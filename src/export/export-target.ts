/**
 * Where `repod export` writes a static tree: a directory (src/runtime/node-export-target.ts) or
 * a store, e.g. an S3 prefix (store-target.ts). Paths are '/'-separated and relative to the
 * target's root; the exporter only ever names paths it built itself (no '..', no leading '/').
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
  /**
   * Makes `<dist>/latest` stand for `<dist>/<revisionDir>`: in one step where the target can (a
   * symlink renamed over the old one), else file by file in an order that keeps every entry point
   * a reader finds consistent with what it names (a bucket: store-target.ts). Answers what it
   * copied when it had to copy.
   */
  switchLatest(dist: string, revisionDir: string): Promise<LatestSwitch | undefined>;
}

/** What moving a copied `latest` did: files copied, files already there, files of older trees deleted. */
export interface LatestSwitch {
  copied: number;
  unchanged: number;
  deleted: number;
}

/** How an export target is named in settings: `repod export --to`, a distribution's `export.to`. */
export interface ExportTargetOptions {
  /** S3: a public-read ACL on everything written (mkrepo's --s3-public-read). */
  publicRead?: boolean;
  /** S3: the endpoint and region of this target, over the runtime's (REPOD_S3_ENDPOINT, AWS_REGION). */
  s3Endpoint?: string;
  s3Region?: string;
}

/** Opens the target `to` names (a directory, s3://bucket/prefix): each runtime gives its own. */
export type ExportTargetFactory = (to: string, options?: ExportTargetOptions) => Promise<ExportTarget>;

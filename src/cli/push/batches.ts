import type { LocalFile } from './local-files.ts';

/**
 * How a bulk push is cut into requests. Each request is one change on the server, held there until
 * it is composed (about 40 KB per package), so the number of files per request is what bounds the
 * server's memory; the byte limit keeps one request's upload short enough to retry.
 */
export interface BatchLimits {
  files: number;
  bytes: number;
}

export const DEFAULT_BATCH: BatchLimits = { files: 500, bytes: 2 * 1024 ** 3 };

/** Consecutive runs of files, each within the limits (a file larger than the byte limit goes alone). */
export function planBatches(files: LocalFile[], limits: BatchLimits): LocalFile[][] {
  const out: LocalFile[][] = [];
  let current: LocalFile[] = [];
  let bytes = 0;
  for (const f of files) {
    if (current.length > 0 && (current.length >= limits.files || bytes + f.size > limits.bytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(f);
    bytes += f.size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

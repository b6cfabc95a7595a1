import { RepodError } from '../errors.ts';
import type { ExportTarget } from '../export/export-target.ts';
import type { BlobStore, PutOptions } from '../storage/blob-store.ts';

/**
 * An export target over a store (a directory through the file driver, an S3 prefix): what
 * `repod mkrepo` writes a tree's metadata into, beside the packages it found there. A put is
 * atomic in every driver (temp file and rename; one S3 PUT), so readers see the old file or the
 * new one. There is no `latest` in a tree mkrepo maintains: its entry points are rewritten in place.
 */
export class StoreTarget implements ExportTarget {
  constructor(
    readonly name: string,
    private readonly store: BlobStore,
    /** Extra put options for every file written (S3: a public-read ACL where supported). */
    private readonly putOptions: PutOptions = {},
  ) {}

  async checkWritable(): Promise<void> {
    const probe = `.repod-write-probe-${Math.random().toString(36).slice(2)}`;
    try {
      await this.store.put(probe, new Uint8Array(0));
      await this.store.delete(probe);
    } catch (cause) {
      throw new RepodError('target_not_writable', `cannot write to ${this.name}: ${(cause as Error).message}`, { status: 400, cause });
    }
  }

  async size(path: string): Promise<number | null> {
    return (await this.store.head(path))?.size ?? null;
  }

  async read(path: string): Promise<ReadableStream<Uint8Array> | null> {
    return (await this.store.get(path))?.body ?? null;
  }

  async write(path: string, body: Uint8Array | ReadableStream<Uint8Array>): Promise<void> {
    await this.store.put(path, body, { ...this.putOptions, contentType: contentType(path) });
  }

  async link(from: string, to: string): Promise<void> {
    const source = await this.store.get(from);
    if (!source) throw new RepodError('missing_object', `${this.name}/${from} is missing`, { status: 500 });
    await this.store.put(to, source.body, { ...this.putOptions, size: source.size, contentType: contentType(to) });
  }

  async delete(path: string): Promise<void> {
    await this.store.delete(path);
  }

  async *list(prefix: string): AsyncGenerator<string> {
    for await (const o of this.store.list(prefix)) yield o.key;
  }

  async latest(): Promise<string | null> {
    return null;
  }

  async switchLatest(): Promise<void> {
    throw new RepodError('unsupported', `${this.name} keeps no latest pointer`, { status: 500 });
  }
}

function contentType(path: string): string {
  if (path.endsWith('.xml')) return 'application/xml';
  if (path.endsWith('.gz')) return 'application/gzip';
  if (path.endsWith('.xz')) return 'application/x-xz';
  if (path.endsWith('.asc') || path.endsWith('.key') || path.endsWith('.gpg') || path.endsWith('.txt') || /(^|\/)(In)?Release$/.test(path)) return 'text/plain';
  return 'application/octet-stream';
}

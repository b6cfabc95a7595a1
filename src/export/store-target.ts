import { RepodError } from '../errors.ts';
import { mapLimit } from '../revisions/gc-mark.ts';
import type { BlobStore, ListEntry, PutOptions } from '../storage/blob-store.ts';
import { getJson, putJson } from '../storage/objects.ts';
import { contentAddressed, publishRank } from './content-addressed.ts';
import type { ExportTarget, LatestSwitch } from './export-target.ts';

/**
 * An export target over a store: an S3 prefix (`repod export --to s3://...`), or a directory
 * through the file driver (`repod mkrepo`, which writes a tree's metadata beside the packages it
 * found and never moves a `latest`). A put is atomic in every driver (temp file and rename; one
 * S3 PUT), so readers see the old file or the new one. Links are server-side copies where the
 * store has them (S3 CopyObject), else a read and a write.
 *
 * A bucket has no symlinks, so `<dist>/latest/` is a tree of copies of the numbered revision's
 * files, moved file by file in the order of content-addressed.ts (content-addressed files first,
 * InRelease last): a client reading through latest/ meanwhile finds every file the entry point it
 * read names. Files already in latest/ are not copied again (content-addressed ones by size, the
 * others by size and etag). `<dist>/.repod/latest.json` then says which revision latest/ holds:
 * a switch stopped halfway (kill -9) leaves the pointer on the previous revision, and the next
 * export finishes it. Only after the pointer moved are latest/'s files deleted that neither the
 * new tree nor the previous one lists: one generation back stays for readers mid-way.
 */
export interface LatestPointer {
  format: 1;
  /** The revision folder latest/ holds ("42"). */
  revision: string;
  /** The one it held before, whose files latest/ keeps until the next switch. */
  previous: string | null;
  switched: string;
}

export const latestPointerPath = (dist: string) => `${dist}/.repod/latest.json`;

export class StoreTarget implements ExportTarget {
  constructor(
    readonly name: string,
    private readonly store: BlobStore,
    /** Extra put options for every file written (S3: a public-read ACL where supported). */
    private readonly putOptions: PutOptions = {},
    private readonly now: () => Date = () => new Date(),
    /** Copies at a time while latest/ moves. */
    private readonly concurrency = 8,
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
    if (this.store.copy) {
      await this.store.copy(from, to, { contentType: contentType(to), acl: this.putOptions.acl });
      return;
    }
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

  async latest(dist: string): Promise<string | null> {
    return (await getJson<LatestPointer>(this.store, latestPointerPath(dist)))?.value.revision ?? null;
  }

  async switchLatest(dist: string, revisionDir: string): Promise<LatestSwitch> {
    const pointer = await getJson<LatestPointer>(this.store, latestPointerPath(dist));
    const previous = pointer && pointer.value.revision !== revisionDir ? pointer.value.revision : (pointer?.value.previous ?? null);
    const source = await this.files(`${dist}/${revisionDir}/`);
    if (source.size === 0) throw new RepodError('missing_object', `${this.name}/${dist}/${revisionDir}/ is empty: nothing for latest to stand for`, { status: 500 });
    const current = await this.files(`${dist}/latest/`);
    const result: LatestSwitch = { copied: 0, unchanged: 0, deleted: 0 };

    const ranks = new Map<number, string[]>();
    for (const path of source.keys()) {
      const rank = publishRank(path);
      if (!ranks.has(rank)) ranks.set(rank, []);
      ranks.get(rank)!.push(path);
    }
    for (const rank of [...ranks.keys()].sort((a, b) => a - b)) {
      const paths = ranks.get(rank)!.sort();
      // Entry points one at a time, in order; the files they name in parallel.
      await mapLimit(paths, rank >= 2 ? 1 : this.concurrency, async (path) => {
        const from = source.get(path)!;
        const there = current.get(path);
        const same = there !== undefined && there.size === from.size && (contentAddressed(path) || (there.etag !== undefined && there.etag === from.etag));
        if (same) {
          result.unchanged++;
          return;
        }
        await this.link(from.key, `${dist}/latest/${path}`);
        result.copied++;
      });
    }
    const next: LatestPointer = { format: 1, revision: revisionDir, previous, switched: this.now().toISOString() };
    await putJson(this.store, latestPointerPath(dist), next, { acl: this.putOptions.acl });

    // What neither generation lists goes, now that no new reader is sent to it.
    const keep = previous !== null ? await this.files(`${dist}/${previous}/`) : new Map<string, ListEntry>();
    const stale = [...current.keys()].filter((path) => !source.has(path) && !keep.has(path));
    await mapLimit(stale, this.concurrency, async (path) => {
      await this.store.delete(`${dist}/latest/${path}`);
      result.deleted++;
    });
    return result;
  }

  /** The files under a folder, by their path relative to it. */
  private async files(prefix: string): Promise<Map<string, ListEntry>> {
    const out = new Map<string, ListEntry>();
    for await (const o of this.store.list(prefix)) out.set(o.key.slice(prefix.length), o);
    return out;
  }
}

function contentType(path: string): string {
  if (path.endsWith('.xml')) return 'application/xml';
  if (path.endsWith('.gz')) return 'application/gzip';
  if (path.endsWith('.xz')) return 'application/x-xz';
  if (path.endsWith('.rpm')) return 'application/x-rpm';
  if (path.endsWith('.deb')) return 'application/vnd.debian.binary-package';
  if (path.endsWith('.asc') || path.endsWith('.key') || path.endsWith('.gpg') || path.endsWith('.txt') || /(^|\/)(In)?Release$/.test(path)) return 'text/plain';
  return 'application/octet-stream';
}

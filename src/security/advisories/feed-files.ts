import type { BlobStore } from '../../storage/blob-store.ts';
import type { StoredAdvisoryFeed } from './feed-store.ts';

export interface FeedFile {
  name: string;
  bytes: Uint8Array;
}

/** Advisory files (OSV JSON, or per-ecosystem zips) kept under a prefix of the store, e.g. synced there with `aws s3 sync`. */
export async function* storeFeedFiles(store: BlobStore, prefix: string): AsyncGenerator<FeedFile> {
  for await (const e of store.list(prefix)) {
    if (!/\.(json|zip)$/i.test(e.key)) continue;
    const object = await store.get(e.key);
    if (object) yield { name: e.key.slice(prefix.length), bytes: new Uint8Array(await new Response(object.body).arrayBuffer()) };
  }
}

/**
 * Loads REPOD_ADVISORIES at start into the shared feed. A file already pushed (by this server or
 * another) is recognised by content and not stored twice; a malformed one is reported by name and
 * the rest still loads.
 */
export async function loadFeedFiles(
  feed: Pick<StoredAdvisoryFeed, 'push'>,
  files: AsyncIterable<FeedFile>,
): Promise<{ files: number; loaded: number; errors: Array<{ name: string; message: string }> }> {
  let count = 0;
  let loaded = 0;
  const errors: Array<{ name: string; message: string }> = [];
  for await (const file of files) {
    count++;
    const pushed = await feed.push(file.name, file.bytes);
    loaded += pushed.loaded;
    errors.push(...pushed.errors);
  }
  return { files: count, loaded, errors };
}

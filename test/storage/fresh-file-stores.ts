/**
 * Fresh file stores for the file driver's tests: each in its own folder of one temporary
 * directory, which `cleanup` (an `after` hook) removes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, type FileStoreOptions } from '../../src/storage/file.ts';

export function freshFileStores(prefix: string) {
  let dir: Promise<string> | undefined;
  let n = 0;
  /** A folder no store has used yet. */
  const root = async () => join(await (dir ??= mkdtemp(join(tmpdir(), prefix))), `s${++n}`);
  return {
    root,
    fresh: async (options: Partial<FileStoreOptions> = {}) => {
      const at = await root();
      return { root: at, store: await FileStore.open({ root: at, ...options }) };
    },
    cleanup: async () => {
      if (dir) await rm(await dir, { recursive: true, force: true });
    },
  };
}

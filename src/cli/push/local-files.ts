import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { LocalError } from '../http-client.ts';

/** A package file to send: its size is known before anything is opened, so batches and the progress bar can be planned. */
export interface LocalFile {
  path: string;
  filename: string;
  size: number;
}

/** What a directory contributes: the package files the server takes. */
// A .dsc brings the source files it names (push/source-files.ts).
const PACKAGE_FILE = /\.(rpm|deb|udeb|ddeb|dsc)$/i;

async function statOrFail(path: string) {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new LocalError(code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Package files under a directory, recursively, in name order (so a push is reproducible). */
async function walk(dir: string, out: LocalFile[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: Error) => {
    throw new LocalError(`cannot read ${dir}: ${error.message}`);
  });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) await walk(path, out);
    else if (e.isFile() && PACKAGE_FILE.test(e.name)) out.push({ path, filename: e.name, size: (await statOrFail(path)).size });
  }
}

/**
 * The files a push names: each argument is a file (sent whatever its name) or a directory (every
 * .rpm/.deb/.udeb/.ddeb/.dsc under it). Only stat and readdir run here; files are opened one at a time
 * while their batch streams out (src/cli/multipart.ts).
 */
export async function localFiles(paths: string[]): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  for (const path of paths) {
    const info = await statOrFail(path);
    if (info.isDirectory()) {
      const before = out.length;
      await walk(path, out);
      if (out.length === before) throw new LocalError(`no .rpm or .deb file under ${path}`);
    } else if (info.isFile()) out.push({ path, filename: basename(path), size: info.size });
    else throw new LocalError(`not a regular file: ${path}`);
  }
  return out;
}

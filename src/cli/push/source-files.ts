import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseDsc } from '../../formats/deb/dsc.ts';
import { type ApiClient, LocalError } from '../http-client.ts';
import { multipartBody } from '../multipart.ts';
import type { LocalFile } from './local-files.ts';

/**
 * `repod push x.dsc`: a Debian source package is its .dsc and the files the .dsc names, which
 * dpkg-source and dpkg-buildpackage leave beside it. They go together in one upload request
 * (POST /api/v1/upload with several `file` parts), where the server checks them against the .dsc.
 */
export function isSourceControl(file: LocalFile): boolean {
  return /\.dsc$/i.test(file.filename);
}

/** The .dsc and every file it names from its directory, the .dsc first; a missing file is a local error. */
export async function sourceFiles(dsc: LocalFile): Promise<LocalFile[]> {
  let parsed: ReturnType<typeof parseDsc>;
  try {
    parsed = parseDsc(await readFile(dsc.path));
  } catch (error) {
    throw new LocalError(`${dsc.path}: ${(error as Error).message}`, { cause: error });
  }
  const out: LocalFile[] = [dsc];
  const missing: string[] = [];
  for (const f of parsed.files) {
    const path = join(dirname(dsc.path), f.name);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) missing.push(f.name);
    else out.push({ path, filename: basename(path), size: info.size });
  }
  if (missing.length) throw new LocalError(`${dsc.path} names ${missing.join(', ')}, not found beside it in ${dirname(dsc.path)}`);
  return out;
}

/** Splits the files of a push into packages and source packages (each a .dsc with its files); a file a .dsc names is not sent twice. */
export async function splitSources(files: LocalFile[]): Promise<{ packages: LocalFile[]; sources: LocalFile[][] }> {
  const sources: LocalFile[][] = [];
  for (const f of files) if (isSourceControl(f)) sources.push(await sourceFiles(f));
  const named = new Set(sources.flat().map((f) => f.path));
  return { packages: files.filter((f) => !named.has(f.path)), sources };
}

/** Sends one source package as one upload; the answer is the upload's JSON (published, unchanged). */
export async function pushSource(
  client: ApiClient,
  files: LocalFile[],
  options: { distribution: string; component?: string; replace?: boolean; onBytes?: (n: number) => void },
): Promise<Record<string, unknown>> {
  const multipart = multipartBody(
    [
      { name: 'distribution', value: options.distribution },
      ...(options.component !== undefined ? [{ name: 'component', value: options.component }] : []),
      ...(options.replace ? [{ name: 'replace', value: 'true' }] : []),
      ...files.map((f) => ({ name: 'file', file: f })),
    ],
    { onBytes: options.onBytes },
  );
  return client.request<Record<string, unknown>>('POST', '/api/v1/upload', {
    body: multipart.body,
    headers: { 'content-type': multipart.contentType, 'content-length': String(multipart.length) },
  });
}

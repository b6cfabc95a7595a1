import type { Capabilities } from '../capabilities.ts';
import { RepodError } from '../errors.ts';
import { readAllBytes } from '../storage/objects.ts';
import type { ExportTarget } from './export-target.ts';
import { digestStream } from './verified-stream.ts';

/** A file an entry point names, as the entry point describes it. */
export interface NamedFile {
  path: string;
  size: number;
  sha256: string;
}

/** The files a repomd.xml names (paths relative to the arch folder), from its <data> records. */
export function repomdFiles(xml: string): NamedFile[] {
  const out: NamedFile[] = [];
  for (const [, body] of xml.matchAll(/<data\b[^>]*>([\s\S]*?)<\/data>/g)) {
    const href = /<location\b[^>]*\bhref="([^"]+)"/.exec(body)?.[1];
    const sha256 = /<checksum\b[^>]*type="sha256"[^>]*>([0-9a-f]{64})<\/checksum>/.exec(body)?.[1];
    const size = /<size>(\d+)<\/size>/.exec(body)?.[1];
    if (!href || !sha256 || !size)
      throw new RepodError('export_verify_failed', `repomd.xml has a record without location, sha256 or size: ${body.trim().slice(0, 200)}`, { status: 500 });
    out.push({ path: href, size: Number(size), sha256 });
  }
  return out;
}

/** The files a Release (or the text of an InRelease) lists under SHA256:, relative to dists/<codename>/. */
export function releaseFiles(text: string): NamedFile[] {
  const out: NamedFile[] = [];
  let inSha256 = false;
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) {
      inSha256 = line.startsWith('SHA256:');
      continue;
    }
    const m = inSha256 ? /^ ([0-9a-f]{64}) +(\d+) (\S+)$/.exec(line) : null;
    if (m) out.push({ path: m[3], size: Number(m[2]), sha256: m[1] });
  }
  return out;
}

async function readText(target: ExportTarget, path: string): Promise<string> {
  const body = await target.read(path);
  if (!body) throw new RepodError('export_verify_failed', `${target.name}/${path} is missing after the export wrote it`, { status: 500 });
  return new TextDecoder().decode(await readAllBytes(body));
}

async function checkFile(caps: Pick<Capabilities, 'hash'>, target: ExportTarget, path: string, want: NamedFile, by: string): Promise<void> {
  const body = await target.read(path);
  if (!body) throw new RepodError('export_verify_failed', `${by} names ${path}, which is missing from ${target.name}`, { status: 500 });
  const got = await digestStream(caps, body);
  if (got.size !== want.size || got.sha256 !== want.sha256) {
    throw new RepodError(
      'export_verify_failed',
      `${by} names ${path} with ${want.size} bytes and sha256 ${want.sha256}; ${target.name} has ${got.size} bytes with sha256 ${got.sha256}`,
      {
        status: 500,
      },
    );
  }
}

/**
 * Reads the entry points of an exported revision folder back from the target and checks that
 * every file they name is there with the size and sha256 they give (APT: also under by-hash,
 * since Release says Acquire-By-Hash), and that every package is there with its size.
 * Returns how many files were checked.
 */
export async function verifyExport(
  caps: Pick<Capabilities, 'hash'>,
  target: ExportTarget,
  root: string,
  entryPoints: readonly string[],
  packages: ReadonlyArray<{ path: string; size: number }>,
): Promise<number> {
  let checked = 0;
  for (const entry of entryPoints) {
    const name = entry.slice(entry.lastIndexOf('/') + 1);
    const dir = entry.slice(0, entry.lastIndexOf('/') + 1);
    if (name === 'repomd.xml') {
      const text = await readText(target, `${root}${entry}`);
      const arch = dir.replace(/repodata\/$/, '');
      for (const f of repomdFiles(text)) {
        await checkFile(caps, target, `${root}${arch}${f.path}`, f, `${root}${entry}`);
        checked++;
      }
    } else if (name === 'Release' || name === 'InRelease') {
      const text = await readText(target, `${root}${entry}`);
      const listed = releaseFiles(text);
      if (listed.length === 0) throw new RepodError('export_verify_failed', `${root}${entry} lists no SHA256 files`, { status: 500 });
      for (const f of listed) {
        await checkFile(caps, target, `${root}${dir}${f.path}`, f, `${root}${entry}`);
        const byHash = `${root}${dir}${f.path.slice(0, f.path.lastIndexOf('/') + 1)}by-hash/SHA256/${f.sha256}`;
        if ((await target.size(byHash)) !== f.size)
          throw new RepodError('export_verify_failed', `${byHash} (by-hash of ${f.path}) is missing or of the wrong size`, { status: 500 });
        checked += 2;
      }
    } else if ((await target.size(`${root}${entry}`)) === null) {
      throw new RepodError('export_verify_failed', `${root}${entry} is missing after the export wrote it`, { status: 500 });
    }
  }
  for (const p of packages) {
    const size = await target.size(`${root}${p.path}`);
    if (size !== p.size)
      throw new RepodError('export_verify_failed', `${root}${p.path} ${size === null ? 'is missing' : `has ${size} bytes, expected ${p.size}`}`, { status: 500 });
    checked++;
  }
  return checked;
}

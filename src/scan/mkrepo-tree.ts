import type { RenderedFile } from '../bucket/render-manifest.ts';
import type { Revision } from '../bucket/revision.ts';
import type { AptDistribution, Distribution, RpmDistribution } from '../config/distributions.ts';
import type { ExportCore } from '../export/export-plan.ts';
import type { StoreTarget } from '../export/store-target.ts';
import { verifiedStream } from '../export/verified-stream.ts';
import { repomdFiles, verifyExport } from '../export/verify-export.ts';
import { aptManifest } from '../render/apt-files.ts';
import { rpmManifest } from '../render/rpm-files.ts';
import { readAllBytes } from '../storage/objects.ts';
import { utf8 } from '../util/bytes.ts';
import { TREE_VIEW_ARCH } from './found-entry.ts';
import type { MalformedObject } from './scan-location.ts';
import { malformedList } from './scan-location.ts';

/**
 * `repod mkrepo`'s output: the metadata of a revision written into the tree its packages were
 * found in, so a plain web server on that tree serves a working repository.
 *
 *   RPM: repodata/<sha256>-{primary,filelists,other}.xml.gz, repodata/repomd.xml
 *        (+ repomd.xml.asc and repomd.xml.key when signed), beside Packages/
 *   DEB: dists/<codename>/{Release (+ Release.gpg, InRelease when signed),
 *        <component>/binary-<arch>/Packages{,.gz,.xz}, .../by-hash/SHA256/<sha256>}, beside pool/
 *   Both: malformed_list.txt beside the entry point when --force left packages out.
 *
 * The bytes are the renders of the revision (the same code the server answers with), streamed and
 * checked against their sha256 while written. Content-addressed files go first, the entry points
 * last (the detached signature before the file it signs, InRelease last), then everything the
 * entry points name is read back and checked. Old RPM metadata files are deleted only when
 * neither the new repomd.xml nor the one it replaced names them, so a client that read the old
 * one a moment ago still finds its files.
 */
export interface TreeReport {
  written: number;
  unchanged: number;
  deleted: number;
  verified: number;
  entryPoints: string[];
}

export interface TreeOptions {
  sign: boolean;
  malformed: readonly MalformedObject[];
}

async function readText(target: StoreTarget, path: string): Promise<string | null> {
  const body = await target.read(path);
  return body ? new TextDecoder().decode(await readAllBytes(body)) : null;
}

async function writeFiles(core: ExportCore, target: StoreTarget, files: Array<{ path: string; file: RenderedFile }>, report: TreeReport, what: string): Promise<void> {
  for (const { path, file } of files) {
    const sha256 = file.checksums.sha256!;
    // Metadata file names carry their sha256 (repodata/<sha256>-..., by-hash/...); the others are checked when rewritten anyway.
    if (/[0-9a-f]{64}/.test(path) && (await target.size(path)) === file.size) {
      report.unchanged++;
      continue;
    }
    await target.write(path, verifiedStream(core.caps, core.renderer.stream(file), { sha256, size: file.size, what: `${what}: ${path}` }));
    report.written++;
  }
}

async function writeMalformed(target: StoreTarget, path: string, malformed: readonly MalformedObject[]): Promise<void> {
  if (malformed.length > 0) await target.write(path, utf8(malformedList(malformed)));
  else if ((await target.size(path)) !== null) await target.delete(path);
}

export async function writeRpmTree(core: ExportCore, target: StoreTarget, dist: RpmDistribution, revision: Revision, options: TreeOptions): Promise<TreeReport> {
  const report: TreeReport = { written: 0, unchanged: 0, deleted: 0, verified: 0, entryPoints: [] };
  const manifest = await rpmManifest(core, dist, revision, TREE_VIEW_ARCH, 'plain');
  const previous = await readText(target, 'repodata/repomd.xml');
  await writeFiles(
    core,
    target,
    manifest.files.map((file) => ({ path: file.path, file })),
    report,
    `${target.name} revision ${revision.number}`,
  );
  await writeMalformed(target, 'repodata/malformed_list.txt', options.malformed);
  const docs = options.sign ? ['repodata/repomd.xml.key', 'repodata/repomd.xml.asc', 'repodata/repomd.xml'] : ['repodata/repomd.xml'];
  if (!options.sign) {
    // An old signature would not verify the new repomd.xml: dnf with repo_gpgcheck must fail clearly, not on a mismatch.
    for (const stale of ['repodata/repomd.xml.asc', 'repodata/repomd.xml.key']) if ((await target.size(stale)) !== null) await target.delete(stale);
  }
  for (const path of docs) {
    await target.write(path, utf8(manifest.documents[path]));
    report.written++;
  }
  report.entryPoints = ['repodata/repomd.xml'];
  report.verified = await verifyExport(core.caps, target, '', report.entryPoints, []);

  const keep = new Set([...repomdFiles(manifest.documents['repodata/repomd.xml']), ...(previous ? safeRepomdFiles(previous) : [])].map((f) => f.path));
  for await (const path of target.list('repodata/')) {
    if (/^repodata\/[0-9a-f]{64}-[^/]+$/.test(path) && !keep.has(path)) {
      await target.delete(path);
      report.deleted++;
    }
  }
  return report;
}

function safeRepomdFiles(xml: string) {
  try {
    return repomdFiles(xml);
  } catch {
    return []; // not a repomd.xml this version reads: its files are not kept
  }
}

export async function writeAptTree(core: ExportCore, target: StoreTarget, dist: AptDistribution, revision: Revision, options: TreeOptions): Promise<TreeReport> {
  const report: TreeReport = { written: 0, unchanged: 0, deleted: 0, verified: 0, entryPoints: [] };
  const base = `dists/${dist.name}/`;
  const manifest = await aptManifest(core, dist, revision);
  const files: Array<{ path: string; file: RenderedFile }> = [];
  for (const file of manifest.files) {
    const path = `${base}${file.path}`;
    files.push({ path, file });
    // Release says Acquire-By-Hash: each index is also under its sha256, which apt prefers.
    files.push({ path: `${path.slice(0, path.lastIndexOf('/') + 1)}by-hash/SHA256/${file.checksums.sha256}`, file });
  }
  await writeFiles(core, target, files, report, `${target.name} ${dist.name} revision ${revision.number}`);
  await writeMalformed(target, `${base}malformed_list.txt`, options.malformed);
  const docs = options.sign ? ['Release.gpg', 'Release', 'InRelease'] : ['Release'];
  if (!options.sign) for (const stale of ['Release.gpg', 'InRelease']) if ((await target.size(base + stale)) !== null) await target.delete(base + stale);
  for (const name of docs) {
    await target.write(base + name, utf8(manifest.documents[name]));
    report.written++;
  }
  report.entryPoints = [base + docs[docs.length - 1]];
  report.verified = await verifyExport(core.caps, target, '', report.entryPoints, []);
  return report;
}

export function writeTree(core: ExportCore, target: StoreTarget, dist: Distribution, revision: Revision, options: TreeOptions): Promise<TreeReport> {
  return dist.kind === 'rpm' ? writeRpmTree(core, target, dist, revision, options) : writeAptTree(core, target, dist, revision, options);
}

/**
 * Package records made from what an upstream index says of a package, not from its bytes: an
 * on-demand mirror publishes packages it has not downloaded. They render the same primary and
 * Packages entries the upstream's own index holds; what an index does not carry stays empty (an
 * RPM's changelogs and the files outside primary's list, a .deb's file list for Contents, hashes
 * the index leaves out). `origin: 'index'` marks them, so the bytes, once read, replace them.
 */
import type { DebPackageRecord, RpmPackageRecord } from '../bucket/package-record.ts';
import { parseDebControl } from '../formats/deb/control.ts';
import type { RpmPackage } from '../formats/rpm/model.ts';
import type { AptCatalogEntry } from '../import/apt/catalog-entry.ts';
import { Deb822Fields } from '../import/apt/deb822-fields.ts';
import type { UpstreamRpmPackage } from '../import/rpm/upstream-package.ts';
import { rpmFileName } from '../ingest/rpm-entry.ts';
import { debFileName } from '../metadata/apt/packages-stanza.ts';

export function rpmRecordFromIndex(p: UpstreamRpmPackage & { sha256: string }): RpmPackageRecord {
  const isSource = p.arch === 'src' || p.arch === 'nosrc';
  const pkg: RpmPackage = {
    name: p.name,
    epoch: p.epoch,
    version: p.version,
    release: p.release,
    arch: isSource ? 'src' : p.arch,
    summary: p.summary,
    description: p.description ?? '',
    packager: p.packager ?? '',
    url: p.url ?? '',
    license: p.license ?? '',
    vendor: p.vendor ?? '',
    group: p.group ?? '',
    buildHost: p.buildHost ?? '',
    sourceRpm: p.sourceRpm ?? '',
    buildTime: p.buildTime,
    headerStart: p.headerRange?.start ?? 0,
    headerEnd: p.headerRange?.end ?? 0,
    installedSize: p.installedSize,
    archiveSize: p.archiveSize ?? 0,
    provides: p.provides,
    requires: p.requires,
    conflicts: p.conflicts,
    obsoletes: p.obsoletes,
    recommends: p.recommends,
    suggests: p.suggests,
    supplements: p.supplements,
    enhances: p.enhances,
    files: p.files.map((path) => ({ path, type: p.fileTypes?.[path] ?? 'file' })),
    changelogs: [],
    isSource,
  };
  return {
    format: 1,
    kind: 'rpm',
    origin: 'index',
    facts: { sha256: p.sha256, size: p.size, fileTime: p.fileTime ?? p.buildTime, fileName: rpmFileName(pkg) },
    package: pkg,
  };
}

/**
 * The stanza is the control file plus what the archive adds (Filename, Size, hashes), which the
 * Packages renderer sets again from the facts; the hashes the index gives are kept, those it
 * lacks (Debian lists no SHA1 or SHA512 today) are left out of the rendered stanza.
 */
export function debRecordFromIndex(entry: AptCatalogEntry & { stanza: string }, where: string): DebPackageRecord {
  const control = parseDebControl(entry.stanza);
  const fields = new Deb822Fields(entry.stanza, where);
  const hash = (name: string, length: number) => {
    const value = fields.firstLine(name)?.toLowerCase() ?? '';
    return new RegExp(`^[0-9a-f]{${length}}$`).test(value) ? value : '';
  };
  return {
    format: 1,
    kind: 'deb',
    origin: 'index',
    facts: { sha256: entry.sha256, sha1: hash('SHA1', 40), md5: hash('MD5sum', 32), sha512: hash('SHA512', 128), size: entry.size, fileName: debFileName(control) },
    control: entry.stanza,
    files: [],
  };
}

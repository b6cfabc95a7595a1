/**
 * The neutral RPM package model: everything createrepo_c writes into primary, filelists and other,
 * read from the package header. Parsers produce it; metadata renderers (XML fragments, sqlite)
 * consume it. It is stored as JSON, so it holds only plain data.
 */

/** One dependency entry (provides, requires, ...). `flags` is createrepo_c's spelling. */
export interface RpmDependency {
  name: string;
  flags?: 'EQ' | 'LT' | 'LE' | 'GT' | 'GE';
  epoch?: string;
  version?: string;
  release?: string;
  /** Requires only: a prerequisite (RPMSENSE_PREREQ / script dependencies), written as pre="1". */
  pre?: boolean;
}

export interface RpmFile {
  path: string;
  /** createrepo_c's file types: plain files carry no type attribute. */
  type: 'file' | 'dir' | 'ghost';
}

export interface RpmChangelog {
  author: string;
  /** Seconds since the epoch. */
  date: number;
  text: string;
}

export interface RpmPackage {
  name: string;
  /** Always a decimal string; "0" when the header has no epoch. */
  epoch: string;
  version: string;
  release: string;
  /** "src" for source packages (and nosrc), whatever the header's arch. */
  arch: string;
  summary: string;
  description: string;
  packager: string;
  url: string;
  license: string;
  vendor: string;
  group: string;
  buildHost: string;
  /** Empty for source packages. */
  sourceRpm: string;
  /** Seconds since the epoch. */
  buildTime: number;
  /** Byte offsets of the main header in the file: start after the signature header, end after the header. */
  headerStart: number;
  headerEnd: number;
  /** Sum of file sizes (RPMTAG_SIZE / LONGSIZE). */
  installedSize: number;
  /** RPMSIGTAG_PAYLOADSIZE / LONGARCHIVESIZE (uncompressed payload size), 0 when absent. */
  archiveSize: number;
  provides: RpmDependency[];
  requires: RpmDependency[];
  conflicts: RpmDependency[];
  obsoletes: RpmDependency[];
  recommends: RpmDependency[];
  suggests: RpmDependency[];
  supplements: RpmDependency[];
  enhances: RpmDependency[];
  files: RpmFile[];
  /** Newest first, as in the header; renderers choose how many to keep. */
  changelogs: RpmChangelog[];
  /** True for .src.rpm / .nosrc.rpm (lead type 1 or no SOURCERPM tag). */
  isSource: boolean;
}

/** Facts about the file itself, computed while it streams in; not part of the header. */
export interface RpmFileFacts {
  sha256: string;
  size: number;
  /** Seconds since the epoch: when repod first stored the file (createrepo_c uses the file mtime). */
  fileTime: number;
  /** The package's file name as it appears in hrefs: <name>-<version>-<release>.<arch>.rpm */
  fileName: string;
}

import type { RpmDependency } from '../../formats/rpm/model.ts';

/**
 * One package as an upstream's primary.xml describes it: what the catalog keeps (search, the
 * newest version, the download and its check) and what a dependency closure needs. Plain data,
 * so it can be stored as JSON.
 */
export interface UpstreamRpmPackage {
  name: string;
  /** A decimal string; "0" when primary gives none. */
  epoch: string;
  version: string;
  release: string;
  arch: string;
  /** Size of the .rpm file in bytes (`<size package>`): the download is checked against it. */
  size: number;
  /** Sum of the installed files' sizes (`<size installed>`), 0 when absent. */
  installedSize: number;
  /** Build time in seconds since the epoch (`<time build>`), 0 when absent. */
  buildTime: number;
  /** The package file's checksum as primary gives it (also the package id). */
  checksum: { type: string; value: string };
  /**
   * Lower-case hex sha256 of the .rpm, when primary's checksum is sha256. Old repositories use
   * sha1 (`sha` or `sha1`) or md5: then this is absent and `checksum` says which type it is.
   */
  sha256?: string;
  /** `<location href>`: the package's path, relative to `locationBase` or else to the repository. */
  location: string;
  /** `<location xml:base>`, when the repository keeps its packages elsewhere (a mirror or a CDN). */
  locationBase?: string;
  summary: string;
  description?: string;
  url?: string;
  license?: string;
  vendor?: string;
  group?: string;
  packager?: string;
  buildHost?: string;
  /** The source package's file name; absent for source packages. */
  sourceRpm?: string;
  requires: RpmDependency[];
  provides: RpmDependency[];
  conflicts: RpmDependency[];
  obsoletes: RpmDependency[];
  recommends: RpmDependency[];
  suggests: RpmDependency[];
  supplements: RpmDependency[];
  enhances: RpmDependency[];
  /**
   * The files primary lists (createrepo_c keeps only those under /etc, in a bin directory, and
   * /usr/lib/sendmail: the paths packages require by name); filelists.xml has the rest.
   */
  files: string[];
  /** Paths of `files` that primary types as directories or ghosts (the rest are plain files). */
  fileTypes?: Record<string, 'dir' | 'ghost'>;
  /** `<time file>`: when the producer saw the file, in seconds since the epoch. */
  fileTime?: number;
  /** `<size archive>`: the uncompressed payload's size. */
  archiveSize?: number;
  /** `<rpm:header-range>`: where the main header lies in the file. */
  headerRange?: { start: number; end: number };
}

/** The URL a package downloads from, from the repository's base URL (the directory holding repodata/). */
export function upstreamPackageUrl(base: string, pkg: Pick<UpstreamRpmPackage, 'location' | 'locationBase'>): string {
  const root = pkg.locationBase ? withSlash(pkg.locationBase) : withSlash(base);
  return new URL(pkg.location, new URL(root, withSlash(base))).href;
}

/** A directory URL ends with a slash, or relative references replace its last segment. */
export function withSlash(url: string): string {
  return url.endsWith('/') ? url : url + '/';
}

import type { RpmFileFacts, RpmPackage } from '../formats/rpm/model.ts';

/**
 * The record kept once per package content (`packages/<sha256>.json`): what was read from the
 * package when it was ingested, so that entries, fragments and sqlite databases can be built again
 * without reading the package.
 */
export interface RpmPackageRecord {
  format: 1;
  kind: 'rpm';
  /** `index`: made from an upstream index by a mirror before the bytes were read (mirror/upstream-records.ts). */
  origin?: 'index';
  facts: RpmFileFacts;
  package: RpmPackage;
}

export interface DebFileFacts {
  sha256: string;
  sha1: string;
  md5: string;
  /** apt-ftparchive lists SHA512 in every stanza. */
  sha512: string;
  size: number;
  /** Canonical file name: <package>_<version without epoch>_<arch>.deb */
  fileName: string;
}

export interface DebPackageRecord {
  format: 1;
  kind: 'deb';
  /** `index`: made from an upstream index by a mirror before the bytes were read (mirror/upstream-records.ts). */
  origin?: 'index';
  facts: DebFileFacts;
  /** The control file as found in the package. */
  control: string;
  /** data.tar paths, for Contents. */
  files: string[];
}

export type PackageRecord = RpmPackageRecord | DebPackageRecord;

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
  /**
   * What signature verification found when these bytes were first uploaded, kept in the record so
   * an upload writes one object less. A later upload of the same bytes keeps its own verdict beside
   * it (`layout.packageSignature`), which then wins (signing/signature-verdict.ts).
   */
  signature?: SignatureVerdict;
}

/** An RPM upload's signature verdict as stored: the policy's status and the signers' key ids. */
export interface SignatureVerdict {
  format: 1;
  /** When it was checked (ISO 8601). */
  checked: string;
  status: string;
  signers: string[];
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

/** One file a source package's .dsc names, as the pool holds it: every checksum the Sources index lists. */
export interface DscNamedFile {
  name: string;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
  sha512: string;
}

/**
 * A Debian source package, recorded under the sha256 of its .dsc: the .dsc's stanza (clear-signing
 * armor removed) and every file it names, enough to render its Sources stanza and claim its pool
 * paths again without reading any file. The files are in the pool by their own sha256.
 */
export interface DscPackageRecord {
  format: 1;
  kind: 'dsc';
  /** Source records are only made from uploaded bytes (never from an upstream index). */
  origin?: never;
  /** The .dsc file itself; fileName is its canonical `<source>_<version without epoch>.dsc`. */
  facts: DebFileFacts;
  /** The .dsc's stanza as uploaded, without the OpenPGP armor (formats/deb/dsc.ts parses it again). */
  control: string;
  /** Whether the uploaded .dsc was clear-signed (the pool keeps it as uploaded, signature and all). */
  signed: boolean;
  /** The files the .dsc names, in its Files order. */
  files: DscNamedFile[];
}

export type PackageRecord = RpmPackageRecord | DebPackageRecord | DscPackageRecord;

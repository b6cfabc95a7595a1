/**
 * An APT Release file (https://wiki.debian.org/DebianRepository/Format#A.22Release.22_files): which
 * suite it describes, until when it is valid, and the index files it vouches for with their size
 * and SHA-256. A client trusts an index only through this list, so a file listed without a
 * SHA-256, or with a malformed line, is an error, not something to skip silently.
 */
import { RepodError } from '../../errors.ts';
import { relativePathError } from './catalog-entry.ts';
import { Deb822Fields, invalid } from './deb822-fields.ts';

export interface AptReleaseFile {
  /** Relative to `dists/<dist>/`, e.g. `main/binary-amd64/Packages.xz`. */
  path: string;
  size: number;
  /** Lower-case hex. */
  sha256: string;
}

export interface AptRelease {
  /** The directory under `dists/` this Release was read from (what the source names as its suite). */
  dist: string;
  suite?: string;
  codename?: string;
  origin?: string;
  label?: string;
  version?: string;
  /** `Date`, when present and readable. */
  date?: Date;
  /** `Valid-Until`, when present and readable. */
  validUntil?: Date;
  architectures: string[];
  components: string[];
  /** `Acquire-By-Hash: yes`: index files can be fetched by their hash, immune to a concurrent update. */
  acquireByHash: boolean;
  /** The SHA256 list. */
  files: AptReleaseFile[];
  /** How the Release was authenticated: the file the signature came from, or null when no key was given. */
  signedBy: 'InRelease' | 'Release.gpg' | null;
  /** Upper-case fingerprints of the keys whose signatures verified (empty without a key). */
  signers: string[];
}

const HASH_LINE = /^([0-9a-fA-F]{64})\s+([0-9]{1,15})\s+(\S+)$/;

/** Parses the (already authenticated) text of a Release file. Throws `upstream_index_invalid`. */
export function parseAptRelease(text: string, dist: string, where = `dists/${dist}/Release`): Omit<AptRelease, 'signedBy' | 'signers'> {
  const stanza = text.replace(/^\n+/, '');
  const blank = stanza.search(/\n\n[^\n]/);
  if (blank !== -1) throw invalid(where, 'more than one stanza');
  const fields = new Deb822Fields(stanza, where);
  const list = (name: string) => (fields.get(name) ?? '').split(/\s+/).filter((s) => s !== '');
  const date = (name: string): Date | undefined => {
    const value = fields.firstLine(name);
    if (value === undefined) return undefined;
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) throw invalid(where, `${name} '${value}' is not a date`);
    return new Date(ms);
  };
  const files: AptReleaseFile[] = [];
  const seen = new Set<string>();
  for (const line of (fields.get('SHA256') ?? '').split('\n')) {
    if (line.trim() === '') continue;
    const m = HASH_LINE.exec(line.trim());
    if (!m) throw invalid(where, `malformed SHA256 line '${line.trim()}'`);
    const path = m[3]!;
    const pathError = relativePathError(path);
    if (pathError) throw invalid(where, `index path '${path}' ${pathError}`);
    if (seen.has(path)) continue;
    seen.add(path);
    files.push({ path, size: Number(m[2]), sha256: m[1]!.toLowerCase() });
  }
  if (files.length === 0 && (fields.has('MD5Sum') || fields.has('SHA1') || fields.has('SHA512'))) {
    throw new RepodError('upstream_index_invalid', `${where} lists no SHA256 checksums (only weaker or other ones)`, { status: 422, details: { where } });
  }
  const optional = (name: string) => fields.firstLine(name) || undefined;
  return {
    dist,
    suite: optional('Suite'),
    codename: optional('Codename'),
    origin: optional('Origin'),
    label: optional('Label'),
    version: optional('Version'),
    date: date('Date'),
    validUntil: date('Valid-Until'),
    architectures: list('Architectures'),
    components: list('Components'),
    acquireByHash: (fields.firstLine('Acquire-By-Hash') ?? '').toLowerCase() === 'yes',
    files,
  };
}

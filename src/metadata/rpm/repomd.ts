import { escapeAttr, escapeText } from '../xml.ts';
import { REPO_NS, RPM_NS, XML_DECLARATION } from './namespaces.ts';

/** One `<data>` entry of repomd.xml. Checksums are sha256, as everywhere in repod. */
export interface RepomdRecord {
  /** primary, filelists, other, primary_db, filelists_db, other_db, group, updateinfo, ... */
  type: string;
  /** Relative to the repository root, e.g. repodata/<sha256>-primary.xml.gz */
  href: string;
  /** sha256 hex of the file as served (compressed). */
  checksum: string;
  size: number;
  /** sha256 hex and size of the uncompressed content, for compressed files. */
  openChecksum?: string;
  openSize?: number;
  /** Seconds since the epoch. */
  timestamp: number;
  /** zchunk files (`*_zck`): sha256 hex and size of the zchunk header, which clients fetch first. */
  headerChecksum?: string;
  headerSize?: number;
  /** Written for `*_db` types only; createrepo_c's sqlite schema version is 10. */
  databaseVersion?: number;
}

export interface RepomdInput {
  revision: string;
  records: readonly RepomdRecord[];
}

const DEFAULT_DATABASE_VERSION = 10;

// createrepo_c sorts records: the base metadata in this logical order, then everything else by type.
const TYPE_RANK: Record<string, number> = {
  primary: 1,
  filelists: 2,
  other: 3,
  primary_db: 4,
  filelists_db: 5,
  other_db: 6,
  primary_zck: 7,
  filelists_zck: 8,
  other_zck: 9,
};

function compareRecords(a: RepomdRecord, b: RepomdRecord): number {
  const rankA = TYPE_RANK[a.type] ?? 10;
  const rankB = TYPE_RANK[b.type] ?? 10;
  if (rankA !== rankB) return rankA - rankB;
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  return a.href < b.href ? -1 : a.href > b.href ? 1 : 0;
}

/** The whole repomd.xml, laid out (element order, indentation, final newline) as createrepo_c does. */
export function renderRepomd(input: RepomdInput): string {
  let out = XML_DECLARATION + '<repomd xmlns="' + REPO_NS + '" xmlns:rpm="' + RPM_NS + '">\n' + '  <revision>' + escapeText(input.revision) + '</revision>\n';
  for (const record of [...input.records].sort(compareRecords)) out += renderRecord(record);
  return out + '</repomd>\n';
}

function renderRecord(record: RepomdRecord): string {
  let out = '  <data type="' + escapeAttr(record.type) + '">\n' + '    <checksum type="sha256">' + escapeText(record.checksum) + '</checksum>\n';
  if (record.openChecksum !== undefined) {
    out += '    <open-checksum type="sha256">' + escapeText(record.openChecksum) + '</open-checksum>\n';
  }
  if (record.headerChecksum !== undefined) {
    out += '    <header-checksum type="sha256">' + escapeText(record.headerChecksum) + '</header-checksum>\n';
  }
  out += '    <location href="' + escapeAttr(record.href) + '"/>\n' + '    <timestamp>' + record.timestamp + '</timestamp>\n' + '    <size>' + record.size + '</size>\n';
  if (record.openSize !== undefined) out += '    <open-size>' + record.openSize + '</open-size>\n';
  if (record.headerSize !== undefined) out += '    <header-size>' + record.headerSize + '</header-size>\n';
  if (record.type.endsWith('_db')) {
    out += '    <database_version>' + (record.databaseVersion ?? DEFAULT_DATABASE_VERSION) + '</database_version>\n';
  }
  return out + '  </data>\n';
}

import type { IndexEntry } from '../bucket/chunk.ts';
import { joinKey } from '../bucket/keys.ts';
import type { Revision } from '../bucket/revision.ts';
import { chunkFor } from '../revisions/compose.ts';
import { identity } from '../revisions/history.ts';
import type { Repository } from '../revisions/repository.ts';

/**
 * The distribution page's package search: `name:` (a prefix of the name), `version:` (a prefix of
 * the version), `arch:` (exact), and free words (each a case-insensitive part of the NEVRA or
 * name_version_arch). Pages follow the revision's sorted chunks from a cursor (the last key
 * shown), so a page reads only the chunks it shows: a name search reads the chunks that hold the
 * name, an arch search skips chunks without that architecture (their counts say so), and no page
 * reads more than MAX_CHUNKS_PER_PAGE chunks whatever the repository's size.
 *
 * `severity:` (critical, high, medium, low, negligible, unknown) keeps the packages with an
 * advisory finding at least that strong. Findings are not in the chunk index: the caller passes
 * `severityOf`, which matches one package against the advisory feed as it is now, and is asked
 * only for rows every other term already accepts.
 */
export interface PackageQuery {
  name?: string;
  version?: string;
  arch?: string;
  severity?: Severity;
  words: string[];
}

/** Advisory severities, strongest first (the words of config/security-policy.ts). */
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'negligible', 'unknown'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The strongest of several severities, or null for none. */
export function strongestSeverity(severities: Iterable<string>): Severity | null {
  let best = -1;
  for (const s of severities) {
    const i = SEVERITIES.indexOf(s as Severity);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best < 0 ? null : SEVERITIES[best];
}

/** Whether `found` is at least as strong as `wanted` (unknown counts as the weakest). */
export function atLeast(found: Severity, wanted: Severity): boolean {
  return SEVERITIES.indexOf(found) <= SEVERITIES.indexOf(wanted);
}

export interface PackageRow {
  key: string;
  sha256: string;
  name: string;
  arch: string;
  version: string;
  label: string;
  file: string;
  component?: string;
  /** The strongest advisory finding on the package, filled in for severity searches. */
  severity?: Severity;
}

export interface PackagePage {
  rows: PackageRow[];
  /** The cursor of the next page, or null at the end. */
  next: string | null;
  /** True when the page stopped at the chunk budget before filling: the next page continues the search. */
  partial: boolean;
}

/** Chunks (of up to 1024 packages each) one page may read. */
export const MAX_CHUNKS_PER_PAGE = 32;

export function parsePackageQuery(text: string): PackageQuery {
  const query: PackageQuery = { words: [] };
  for (const token of text.trim().split(/\s+/).filter(Boolean)) {
    const m = /^(name|version|arch|severity):(.*)$/i.exec(token);
    const field = m?.[1].toLowerCase();
    if (field === 'severity' && SEVERITIES.includes(m![2].toLowerCase() as Severity)) query.severity = m![2].toLowerCase() as Severity;
    else if (m?.[2] && field !== 'severity') query[field as 'name' | 'version' | 'arch'] = m[2];
    else query.words.push(token.toLowerCase());
  }
  return query;
}

/** The query as the search box shows it again. */
export function formatPackageQuery(q: PackageQuery): string {
  return [q.name && `name:${q.name}`, q.version && `version:${q.version}`, q.arch && `arch:${q.arch}`, q.severity && `severity:${q.severity}`, ...q.words]
    .filter(Boolean)
    .join(' ');
}

export async function searchPackages(
  repository: Pick<Repository, 'chunkIndex'>,
  revision: Revision,
  components: string[],
  query: PackageQuery,
  options: { after?: string; limit: number; severityOf?: (row: PackageRow) => Promise<Severity | null> },
): Promise<PackagePage> {
  const kind = revision.kind;
  const after = options.after ?? '';
  // Key ranges that can hold a match: a name narrows them to its prefix (per component for APT).
  const prefixes = query.name ? (kind === 'rpm' ? [query.name] : [...components].sort().map((c) => joinKey(c, query.name!))) : [''];
  const rows: PackageRow[] = [];
  let chunksRead = 0;
  let lastKey = after;
  for (const prefix of prefixes) {
    const start = prefix > after ? prefix : after;
    for (let i = revision.chunks.length ? chunkFor(revision.chunks, start) : 0; i < revision.chunks.length; i++) {
      const ref = revision.chunks[i];
      if (ref.first > prefix && !ref.first.startsWith(prefix)) break;
      if (ref.last < start || ref.last <= after) continue;
      if (query.arch && !ref.arches[query.arch]) continue;
      if (chunksRead === MAX_CHUNKS_PER_PAGE) return { rows, next: lastKey, partial: true };
      chunksRead++;
      for (const entry of (await repository.chunkIndex(ref.id)).entries) {
        if (entry.key <= after || !entry.key.startsWith(prefix)) continue;
        lastKey = entry.key;
        const row = rowOf(kind, entry);
        if (!matches(row, query)) continue;
        if (query.severity) {
          const found = options.severityOf ? await options.severityOf(row) : null;
          if (!found || !atLeast(found, query.severity)) continue;
          row.severity = found;
        }
        if (rows.length === options.limit) return { rows, next: rows[rows.length - 1].key, partial: false };
        rows.push(row);
      }
    }
  }
  return { rows, next: null, partial: false };
}

function rowOf(kind: Revision['kind'], entry: IndexEntry): PackageRow {
  const id = identity(kind, entry);
  return {
    key: entry.key,
    sha256: entry.id,
    name: id.name,
    arch: entry.arch,
    version: id.version,
    label: entry.label,
    file: entry.file,
    ...(entry.component ? { component: entry.component } : {}),
  };
}

function matches(row: PackageRow, q: PackageQuery): boolean {
  if (q.arch && row.arch !== q.arch) return false;
  if (q.version && !row.version.startsWith(q.version)) return false;
  if (q.name && !row.name.startsWith(q.name)) return false;
  const text = `${row.label} ${row.file}`.toLowerCase();
  return q.words.every((w) => text.includes(w));
}

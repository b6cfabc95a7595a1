import type { IndexEntry } from '../bucket/chunk.ts';
import { splitKey } from '../bucket/keys.ts';
import { type Revision, type RevisionSummary, summarizeRevision } from '../bucket/revision.ts';
import { compareDebVersions } from '../formats/deb/version.ts';
import { rpmvercmp } from '../formats/rpm/vercmp.ts';
import type { Repository } from './repository.ts';

/** What the history API shows of a revision (stored beside it: bucket/revision.ts). */
export type { RevisionSummary } from '../bucket/revision.ts';
export const summary = summarizeRevision;

/** A page of history, newest first: revisions numbered below `before` (or from the current one). */
export async function listRevisions(
  repository: Repository,
  dist: string,
  options: { limit: number; before?: number },
): Promise<{ revisions: RevisionSummary[]; next: number | null }> {
  const { ref } = await repository.currentRef(dist, true);
  const out: RevisionSummary[] = [];
  // Summaries only: a listing never parses a revision's change and chunk lists.
  let r = ref ? await repository.revisionSummary(dist, ref.revision) : null;
  while (r && options.before !== undefined && r.number >= options.before) r = r.parent ? await repository.revisionSummary(dist, r.parent) : null;
  while (r && out.length < options.limit) {
    out.push(r);
    r = r.parent ? await repository.revisionSummary(dist, r.parent) : null;
  }
  return { revisions: out, next: r ? out[out.length - 1].number : null };
}

/** Every entry of a revision, chunk by chunk. */
export async function entriesOf(repository: Repository, revision: Revision): Promise<IndexEntry[]> {
  const out: IndexEntry[] = [];
  for (const c of revision.chunks) out.push(...(await repository.chunkIndex(c.id)).entries);
  return out;
}

/** Name, architecture and version of an entry, from its key (RPM: name arch version release; APT: component name arch version). */
export function identity(kind: Revision['kind'], e: IndexEntry): { name: string; arch: string; version: string } {
  const parts = splitKey(e.key);
  if (kind === 'rpm') return { name: parts[0], arch: parts[1], version: `${parts[2]}-${parts[3]}` };
  return { name: parts[1], arch: parts[2], version: parts[3] };
}

export interface DiffItem {
  name: string;
  arch: string;
  version: string;
  label: string;
  sha256: string;
}

export interface RevisionDiff {
  from: string;
  to: string;
  added: DiffItem[];
  removed: DiffItem[];
  upgraded: Array<{ name: string; arch: string; from: string; to: string }>;
  downgraded: Array<{ name: string; arch: string; from: string; to: string }>;
}

/**
 * What changed from revision a to b. A name and architecture that lost one version and gained
 * another is an upgrade (or downgrade, by rpm's or dpkg's ordering), not an add and a remove.
 */
export async function diffRevisions(repository: Repository, a: Revision, b: Revision): Promise<RevisionDiff> {
  const kind = b.kind;
  // A chunk both revisions hold lists the same packages on both sides (content-addressed, and a
  // key lives in one chunk of a revision): only the other chunks are read, O(change) at any size.
  const inA = new Set(a.chunks.map((c) => c.id));
  const inB = new Set(b.chunks.map((c) => c.id));
  const before = new Map((await entriesOf(repository, { ...a, chunks: a.chunks.filter((c) => !inB.has(c.id)) })).map((e) => [e.key, e]));
  const after = new Map((await entriesOf(repository, { ...b, chunks: b.chunks.filter((c) => !inA.has(c.id)) })).map((e) => [e.key, e]));
  const item = (e: IndexEntry): DiffItem => ({ ...identity(kind, e), label: e.label, sha256: e.id });
  const added = [...after.values()].filter((e) => before.get(e.key)?.id !== e.id).map(item);
  const removed = [...before.values()].filter((e) => after.get(e.key)?.id !== e.id).map(item);
  const compare = kind === 'rpm' ? rpmEvrCompare : compareDebVersions;
  const result: RevisionDiff = { from: a.id, to: b.id, added: [], removed: [], upgraded: [], downgraded: [] };
  const gone = new Map<string, DiffItem[]>();
  for (const r of removed) {
    const k = `${r.name}/${r.arch}`;
    gone.set(k, [...(gone.get(k) ?? []), r]);
  }
  for (const n of added) {
    const k = `${n.name}/${n.arch}`;
    const old = gone.get(k)?.shift();
    if (!old || old.version === n.version) {
      result.added.push(n);
      if (old) result.removed.push(old);
      continue;
    }
    (compare(n.version, old.version) > 0 ? result.upgraded : result.downgraded).push({ name: n.name, arch: n.arch, from: old.version, to: n.version });
  }
  for (const rest of gone.values()) result.removed.push(...rest);
  return result;
}

function rpmEvrCompare(a: string, b: string): number {
  const [va, ra] = a.split('-');
  const [vb, rb] = b.split('-');
  return rpmvercmp(va, vb) || rpmvercmp(ra ?? '', rb ?? '');
}

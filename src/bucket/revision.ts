/**
 * A revision is an immutable snapshot of one distribution: a sorted list of chunk references
 * plus who made it and what changed. The distribution's ref points at its current revision.
 * JSON Schemas of both objects live in revisions/schemas/ (the storage format contract).
 */
export interface ChunkRef {
  id: string;
  first: string;
  last: string;
  count: number;
  /** Entries per package architecture, so a view's package count needs no chunk reads. */
  arches: Record<string, number>;
  bytes: number;
  /**
   * Number of the revision that wrote this chunk. APT renders lay chunks out oldest first, so the
   * chunks a publish rewrites come last and hashing resumes after the unchanged ones.
   */
  since?: number;
}

export interface ChangeItem {
  key: string;
  id: string;
  label: string;
  arch: string;
}

import type { StreamSpec } from './chunk.ts';

/**
 * One change of a revision that group commit made of several concurrent changes: who made it, what
 * they said and what it changed, applied in this order.
 */
export interface RevisionPart {
  author: string;
  message: string;
  added: ChangeItem[];
  removed: ChangeItem[];
}

export interface Revision {
  format: 1;
  kind: 'rpm' | 'apt';
  distribution: string;
  /** "<zero-padded number>-<random>": sortable, unique even if a crashed writer left an orphan. */
  id: string;
  number: number;
  parent: string | null;
  /** ISO 8601; the render timestamp of everything in this revision. */
  created: string;
  author: string;
  message: string;
  streams: StreamSpec[];
  changes: { added: ChangeItem[]; removed: ChangeItem[] };
  /**
   * Set when the revision joins several changes (group commit), in the order they applied;
   * `author`, `message` and `changes` then sum them up. Optional: older readers ignore it.
   */
  parts?: RevisionPart[];
  /** Set on a rollback: the revision whose package set this one restores. */
  restoredFrom?: string;
  packageCount: number;
  chunks: ChunkRef[];
  /**
   * RPM compose documents of this revision (comps groups, module documents, advisories), each a
   * content-addressed object. A child revision carries its parent's unless its change replaces
   * them, so pins, diffs and rollbacks carry them. Optional: older readers ignore it.
   */
  documents?: RevisionDocuments;
}

/** A compose document stored whole (layout.composeDocument): its sha256, size and what it holds. */
export interface DocumentRef {
  id: string;
  size: number;
  /** Groups, module documents or advisories it holds (for listings; no read needed). */
  count: number;
}

export interface RevisionDocuments {
  /** comps.xml as uploaded (repomd `group` and `group_gz`). */
  comps?: DocumentRef;
  /** The modulemd YAML stream as uploaded (repomd `modules`). */
  modules?: DocumentRef;
  /** The advisories as JSON (metadata/rpm/updateinfo.ts), rendered per view (repomd `updateinfo`). */
  updateinfo?: DocumentRef;
}

/**
 * What listings show of a revision, stored beside it (layout.revisionSummary) so a history page
 * reads a few hundred bytes per revision instead of its change list and chunk list (megabytes
 * for a large publish). Written with the revision, before the ref names it; a revision without
 * one (written before summaries existed) is summarized from the revision object itself.
 */
export interface RevisionSummary extends Pick<Revision, 'id' | 'number' | 'parent' | 'created' | 'author' | 'message' | 'packageCount' | 'restoredFrom'> {
  added: number;
  removed: number;
  /** A grouped revision's changes (group commit), in the order they applied: who did what. */
  parts?: Array<{ author: string; message: string; added: number; removed: number }>;
}

export function summarizeRevision(r: Revision): RevisionSummary {
  return {
    id: r.id,
    number: r.number,
    parent: r.parent,
    created: r.created,
    author: r.author,
    message: r.message,
    packageCount: r.packageCount,
    added: r.changes.added.length,
    removed: r.changes.removed.length,
    ...(r.parts ? { parts: r.parts.map((p) => ({ author: p.author, message: p.message, added: p.added.length, removed: p.removed.length })) } : {}),
    ...(r.restoredFrom ? { restoredFrom: r.restoredFrom } : {}),
  };
}

export interface Ref {
  format: 1;
  distribution: string;
  revision: string;
  number: number;
  updated: string;
}

export function revisionId(number: number, random: string): string {
  return `${String(number).padStart(6, '0')}-${random.slice(0, 8)}`;
}

export function changeItem(entry: { key: string; id: string; label: string; arch: string }): ChangeItem {
  return { key: entry.key, id: entry.id, label: entry.label, arch: entry.arch };
}

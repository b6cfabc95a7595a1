import { decodeChunk, type EntryWithSegments, encodeChunk, type IndexEntry, type StreamSpec, splitIntoChunks } from '../bucket/chunk.ts';
import type { GzipBlockCompressor } from '../bucket/gzip-blocks.ts';
import { readableKey } from '../bucket/keys.ts';
import type { ChunkRef } from '../bucket/revision.ts';
import { ConflictError, NotFoundError } from '../errors.ts';

/**
 * Composes the chunk list of a new revision from its parent's and a change, touching only the
 * chunks the change lands in (O(change), invariant 5). Pure apart from the injected loader.
 */
export interface ChangeSet {
  add: EntryWithSegments[];
  /** Keys to remove; a key that is not present is an error. */
  remove: string[];
  /** Adding a key that exists with other content replaces it instead of conflicting. */
  replace?: boolean;
  /**
   * Keys that may replace exactly this existing content (by sha256) without `replace`: a signed
   * copy the distribution prefers to the published one. Other content under the key (a racing
   * different build) still conflicts.
   */
  replacing?: Record<string, string>;
}

/** Whether adding `key` may replace the `existing` content under it. */
export function mayReplace(change: Pick<ChangeSet, 'replace' | 'replacing'>, key: string, existingId: string): boolean {
  return change.replace === true || change.replacing?.[key] === existingId;
}

export interface ComposeResult {
  chunks: ChunkRef[];
  /** Encoded chunks that did not exist in the parent (to be stored before the revision), with their entries. */
  written: Array<{ id: string; bytes: Uint8Array; items: EntryWithSegments[] }>;
  added: IndexEntry[];
  removed: IndexEntry[];
  /** Adds that were already present with identical content. */
  unchanged: IndexEntry[];
}

export interface ComposeIo {
  loadChunk(id: string): Promise<Uint8Array>;
  /** A chunk's entries with their segments when known without decoding (a chunk this process just wrote). */
  knownEntries?(id: string): EntryWithSegments[] | undefined;
  chunkId(bytes: Uint8Array): Promise<string>;
  gzip(data: Uint8Array): Uint8Array;
  gunzip(data: Uint8Array): Uint8Array;
  /**
   * Where the runtime can deflate with a dictionary: gzip groups built block by block, with a cache
   * of earlier composes' blocks, so a rewritten chunk recompresses only the blocks a change touched.
   */
  gzipBlocks?: GzipBlockCompressor;
}

/**
 * Chunks a publish rewrites are kept well under the format's limit (bucket/chunk.ts): every later
 * change landing in a chunk decodes all of it (unless this process wrote it), and recompresses all
 * of it where the runtime has no gzip blocks (ComposeIo.gzipBlocks), so its size is what each
 * publish pays. A few hundred entries still compress nearly as well, and a revision lists a few
 * times more chunks.
 */
const REWRITE_MAX_ENTRIES = 256;

/** The format's split, then pieces of at most REWRITE_MAX_ENTRIES, half full when split so the next inserts fit. */
function rewrittenPieces(sorted: EntryWithSegments[]): EntryWithSegments[][] {
  const out: EntryWithSegments[][] = [];
  for (const piece of splitIntoChunks(sorted)) {
    if (piece.length <= REWRITE_MAX_ENTRIES) {
      out.push(piece);
      continue;
    }
    // Pieces about half the limit: just over it (a group of a few adds) gives two halves, not thirds.
    const size = Math.ceil(piece.length / Math.max(2, Math.round((2 * piece.length) / REWRITE_MAX_ENTRIES)));
    for (let i = 0; i < piece.length; i += size) out.push(piece.slice(i, i + size));
  }
  return out;
}

/** Index of the chunk a key belongs to: the last one whose first key is <= key. */
export function chunkFor(chunks: ChunkRef[], key: string): number {
  let lo = 0;
  let hi = chunks.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (chunks[mid].first <= key) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** `generation` is the number of the revision being composed; new chunks record it as `since`. */
export async function compose(parent: ChunkRef[], streams: StreamSpec[], change: ChangeSet, io: ComposeIo, generation: number): Promise<ComposeResult> {
  const byChunk = new Map<number, { add: EntryWithSegments[]; remove: string[] }>();
  const slot = (i: number) => {
    let s = byChunk.get(i);
    if (!s) byChunk.set(i, (s = { add: [], remove: [] }));
    return s;
  };
  const seen = new Set<string>();
  for (const item of change.add) {
    if (seen.has(item.entry.key)) throw new ConflictError(`${item.entry.label} appears twice in one change`, 'duplicate_in_change');
    seen.add(item.entry.key);
    slot(chunkFor(parent, item.entry.key)).add.push(item);
  }
  for (const key of change.remove) slot(chunkFor(parent, key)).remove.push(key);

  const result: ComposeResult = { chunks: [], written: [], added: [], removed: [], unchanged: [] };
  const replacement = new Map<number, ChunkRef[]>();
  for (const [index, work] of byChunk) {
    let items: EntryWithSegments[] = [];
    if (parent.length > 0) {
      const id = parent[index].id;
      const known = io.knownEntries?.(id);
      if (known) items = known;
      else {
        const bytes = await io.loadChunk(id);
        items = decodeChunk(bytes).withSegments(bytes, io.gunzip);
      }
    }
    const byKey = new Map(items.map((item) => [item.entry.key, item]));
    let changed = false;
    for (const key of work.remove) {
      const existing = byKey.get(key);
      if (!existing) throw new NotFoundError(`package ${readableKey(key)} is not in the distribution`, 'package_not_found');
      byKey.delete(key);
      result.removed.push(existing.entry);
      changed = true;
    }
    for (const item of work.add) {
      const existing = byKey.get(item.entry.key);
      if (existing && existing.entry.id === item.entry.id) {
        result.unchanged.push(existing.entry);
        continue;
      }
      if (existing && !mayReplace(change, item.entry.key, existing.entry.id)) {
        throw new ConflictError(`${item.entry.label} is already published with different content (sha256 ${existing.entry.id}); replace it explicitly`, 'duplicate_package', {
          existing: existing.entry.id,
          uploaded: item.entry.id,
        });
      }
      if (existing) result.removed.push(existing.entry);
      byKey.set(item.entry.key, item);
      result.added.push(item.entry);
      changed = true;
    }
    if (!changed) continue; // keep the parent's reference
    const sorted = [...byKey.values()].sort((a, b) => (a.entry.key < b.entry.key ? -1 : a.entry.key > b.entry.key ? 1 : 0));
    const refs: ChunkRef[] = [];
    for (const piece of rewrittenPieces(sorted)) {
      const bytes = encodeChunk(streams, piece, io.gzip, io.gzipBlocks);
      const id = await io.chunkId(bytes);
      result.written.push({ id, bytes, items: piece });
      const arches: Record<string, number> = {};
      for (const { entry } of piece) arches[entry.arch] = (arches[entry.arch] ?? 0) + 1;
      refs.push({ id, first: piece[0].entry.key, last: piece[piece.length - 1].entry.key, count: piece.length, arches, bytes: bytes.length, since: generation });
    }
    replacement.set(index, refs);
  }

  if (parent.length === 0) {
    result.chunks = replacement.get(0) ?? [];
  } else {
    for (const [i, ref] of parent.entries()) result.chunks.push(...(replacement.get(i) ?? [ref]));
  }
  return result;
}

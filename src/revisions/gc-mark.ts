import type { ChunkHeader } from '../bucket/chunk.ts';
import { layout } from '../bucket/layout.ts';
import type { ByHashPointer, RenderManifest } from '../bucket/render-manifest.ts';
import type { Ref, Revision } from '../bucket/revision.ts';
import { SEGMENTED_PREFIX_LENGTH, segmentedHeaderLength } from '../bucket/segmented.ts';
import { RepodError } from '../errors.ts';
import { SOURCE_ARCH, storedSourceFiles } from '../ingest/source-entry.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { getJson, readAllBytes } from '../storage/objects.ts';

/**
 * The mark phase of garbage collection: what the roots (refs, young and possibly in-flight
 * revision objects) reach, held as sets of ids and keys, never as objects. Marking only ever
 * grows; the sweep asks `reachable*` right before every delete.
 */

/** A by-hash pointer a kept render needs: the newest kept render holding a file with that sha256. */
export interface PointerWant {
  dist: string;
  key: string;
  pointer: ByHashPointer;
  number: number;
}

/** Runs fn over items, at most `limit` at a time. */
export async function mapLimit<T>(items: Iterable<T>, limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let failed: unknown = null;
  const worker = async () => {
    for (let next = iterator.next(); !next.done && !failed; next = iterator.next()) {
      try {
        await fn(next.value);
      } catch (error) {
        failed ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  if (failed) throw failed;
}

const READS = 16;

/** The number part of a revision id ("000042-AbCd1234"), or null for an id of another shape. */
export function revisionNumber(id: string): number | null {
  const m = /^(\d+)-/.exec(id);
  return m ? Number(m[1]) : null;
}

function markFailed(message: string): RepodError {
  return new RepodError('gc_mark_failed', `garbage collection stopped, nothing more is deleted: ${message}`, { status: 500 });
}

export class MarkSet {
  /** dist → kept revision ids. */
  private readonly revisions = new Map<string, Set<string>>();
  /** `${dist}/${id}` → parent id (only kept revisions), so chains are walked without re-reading. */
  private readonly parents = new Map<string, { parent: string | null; number: number }>();
  /** Revisions whose renders were marked: `${dist}/${id}`. */
  private readonly rendered = new Set<string>();
  readonly chunks = new Set<string>();
  readonly packages = new Set<string>();
  /** APT pool paths ("pool/main/h/hello/hello_2.10-3_amd64.deb") the kept revisions serve. */
  readonly poolPaths = new Set<string>();
  /** Whole objects kept revisions and renders name (metadata/ sqlite databases, documents/ of revisions). */
  readonly objects = new Set<string>();
  /** by-hash pointer key → the render it should name. */
  readonly pointers = new Map<string, PointerWant>();
  readonly warnings: string[] = [];

  constructor(private readonly store: BlobStore) {}

  keptRevisions(dist: string): ReadonlySet<string> {
    return this.revisions.get(dist) ?? new Set();
  }

  isKeptRevision(dist: string, id: string): boolean {
    return this.revisions.get(dist)?.has(id) ?? false;
  }

  get revisionCount(): number {
    let n = 0;
    for (const ids of this.revisions.values()) n += ids.size;
    return n;
  }

  warn(message: string): void {
    if (this.warnings.length < 100 && !this.warnings.includes(message)) this.warnings.push(message);
  }

  /**
   * Keeps the chain of `current`: `keepLast` revisions following `parent`. A missing ancestor ends
   * the chain (an earlier collection with a smaller keepLast took it); a missing head is an error.
   */
  async markChain(dist: string, head: string, keepLast: number): Promise<void> {
    let id: string | null = head;
    for (let i = 0; id && i < keepLast; i++) {
      const marked = await this.markRevision(dist, id);
      if (!marked) {
        if (i === 0) throw markFailed(`the current revision ${id} of ${dist} is missing`);
        break;
      }
      id = marked.parent;
    }
  }

  /** Keeps one revision (a tag's, or a root found by age or number) with its chunks and renders. */
  async markRevision(dist: string, id: string): Promise<{ parent: string | null; number: number } | null> {
    const known = this.parents.get(`${dist}/${id}`);
    if (known) return known;
    const found = await getJson<Revision>(this.store, layout.revision(dist, id));
    if (!found) return null;
    const revision = found.value;
    await mapLimit(revision.chunks, READS, (c) => this.markChunk(c.id, `${dist} revision ${id}`));
    // Its compose documents (comps, modules, advisories) live as whole objects too.
    for (const ref of Object.values(revision.documents ?? {})) if (ref) this.objects.add(layout.composeDocument(ref.id));
    let ids = this.revisions.get(dist);
    if (!ids) this.revisions.set(dist, (ids = new Set()));
    ids.add(id);
    const info = { parent: revision.parent, number: revision.number };
    this.parents.set(`${dist}/${id}`, info);
    await this.markRenders(dist, id, revision.number);
    return info;
  }

  /** A chunk and the packages it lists; only its header is read (two ranged GETs). */
  async markChunk(id: string, usedBy: string): Promise<void> {
    if (this.chunks.has(id)) return;
    const header = await readChunkHeader(this.store, id);
    if (!header) throw markFailed(`chunk ${id} (used by ${usedBy}) is missing`);
    for (const e of header.entries) {
      this.packages.add(e.id);
      if (e.component !== undefined) this.poolPaths.add(e.file);
    }
    // A source package's entry names its .dsc; the tarballs and diffs it also serves are listed
    // only in its Sources stanza, so that is read back (one fragment a source entry).
    const sources = header.entries.filter((e) => e.arch === SOURCE_ARCH && e.component !== undefined);
    await mapLimit(sources, READS, async (e) => {
      const files = await storedSourceFiles(this.store, e.id, e.component!);
      if (!files) throw markFailed(`the fragment of the kept source package ${e.label} is missing`);
      for (const f of files) {
        this.packages.add(f.sha256);
        this.poolPaths.add(f.path);
      }
    });
    this.chunks.add(id);
  }

  /** Every stored render of a kept revision, the chunks and objects it streams, and the by-hash pointers its files need. */
  private async markRenders(dist: string, id: string, number: number): Promise<void> {
    const tag = `${dist}/${id}`;
    if (this.rendered.has(tag)) return;
    this.rendered.add(tag);
    const prefix = `renders/${dist}/${id}/`;
    const keys: string[] = [];
    for await (const e of this.store.list(prefix)) if (e.key.endsWith('.json')) keys.push(e.key);
    await mapLimit(keys, READS, async (key) => {
      const manifest = (await getJson<RenderManifest>(this.store, key))?.value;
      if (!manifest) return;
      for (const file of manifest.files) {
        for (const s of file.segments) {
          if ('chunk' in s) await this.markChunk(s.chunk, key);
          else if ('object' in s) this.objects.add(s.object);
        }
        const sha = file.checksums.sha256;
        if (!sha) continue;
        const pointerKey = layout.renderByHash(dist, sha);
        const want = this.pointers.get(pointerKey);
        if (!want || want.number < number) this.pointers.set(pointerKey, { dist, key: pointerKey, pointer: { revision: id, view: manifest.view }, number });
      }
    });
  }
}

/** A chunk's header, or null when the chunk is missing. */
export async function readChunkHeader(store: BlobStore, id: string): Promise<ChunkHeader | null> {
  const key = layout.chunk(id);
  const prefix = await store.get(key, { range: { start: 0, end: SEGMENTED_PREFIX_LENGTH - 1 } });
  if (!prefix) return null;
  const length = segmentedHeaderLength(await readAllBytes(prefix.body));
  const body = await store.get(key, { range: { start: SEGMENTED_PREFIX_LENGTH, end: SEGMENTED_PREFIX_LENGTH + length - 1 } });
  if (!body) return null;
  const bytes = await readAllBytes(body.body);
  if (bytes.length < length) throw markFailed(`chunk ${id} is truncated in its header`);
  return JSON.parse(new TextDecoder().decode(bytes)) as ChunkHeader;
}

/** The refs of a distribution: name → ref (current and every tag). */
export async function readRefs(store: BlobStore, dist: string): Promise<Map<string, Ref>> {
  const prefix = layout.refsPrefix(dist);
  const names: string[] = [];
  for await (const e of store.list(prefix)) if (e.key.endsWith('.json')) names.push(e.key.slice(prefix.length, -'.json'.length));
  const refs = new Map<string, Ref>();
  await mapLimit(names, READS, async (name) => {
    const ref = (await getJson<Ref>(store, layout.ref(dist, name)))?.value;
    if (ref?.revision) refs.set(name, ref);
  });
  return refs;
}

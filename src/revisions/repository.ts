import { type ChunkIndex, decodeChunk, type EntryWithSegments, type IndexEntry, type StreamSpec } from '../bucket/chunk.ts';
import { decodeXzPart, encodeXzPart, type XzPart } from '../bucket/chunk-xz-part.ts';
import { GzipBlockCache } from '../bucket/gzip-block-cache.ts';
import { layout } from '../bucket/layout.ts';
import {
  type ChunkRef,
  changeItem,
  type Ref,
  type Revision,
  type RevisionDocuments,
  type RevisionPart,
  type RevisionSummary,
  revisionId,
  summarizeRevision,
} from '../bucket/revision.ts';
import type { Capabilities } from '../capabilities.ts';
import { ConflictError, PreconditionFailedError, RepodError } from '../errors.ts';
import { getBytes, getJson, putJson, readAllBytes } from '../storage/objects.ts';
import { InFlight } from '../util/in-flight.ts';
import { LruCache } from '../util/lru-cache.ts';
import { type ChangeSet, type ComposeResult, chunkFor, compose } from './compose.ts';

export interface PublishMeta {
  author: string;
  message: string;
  /** A group commit's changes, each with its author and message (see RevisionPart). */
  parts?: RevisionPart[];
}

/** Provenance known up front, or worked out after each attempt's change (a group's verdicts can differ per attempt). */
export type PublishMetaSource = PublishMeta | (() => PublishMeta);

export interface PublishResult {
  /** The new revision, or the parent when the change was already fully present. */
  revision: Revision | null;
  changed: boolean;
  compose: ComposeResult;
  attempts: number;
}

/** Chunk bytes kept in memory unless told (the server gives half of REPOD_CACHE_BYTES). */
const DEFAULT_CHUNK_CACHE_BYTES = 32 * 1024 * 1024;

/** Decoded chunk indexes kept unless told (the server gives a quarter of REPOD_CACHE_BYTES). */
const DEFAULT_CHUNK_INDEX_BYTES = 16 * 1024 * 1024;

/**
 * What a decoded index entry holds on the heap (its object, key, id, file name, label, lengths and
 * offsets): 380 to 440 bytes at 100,000 packages, measured from heap snapshots.
 */
const INDEX_ENTRY_BYTES = 400;

/** A publisher retries lost races for this long (with growing, jittered pauses) before giving up with 409. */
const PUBLISH_RETRY_MS = 30_000;

/**
 * Reads and advances distributions' revisions. A publish writes every chunk and the revision
 * object first and then moves the ref with one compare-and-swap (invariant 1); on a lost race it
 * re-composes the change on top of the winner's revision (invariant 2).
 */
export class Repository {
  private readonly refs = new Map<string, { at: number; ref: Ref | null; etag: string | null }>();
  private readonly refReads: InFlight<string, { at: number; ref: Ref | null; etag: string | null }>;
  private readonly revisions = new LruCache<string, Revision>(256);
  private readonly summaries = new LruCache<string, RevisionSummary>(4096);
  /**
   * Decoded chunk indexes, bounded by their heap size: a render on a cold process decodes every
   * chunk once, and then needs none of them while its contributions stay cached (render-cache.ts);
   * compose, checks and searches read a few. Held by count (1,024 chunks) they kept 38 MiB at
   * 100,000 packages for good.
   */
  private readonly chunkIndexes: LruCache<string, ChunkIndex>;
  /**
   * Chunks' bytes as read from the store or written by this process. A render reads every chunk of
   * its revision (it hashes them all), and serving a metadata file assembles it from their ranges;
   * both find them here instead of a store read per chunk. Content-addressed, so never stale.
   */
  private readonly chunkCache: LruCache<string, Uint8Array>;
  private readonly xzInflight: InFlight<string, { part: XzPart; bytes: Uint8Array }>;
  /**
   * Chunks this process composed last, with their entries: the next publish of a busy
   * distribution (a group commit right after the previous one) rewrites the same chunk, and finds
   * it here instead of reading it back and decompressing every entry. Content-addressed, so never
   * stale; a few only, as each holds a chunk's uncompressed metadata.
   */
  private readonly composedChunks = new LruCache<string, { bytes: Uint8Array; items: EntryWithSegments[] }>(4);
  /** Compressed blocks of the chunks this process composed: a publish recompresses only the blocks it changes. */
  private readonly gzipBlockCache = new GzipBlockCache();
  /**
   * The ref each distribution got from this process's last successful compare-and-swap: what the
   * next publish builds on at first without reading the ref again. If another writer moved it
   * meanwhile the swap fails and the retry reads it fresh, so this only saves a read.
   */
  private readonly ownRefs = new Map<string, { ref: Ref; etag: string }>();

  constructor(
    private readonly caps: Capabilities,
    private readonly options: { refTtlMs: number; chunkCacheBytes?: number; chunkIndexBytes?: number } = { refTtlMs: 1000 },
  ) {
    this.chunkCache = new LruCache(options.chunkCacheBytes ?? DEFAULT_CHUNK_CACHE_BYTES, (bytes) => bytes.length);
    this.chunkIndexes = new LruCache(options.chunkIndexBytes ?? DEFAULT_CHUNK_INDEX_BYTES, chunkIndexBytes);
    this.refReads = new InFlight(caps.requestsShareWork);
    this.xzInflight = new InFlight(caps.requestsShareWork);
  }

  async currentRef(dist: string, fresh = false): Promise<{ ref: Ref | null; etag: string | null }> {
    const cached = this.refs.get(dist);
    if (!fresh && cached && Date.now() - cached.at < this.options.refTtlMs) return cached;
    if (fresh) return this.readRef(dist);
    // When the cached ref expires under load, every request in flight would read it again: they
    // share one read instead. A caller that needs a read started after its call uses `fresh`.
    return this.refReads.run(dist, () => this.readRef(dist));
  }

  /**
   * What `currentRef(dist)` answers when it would not read: the ref cached within the TTL, or
   * undefined when a read is due. A runtime's fast path checks a ready answer with it in the same
   * tick, and falls back to `currentRef` (which reads) on undefined.
   */
  peekRef(dist: string): { ref: Ref | null; etag: string | null } | undefined {
    const cached = this.refs.get(dist);
    return cached && Date.now() - cached.at < this.options.refTtlMs ? cached : undefined;
  }

  private async readRef(dist: string): Promise<{ at: number; ref: Ref | null; etag: string | null }> {
    const at = Date.now();
    const found = await getJson<Ref>(this.caps.store, layout.ref(dist));
    const entry = { at, ref: found?.value ?? null, etag: found?.etag ?? null };
    // A read that started earlier but ended later must not replace a newer one.
    const cached = this.refs.get(dist);
    if (!cached || cached.at <= at) this.refs.set(dist, entry);
    return entry;
  }

  async current(dist: string): Promise<Revision | null> {
    const { ref } = await this.currentRef(dist);
    return ref ? this.revision(dist, ref.revision) : null;
  }

  async revision(dist: string, id: string): Promise<Revision | null> {
    const cacheKey = `${dist}/${id}`;
    const cached = this.revisions.get(cacheKey);
    if (cached) return cached;
    const found = await getJson<Revision>(this.caps.store, layout.revision(dist, id));
    if (!found) return null;
    this.revisions.set(cacheKey, found.value);
    return found.value;
  }

  /**
   * What listings show of a revision: its summary object, or for a revision written before
   * summaries existed, a summary of the revision itself. Cached apart from whole revisions, so
   * paging through history does not push them out.
   */
  async revisionSummary(dist: string, id: string): Promise<RevisionSummary | null> {
    const cacheKey = `${dist}/${id}`;
    const cached = this.summaries.get(cacheKey);
    if (cached) return cached;
    const whole = this.revisions.get(cacheKey);
    const found = whole ? summarizeRevision(whole) : ((await getJson<RevisionSummary>(this.caps.store, layout.revisionSummary(dist, id)))?.value ?? null);
    const summary = found ?? (await this.revision(dist, id).then((r) => (r ? summarizeRevision(r) : null)));
    if (summary) this.summaries.set(cacheKey, summary);
    return summary;
  }

  async chunkBytes(id: string): Promise<Uint8Array> {
    const cached = this.chunkCache.get(id) ?? this.composedChunks.get(id)?.bytes;
    if (cached) return cached;
    const bytes = await getBytes(this.caps.store, layout.chunk(id));
    if (!bytes) throw new RepodError('missing_object', `chunk ${id} is missing from the store`, { status: 500 });
    this.chunkCache.set(id, bytes);
    return bytes;
  }

  /**
   * Bytes [start, end) of a chunk: from memory where the chunk is held, else one ranged read that
   * is not kept. A render hashes and a download streams a range of every chunk of the revision;
   * read whole and kept, a distribution whose chunks outgrow the cache (about 65,000 RPMs at the
   * default size) would evict each chunk before the next render came back to it, and read three
   * times the bytes it needs (the index header and the streams it does not serve). With `into`
   * (end - start bytes) the range is copied or read there, and `into` is the answer.
   */
  async chunkRange(id: string, start: number, end: number, into?: Uint8Array): Promise<Uint8Array> {
    const cached = this.chunkCache.get(id) ?? this.composedChunks.get(id)?.bytes;
    if (cached) {
      if (!into) return cached.subarray(start, end);
      into.set(cached.subarray(start, end));
      return into;
    }
    if (end <= start) return into ?? new Uint8Array(0);
    const { store } = this.caps;
    let bytes: Uint8Array | null;
    if (store.readImmutable) bytes = await store.readImmutable(layout.chunk(id), start, end, into);
    else {
      const object = await store.get(layout.chunk(id), { range: { start, end: end - 1 } });
      bytes = object && (await readAllBytes(object.body));
      if (bytes && into && bytes.length === end - start) {
        into.set(bytes);
        bytes = into;
      }
    }
    if (!bytes) throw new RepodError('missing_object', `chunk ${id} is missing from the store`, { status: 500 });
    if (bytes.length !== end - start) throw new RepodError('corrupt_object', `chunk ${id} is shorter than its index says`, { status: 500 });
    return bytes;
  }

  async chunkIndex(id: string): Promise<ChunkIndex> {
    const cached = this.chunkIndexes.get(id);
    if (cached) return cached;
    const index = decodeChunk(await this.chunkBytes(id));
    this.chunkIndexes.set(id, index);
    return index;
  }

  /**
   * A chunk's xz part (see chunk-xz.ts) and its bytes: read from the store, or made from the chunk
   * and stored create-only. Concurrent requests for the same part share one compression.
   */
  async xzPart(id: string, stream: string, chunkBytes?: Uint8Array): Promise<{ part: XzPart; bytes: Uint8Array }> {
    const key = layout.chunkPart(id, 'xz');
    return this.xzInflight.run(key, async () => {
      let bytes = await getBytes(this.caps.store, key);
      if (!bytes) {
        const source = chunkBytes ?? (await this.chunkBytes(id));
        const made = encodeXzPart(id, this.chunkIndexOf(id, source), source, stream);
        try {
          await this.caps.store.put(key, made, { ifNoneMatch: '*' });
          bytes = made;
        } catch (error) {
          if (!(error instanceof PreconditionFailedError)) throw error;
          // Another server stored it first: serve and hash what is stored.
          bytes = await getBytes(this.caps.store, key);
          if (!bytes) throw new RepodError('missing_object', `xz part of chunk ${id} vanished`, { status: 500 });
        }
      }
      return { part: decodeXzPart(bytes, id, stream), bytes };
    });
  }

  /** A chunk's index from bytes already read (cached like chunkIndex). */
  chunkIndexOf(id: string, bytes: Uint8Array): ChunkIndex {
    const cached = this.chunkIndexes.get(id);
    if (cached) return cached;
    const index = decodeChunk(bytes);
    this.chunkIndexes.set(id, index);
    return index;
  }

  /** The entry with this key in a revision, reading at most one chunk. */
  async findEntry(revision: Revision, key: string): Promise<IndexEntry | null> {
    if (revision.chunks.length === 0) return null;
    const ref = revision.chunks[chunkFor(revision.chunks, key)];
    if (key < ref.first || key > ref.last) return null;
    return (await this.chunkIndex(ref.id)).entries.find((e) => e.key === key) ?? null;
  }

  /** Every entry whose key starts with `prefix`, in key order (reads only the chunks that can hold them). */
  async findEntries(revision: Revision, prefix: string): Promise<IndexEntry[]> {
    const out: IndexEntry[] = [];
    if (revision.chunks.length === 0) return out;
    for (let i = chunkFor(revision.chunks, prefix); i < revision.chunks.length; i++) {
      const ref = revision.chunks[i];
      if (ref.first > prefix && !ref.first.startsWith(prefix)) break;
      if (ref.last < prefix) continue;
      for (const e of (await this.chunkIndex(ref.id)).entries) if (e.key.startsWith(prefix)) out.push(e);
    }
    return out;
  }

  /** Every entry of a revision with its uncompressed segments, chunk by chunk (for copying entries). */
  async *entriesWithSegments(revision: Revision): AsyncGenerator<EntryWithSegments[]> {
    for (const ref of revision.chunks) {
      const bytes = await this.chunkBytes(ref.id);
      yield decodeChunk(bytes).withSegments(bytes, this.caps.gunzip);
    }
  }

  /** Named refs (tags) of a distribution, besides `current`. */
  async tags(dist: string): Promise<Ref[]> {
    const out: Ref[] = [];
    const prefix = layout.refsPrefix(dist);
    for await (const e of this.caps.store.list(prefix)) {
      const name = e.key.slice(prefix.length).replace(/\.json$/, '');
      if (name === 'current') continue;
      const ref = await getJson<Ref>(this.caps.store, e.key);
      if (ref) out.push({ ...ref.value, name } as Ref & { name: string });
    }
    return out;
  }

  async setTag(dist: string, name: string, revision: Revision): Promise<Ref> {
    const ref: Ref = { format: 1, distribution: dist, revision: revision.id, number: revision.number, updated: this.caps.now().toISOString() };
    await putJson(this.caps.store, layout.ref(dist, name), ref);
    return ref;
  }

  async tag(dist: string, name: string): Promise<Ref | null> {
    return (await getJson<Ref>(this.caps.store, layout.ref(dist, name)))?.value ?? null;
  }

  async deleteTag(dist: string, name: string): Promise<boolean> {
    if (!(await this.caps.store.head(layout.ref(dist, name)))) return false;
    await this.caps.store.delete(layout.ref(dist, name));
    return true;
  }

  async publish(
    dist: string,
    kind: Revision['kind'],
    streams: StreamSpec[],
    change: (parent: Revision | null) => ChangeSet | Promise<ChangeSet>,
    meta: PublishMetaSource,
  ): Promise<PublishResult> {
    let composed: ComposeResult | null = null;
    const { revision, changed, attempts } = await this.advance(dist, kind, streams, meta, async (parent) => {
      const result = await compose(
        parent?.chunks ?? [],
        streams,
        await change(parent),
        {
          loadChunk: (id) => this.chunkBytes(id),
          knownEntries: (id) => this.composedChunks.get(id)?.items,
          chunkId: async (bytes) => {
            const h = this.caps.hash('sha256');
            h.update(bytes);
            return h.digest();
          },
          gzip: this.caps.gzip,
          gunzip: this.caps.gunzip,
          ...(this.caps.deflateSegment ? { gzipBlocks: { deflate: this.caps.deflateSegment, cache: this.gzipBlockCache } } : {}),
        },
        (parent?.number ?? 0) + 1,
      );
      composed = result;
      for (const { id, bytes, items } of result.written) {
        this.composedChunks.set(id, { bytes, items });
        this.chunkCache.set(id, bytes);
      }
      if (result.added.length === 0 && result.removed.length === 0) return null;
      return { chunks: result.chunks, written: result.written, changes: { added: result.added.map(changeItem), removed: result.removed.map(changeItem) } };
    });
    return { revision, changed, compose: composed!, attempts };
  }

  /**
   * Moves a distribution to a new revision whose package set equals `target`'s (a rollback): the
   * same chunks, a new number and time, so history stays linear and clients see a newer index.
   */
  async restore(dist: string, target: Revision, meta: PublishMeta): Promise<Revision> {
    const { revision } = await this.advance(dist, target.kind, target.streams, meta, async () => ({
      chunks: target.chunks,
      written: [],
      changes: { added: [], removed: [] },
      restoredFrom: target.id,
      // The target's groups, modules and advisories come back with its packages.
      documents: target.documents ?? {},
    }));
    return revision!;
  }

  /**
   * Moves a distribution to a new revision with the same packages and other compose documents
   * (comps, modules, updateinfo): `change` gets the parent and answers the documents the new
   * revision names, or null when nothing changes. Whatever they point at is stored before.
   */
  async publishDocuments(
    dist: string,
    kind: Revision['kind'],
    streams: StreamSpec[],
    change: (parent: Revision | null) => Promise<RevisionDocuments | null>,
    meta: PublishMeta,
  ): Promise<{ revision: Revision | null; changed: boolean }> {
    const { revision, changed } = await this.advance(dist, kind, streams, meta, async (parent) => {
      const documents = await change(parent);
      if (!documents) return null;
      return { chunks: parent?.chunks ?? [], written: [], changes: { added: [], removed: [] }, documents };
    });
    return { revision, changed };
  }

  /** Gives a distribution that was never published to its first, empty revision. */
  async initialize(dist: string, kind: Revision['kind'], streams: StreamSpec[], meta: PublishMeta): Promise<Revision | null> {
    const { ref } = await this.currentRef(dist, true);
    if (ref) return null;
    try {
      const { revision } = await this.advance(dist, kind, streams, meta, async (parent) => (parent ? null : { chunks: [], written: [], changes: { added: [], removed: [] } }));
      return revision;
    } catch (error) {
      if (error instanceof ConflictError) return null;
      throw error;
    }
  }

  /**
   * The one way a distribution's ref moves: build a draft on the current revision, write what it
   * needs and the revision object, then compare-and-swap the ref; on a lost race, build again on
   * the winner's revision. A draft of null means nothing to do.
   */
  private async advance(
    dist: string,
    kind: Revision['kind'],
    streams: StreamSpec[],
    metaSource: PublishMetaSource,
    build: (parent: Revision | null) => Promise<Draft | null>,
  ): Promise<{ revision: Revision | null; changed: boolean; attempts: number }> {
    const { store } = this.caps;
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      const own = attempt === 1 ? this.ownRefs.get(dist) : undefined;
      const { ref, etag } = own ?? (await this.currentRef(dist, true));
      const parent = ref ? await this.revision(dist, ref.revision) : null;
      if (ref && !parent) throw new RepodError('missing_object', `revision ${ref.revision} of ${dist} is missing`, { status: 500 });
      const draft = await build(parent);
      if (!draft) return { revision: parent, changed: false, attempts: attempt };
      const meta = typeof metaSource === 'function' ? metaSource() : metaSource;
      const number = (parent?.number ?? 0) + 1;
      const revision: Revision = {
        format: 1,
        kind,
        distribution: dist,
        id: revisionId(number, this.caps.randomId()),
        number,
        parent: parent?.id ?? null,
        created: this.caps.now().toISOString(),
        author: meta.author,
        message: meta.message,
        streams,
        changes: draft.changes,
        ...(meta.parts ? { parts: meta.parts } : {}),
        ...(draft.restoredFrom ? { restoredFrom: draft.restoredFrom } : {}),
        packageCount: draft.chunks.reduce((n, c) => n + c.count, 0),
        chunks: draft.chunks,
      };
      // Compose documents carry over from the parent unless the draft names its own.
      const documents = draft.documents ?? parent?.documents;
      if (documents && Object.keys(documents).length > 0) revision.documents = documents;
      // Everything the revision points at, and the revision object, are written before the ref
      // moves; together, as nothing reads a revision (nor its chunks) before a ref names it.
      await Promise.all([
        ...draft.written.map(({ id, bytes }) => putIfAbsent(this.caps, layout.chunk(id), bytes)),
        putJson(store, layout.revision(dist, revision.id), revision, { ifNoneMatch: '*' }),
        putJson(store, layout.revisionSummary(dist, revision.id), summarizeRevision(revision), { ifNoneMatch: '*' }),
      ]);
      const next: Ref = { format: 1, distribution: dist, revision: revision.id, number, updated: revision.created };
      try {
        const written = await putJson(store, layout.ref(dist), next, etag ? { ifMatch: etag } : { ifNoneMatch: '*' });
        this.refs.set(dist, { at: Date.now(), ref: next, etag: written.etag });
        this.ownRefs.set(dist, { ref: next, etag: written.etag });
        this.revisions.set(`${dist}/${revision.id}`, revision);
        return { revision, changed: true, attempts: attempt };
      } catch (error) {
        this.ownRefs.delete(dist);
        if (!(error instanceof PreconditionFailedError)) throw error;
        // Lost the race: the orphaned revision object is harmless (GC removes it); try again on top.
        if (Date.now() - started > PUBLISH_RETRY_MS) break;
        // Short, jittered pauses: a long cap let one unlucky pusher starve behind the others (5.5 s seen).
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 5 * 2 ** attempt)));
      }
    }
    throw new ConflictError(`could not publish to ${dist}: too many concurrent writers, try again`, 'publish_conflict');
  }
}

interface Draft {
  chunks: ChunkRef[];
  written: Array<{ id: string; bytes: Uint8Array }>;
  changes: Revision['changes'];
  restoredFrom?: string;
  /** The compose documents of the new revision; absent: the parent's. */
  documents?: RevisionDocuments;
}

async function putIfAbsent(caps: Capabilities, key: string, bytes: Uint8Array): Promise<void> {
  try {
    await caps.store.put(key, bytes, { ifNoneMatch: '*' });
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error; // content-addressed: already there is fine
  }
}

/** The heap a decoded chunk index is taken to hold (see INDEX_ENTRY_BYTES). */
export function chunkIndexBytes(index: ChunkIndex): number {
  return 1024 + index.entries.length * INDEX_ENTRY_BYTES;
}

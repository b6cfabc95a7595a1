/**
 * The ProvidesIndex of a distribution revision, kept in memory per distribution and moved forward
 * change by change (O(change), invariant 5):
 * - the first request builds it chunk by chunk: from the capabilities an earlier build stored
 *   beside a chunk (`chunks/<aa>/<id>.provides.seg`, one read per chunk), else from the records of
 *   the chunk's entries (one read per package), then stored for the next build, so a restarted
 *   server reads what changed since the last build package by package and the rest chunk by chunk;
 * - a child of the cached revision applies the child's recorded changes: it reads the records of
 *   the added packages only;
 * - any other newer revision (several steps ahead, a rollback) diffs the two revisions' chunk
 *   lists: chunks are content-addressed, so only chunks present in one of them are read, and only
 *   entries whose content differs get their record read.
 * A revision older than the cached one gets the cached (newer) index: a change is published on top
 * of the newest revision anyway, so that is what its check needs; `index.revision` says which it is.
 *
 * The index is updated in place, after all reads, in one synchronous step, so a caller always sees
 * it describing one whole revision; updates of one distribution run one at a time.
 */

import { layout } from '../../bucket/layout.ts';
import type { PackageRecord } from '../../bucket/package-record.ts';
import type { ChunkRef, Revision } from '../../bucket/revision.ts';
import { decodeSegmented, encodeSegmented } from '../../bucket/segmented.ts';
import type { Capabilities } from '../../capabilities.ts';
import { PreconditionFailedError } from '../../errors.ts';
import { parseDebControl } from '../../formats/deb/control.ts';
import { isPrimaryFile } from '../../formats/rpm/dependencies.ts';
import type { Repository } from '../../revisions/repository.ts';
import { getBytes, getJson } from '../../storage/objects.ts';
import { LruCache } from '../../util/lru-cache.ts';
import { mapLimited } from '../../util/map-limited.ts';
import { debCapabilities } from './deb-capabilities.ts';
import type { PackageCapabilities } from './model.ts';
import { ProvidesIndex, type ProvidesIndexOptions } from './provides-index.ts';
import { rpmCapabilities } from './rpm-capabilities.ts';

export interface DistributionProvidesOptions extends ProvidesIndexOptions {
  /** Records read at once while building or updating an index (default 16). */
  concurrency?: number;
}

interface Cached {
  index: ProvidesIndex;
  revision: Revision;
}

/** The JSON header of a chunk's stored capabilities (revisions/schemas/provides-part-header.schema.json). */
interface ProvidesPartHeader {
  format: 1;
  chunk: string;
  /** The index's files setting the capabilities were cut to ('primary': only primary paths kept). */
  files: 'primary' | 'all';
  packages: number;
}

/** Chunks read at once in a build (each reads its records a few at a time). */
const CHUNKS_AT_ONCE = 4;

/** What a revision holds, as the index needs it: key → package sha256. */
type EntryIds = Map<string, string>;

export class DistributionProvides {
  private readonly cached = new Map<string, Cached>();
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Capabilities of packages about to be published, by `<key> <sha256>` (bounded: a refused change leaves its own behind). */
  private readonly recent = new LruCache<string, PackageCapabilities>(4096);

  constructor(
    private readonly caps: Capabilities,
    private readonly repository: Repository,
    private readonly options: DistributionProvidesOptions = {},
  ) {}

  /** The index of `revision` of `dist` (or of a newer one this process already holds). */
  forRevision(dist: string, revision: Revision): Promise<ProvidesIndex> {
    const previous = this.queues.get(dist) ?? Promise.resolve();
    const run = previous.then(
      () => this.update(dist, revision),
      () => this.update(dist, revision),
    );
    this.queues.set(dist, run);
    return run;
  }

  /** Drops a distribution's cached index (a configuration change, tests). */
  forget(dist: string): void {
    this.cached.delete(dist);
  }

  private async update(dist: string, revision: Revision): Promise<ProvidesIndex> {
    const cached = this.cached.get(dist);
    if (cached && (cached.revision.id === revision.id || cached.revision.number > revision.number)) return cached.index;
    if (!cached) {
      const index = this.newIndex();
      // Not visible to anyone yet: packages go in as they are read, so only the index stays in memory.
      await this.fromChunks(revision.chunks, (c) => index.add(c));
      return this.settle(dist, index, revision);
    }
    let removed: string[];
    let added: EntryIds;
    if (revision.parent === cached.revision.id && !revision.restoredFrom) {
      removed = revision.changes.removed.map((c) => c.key);
      added = new Map(revision.changes.added.map((c) => [c.key, c.id]));
    } else {
      ({ removed, added } = await this.chunkDiff(cached.revision.chunks, revision.chunks));
    }
    const capabilities: PackageCapabilities[] = [];
    await this.readCapabilities(added, (c) => capabilities.push(c));
    for (const key of removed) cached.index.remove(key);
    for (const c of capabilities) cached.index.add(c);
    return this.settle(dist, cached.index, revision);
  }

  private settle(dist: string, index: ProvidesIndex, revision: Revision): ProvidesIndex {
    index.revision = revision.id;
    this.cached.set(dist, { index, revision });
    return index;
  }

  private newIndex(): ProvidesIndex {
    return new ProvidesIndex({ files: this.options.files });
  }

  /** Every entry of these chunks. */
  private async entriesOf(chunks: ChunkRef[]): Promise<EntryIds> {
    const out: EntryIds = new Map();
    for (const ref of chunks) for (const e of (await this.repository.chunkIndex(ref.id)).entries) out.set(e.key, e.id);
    return out;
  }

  /** Keys gone or changed, and entries new or changed, reading only the chunks one side lacks. */
  private async chunkDiff(from: ChunkRef[], to: ChunkRef[]): Promise<{ removed: string[]; added: EntryIds }> {
    const fromIds = new Set(from.map((c) => c.id));
    const toIds = new Set(to.map((c) => c.id));
    const before = await this.entriesOf(from.filter((c) => !toIds.has(c.id)));
    const after = await this.entriesOf(to.filter((c) => !fromIds.has(c.id)));
    const removed = [...before.keys()].filter((k) => after.get(k) !== before.get(k));
    const added: EntryIds = new Map([...after].filter(([k, id]) => before.get(k) !== id));
    return { removed, added };
  }

  /** The capabilities of every package of these chunks, a few chunks at a time, to `sink`. */
  private async fromChunks(chunks: ChunkRef[], sink: (c: PackageCapabilities) => void): Promise<void> {
    const concurrency = this.options.concurrency ?? 16;
    const perChunk = Math.max(1, Math.ceil(concurrency / CHUNKS_AT_ONCE));
    await mapLimited(chunks, CHUNKS_AT_ONCE, async (ref) => {
      const stored = await this.storedCapabilities(ref.id);
      if (stored) {
        for (const c of stored) sink(c);
        return;
      }
      const entries: EntryIds = new Map((await this.repository.chunkIndex(ref.id)).entries.map((e) => [e.key, e.id]));
      const found: PackageCapabilities[] = [];
      await this.readCapabilities(
        entries,
        (c) => {
          found.push(c);
          sink(c);
        },
        perChunk,
      );
      await this.storeCapabilities(ref.id, found);
    });
  }

  /**
   * Stores the capabilities of every chunk of `revision` that has none stored, reading its records a
   * chunk at a time and keeping nothing in memory; returns how many chunks it stored. A mirror sync
   * calls it after publishing: its chunks are new, and without their parts the first index of it a
   * process builds (a distribution checked against the mirror as its base, an import's dependency
   * closure) would read every record (about 13 s and twice the memory at 100,000 packages, against
   * one read per chunk).
   */
  async prepare(revision: Revision): Promise<number> {
    let stored = 0;
    await mapLimited(revision.chunks, CHUNKS_AT_ONCE, async (ref) => {
      if (await this.caps.store.head(layout.chunkPart(ref.id, 'provides'))) return;
      const entries: EntryIds = new Map((await this.repository.chunkIndex(ref.id)).entries.map((e) => [e.key, e.id]));
      const found: PackageCapabilities[] = [];
      await this.readCapabilities(entries, (c) => found.push(c), Math.max(1, Math.ceil((this.options.concurrency ?? 16) / CHUNKS_AT_ONCE)));
      if (await this.storeCapabilities(ref.id, found)) stored++;
    });
    return stored;
  }

  /** What an earlier build stored for a chunk, or null (none, another files setting, unreadable). */
  private async storedCapabilities(chunk: string): Promise<PackageCapabilities[] | null> {
    const key = layout.chunkPart(chunk, 'provides');
    const bytes = await getBytes(this.caps.store, key);
    if (!bytes) return null;
    try {
      const { header, bodyOffset } = decodeSegmented<ProvidesPartHeader>(bytes);
      if (header.format !== 1 || header.chunk !== chunk || header.files !== this.filesSetting()) return null;
      const list = JSON.parse(new TextDecoder().decode(this.caps.gunzip(bytes.subarray(bodyOffset)))) as PackageCapabilities[];
      if (!Array.isArray(list) || list.length !== header.packages) throw new Error(`${list.length} packages, the header says ${header.packages}`);
      return list;
    } catch (error) {
      this.caps.log('dependencies: stored capabilities unreadable, the chunk is read package by package', { key, error: String(error) });
      return null;
    }
  }

  /**
   * Stores a chunk's capabilities for later builds, create-only (a chunk's packages never change).
   * Best effort: the index is whole without it, so a failed write is only logged.
   */
  private async storeCapabilities(chunk: string, list: PackageCapabilities[]): Promise<boolean> {
    const primaryOnly = this.filesSetting() === 'primary';
    const kept = primaryOnly ? list.map((c) => ({ ...c, files: c.files.filter(isPrimaryFile) })) : list;
    const header: ProvidesPartHeader = { format: 1, chunk, files: this.filesSetting(), packages: kept.length };
    const part = encodeSegmented(header, [this.caps.gzip(new TextEncoder().encode(JSON.stringify(kept)))]);
    try {
      await this.caps.store.put(layout.chunkPart(chunk, 'provides'), part, { ifNoneMatch: '*' });
      return true;
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) this.caps.log("dependencies: could not store a chunk's capabilities", { chunk, error: String(error) });
      return false;
    }
  }

  private filesSetting(): 'primary' | 'all' {
    return this.options.files ?? 'primary';
  }

  /** Reads the records of these entries, a few at a time, handing each package's capabilities to `sink`. */
  private async readCapabilities(entries: EntryIds, sink: (c: PackageCapabilities) => void, concurrency = this.options.concurrency ?? 16): Promise<void> {
    await mapLimited([...entries], concurrency, async ([key, id]) => {
      const found = await this.capabilitiesFromRecord(key, id);
      if (found) sink(found);
    });
  }

  /**
   * Capabilities a caller already computed for a package about to be published (the gate checked
   * them): the next index update takes them from here instead of reading the record it just wrote.
   */
  remember(sha256: string, capabilities: PackageCapabilities): void {
    this.recent.set(`${capabilities.key} ${sha256}`, capabilities);
  }

  private async capabilitiesFromRecord(key: string, sha256: string): Promise<PackageCapabilities | null> {
    const known = this.recent.get(`${key} ${sha256}`);
    if (known) {
      this.recent.delete(`${key} ${sha256}`);
      return known;
    }
    const record = (await getJson<PackageRecord>(this.caps.store, layout.packageRecord(sha256)))?.value;
    if (!record) {
      // A revision never names a package without its record; a damaged store should not stop every check.
      this.caps.log('dependencies: package record missing, package left out of the index', { key, sha256 });
      return null;
    }
    // A source package installs nothing and provides nothing.
    if (record.kind === 'dsc') return null;
    try {
      return record.kind === 'rpm' ? rpmCapabilities(record.package, key) : debCapabilities(parseDebControl(record.control), key);
    } catch (error) {
      this.caps.log('dependencies: package record unreadable, package left out of the index', { key, sha256, error: String(error) });
      return null;
    }
  }
}

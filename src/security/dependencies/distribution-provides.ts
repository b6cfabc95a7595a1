/**
 * The ProvidesIndex of a distribution revision, kept in memory per distribution and moved forward
 * change by change (O(change), invariant 5):
 * - the first request builds it from every entry of the revision (one record read per package);
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
import type { Capabilities } from '../../capabilities.ts';
import { parseDebControl } from '../../formats/deb/control.ts';
import type { Repository } from '../../revisions/repository.ts';
import { getJson } from '../../storage/objects.ts';
import { LruCache } from '../../util/lru-cache.ts';
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
      // Not visible to anyone yet: packages go in as their records arrive, so only the index stays in memory.
      await this.readCapabilities(await this.entriesOf(revision.chunks), (c) => index.add(c));
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

  /** Reads the records of these entries, a few at a time, handing each package's capabilities to `sink`. */
  private async readCapabilities(entries: EntryIds, sink: (c: PackageCapabilities) => void): Promise<void> {
    const work = [...entries];
    let next = 0;
    const worker = async () => {
      while (next < work.length) {
        const [key, id] = work[next++]!;
        const found = await this.capabilitiesFromRecord(key, id);
        if (found) sink(found);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.options.concurrency ?? 16, work.length)) }, worker));
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

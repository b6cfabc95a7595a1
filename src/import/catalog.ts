/**
 * The catalog: every package the synced upstream indexes list, searchable by name and read by
 * import-by-name and dependency closures. Each process keeps a summary of a source's catalog in
 * memory (catalog-columns.ts: what search answers with, sorted by name and newest version first)
 * and reads it again from the store when the source's pointer object changes (checked at most
 * once per `ttlMs`), so every server on one bucket answers from the same sync. The other fields
 * (dependencies, provides, file lists) are read from the store's slices when an import asks for
 * them. A search bisects the sorted names for exact and prefix matches and searches one string
 * of all names for the others (63,440 Debian entries: well under a millisecond).
 */
import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { compareDebVersions } from '../formats/deb/version.ts';
import type { RpmDependency } from '../formats/rpm/model.ts';
import { compareEvr } from '../formats/rpm/vercmp.ts';
import { InFlight } from '../util/in-flight.ts';
import { type CatalogColumns, CatalogColumnsBuilder, lastAtOrBefore, type SearchRank } from './catalog-columns.ts';
import { type CatalogPointer, eachCatalogLine, readCatalogLines, readCatalogPointer, type StoredCatalogEntry } from './catalog-store.ts';
import type { ImportSources } from './sources.ts';

/** The sources, where the Catalog API's users also look for them. */
export type { ImportSource, ImportSources } from './sources.ts';

export interface CatalogPackage {
  sourceId: number;
  kind: 'apt' | 'rpm';
  name: string;
  /** rpm: [epoch:]version-release; apt: the Version. */
  version: string;
  architecture: string;
  size: number;
  sha256: string;
  /** Absolute download URL. */
  url: string;
  filename: string;
  description: string;
  syncedAt: string;
  /** apt only */
  component?: string;
  source?: string;
  depends?: string;
  preDepends?: string;
  provides?: string;
  /** rpm only */
  requires?: RpmDependency[];
  rpmProvides?: RpmDependency[];
  /** primary's file list */
  files?: string[];
  /** rpm: the package's checksum when primary gives no sha256 (old repositories); sha256 is then empty. */
  checksum?: { type: string; value: string };
}

export interface CatalogQuery {
  q?: string;
  sourceId?: number;
  /** Only this architecture and the architecture-independent ones (all, noarch). */
  arch?: string;
  /** Default 50, at most 1000. */
  limit?: number;
}

/** A source's catalog as this process holds it. */
interface LoadedCatalog {
  etag: string;
  checkedAt: number;
  pointer: CatalogPointer;
  columns: CatalogColumns;
  /** The pointer's slices in reading order, and the number (CatalogColumns.at) of the first entry of each, then the count. */
  segments: string[];
  segmentStarts: number[];
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;

export class Catalog {
  readonly #loaded = new Map<number, LoadedCatalog>();
  readonly #loading: InFlight<number, LoadedCatalog | null>;
  readonly #ttlMs: number;

  constructor(
    private readonly caps: Pick<Capabilities, 'store' | 'gunzip' | 'requestsShareWork'>,
    private readonly sources: Pick<ImportSources, 'listCached'>,
    options: { ttlMs?: number } = {},
  ) {
    this.#loading = new InFlight(caps.requestsShareWork);
    this.#ttlMs = options.ttlMs ?? 1000;
  }

  /**
   * Packages whose name matches `q`: exact names first, then names starting with it, then names
   * holding it. Answers carry what the catalog keeps in memory (no dependency fields: `versions`
   * reads those).
   */
  async search(query: CatalogQuery): Promise<CatalogPackage[]> {
    const limit = Math.min(Math.max(Math.trunc(query.limit ?? DEFAULT_LIMIT) || DEFAULT_LIMIT, 1), MAX_LIMIT);
    const ids = query.sourceId !== undefined ? [query.sourceId] : (await this.sources.listCached()).map((s) => s.id);
    const q = (query.q ?? '').trim().toLowerCase();
    const arch = query.arch?.trim() || undefined;
    const accepts = arch === undefined ? undefined : (a: string) => a === arch || a === 'all' || a === 'noarch';
    const found: Array<{ rank: SearchRank; pkg: CatalogPackage }> = [];
    for (const id of ids) {
      const loaded = await this.#current(id);
      if (loaded) loaded.columns.search(q, limit, accepts, (rank, i) => found.push({ rank, pkg: summary(loaded, i) }));
    }
    found.sort((a, b) => a.rank - b.rank || compareNames(a.pkg.name, b.pkg.name) || newestFirst(a.pkg, b.pkg) || a.pkg.sourceId - b.pkg.sourceId);
    return found.slice(0, limit).map((f) => f.pkg);
  }

  /** Every version of a package in a source, newest first (all architectures), with every field (read from the store). */
  async versions(sourceId: number, name: string): Promise<CatalogPackage[]> {
    return this.#reading(sourceId, (loaded) => {
      const [from, to] = loaded.columns.range(name);
      return this.#read(
        loaded,
        Array.from({ length: to - from }, (_, k) => from + k),
      );
    });
  }

  /**
   * Every package of a source (a dependency closure walks them), with every field: read from the
   * store for this call, not kept. `accepts` leaves out the architectures it refuses before they
   * are read.
   */
  async packages(sourceId: number, accepts?: (architecture: string) => boolean): Promise<CatalogPackage[]> {
    return this.#reading(sourceId, (loaded) => {
      const { columns } = loaded;
      const wanted: number[] = [];
      for (let i = 0; i < columns.count; i++) if (!accepts || accepts(columns.architecture(i))) wanted.push(i);
      return this.#read(loaded, wanted);
    });
  }

  /** The source's pointer as last loaded: when it was synced and what each index was. */
  async pointer(sourceId: number): Promise<CatalogPointer | null> {
    return (await this.#current(sourceId))?.pointer ?? null;
  }

  /** Forgets what this process holds of a source (the source was deleted). */
  invalidate(sourceId: number): void {
    this.#loaded.delete(sourceId);
  }

  /**
   * Makes the next read look at the source's pointer again (this process's own sync committed).
   * What is held stays until then, and is kept when the new pointer names the same slices (a
   * sync that found every index unchanged): reading it again would only make garbage.
   */
  refresh(sourceId: number): void {
    const held = this.#loaded.get(sourceId);
    if (held) held.checkedAt = Number.NEGATIVE_INFINITY;
  }

  /** Runs `read` over the current catalog; again over a fresh one if a sync deleted the slices it read. */
  async #reading(sourceId: number, read: (loaded: LoadedCatalog) => Promise<CatalogPackage[]>): Promise<CatalogPackage[]> {
    for (let attempt = 0; ; attempt++) {
      const loaded = await this.#current(sourceId, attempt > 0);
      if (!loaded) return [];
      try {
        return await read(loaded);
      } catch (error) {
        if (attempt >= 2 || (error as { code?: string })?.code !== 'catalog_changed') throw error;
      }
    }
  }

  /** Entries `indexes` (sorted positions) with every field, read from their slices, in the order given. */
  async #read(loaded: LoadedCatalog, indexes: number[]): Promise<CatalogPackage[]> {
    const { columns, segments, segmentStarts, pointer } = loaded;
    const bySegment = new Map<number, number[]>();
    for (const [k, i] of indexes.entries()) {
      const segment = lastAtOrBefore(segmentStarts, columns.at(i));
      let list = bySegment.get(segment);
      if (!list) bySegment.set(segment, (list = []));
      list.push(k);
    }
    const out = new Array<CatalogPackage>(indexes.length);
    const shared = { sourceId: pointer.sourceId, kind: pointer.kind, syncedAt: pointer.syncedAt };
    for (const [segment, ks] of [...bySegment].sort((a, b) => a[0] - b[0])) {
      const start = segmentStarts[segment]!;
      const line = (k: number) => columns.at(indexes[k]!) - start;
      ks.sort((a, b) => line(a) - line(b));
      const texts = await readCatalogLines(this.caps, segments[segment]!, ks.map(line));
      for (const [j, k] of ks.entries()) out[k] = Object.assign(JSON.parse(texts[j]!) as StoredCatalogEntry, shared);
    }
    return out;
  }

  async #current(sourceId: number, recheck = false): Promise<LoadedCatalog | null> {
    const held = this.#loaded.get(sourceId);
    if (held && !recheck && Date.now() - held.checkedAt < this.#ttlMs) return held;
    return this.#loading.run(sourceId, async () => {
      const head = await this.caps.store.head(layout.importCatalogPointer(sourceId));
      if (!head) {
        this.#loaded.delete(sourceId);
        return null;
      }
      if (held && held.etag === head.etag) {
        held.checkedAt = Date.now();
        return held;
      }
      for (let attempt = 0; ; attempt++) {
        try {
          const loaded = await this.#load(sourceId, held);
          if (loaded) this.#loaded.set(sourceId, loaded);
          else this.#loaded.delete(sourceId);
          return loaded;
        } catch (error) {
          // A sync replaced the pointer (and deleted old slices) while this read them: read again.
          if (attempt >= 2 || (error as { code?: string })?.code !== 'catalog_changed') throw error;
        }
      }
    });
  }

  async #load(sourceId: number, held: LoadedCatalog | undefined): Promise<LoadedCatalog | null> {
    const found = await readCatalogPointer(this.caps, sourceId);
    if (!found) return null;
    const pointer = found.value;
    if (held && sameSlices(held.pointer, pointer)) return { ...held, etag: found.etag, checkedAt: Date.now(), pointer };
    // Each line is parsed whole and its summary's fields go into the columns at once: the rest dies young.
    const builder = new CatalogColumnsBuilder(pointer.count);
    const segments: string[] = [];
    const segmentStarts: number[] = [];
    for (const index of pointer.indexes) {
      for (const key of index.segments) {
        segments.push(key);
        segmentStarts.push(builder.count);
        await eachCatalogLine(this.caps, key, (line) => builder.add(JSON.parse(line) as StoredCatalogEntry));
      }
    }
    segmentStarts.push(builder.count);
    const kind = pointer.kind;
    const columns = builder.build((a, b) => newestFirst({ kind, version: a }, { kind, version: b }));
    return { etag: found.etag, checkedAt: Date.now(), pointer, columns, segments, segmentStarts };
  }
}

/** Whether two pointers name the same slices in the same order (so the same entries: slices are written once). */
function sameSlices(a: CatalogPointer, b: CatalogPointer): boolean {
  const x = a.indexes.flatMap((i) => i.segments);
  const y = b.indexes.flatMap((i) => i.segments);
  return a.kind === b.kind && x.length === y.length && x.every((key, i) => key === y[i]);
}

function summary(loaded: LoadedCatalog, i: number): CatalogPackage {
  const { sourceId, kind, syncedAt } = loaded.pointer;
  return { sourceId, kind, syncedAt, ...loaded.columns.summary(i) };
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Newer first, by dpkg's or rpm's rules. */
export function newestFirst(a: Pick<CatalogPackage, 'kind' | 'version'>, b: Pick<CatalogPackage, 'kind' | 'version'>): number {
  if (a.version === b.version) return 0;
  try {
    return a.kind === 'apt' ? compareDebVersions(b.version, a.version) : compareEvr(parseEvr(b.version), parseEvr(a.version));
  } catch {
    return compareNames(b.version, a.version);
  }
}

/** "[epoch:]version-release" as the catalog writes an RPM's version. */
export function parseEvr(text: string): { epoch: string; version: string; release?: string } {
  const colon = text.indexOf(':');
  const epoch = colon === -1 ? '0' : text.slice(0, colon);
  const rest = colon === -1 ? text : text.slice(colon + 1);
  const dash = rest.lastIndexOf('-');
  return dash === -1 ? { epoch, version: rest } : { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
}

/** "[epoch:]version-release", the epoch only when it is not 0. */
export function formatEvr(epoch: string, version: string, release: string): string {
  return `${epoch && epoch !== '0' ? `${epoch}:` : ''}${version}-${release}`;
}

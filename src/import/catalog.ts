/**
 * The catalog: every package the synced upstream indexes list, searchable by name and read by
 * import-by-name and dependency closures. Each process keeps a source's catalog in memory, sorted
 * by name and newest version first, and reads it again from the store when the source's pointer
 * object changes (checked at most once per `ttlMs`), so every server on one bucket answers from
 * the same sync. A search scans the names once (63,440 Debian entries: a few milliseconds).
 */
import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { compareDebVersions } from '../formats/deb/version.ts';
import type { RpmDependency } from '../formats/rpm/model.ts';
import { compareEvr } from '../formats/rpm/vercmp.ts';
import { InFlight } from '../util/in-flight.ts';
import { type CatalogPointer, eachCatalogLine, readCatalogPointer } from './catalog-store.ts';
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

interface LoadedCatalog {
  etag: string;
  checkedAt: number;
  pointer: CatalogPointer;
  /** By name, then newest version first. */
  entries: CatalogPackage[];
  /** Lower-case names, parallel to entries. */
  names: string[];
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

  async search(query: CatalogQuery): Promise<CatalogPackage[]> {
    const limit = Math.min(Math.max(Math.trunc(query.limit ?? DEFAULT_LIMIT) || DEFAULT_LIMIT, 1), MAX_LIMIT);
    const ids = query.sourceId !== undefined ? [query.sourceId] : (await this.sources.listCached()).map((s) => s.id);
    const q = (query.q ?? '').trim().toLowerCase();
    const arch = query.arch?.trim() || undefined;
    const found: Array<{ rank: number; pkg: CatalogPackage }> = [];
    for (const id of ids) {
      const loaded = await this.#current(id);
      if (loaded) scan(loaded, q, arch, limit, found);
    }
    found.sort((a, b) => a.rank - b.rank || compareNames(a.pkg.name, b.pkg.name) || newestFirst(a.pkg, b.pkg) || a.pkg.sourceId - b.pkg.sourceId);
    return found.slice(0, limit).map((f) => f.pkg);
  }

  /** Every version of a package in a source, newest first (all architectures). */
  async versions(sourceId: number, name: string): Promise<CatalogPackage[]> {
    const loaded = await this.#current(sourceId);
    if (!loaded) return [];
    // Entries are sorted by name: the versions are the run that starts where the name would go.
    const { entries } = loaded;
    const out: CatalogPackage[] = [];
    for (let i = firstAtOrAfter(entries, name); i < entries.length && entries[i]!.name === name; i++) out.push(entries[i]!);
    return out;
  }

  /** Every package of a source (dependency closure walks it). */
  async packages(sourceId: number): Promise<CatalogPackage[]> {
    return (await this.#current(sourceId))?.entries ?? [];
  }

  /** The source's pointer as last loaded: when it was synced and what each index was. */
  async pointer(sourceId: number): Promise<CatalogPointer | null> {
    return (await this.#current(sourceId))?.pointer ?? null;
  }

  /** Forgets what this process holds of a source (after its own sync committed, or the source was deleted). */
  invalidate(sourceId: number): void {
    this.#loaded.delete(sourceId);
  }

  async #current(sourceId: number): Promise<LoadedCatalog | null> {
    const held = this.#loaded.get(sourceId);
    if (held && Date.now() - held.checkedAt < this.#ttlMs) return held;
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
          const loaded = await this.#load(sourceId);
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

  async #load(sourceId: number): Promise<LoadedCatalog | null> {
    const found = await readCatalogPointer(this.caps, sourceId);
    if (!found) return null;
    const pointer = found.value;
    const entries: CatalogPackage[] = [];
    const shared = { sourceId, kind: pointer.kind, syncedAt: pointer.syncedAt };
    // Each process holds every entry of the catalog (Debian main: 63,440), so what one entry costs
    // counts: the fields every entry shares come first in the parsed text (an object built with all
    // its fields keeps them inline; fields added afterwards go to a separate property array), and
    // the URL, the source's base followed by the entry's filename, points at both instead of
    // holding a copy (a V8 cons string: 32 bytes instead of about 110).
    const head = JSON.stringify(shared).slice(0, -1);
    const bases = new Map<string, string>();
    for (const index of pointer.indexes) {
      for (const key of index.segments) {
        await eachCatalogLine(this.caps, key, (line) => {
          const entry = JSON.parse(line.length > 2 ? `${head},${line.slice(1)}` : `${head}}`) as CatalogPackage;
          entry.syncedAt = shared.syncedAt;
          const { url, filename } = entry;
          if (typeof url === 'string' && typeof filename === 'string' && filename !== '' && url.endsWith(filename)) {
            const prefix = url.slice(0, url.length - filename.length);
            let base = bases.get(prefix);
            if (base === undefined) bases.set(prefix, (base = flat(prefix)));
            entry.url = base + filename;
          }
          entries.push(entry);
        });
      }
    }
    entries.sort((a, b) => compareNames(a.name, b.name) || newestFirst(a, b) || compareNames(a.architecture, b.architecture));
    return { etag: found.etag, checkedAt: Date.now(), pointer, entries, names: entries.map((e) => e.name.toLowerCase()) };
  }
}

/** Adds a catalog's matches (at most `limit` of each rank: 0 exact name, 1 prefix, 2 substring). */
function scan(loaded: LoadedCatalog, q: string, arch: string | undefined, limit: number, found: Array<{ rank: number; pkg: CatalogPackage }>): void {
  const counts = [0, 0, 0];
  const { names, entries } = loaded;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    let rank: number;
    if (q === '') rank = 1;
    else {
      const at = name.indexOf(q);
      if (at === -1) continue;
      rank = at > 0 ? 2 : name.length === q.length ? 0 : 1;
    }
    if (counts[rank]! >= limit) continue;
    const pkg = entries[i]!;
    if (arch !== undefined && pkg.architecture !== arch && pkg.architecture !== 'all' && pkg.architecture !== 'noarch') continue;
    counts[rank]!++;
    found.push({ rank, pkg });
    // Names are sorted: once exact and prefix matches fill the limit, nothing later can rank higher.
    if (counts[0]! + counts[1]! >= limit) break;
  }
}

/** The first index whose entry's name is not before `name` (entries sorted by name). */
function firstAtOrAfter(entries: CatalogPackage[], name: string): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.name < name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A copy of `text` that shares no memory with the string it was cut from. */
function flat(text: string): string {
  return (' ' + text).slice(1);
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

/**
 * How a source's catalog lives in the store: slices of at most SEGMENT_ENTRIES entries as gzipped
 * NDJSON, written create-only by one sync, and one small pointer object naming the slices of each
 * index file, switched by compare-and-swap once the whole sync succeeded. Readers therefore see
 * the previous catalog or the new one, never a sync's provisional entries (the upstream readers
 * only vouch for an index once its last byte is hashed), and a failed or cancelled sync leaves
 * nothing visible behind.
 */
import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { ConflictError, PreconditionFailedError } from '../errors.ts';
import { getBytes, getJson, putJson } from '../storage/objects.ts';
import type { CatalogPackage } from './catalog.ts';

/** A catalog entry as stored: what the pointer and the source already say is left out. */
export type StoredCatalogEntry = Omit<CatalogPackage, 'sourceId' | 'kind' | 'syncedAt'>;

/** One index file of the upstream (an APT Packages of a component and architecture, or RPM primary) and the slices holding its entries. */
export interface CatalogIndexRecord {
  /** "main/amd64" (APT) or "primary" (RPM). */
  index: string;
  /** The file read, as the Release or repomd names it. */
  path?: string;
  /** Its checksum as the Release or repomd gives it ("sha256:<hex>"): equal means unchanged. */
  checksum: string;
  count: number;
  segments: string[];
  /** When its entries were last read from the upstream. */
  readAt: string;
}

export interface CatalogPointer {
  format: 1;
  sourceId: number;
  kind: 'apt' | 'rpm';
  /** The job of the sync that wrote this pointer. */
  job: string;
  /** When the catalog was last confirmed to match the upstream. */
  syncedAt: string;
  count: number;
  indexes: CatalogIndexRecord[];
}

export const SEGMENT_ENTRIES = 5000;

export async function readCatalogPointer(caps: Pick<Capabilities, 'store'>, sourceId: number): Promise<{ value: CatalogPointer; etag: string } | null> {
  return getJson<CatalogPointer>(caps.store, layout.importCatalogPointer(sourceId));
}

/** The entries of one slice. */
export async function readCatalogSegment(caps: Pick<Capabilities, 'store' | 'gunzip'>, key: string): Promise<StoredCatalogEntry[]> {
  const bytes = await getBytes(caps.store, key);
  if (!bytes) throw new ConflictError(`catalog segment ${key} is missing (a newer sync replaced it)`, 'catalog_changed');
  const text = new TextDecoder().decode(caps.gunzip(bytes));
  const out: StoredCatalogEntry[] = [];
  let at = 0;
  while (at < text.length) {
    let end = text.indexOf('\n', at);
    if (end === -1) end = text.length;
    if (end > at) out.push(JSON.parse(text.slice(at, end)) as StoredCatalogEntry);
    at = end + 1;
  }
  return out;
}

/**
 * A sync's staged catalog: entries are written in slices as they come (memory holds one slice),
 * each index's slices are listed once it completes, and `commit` switches the pointer. Until
 * then nothing points at the slices; `discard` deletes them.
 */
export class CatalogStage {
  readonly #written: string[] = [];
  #buffer: string[] = [];
  #indexSegments: string[] = [];
  #next = 0;

  constructor(
    private readonly caps: Pick<Capabilities, 'store' | 'gzip'>,
    private readonly sourceId: number,
    private readonly jobId: string,
  ) {}

  async add(entry: StoredCatalogEntry): Promise<void> {
    this.#buffer.push(JSON.stringify(entry));
    if (this.#buffer.length >= SEGMENT_ENTRIES) await this.#flush();
  }

  /** Ends the current index: its remaining entries are written; answers its slices. */
  async endIndex(): Promise<string[]> {
    await this.#flush();
    const segments = this.#indexSegments;
    this.#indexSegments = [];
    return segments;
  }

  /** Forgets the entries of an index that failed before its end (its written slices go at discard). */
  dropIndex(): void {
    this.#buffer = [];
    this.#indexSegments = [];
  }

  async #flush(): Promise<void> {
    if (this.#buffer.length === 0) return;
    const key = layout.importCatalogSegment(this.sourceId, this.jobId, this.#next++);
    const bytes = this.caps.gzip(new TextEncoder().encode(`${this.#buffer.join('\n')}\n`));
    this.#buffer = [];
    this.#written.push(key);
    await this.caps.store.put(key, bytes, { ifNoneMatch: '*', contentType: 'application/gzip' });
    this.#indexSegments.push(key);
  }

  /**
   * Makes `pointer` the source's catalog if the pointer is still `expectedEtag` (null: none yet),
   * then deletes the slices only the replaced pointer named. A lost race is a 409: another sync
   * committed since this one started (only after a lease was lost).
   */
  async commit(pointer: CatalogPointer, previous: { value: CatalogPointer; etag: string } | null): Promise<void> {
    try {
      await putJson(this.caps.store, layout.importCatalogPointer(this.sourceId), pointer, previous ? { ifMatch: previous.etag } : { ifNoneMatch: '*' });
    } catch (error) {
      if (error instanceof PreconditionFailedError) {
        throw new ConflictError(`the catalog of source ${this.sourceId} changed during this sync (another sync committed first)`, 'catalog_changed');
      }
      throw error;
    }
    if (!previous) return;
    const kept = new Set(pointer.indexes.flatMap((i) => i.segments));
    for (const key of previous.value.indexes.flatMap((i) => i.segments)) {
      if (!kept.has(key)) await this.caps.store.delete(key).catch(() => undefined);
    }
  }

  async discard(): Promise<void> {
    for (const key of this.#written) await this.caps.store.delete(key).catch(() => undefined);
  }
}

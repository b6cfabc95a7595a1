/**
 * How a source's catalog lives in the store: slices of at most SEGMENT_ENTRIES entries as gzipped
 * NDJSON (one or more gzip members), written create-only by one sync, and one small pointer object naming the slices of each
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
  const out: StoredCatalogEntry[] = [];
  await eachCatalogLine(caps, key, (line) => out.push(JSON.parse(line) as StoredCatalogEntry));
  return out;
}

/**
 * Hands the JSON text of each entry of one slice to `each`, in order. Lines are decoded one at a
 * time and handed over at once, so each dies young: the slice's whole text (megabytes) would be
 * one string born in V8's old generation, garbage only a full collection frees, and a line cut
 * from it would keep all of it alive.
 */
export async function eachCatalogLine(caps: Pick<Capabilities, 'store' | 'gunzip'>, key: string, each: (line: string) => void): Promise<void> {
  await eachWantedLine(
    caps,
    key,
    () => true,
    (_, line) => each(line),
  );
}

/**
 * The JSON text of the entries at `lines` (0-based line numbers in the slice, ascending) of one
 * slice, in that order: the lines not asked for are skipped without being decoded.
 */
export async function readCatalogLines(caps: Pick<Capabilities, 'store' | 'gunzip'>, key: string, lines: readonly number[]): Promise<string[]> {
  const out: string[] = [];
  await eachWantedLine(
    caps,
    key,
    (n) => n === lines[out.length],
    (_, text) => out.push(text),
  );
  if (out.length < lines.length) throw new ConflictError(`catalog segment ${key} has no entry ${lines[out.length]} (a newer sync replaced it)`, 'catalog_changed');
  return out;
}

async function eachWantedLine(
  caps: Pick<Capabilities, 'store' | 'gunzip'>,
  key: string,
  wanted: (line: number) => boolean,
  each: (line: number, text: string) => void,
): Promise<void> {
  const bytes = await getBytes(caps.store, key);
  if (!bytes) throw new ConflictError(`catalog segment ${key} is missing (a newer sync replaced it)`, 'catalog_changed');
  const data = caps.gunzip(bytes);
  const decoder = new TextDecoder();
  let at = 0;
  let n = 0;
  while (at < data.length) {
    let end = data.indexOf(0x0a, at);
    if (end === -1) end = data.length;
    if (end > at) {
      if (wanted(n)) each(n, decoder.decode(data.subarray(at, end)));
      n++;
    }
    at = end + 1;
  }
}

/**
 * A sync's staged catalog: entries are written in slices as they come, each index's slices are
 * listed once it completes, and `commit` switches the pointer. Until then nothing points at the
 * slices; `discard` deletes them.
 *
 * Memory holds one slice compressed and a quarter MiB of its text, not the whole text: a slice's
 * text held until the slice is written (about 3.5 MB for 5,000 Debian entries) outlives V8's
 * young generation, and a sync of Debian main left some 45 MB of it per sync as garbage that only
 * full collections free.
 */
export class CatalogStage {
  readonly #written: string[] = [];
  readonly #segment: SegmentWriter;
  #entries = 0;
  #indexSegments: string[] = [];
  #next = 0;

  constructor(
    private readonly caps: Pick<Capabilities, 'store' | 'gzip'>,
    private readonly sourceId: number,
    private readonly jobId: string,
  ) {
    this.#segment = new SegmentWriter(caps.gzip);
  }

  async add(entry: StoredCatalogEntry): Promise<void> {
    this.#segment.line(JSON.stringify(entry));
    if (++this.#entries >= SEGMENT_ENTRIES) await this.#flush();
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
    this.#segment.clear();
    this.#entries = 0;
    this.#indexSegments = [];
  }

  async #flush(): Promise<void> {
    if (this.#entries === 0) return;
    this.#entries = 0;
    const bytes = this.#segment.finish();
    const key = layout.importCatalogSegment(this.sourceId, this.jobId, this.#next++);
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
    this.#segment.clear();
    for (const key of this.#written) await this.caps.store.delete(key).catch(() => undefined);
  }
}

/** Text compressed at a time: one gzip member each. */
const MEMBER_BYTES = 256 * 1024;

/**
 * One slice's NDJSON as gzip, built a member at a time: lines are encoded into one reused buffer,
 * and each full buffer becomes a gzip member. A file of several members is one gzip file to every
 * reader (RFC 1952 §2.2; Node's gunzip and the Worker's read them all), and members of a quarter
 * MiB compress about as well as one (1% larger for Debian's entries).
 */
class SegmentWriter {
  #members: Uint8Array[] = [];
  #batch = new Uint8Array(MEMBER_BYTES);
  #used = 0;
  readonly #encoder = new TextEncoder();

  constructor(private readonly gzip: (data: Uint8Array) => Uint8Array) {}

  /** Adds `text` and a newline. */
  line(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const room = text.length * 3 + 1;
    if (this.#used + room > this.#batch.length) {
      this.#compress();
      if (room > this.#batch.length) this.#batch = new Uint8Array(room);
    }
    this.#used += this.#encoder.encodeInto(text, this.#batch.subarray(this.#used)).written;
    this.#batch[this.#used++] = 0x0a;
  }

  /** The gzip bytes of the lines added since the last finish (or clear); starts the next slice. */
  finish(): Uint8Array {
    this.#compress();
    const members = this.#members;
    this.#members = [];
    let size = 0;
    for (const member of members) size += member.byteLength;
    const out = new Uint8Array(size);
    let at = 0;
    for (const member of members) {
      out.set(member, at);
      at += member.byteLength;
    }
    return out;
  }

  clear(): void {
    this.#members = [];
    this.#used = 0;
  }

  #compress(): void {
    if (this.#used === 0) return;
    // gzip returns new bytes, so the buffer is reused for the next member.
    this.#members.push(this.gzip(this.#batch.subarray(0, this.#used)));
    this.#used = 0;
  }
}

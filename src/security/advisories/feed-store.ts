import { ADVISORIES_PREFIX, layout } from '../../bucket/layout.ts';
/**
 * The advisory feed kept in the BlobStore, so every server on a bucket matches against one feed.
 *
 * Each push stores its validated advisories as one immutable, content-addressed segment, then
 * appends the segment to a small manifest by compare-and-swap. A server holds the feed built from
 * the segments it has read; current() heads the manifest and, when its etag moved, reads only the
 * segments appended since (or all of them when the list was rewritten). Past `maxSegments` a push
 * writes the whole merged feed as one segment and the manifest names only that one, so a new
 * server reads a bounded number of objects; the replaced segments are deleted after the swap.
 *
 * A feed handed out is never modified afterwards: a newer one is a copy with the new segments
 * added, so a request holding a feed sees one consistent version, and on Workers no request waits
 * on another's I/O.
 */
import type { Capabilities } from '../../capabilities.ts';
import { PreconditionFailedError, RepodError } from '../../errors.ts';
import { getBytes, getJson, putJson } from '../../storage/objects.ts';
import { InFlight } from '../../util/in-flight.ts';
import { AdvisoryFeed } from './feed.ts';
import { type FeedLoad, readAdvisoryFile } from './load.ts';
import { AdvisoryFormatError, type OsvAdvisory, parseOsvAdvisory } from './osv.ts';

export interface AdvisoryManifest {
  format: 1;
  segments: Array<{ key: string; sha256: string; advisories: number /** The pushed file's name. */; name: string; pushedAt: string }>;
}

interface State {
  /** The manifest's etag when it was read; null when there was none. */
  etag: string | null;
  manifest: AdvisoryManifest;
  feed: AdvisoryFeed;
}

export interface StoredAdvisoryFeedOptions {
  /** Default 'security/advisories/'. */
  prefix?: string;
  /** Segments the manifest may list before a push compacts them into one. Default 16. */
  maxSegments?: number;
  /**
   * How long a server trusts the feed it holds before it looks at the manifest again (one HEAD).
   * Every upload asks for the feed: without this, each would cost a store round trip. Default
   * 1000 ms, as the ref cache; this server's own pushes are seen at once.
   */
  ttlMs?: number;
}

/** A segment named by the manifest vanished (compacted away meanwhile): read the manifest again. */
class SegmentGoneError extends Error {}

const EMPTY: AdvisoryManifest = { format: 1, segments: [] };

export class StoredAdvisoryFeed {
  private readonly prefix: string;
  private readonly maxSegments: number;
  private readonly syncs: InFlight<string, State>;
  private state: State | null = null;
  private readonly ttlMs: number;
  /** When the held state was last compared with the stored manifest (Date.now()). */
  private checkedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly caps: Capabilities,
    options: StoredAdvisoryFeedOptions = {},
  ) {
    this.prefix = options.prefix ?? ADVISORIES_PREFIX;
    this.maxSegments = Math.max(1, options.maxSegments ?? 16);
    this.syncs = new InFlight(caps.requestsShareWork);
    this.ttlMs = options.ttlMs ?? 1000;
  }

  /** The current feed, re-read from the store when another server (or instance) changed it (seen within ttlMs). */
  async current(): Promise<AdvisoryFeed> {
    if (this.state && Date.now() - this.checkedAt < this.ttlMs) return this.state.feed;
    const started = Date.now();
    const state = await this.syncs.run('sync', () => this.sync());
    this.checkedAt = started;
    return state.feed;
  }

  /**
   * Stores a pushed file (one advisory as JSON, a JSON array, or a zip of .json files), then
   * merges it into the feed. Records that do not validate are reported in `errors` and left out.
   */
  async push(name: string, bytes: Uint8Array): Promise<{ loaded: number; errors: FeedLoad['errors']; version: string }> {
    const load = readAdvisoryFile(name, bytes);
    if (load.advisories.length === 0) return { loaded: 0, errors: load.errors, version: (await this.current()).version() };
    let segment: Awaited<ReturnType<StoredAdvisoryFeed['encode']>> | undefined;
    let wroteSegment = false;

    for (let attempt = 0; ; attempt++) {
      const state = await this.sync();
      // Nothing in it is new (pushed before, or a server re-reading its advisory directory at start): nothing to write.
      if (state.feed.changes(load.advisories) === 0) return { loaded: load.advisories.length, errors: load.errors, version: state.feed.version() };
      segment ??= await this.encode(load.advisories);
      const feed = state.feed.clone();
      feed.add(load.advisories);
      const entry = { key: segment.key, sha256: segment.sha256, advisories: load.advisories.length, name, pushedAt: this.caps.now().toISOString() };
      let manifest: AdvisoryManifest;
      const compacting = state.manifest.segments.length + 1 > this.maxSegments;
      if (compacting) {
        const whole = await this.encode(sortById(feed.advisories()));
        await this.caps.store.put(whole.key, whole.bytes, { contentType: 'application/gzip' });
        manifest = { format: 1, segments: [{ ...entry, key: whole.key, sha256: whole.sha256, advisories: feed.size, name: 'compacted' }] };
      } else {
        manifest = { format: 1, segments: [...state.manifest.segments, entry] };
        // Written again on a retry: a compaction elsewhere may have deleted an identical segment meanwhile.
        if (!wroteSegment || !(await this.caps.store.head(segment.key))) {
          await this.caps.store.put(segment.key, segment.bytes, { contentType: 'application/gzip' });
          wroteSegment = true;
        }
      }
      let etag: string;
      try {
        ({ etag } = await putJson(this.caps.store, this.manifestKey(), manifest, state.etag === null ? { ifNoneMatch: '*' } : { ifMatch: state.etag }));
      } catch (error) {
        if (error instanceof PreconditionFailedError && attempt < 20) continue;
        throw error;
      }
      this.state = { etag, manifest, feed };
      if (compacting) {
        // The replaced segments, and this push's own when an earlier attempt wrote it.
        const replaced = wroteSegment ? [...state.manifest.segments.map((s) => s.key), segment.key] : state.manifest.segments.map((s) => s.key);
        await this.deleteReplaced(replaced, manifest);
      }
      this.caps.log('advisory feed updated', { name, loaded: load.advisories.length, errors: load.errors.length, advisories: feed.size, version: feed.version() });
      return { loaded: load.advisories.length, errors: load.errors, version: feed.version() };
    }
  }

  private manifestKey(): string {
    return layout.advisoryManifest(this.prefix);
  }

  /** Brings the held state up to the stored manifest: a head when nothing changed, else the new segments. */
  private async sync(): Promise<State> {
    for (let attempt = 0; ; attempt++) {
      const held = this.state;
      const head = await this.caps.store.head(this.manifestKey());
      if (held && held.etag === (head?.etag ?? null)) return held;
      const read = head ? await getJson<AdvisoryManifest>(this.caps.store, this.manifestKey()) : null;
      if (head && !read) continue;
      const manifest = read ? checkManifest(read.value) : EMPTY;
      const etag = read?.etag ?? null;

      const keys = manifest.segments.map((s) => s.key);
      // When the held segments still open the list, only the appended ones are read.
      const base = held?.manifest.segments.every((s, i) => keys[i] === s.key) ? held : null;
      const feed = base ? base.feed.clone() : new AdvisoryFeed();
      try {
        for (const key of keys.slice(base ? base.manifest.segments.length : 0)) feed.add(await this.readSegment(key));
      } catch (error) {
        if (error instanceof SegmentGoneError && attempt < 5) continue;
        throw error;
      }
      const next: State = { etag, manifest, feed };
      this.state = next;
      return next;
    }
  }

  private async readSegment(key: string): Promise<OsvAdvisory[]> {
    const bytes = await getBytes(this.caps.store, key);
    if (!bytes) throw new SegmentGoneError(key);
    const records = JSON.parse(new TextDecoder().decode(this.caps.gunzip(bytes))) as unknown;
    if (!Array.isArray(records)) throw new RepodError('advisory_feed_corrupt', `advisory segment ${key} is not a JSON array`, { status: 500 });
    const out: OsvAdvisory[] = [];
    for (const [i, record] of records.entries()) {
      // Validated when pushed; validated again because the bucket is shared storage, not trusted code.
      try {
        out.push(parseOsvAdvisory(record, `${key}#${i}`));
      } catch (error) {
        if (!(error instanceof AdvisoryFormatError)) throw error;
        this.caps.log('advisory segment record skipped', { key, index: i, problem: error.problem });
      }
    }
    return out;
  }

  private async encode(advisories: OsvAdvisory[]): Promise<{ key: string; sha256: string; bytes: Uint8Array }> {
    const json = new TextEncoder().encode(JSON.stringify(advisories));
    const hasher = this.caps.hash('sha256');
    hasher.update(json);
    const sha256 = await hasher.digest();
    return { key: layout.advisorySegment(sha256, this.prefix), sha256, bytes: this.caps.gzip(json) };
  }

  /** After a compaction: the segments the new manifest no longer names. Best effort; a reader that misses one re-reads the manifest. */
  private async deleteReplaced(keys: string[], after: AdvisoryManifest): Promise<void> {
    const kept = new Set(after.segments.map((s) => s.key));
    for (const key of keys) {
      if (kept.has(key)) continue;
      try {
        await this.caps.store.delete(key);
      } catch (error) {
        this.caps.log('advisory segment delete failed', { key, error: String(error) });
      }
    }
  }
}

function checkManifest(value: unknown): AdvisoryManifest {
  const m = value as Partial<AdvisoryManifest> | null;
  if (m?.format !== 1 || !Array.isArray(m.segments) || !m.segments.every((s) => s && typeof s.key === 'string')) {
    throw new RepodError('advisory_feed_corrupt', 'the advisory feed manifest is not format 1', { status: 500 });
  }
  return m as AdvisoryManifest;
}

function sortById(advisories: OsvAdvisory[]): OsvAdvisory[] {
  return advisories.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

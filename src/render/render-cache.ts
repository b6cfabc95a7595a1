import { layout } from '../bucket/layout.ts';
import type { ByHashPointer, RenderedFile, RenderManifest } from '../bucket/render-manifest.ts';
import type { Capabilities } from '../capabilities.ts';
import { PreconditionFailedError } from '../errors.ts';
import type { ImmutableBytesCache } from '../storage/immutable-bytes-cache.ts';
import { getJson, putJson } from '../storage/objects.ts';
import { fromBase64 } from '../util/bytes.ts';
import { InFlight } from '../util/in-flight.ts';
import { LruCache } from '../util/lru-cache.ts';
import { ReadAhead } from '../util/read-ahead.ts';
import { HashCarry } from './index-file.ts';
import type { ChunkContributions } from './rpm-view.ts';

/** Bytes [start, end) of a chunk, read into `into` (end - start bytes) when given. */
export type ChunkRangeReader = (id: string, start: number, end: number, into?: Uint8Array) => Promise<Uint8Array>;

/** Writes (see writeUnits) a download reads ahead of its client. */
const STREAM_READ_AHEAD = 2;
/** Chunk ranges a download joins into one write (see writeUnits). */
const COALESCE_BYTES = 64 * 1024;

/**
 * Renders each (revision, view) once: memory first, then the store (another server may have
 * rendered it), then a build. Concurrent requests for the same render share one build. Renders are
 * written create-only, so every server serves the same bytes for a revision.
 */
export class Renderer {
  private readonly cache = new LruCache<string, RenderManifest>(64);
  private readonly inflight: InFlight<string, RenderManifest>;
  /** What the last renders hashed, for the next render of the same files to resume from. */
  readonly carry = new HashCarry();
  /** What RPM views take from each chunk (rpm-view.ts): small, and a later render needs all but the changed ones. */
  readonly rpmContributions: ChunkContributions = new LruCache(8192);

  constructor(
    private readonly caps: Capabilities,
    /** Where the bytes of small rendered files stay once assembled (see bytes()). */
    private readonly hotFiles?: ImmutableBytesCache,
    /** A range of a chunk, from memory where the repository keeps the chunk (else each segment is a ranged store read); read into `into` when given. */
    private readonly chunkRange?: ChunkRangeReader,
  ) {
    this.inflight = new InFlight(caps.requestsShareWork);
  }

  /** `keyset` names the signing keys: after a key rotation every view is signed anew. */
  async view(dist: string, revisionId: string, view: string, keyset: string, build: () => Promise<RenderManifest>): Promise<RenderManifest> {
    const key = layout.render(dist, revisionId, `${view}@${keyset}`);
    const cached = this.cache.get(key);
    if (cached) return cached;
    return this.inflight.run(key, () => this.load(dist, key, build));
  }

  private async load(dist: string, key: string, build: () => Promise<RenderManifest>): Promise<RenderManifest> {
    const stored = await getJson<RenderManifest>(this.caps.store, key);
    if (stored) {
      await this.storePointers(dist, stored.value);
      this.cache.set(key, stored.value);
      return stored.value;
    }
    const started = Date.now();
    let manifest = await build();
    this.caps.log('rendered', { dist, revision: manifest.revision, view: manifest.view, files: manifest.files.length, ms: Date.now() - started });
    // The manifest and its files' by-hash pointers are written side by side (one durable round, not
    // two): a process serves a manifest only once its pointers are stored, and one that finds a
    // manifest in the store stores any pointer it lacks first (above), so a crash between the two
    // writes leaves no file of a served manifest unfindable by hash.
    const [, theirs] = await Promise.all([
      this.storePointers(dist, manifest),
      putJson(this.caps.store, key, manifest, { ifNoneMatch: '*' }).then(
        () => null,
        async (error) => {
          if (!(error instanceof PreconditionFailedError)) throw error;
          // Another process stored this render first: serve its bytes (once its pointers are stored).
          const found = (await getJson<RenderManifest>(this.caps.store, key))?.value ?? null;
          if (found) await this.storePointers(dist, found);
          return found;
        },
      ),
    ]);
    if (theirs) manifest = theirs;
    this.cache.set(key, manifest);
    return manifest;
  }

  /** Stores the by-hash pointer of every file of a manifest, create-only (the first render of a content hash keeps it). */
  private async storePointers(dist: string, manifest: RenderManifest): Promise<void> {
    await Promise.all(
      manifest.files.map((f) => {
        const sha = f.checksums.sha256;
        if (!sha) return Promise.resolve();
        const pointer: ByHashPointer = { revision: manifest.revision, view: manifest.view };
        return putJson(this.caps.store, layout.renderByHash(dist, sha), pointer, { ifNoneMatch: '*' }).catch((error) => {
          if (!(error instanceof PreconditionFailedError)) throw error;
        });
      }),
    );
  }

  async pointer(dist: string, sha256: string): Promise<ByHashPointer | null> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) return null;
    return (await getJson<ByHashPointer>(this.caps.store, layout.renderByHash(dist, sha256)))?.value ?? null;
  }

  /**
   * The whole bytes of a rendered file small enough to keep in memory, assembled from its segments
   * once and then served from memory: a file is named by its sha256, so the same hash is the same
   * bytes whatever revision lists it. Null for a file that should stream (too large, no cache).
   */
  async bytes(file: RenderedFile): Promise<Uint8Array | null> {
    const sha = file.checksums.sha256;
    if (!this.hotFiles || !sha || !this.hotFiles.fits(file.size)) return null;
    const entry = await this.hotFiles.load(`render/${sha}`, async () => ({ body: this.stream(file), etag: sha, lastModified: new Date(0) }));
    return entry?.bytes ?? null;
  }

  /** The bytes of a rendered file, streamed segment by segment from the chunks. */
  stream(file: RenderedFile): ReadableStream<Uint8Array> {
    const { store } = this.caps;
    const chunkRange = this.chunkRange;
    const segments = file.segments;
    const units = chunkRange ? writeUnits(segments) : segments.map((_, i) => ({ from: i, to: i + 1, bytes: 0 }));
    // Units are read a few ahead of the client: where the chunks are not in memory (a distribution
    // larger than the cache) the reads wait on the store side by side.
    const ahead = chunkRange ? new ReadAhead(units.length, STREAM_READ_AHEAD, (u) => readUnit(units[u], segments, chunkRange)) : null;
    let index = 0;
    let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        for (;;) {
          if (reader) {
            const { done, value } = await reader.read();
            if (!done) {
              controller.enqueue(value);
              return;
            }
            reader = null;
          }
          if (index >= units.length) {
            controller.close();
            return;
          }
          const u = index++;
          const read = ahead ? await ahead.take(u) : null;
          if (read) {
            controller.enqueue(read);
            return;
          }
          const segment = segments[units[u].from];
          if ('data' in segment) {
            controller.enqueue(fromBase64(segment.data));
            return;
          }
          const object =
            'object' in segment
              ? await store.get(segment.object)
              : await store.get(segment.part ? layout.chunkPart(segment.chunk, segment.part) : layout.chunk(segment.chunk), {
                  range: { start: segment.start, end: segment.end - 1 },
                });
          if (!object) {
            controller.error(new Error(`${'object' in segment ? segment.object : `chunk ${segment.chunk}`} is missing`));
            return;
          }
          reader = object.body.getReader();
        }
      },
      async cancel(reason) {
        await reader?.cancel(reason);
      },
    });
  }
}

/** Segments [from, to) of a file that a download writes at once; `bytes` is their length when they are chunk ranges, else 0. */
interface WriteUnit {
  from: number;
  to: number;
  bytes: number;
}

/**
 * A file's segments as a download writes them: each run of chunk ranges joined up to
 * COALESCE_BYTES (a chunk's range is 7 to 16 KB, and one socket write each was a third of a large
 * download's CPU), and every other segment alone.
 */
function writeUnits(segments: readonly Segment[]): WriteUnit[] {
  const units: WriteUnit[] = [];
  for (let i = 0; i < segments.length; ) {
    const from = i;
    let bytes = 0;
    while (i < segments.length && bytes < COALESCE_BYTES) {
      const segment = segments[i];
      if (!isChunkRange(segment)) break;
      bytes += segment.end - segment.start;
      i++;
    }
    if (i === from) i++;
    units.push({ from, to: i, bytes });
  }
  return units;
}

/**
 * The bytes of a unit of chunk ranges, or null for another segment. A run of ranges is read into
 * one buffer: a range not in memory costs no buffer of its own, and no copy into a joined one.
 */
async function readUnit(unit: WriteUnit, segments: readonly Segment[], chunkRange: ChunkRangeReader): Promise<Uint8Array | null> {
  const first = segments[unit.from];
  if (!isChunkRange(first)) return null;
  // One range goes out as the repository answers it: a view of a chunk in memory copies nothing.
  if (unit.to - unit.from === 1) return chunkRange(first.chunk, first.start, first.end);
  const bytes = new Uint8Array(unit.bytes);
  const reads: Promise<unknown>[] = [];
  for (let i = unit.from, at = 0; i < unit.to; i++) {
    const segment = segments[i] as Extract<Segment, { chunk: string }>;
    const length = segment.end - segment.start;
    const into = bytes.subarray(at, at + length);
    // A reader may answer with bytes of its own instead (one that ignores `into`).
    reads.push(chunkRange(segment.chunk, segment.start, segment.end, into).then((read) => read !== into && into.set(read)));
    at += length;
  }
  await Promise.all(reads);
  return bytes;
}

type Segment = RenderedFile['segments'][number];

/** A segment read from a chunk through chunkRange (not inline data, another object or a chunk's part). */
function isChunkRange(segment: Segment): segment is Extract<Segment, { chunk: string }> {
  return 'chunk' in segment && !segment.part;
}

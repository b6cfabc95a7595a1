import { layout } from '../bucket/layout.ts';
import type { ByHashPointer } from '../bucket/render-manifest.ts';
import { PreconditionFailedError } from '../errors.ts';
import { readUploadSession, uploadSessionIdOf } from '../ingest/upload-session.ts';
import type { BlobStore, ListEntry } from '../storage/blob-store.ts';
import { getJson, putJson } from '../storage/objects.ts';
import { MarkSet, mapLimit, readRefs, revisionNumber } from './gc-mark.ts';

/**
 * Retention and garbage collection of a bucket (revisions/README.md is the layout).
 *
 * Mark: for every distribution under dists/, the roots are every ref (current and tags); the last
 * `keepLast` revisions of the current chain and each tag's revision are kept, and so is every
 * revision object that may still become current or belongs to a publish still running: one younger
 * than the grace period, one numbered above the current revision (a publish builds revision n+1
 * on revision n and moves the ref by compare-and-swap, so such an object can still win), and every
 * revision of a distribution that has no current ref yet. Kept revisions keep their chunks, the
 * packages those list (pool blob, record, fragments, APT pool claims), their renders with what
 * those stream, and the by-hash pointers their files need.
 *
 * Sweep: only after marking are the prefixes listed, one kind at a time, referrers before what they
 * refer to (pointers, renders, revisions, chunks, metadata, claims, fragments, records, pool,
 * uploads), so a crash or a reader mid-sweep never finds a surviving object naming a deleted one.
 * Under uploads/, an upload in parts (a session and its parts) goes only once it expired more than
 * the grace period ago, or when its session is gone.
 * Nothing younger than the grace period, or written after the collection started, is deleted.
 * Before each kind the refs and revision objects are read again and before each batch of deletes
 * the refs, and whatever they reach now is marked too: nothing reachable from the refs as they are
 * at the moment of a delete is deleted.
 *
 * What this cannot see, because publishers leave no trace of it in the store: (1) a publish that
 * was already running when the collection started and moves its ref only after the last re-read
 * (the grace period must exceed the longest publish; with 0 it protects only what was written after
 * the start); (2) an old, unreachable object that a publisher finds and reuses instead of writing
 * (content-addressed dedup: a re-upload of a collected package, an identical chunk, a rollback or
 * tag to a revision past retention, a render reusing a pointer or sqlite object) and that it
 * references only after the last re-read before that object's batch. Closing (2) needs publishers
 * to refresh the lastModified of what they reuse, and this sweep to check it right before deleting.
 */
export interface GcOptions {
  dryRun: boolean;
  /** Revisions kept along the current chain of each distribution (default 10, at least 1). */
  keepLast?: number;
  /** Never delete an object younger than this (default 3600). Must exceed the longest publish. */
  graceSeconds?: number;
  /** The time ages are measured from (default: now). Objects written after the collection started are never deleted. */
  now?: Date;
  /** How many keys a dry run lists (default 1000). */
  keysLimit?: number;
}

export const GC_KINDS = [
  'byHash',
  'renders',
  'revisions',
  'summaries',
  'chunks',
  'metadata',
  'documents',
  'aptPool',
  'fragments',
  'packages',
  'pool',
  'mirrorOrigins',
  'uploads',
] as const;
export type GcKind = (typeof GC_KINDS)[number];

export interface GcReport {
  dryRun: boolean;
  kept: { revisions: number; chunks: number; packages: number };
  deleted: Record<GcKind, number>;
  bytesFreed: number;
  /** Dry runs: the keys that would go (at most keysLimit). */
  keys?: string[];
  keysTruncated?: boolean;
  /** by-hash pointers that named a render being collected (or were missing) and now name a kept render holding the same file. */
  repointed: number;
  /** Things worth an operator's look that did not stop the collection (a tag naming a missing revision). */
  warnings: string[];
}

export const GC_DEFAULTS = { keepLast: 10, graceSeconds: 3600, keysLimit: 1000 };

const BATCH = 256;
const READS = 16;
const DELETES = 16;

interface Candidate {
  key: string;
  size: number;
  /** Still garbage? Asked again right before the delete, against the marks as they are then. */
  garbage(): boolean;
}

interface DistState {
  /** Ref name → revision id, as last read. */
  refs: Map<string, string>;
  /** Number of the current revision as last read (numbers only grow along a ref), or null without a current ref. */
  currentNumber: number | null;
}

export async function collectGarbage(store: BlobStore, options: GcOptions): Promise<GcReport> {
  return new Collector(store, options).run();
}

class Collector {
  private readonly marks: MarkSet;
  private readonly keepLast: number;
  private readonly cutoff: number;
  private readonly keysLimit: number;
  private readonly dists = new Map<string, DistState>();
  private readonly report: GcReport;

  constructor(
    private readonly store: BlobStore,
    private readonly options: GcOptions,
  ) {
    this.marks = new MarkSet(store);
    this.keepLast = Math.max(1, Math.floor(options.keepLast ?? GC_DEFAULTS.keepLast));
    const started = Date.now();
    const now = options.now?.getTime() ?? started;
    // Whatever is written after the collection started is never garbage, whatever `now` says.
    this.cutoff = Math.min(now - Math.max(0, options.graceSeconds ?? GC_DEFAULTS.graceSeconds) * 1000, started);
    this.keysLimit = options.keysLimit ?? GC_DEFAULTS.keysLimit;
    this.report = {
      dryRun: options.dryRun,
      kept: { revisions: 0, chunks: 0, packages: 0 },
      deleted: Object.fromEntries(GC_KINDS.map((k) => [k, 0])) as Record<GcKind, number>,
      bytesFreed: 0,
      ...(options.dryRun ? { keys: [] } : {}),
      repointed: 0,
      warnings: this.marks.warnings,
    };
  }

  async run(): Promise<GcReport> {
    await this.refresh(true);
    await this.fixPointers();
    for (const kind of GC_KINDS) {
      if (kind !== GC_KINDS[0]) await this.refresh(true);
      await this.sweep(kind);
    }
    // Renders written while collecting may have reused a pointer deleted meanwhile: give them theirs.
    await this.refresh(true);
    await this.fixPointers();
    this.report.kept = { revisions: this.marks.revisionCount, chunks: this.marks.chunks.size, packages: this.marks.packages.size };
    return this.report;
  }

  private old(e: ListEntry): boolean {
    return e.lastModified.getTime() < this.cutoff;
  }

  /**
   * Reads the refs (and, when `full`, lists every distribution's revision objects) and marks what
   * they reach. Called before anything is listed for deletion and again before every batch.
   */
  private async refresh(full: boolean): Promise<void> {
    if (full) {
      const revisions = new Map<string, ListEntry[]>();
      for await (const e of this.store.list('dists/')) {
        const m = /^dists\/([^/]+)\/(refs|revisions)\//.exec(e.key);
        if (!m) continue;
        if (!this.dists.has(m[1])) this.dists.set(m[1], { refs: new Map(), currentNumber: null });
        if (m[2] === 'revisions') {
          const list = revisions.get(m[1]);
          if (list) list.push(e);
          else revisions.set(m[1], [e]);
        }
      }
      for (const dist of this.dists.keys()) await this.refreshRefs(dist);
      for (const [dist, entries] of revisions) {
        const state = this.dists.get(dist)!;
        const roots: string[] = [];
        for (const e of entries) {
          const id = revisionIdOf(e.key);
          if (!id || this.marks.isKeptRevision(dist, id)) continue;
          if (this.mayStillMatter(state, id, e)) roots.push(id);
        }
        await mapLimit(roots, 4, async (id) => {
          await this.marks.markRevision(dist, id);
        });
      }
    } else {
      for (const dist of this.dists.keys()) await this.refreshRefs(dist);
    }
  }

  /** A revision object not reachable from a ref that must stay anyway (see the module comment). */
  private mayStillMatter(state: DistState, id: string, e: ListEntry): boolean {
    if (!this.old(e) || state.currentNumber === null) return true;
    const number = revisionNumber(id);
    return number === null || number > state.currentNumber;
  }

  private async refreshRefs(dist: string): Promise<void> {
    const state = this.dists.get(dist)!;
    const refs = await readRefs(this.store, dist);
    for (const [name, ref] of refs) {
      if (state.refs.get(name) === ref.revision) continue;
      if (name === 'current') {
        await this.marks.markChain(dist, ref.revision, this.keepLast);
        state.currentNumber = Math.max(state.currentNumber ?? 0, ref.number);
      } else if (!(await this.marks.markRevision(dist, ref.revision))) {
        this.marks.warn(`tag ${name} of ${dist} names revision ${ref.revision}, which is missing`);
      }
      state.refs.set(name, ref.revision);
    }
  }

  /**
   * Every file of a kept render must stay findable by hash: a pointer naming a revision being
   * collected (another render produced the same bytes first) is pointed at the newest kept render
   * holding the file; a missing one is written. Pointers are plain lookups (never cached), so
   * swapping one for an equivalent one is invisible to clients.
   */
  private async fixPointers(): Promise<void> {
    const wants = [...this.marks.pointers.values()].filter((w) => !this.checkedPointers.has(w.key));
    await mapLimit(wants, 16, async (want) => {
      this.checkedPointers.add(want.key);
      const found = await getJson<ByHashPointer>(this.store, want.key);
      if (found && this.marks.isKeptRevision(want.dist, found.value.revision)) return;
      this.report.repointed++;
      if (this.options.dryRun) return;
      if (found) await putJson(this.store, want.key, want.pointer);
      else {
        await putJson(this.store, want.key, want.pointer, { ifNoneMatch: '*' }).catch((error) => {
          if (!(error instanceof PreconditionFailedError)) throw error;
        });
      }
    });
  }

  private readonly checkedPointers = new Set<string>();

  /** Upload sessions read during this collection: id → whether the session and its parts are garbage. */
  private readonly sessions = new Map<string, Promise<(() => boolean) | null>>();

  /**
   * An upload in parts (ingest/upload-session.ts) goes once it expired more than the grace period
   * ago (a completion started just before the expiry has that long to read its parts), and so do
   * parts whose session is gone (completed or aborted meanwhile, or written afterwards through a
   * presigned URL still valid). A session object that cannot be read is left alone.
   */
  private sessionGarbage(id: string): Promise<(() => boolean) | null> {
    let verdict = this.sessions.get(id);
    if (!verdict) {
      verdict = readUploadSession(this.store, id).then(
        (found) => (!found || Date.parse(found.session.expires) < this.cutoff ? () => true : null),
        (error) => {
          this.marks.warn(`upload session ${id} is unreadable, left alone: ${(error as Error).message}`);
          return null;
        },
      );
      this.sessions.set(id, verdict);
    }
    return verdict;
  }

  /**
   * Lists one kind and deletes its garbage a batch at a time, holding one batch in memory: the
   * refs are read again before each batch, and each object is asked once more right before its
   * delete whether it is still garbage.
   */
  private async sweep(kind: GcKind): Promise<void> {
    const { prefix, classify } = this.kind(kind);
    let entries: ListEntry[] = [];
    const flush = async () => {
      const batch = entries;
      entries = [];
      const candidates: Candidate[] = [];
      await mapLimit(batch, READS, async (e) => {
        const garbage = await classify(e);
        if (garbage?.()) candidates.push({ key: e.key, size: e.size, garbage });
      });
      if (candidates.length === 0) return;
      candidates.sort((a, b) => (a.key < b.key ? -1 : 1));
      await this.refresh(false);
      await mapLimit(candidates, DELETES, async (c) => {
        if (!c.garbage()) return;
        if (!this.options.dryRun) await this.store.delete(c.key);
        this.report.deleted[kind]++;
        this.report.bytesFreed += c.size;
        if (this.report.keys) {
          if (this.report.keys.length < this.keysLimit) this.report.keys.push(c.key);
          else this.report.keysTruncated = true;
        }
      });
    };
    for await (const e of this.store.list(prefix)) {
      if (!this.old(e)) continue;
      entries.push(e);
      if (entries.length >= BATCH) await flush();
    }
    await flush();
  }

  /**
   * Where a kind lives and how to tell its garbage: `classify` returns null for an object that is
   * not of this kind (or not understood: left alone), else the test asked right before deleting.
   */
  private kind(kind: GcKind): { prefix: string; classify: (e: ListEntry) => Promise<(() => boolean) | null> | (() => boolean) | null } {
    const m = this.marks;
    switch (kind) {
      case 'byHash':
        return {
          prefix: 'renders/',
          classify: async (e) => {
            const k = /^renders\/([^/]+)\/by-hash\/[0-9a-f]{2}\/[0-9a-f]{64}\.json$/.exec(e.key);
            if (!k || m.pointers.has(e.key)) return null;
            const dist = k[1];
            const revision = (await getJson<ByHashPointer>(this.store, e.key))?.value.revision;
            if (typeof revision !== 'string') return null;
            return () => !m.pointers.has(e.key) && !m.isKeptRevision(dist, revision);
          },
        };
      case 'renders':
        return {
          prefix: 'renders/',
          classify: (e) => {
            const k = /^renders\/([^/]+)\/([^/]+)\/.+\.json$/.exec(e.key);
            if (!k || k[2] === 'by-hash') return null;
            const [, dist, id] = k;
            return () => !m.isKeptRevision(dist, id);
          },
        };
      case 'revisions':
        return {
          prefix: 'dists/',
          classify: (e) => {
            const k = /^dists\/([^/]+)\/revisions\/([^/]+)\.json$/.exec(e.key);
            if (!k) return null;
            const [, dist, id] = k;
            return () => {
              const state = this.dists.get(dist);
              return !!state && !m.isKeptRevision(dist, id) && !this.mayStillMatter(state, id, e);
            };
          },
        };
      case 'summaries':
        // A revision's summary (written with it) goes when the revision does.
        return {
          prefix: 'dists/',
          classify: (e) => {
            const k = /^dists\/([^/]+)\/summaries\/([^/]+)\.json$/.exec(e.key);
            if (!k) return null;
            const [, dist, id] = k;
            return () => {
              const state = this.dists.get(dist);
              return !!state && !m.isKeptRevision(dist, id) && !this.mayStillMatter(state, id, e);
            };
          },
        };
      case 'chunks':
        return { prefix: 'chunks/', classify: byId(/^chunks\/[0-9a-f]{2}\/([0-9a-f]{64})(?:\.[a-z]+)?\.seg$/, m.chunks) };
      case 'metadata':
        return { prefix: 'metadata/', classify: (e) => (/^metadata\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(e.key) ? () => !m.objects.has(e.key) : null) };
      case 'documents':
        return { prefix: 'documents/', classify: (e) => (/^documents\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(e.key) ? () => !m.objects.has(e.key) : null) };
      case 'aptPool':
        return {
          prefix: 'apt-pool/',
          classify: async (e) => {
            const path = /^apt-pool\/(.+)\.json$/.exec(e.key)?.[1];
            if (!path || m.poolPaths.has(path)) return null;
            // A claim whose file is still published (under another path) stays: the path keeps its content.
            const sha = (await getJson<{ sha256?: string }>(this.store, e.key))?.value.sha256;
            if (typeof sha !== 'string') return null;
            return () => !m.poolPaths.has(path) && !m.packages.has(sha);
          },
        };
      case 'fragments':
        return { prefix: 'fragments/', classify: byId(/^fragments\/[0-9a-f]{2}\/([0-9a-f]{64})(?:\.[^/]+)?\.seg$/, m.packages) };
      case 'packages':
        return { prefix: 'packages/', classify: byId(/^packages\/[0-9a-f]{2}\/([0-9a-f]{64})(?:\.signature)?\.json$/, m.packages) };
      case 'pool':
        return { prefix: 'pool/', classify: byId(/^pool\/sha256\/[0-9a-f]{2}\/([0-9a-f]{64})$/, m.packages) };
      // Where an on-demand mirror's package downloads from: needed while a kept revision lists it.
      case 'mirrorOrigins':
        return { prefix: 'mirror/origins/', classify: byId(/^mirror\/origins\/[0-9a-f]{2}\/([0-9a-f]{64})\.json$/, m.packages) };
      case 'uploads':
        return {
          prefix: layout.uploadsPrefix(),
          classify: (e) => {
            const id = uploadSessionIdOf(e.key);
            // A one-request upload being staged: garbage once older than the grace period.
            if (id === null) return () => true;
            return this.sessionGarbage(id);
          },
        };
    }
  }
}

/** An object named after an id: garbage while the id is not in the set. */
function byId(pattern: RegExp, kept: ReadonlySet<string>): (e: ListEntry) => (() => boolean) | null {
  return (e) => {
    const id = pattern.exec(e.key)?.[1];
    return id ? () => !kept.has(id) : null;
  };
}

function revisionIdOf(key: string): string | null {
  return /^dists\/[^/]+\/revisions\/([^/]+)\.json$/.exec(key)?.[1] ?? null;
}

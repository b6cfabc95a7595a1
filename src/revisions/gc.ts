import type { BlobStore, ListEntry } from '../storage/blob-store.ts';
import { getJson, putJson } from '../storage/objects.ts';
import { PreconditionFailedError } from '../errors.ts';
import { MarkSet, mapLimit, readRefs, revisionNumber } from './gc-mark.ts';
import { layout } from './layout.ts';
import type { ByHashPointer } from './render.ts';

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
 * Nothing younger than the grace period, or written after the collection started, is deleted.
 * Before each kind the refs and revision objects are read again and before each batch of deletes
 * the refs, and whatever they reach now is marked too: nothing reachable from the refs as they are
 * at the moment of a delete is deleted.
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

export const GC_KINDS = ['byHash', 'renders', 'revisions', 'chunks', 'metadata', 'aptPool', 'fragments', 'packages', 'pool', 'uploads'] as const;
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
    return number === null && number! > state.currentNumber;
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

  private async sweep(kind: GcKind): Promise<void> {
    const candidates = await this.candidates(kind);
    for (let i = 0; i < candidates.length; i += BATCH) {
      await this.refresh(false);
      const batch = candidates.slice(i, i + BATCH).filter((c) => c.garbage());
      await mapLimit(batch, DELETES, async (c) => {
        // Marks may have grown while this batch was running.
        if (!c.garbage()) return;
        if (!this.options.dryRun) await this.store.delete(c.key);
        this.report.deleted[kind]++;
        this.report.bytesFreed += c.size;
        if (this.report.keys) {
          if (this.report.keys.length < this.keysLimit) this.report.keys.push(c.key);
          else this.report.keysTruncated = true;
        }
      });
    }
  }

  /** The old objects of one kind that nothing kept reaches, as they are listed now. */
  private async candidates(kind: GcKind): Promise<Candidate[]> {
    const m = this.marks;
    const out: Candidate[] = [];
    const add = (e: ListEntry, garbage: () => boolean) => {
      if (this.old(e) && garbage()) out.push({ key: e.key, size: e.size, garbage });
    };
    const each = async (prefix: string, fn: (e: ListEntry) => void | Promise<void>) => {
      const pending: Promise<void>[] = [];
      for await (const e of this.store.list(prefix)) {
        if (!this.old(e)) continue;
        const p = fn(e);
        if (p) pending.push(p);
        if (pending.length >= 32) await Promise.all(pending.splice(0));
      }
      await Promise.all(pending);
    };
    switch (kind) {
      case 'byHash':
        await each('renders/', async (e) => {
          const k = /^renders\/([^/]+)\/by-hash\/[0-9a-f]{2}\/[0-9a-f]{64}\.json$/.exec(e.key);
          if (!k || m.pointers.has(e.key)) return;
          const dist = k[1];
          const revision = (await getJson<ByHashPointer>(this.store, e.key))?.value.revision;
          if (revision === undefined) return;
          add(e, () => !m.pointers.has(e.key) && !m.isKeptRevision(dist, revision));
        });
        break;
      case 'renders':
        await each('renders/', (e) => {
          const k = /^renders\/([^/]+)\/([^/]+)\/.+\.json$/.exec(e.key);
          if (!k || k[2] === 'by-hash') return;
          const [, dist, id] = k;
          add(e, () => !m.isKeptRevision(dist, id));
        });
        break;
      case 'revisions':
        await each('dists/', (e) => {
          const k = /^dists\/([^/]+)\/revisions\/([^/]+)\.json$/.exec(e.key);
          if (!k) return;
          const [, dist, id] = k;
          add(e, () => {
            const state = this.dists.get(dist);
            return !!state && !m.isKeptRevision(dist, id) && !this.mayStillMatter(state, id, e);
          });
        });
        break;
      case 'chunks':
        await each('chunks/', (e) => {
          const id = /^chunks\/[0-9a-f]{2}\/([0-9a-f]{64})\.seg$/.exec(e.key)?.[1];
          if (id) add(e, () => !m.chunks.has(id));
        });
        break;
      case 'metadata':
        await each('metadata/', (e) => {
          if (/^metadata\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(e.key)) add(e, () => !m.objects.has(e.key));
        });
        break;
      case 'aptPool':
        await each('apt-pool/', async (e) => {
          const path = /^apt-pool\/(.+)\.json$/.exec(e.key)?.[1];
          if (!path || m.poolPaths.has(path)) return;
          // A claim whose file is still published elsewhere stays, so the path keeps its content.
          const sha = (await getJson<{ sha256?: string }>(this.store, e.key))?.value.sha256;
          if (typeof sha !== 'string') return;
          add(e, () => !m.poolPaths.has(path) && !m.packages.has(sha));
        });
        break;
      case 'fragments':
        await each('fragments/', (e) => {
          const id = /^fragments\/[0-9a-f]{2}\/([0-9a-f]{64})(\.[^/]+)?\.seg$/.exec(e.key)?.[1];
          if (id) add(e, () => !m.packages.has(id));
        });
        break;
      case 'packages':
        await each('packages/', (e) => {
          const id = /^packages\/[0-9a-f]{2}\/([0-9a-f]{64})\.json$/.exec(e.key)?.[1];
          if (id) add(e, () => !m.packages.has(id));
        });
        break;
      case 'pool':
        await each('pool/', (e) => {
          const id = /^pool\/sha256\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(e.key)?.[1];
          if (id) add(e, () => !m.packages.has(id));
        });
        break;
      case 'uploads':
        await each(layout.uploadsPrefix(), (e) => add(e, () => true));
        break;
    }
    return out;
  }
}

function revisionIdOf(key: string): string | null {
  return /^dists\/[^/]+\/revisions\/([^/]+)\.json$/.exec(key)?.[1] ?? null;
}

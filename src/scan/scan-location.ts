import type { EntryWithSegments } from '../bucket/chunk.ts';
import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import type { Distribution } from '../config/distributions.ts';
import { ConflictError, RepodError } from '../errors.ts';
import { acceptedByDistribution } from '../ingest/accepted.ts';
import { commitDeb, commitRpm } from '../ingest/commit.ts';
import { candidateLabel, runIngestSteps, stagedCandidate } from '../ingest/pipeline.ts';
import { discardStaged, type StagedPackage, stagePackage } from '../ingest/stage.ts';
import { ingestSteps, type PublishServices } from '../revisions/publish.ts';
import type { BlobStore, ListEntry } from '../storage/blob-store.ts';
import { foundEntry } from './found-entry.ts';
import { acquireScanLease } from './scan-lease.ts';
import { locationId, readScanState, type ScannedObject, type ScanState, writeScanState } from './scan-state.ts';

/**
 * `repod scan`: packages dropped into a bucket or a directory by other tools (`aws s3 cp`,
 * `s3cmd`, `cp`, a CI step) published into a distribution as one revision per scan.
 *
 * Incremental: the listing is compared with what the previous scan recorded (scan-state.ts); only
 * new or changed objects are read, each streamed once through the same staging and ingest steps an
 * upload passes (so a bad object gets an upload's refusal), and objects gone from the listing
 * leave the revision. One scan of a location runs at a time (scan-lease.ts).
 *
 * Memory: an object is read as a stream and its parsed header is dropped once its index entry is
 * made; what the scan keeps is one small record per object and the entries of the new packages
 * (their pre-compressed fragments), which the one revision is composed from.
 *
 * Two modes. `pool` (scan): each package is copied into the store's pool and served by repod at
 * its own paths. `found` (mkrepo): packages stay where they were found, nothing of their bytes is
 * stored, and the metadata names each by its path relative to the tree's root.
 */
export type ScanMode = 'pool' | 'found';

export interface ScanSource {
  /** Names the location in messages and in its state's id: "s3://bucket/prefix", "/srv/repo". */
  name: string;
  /** The location as a store: its keys are paths relative to the tree's root. */
  store: BlobStore;
  /** Where packages are found: "Packages/" (RPM), "pool/" or "pool/<codename>/" (DEB). */
  root: string;
}

export interface ScanOptions {
  dist: Distribution;
  mode: ScanMode;
  /** Skip malformed packages (listed in the report) instead of stopping with nothing published. */
  force?: boolean;
  author?: string;
  /** Objects read at a time (default 4). */
  concurrency?: number;
  /** `found` mode, APT: the component a .deb at `path` belongs to (default: the distribution's first). */
  component?: (path: string) => string;
  leaseTtlMs?: number;
  /** Called with a line of progress now and then. */
  progress?: (message: string) => void;
}

export interface MalformedObject {
  path: string;
  reason: string;
}

export interface ScanReport {
  location: string;
  distribution: string;
  kind: Distribution['kind'];
  status: 'published' | 'unchanged';
  revision: { id: string; number: number } | null;
  /** Package objects in the listing. */
  found: number;
  /** Objects read (new or changed since the previous scan), and their bytes. */
  read: number;
  bytesRead: number;
  unchanged: number;
  added: number;
  removed: number;
  /** Left out (--force): unreadable, not a package, refused by an ingest step. */
  malformed: MalformedObject[];
}

const PACKAGE_SUFFIX = { rpm: /\.rpm$/, apt: /\.deb$/ } as const;

/** A change token of a listed object: its ETag where the store lists one (S3), else its last-modified time (a directory). */
const tagOf = (o: ListEntry) => o.etag ?? String(o.lastModified.getTime());

/**
 * A store in which staging reads a package without keeping it (`found` mode): the temporary upload
 * is drained as it streams in, so the bytes are hashed and parsed but never written anywhere.
 */
function drainingUploads(store: BlobStore): BlobStore {
  const isUpload = (key: string) => key.startsWith(layout.uploadsPrefix());
  return Object.assign(Object.create(store) as BlobStore, {
    async put(key: string, body: Uint8Array | ReadableStream<Uint8Array>, options?: Parameters<BlobStore['put']>[2]) {
      if (!isUpload(key)) return store.put(key, body, options);
      if (!(body instanceof Uint8Array)) {
        const reader = body.getReader();
        while (!(await reader.read()).done) {}
      }
      return { etag: '' };
    },
    async delete(key: string) {
      if (!isUpload(key)) await store.delete(key);
    },
  });
}

/** Whether an error is about the package (an upload would get a 4xx), not about the store or repod. */
const isRefusal = (error: unknown) => error instanceof RepodError && error.status >= 400 && error.status < 500;

interface Added {
  path: string;
  entry: EntryWithSegments;
}

export async function scanLocation(services: PublishServices, source: ScanSource, options: ScanOptions): Promise<ScanReport> {
  const { caps } = services;
  const { dist, mode } = options;
  const progress = options.progress ?? (() => undefined);
  const id = await locationId(caps, source.name, dist.name);
  const ttl = options.leaseTtlMs ?? 120_000;
  const lease = await acquireScanLease(caps, id, `scan of ${source.name}`, ttl);
  let renewed = caps.now().getTime();
  const keepLease = async () => {
    if (caps.now().getTime() - renewed < ttl / 3) return;
    await lease.renew();
    renewed = caps.now().getTime();
  };
  try {
    const previous = (await readScanState(caps, id))?.objects ?? {};
    const report: ScanReport = {
      location: source.name,
      distribution: dist.name,
      kind: dist.kind,
      status: 'unchanged',
      revision: null,
      found: 0,
      read: 0,
      bytesRead: 0,
      unchanged: 0,
      added: 0,
      removed: 0,
      malformed: [],
    };
    const objects: Record<string, ScannedObject> = {};
    const toRead: ListEntry[] = [];
    for await (const o of source.store.list(source.root)) {
      if (!PACKAGE_SUFFIX[dist.kind].test(o.key)) continue;
      report.found++;
      const before = previous[o.key];
      if (before && before.tag === tagOf(o) && before.size === o.size) {
        objects[o.key] = before;
        report.unchanged++;
        if (before.malformed) report.malformed.push({ path: o.key, reason: before.malformed });
      } else {
        toRead.push(o);
      }
    }
    progress(`${source.name}: ${report.found} packages found, ${toRead.length} new or changed`);

    const stageCaps: Capabilities = mode === 'found' ? { ...caps, store: drainingUploads(caps.store) } : caps;
    // Packages left where they were found have no pool object, and readers of the signed-copies
    // index use only copies that have one: indexing them would write an object per package for nothing.
    const steps = ingestSteps({ ...services, gate: undefined }, { replace: true, indexCopies: mode === 'pool' }).filter((s) => mode === 'pool' || s !== acceptedByDistribution);
    const componentOf = (path: string) => (dist.kind === 'apt' ? (options.component?.(path) ?? dist.components[0]) : '');
    const added: Added[] = [];
    const byKey = new Map<string, string>();
    let failed: unknown = null;

    const malformed = (path: string, reason: string, o: ListEntry) => {
      if (!options.force) throw new RepodError('malformed_package', `${source.name}/${path}: ${reason}; nothing was published (--force skips malformed packages)`, { status: 422 });
      report.malformed.push({ path, reason });
      objects[path] = { tag: tagOf(o), size: o.size, malformed: reason };
    };

    const readOne = async (o: ListEntry) => {
      const object = await source.store.get(o.key);
      if (!object) return; // gone since the listing: it leaves with the other removed objects
      report.read++;
      report.bytesRead += object.size;
      let staged: StagedPackage;
      try {
        staged = await stagePackage(stageCaps, object.body, { maxBytes: services.settings.maxUploadBytes });
      } catch (error) {
        if (!isRefusal(error)) throw error;
        return malformed(o.key, (error as Error).message, o);
      }
      const component = componentOf(o.key);
      const candidate = stagedCandidate(staged, component);
      try {
        if ((dist.kind === 'rpm') !== (staged.kind === 'rpm')) {
          throw new RepodError('wrong_package_type', `${dist.kind === 'rpm' ? 'an RPM tree' : 'a DEB tree'} holds a ${staged.kind === 'rpm' ? 'an RPM' : 'Debian package'}`, {
            status: 422,
          });
        }
        await runIngestSteps(steps, { dist, component }, [candidate], { author: options.author ?? 'scan' });
        if (candidate.signature?.include === false) throw new RepodError('signature_policy', 'left out by the signature policy of the distribution', { status: 422 });
        const first = byKey.get(candidate.key);
        if (first !== undefined) throw new ConflictError(`the same package (${candidateLabel(candidate)}) as ${first}`, 'duplicate_in_change');
        byKey.set(candidate.key, o.key);
      } catch (error) {
        await discardStaged(stageCaps, candidate.staged ?? staged);
        if (!isRefusal(error)) throw error;
        return malformed(o.key, (error as Error).message, o);
      }
      const ready = candidate.staged ?? staged;
      let entry: EntryWithSegments;
      if (mode === 'found') {
        entry = foundEntry(ready, o.key, { fileTime: Math.floor(o.lastModified.getTime() / 1000), component });
      } else {
        try {
          entry = ready.kind === 'rpm' ? (await commitRpm(caps, ready)).entry : (await commitDeb(caps, ready, component)).entry;
        } catch (error) {
          if (!isRefusal(error)) throw error;
          return malformed(o.key, (error as Error).message, o);
        }
      }
      added.push({ path: o.key, entry });
      objects[o.key] = { tag: tagOf(o), size: o.size, sha256: entry.entry.id, key: entry.entry.key };
    };

    let next = 0;
    const worker = async () => {
      while (next < toRead.length && !failed) {
        const o = toRead[next++];
        try {
          await readOne(o);
          await keepLease();
          if (report.read % 100 === 0 && report.read > 0) progress(`${source.name}: ${report.read} of ${toRead.length} read`);
        } catch (error) {
          failed ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, toRead.length) }, worker));
    if (failed) throw failed;

    // Removed: objects gone from the listing, and changed ones whose package is no longer the one published.
    const removals: Array<{ key: string; sha256: string }> = [];
    for (const [path, before] of Object.entries(previous)) {
      if (!before.key || !before.sha256) continue;
      const now = objects[path];
      if (!now || now.key !== before.key) removals.push({ key: before.key, sha256: before.sha256 });
    }

    let revision: { id: string; number: number } | null = null;
    if (added.length > 0 || removals.length > 0) {
      const adding = new Set(added.map((a) => a.entry.entry.key));
      const result = await services.committer.submit(dist.name, {
        dist,
        resolve: async (state) => {
          const remove: string[] = [];
          for (const r of removals) {
            if (adding.has(r.key)) continue;
            // Only what the scan itself published: a package replaced or removed since by someone else stays as it is.
            if ((await state.findEntry(r.key))?.id === r.sha256) remove.push(r.key);
          }
          return { add: added.map((a) => a.entry), remove, replace: true };
        },
        meta: { author: options.author ?? 'scan', message: `scan of ${source.name}: ${added.length} new or changed, ${removals.length} removed` },
      });
      report.added = result.outcome.added.length;
      report.removed = result.outcome.removed.length;
      if (result.revision) {
        report.status = 'published';
        revision = { id: result.revision.id, number: result.revision.number };
      }
    }
    if (!revision) {
      const current = await services.repository.current(dist.name);
      revision = current ? { id: current.id, number: current.number } : null;
    }
    report.revision = revision;
    const state: ScanState = { format: 1, location: source.name, distribution: dist.name, revision: revision?.id ?? null, objects };
    await writeScanState(caps, id, state);
    report.malformed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return report;
  } finally {
    await lease.release().catch(() => undefined);
  }
}

/** What a tree holds, as mkrepo decides: a `Packages/` folder means RPM, a `pool/` folder DEB. */
export async function treeKind(store: BlobStore): Promise<'rpm' | 'apt' | null> {
  for (const [prefix, kind] of [
    ['Packages/', 'rpm'],
    ['pool/', 'apt'],
  ] as const) {
    for await (const _ of store.list(prefix)) return kind;
  }
  return null;
}

/** The text of malformed_list.txt: one line per package left out, with the reason. */
export function malformedList(malformed: readonly MalformedObject[]): string {
  return malformed.map((m) => `${m.path}: ${m.reason.replace(/\s+/g, ' ')}\n`).join('');
}

/**
 * One sync of a source's index into its catalog: reads the upstream's signed Release (APT) or
 * repomd.xml (RPM), then every index file it lists for the source, and switches the catalog to
 * what was read only once everything verified. An index whose checksum equals the one the last
 * sync read is not downloaded again: its slices are carried over as they are.
 */
import type { Capabilities } from '../capabilities.ts';
import { RepodError } from '../errors.ts';
import type { AptCatalogEntry } from './apt/catalog-entry.ts';
import { pickPackagesIndex, readAptPackages } from './apt/packages-index.ts';
import { readAptRelease } from './apt/signed-release.ts';
import { formatEvr } from './catalog.ts';
import { type CatalogIndexRecord, type CatalogPointer, CatalogStage, type StoredCatalogEntry } from './catalog-store.ts';
import { primaryData, readPrimary, readRepomd } from './rpm/index.ts';
import { type UpstreamRpmPackage, upstreamPackageUrl } from './rpm/upstream-package.ts';
import type { ImportSource } from './sources.ts';
import { type UpstreamFetch, upstreamUrl } from './upstream-fetch.ts';

export interface SyncContext {
  caps: Capabilities;
  fetch: UpstreamFetch;
  source: ImportSource;
  jobId: string;
  /** The catalog as it was when the sync started (null: never synced). */
  previous: { value: CatalogPointer; etag: string } | null;
  /** Aborts the sync (cancel, lost lease); its reason is thrown. */
  signal: AbortSignal;
  /** A progress line: the entries known so far and what is happening. */
  progress(count: number, message: string): void;
  /** Distributions bound to the source as mirrors (mirror/mirror-sync.ts), if any. */
  mirrors?: SyncMirrors | null;
}

/**
 * What a sync feeds the mirror distributions of its source: every package of every index it
 * reads, then `prepare` before the catalog switches (a failure there leaves everything as it
 * was) and `publish` after.
 */
export interface SyncMirrors {
  /** The stanza of each APT package is needed (the mirror publishes the upstream's own). */
  readonly keepStanzas: boolean;
  /** A distribution is not up to date with the catalog `previous`: every index must be read, changed or not. */
  stale(previous: CatalogPointer | null): boolean;
  rpm(pkg: UpstreamRpmPackage, url: string): void;
  apt(component: string, entry: AptCatalogEntry, url: string): void;
  prepare(progress: (message: string) => void): Promise<void>;
  publish(progress: (message: string) => void, catalog: CatalogPointer): Promise<MirrorRevision[]>;
}

/** What a sync published into one mirror distribution. */
export interface MirrorRevision {
  distribution: string;
  /** The new revision, or the current one when nothing changed (null: never published). */
  revision: { id: string; number: number } | null;
  added: number;
  removed: number;
  /** Packages the revision holds. */
  packages: number;
}

export interface SyncResult {
  count: number;
  pointer: CatalogPointer;
  /** Index files read from the upstream, and those skipped as unchanged. */
  read: string[];
  skipped: string[];
  /** The revisions of the source's mirror distributions. */
  mirrors: MirrorRevision[];
}

const PROGRESS_EVERY = 1000;

/** Runs the sync; on any failure the staged slices are deleted and the catalog stays as it was. */
export async function syncSource(ctx: SyncContext): Promise<SyncResult> {
  const { caps, source, jobId } = ctx;
  const stage = new CatalogStage(caps, source.id, jobId);
  const indexes: CatalogIndexRecord[] = [];
  const state: State = { count: 0, read: [], skipped: [], readAll: !!ctx.mirrors?.stale(ctx.previous?.value ?? null) };
  try {
    if (source.kind === 'apt') await syncApt(ctx, stage, indexes, state);
    else await syncRpm(ctx, stage, indexes, state);
    stopIfAborted(ctx.signal);
    const pointer: CatalogPointer = {
      format: 1,
      sourceId: source.id,
      kind: source.kind,
      job: jobId,
      syncedAt: caps.now().toISOString(),
      count: state.count,
      indexes,
    };
    const mirrorProgress = (message: string) => ctx.progress(state.count, message);
    // Mirrors need every package of every index: unless nothing changed at all, nothing is carried over.
    if (ctx.mirrors && state.read.length > 0) await ctx.mirrors.prepare(mirrorProgress);
    stopIfAborted(ctx.signal);
    await stage.commit(pointer, ctx.previous);
    const mirrors = ctx.mirrors && state.read.length > 0 ? await ctx.mirrors.publish(mirrorProgress, pointer) : [];
    return { count: state.count, pointer, read: state.read, skipped: state.skipped, mirrors };
  } catch (error) {
    await stage.discard();
    throw error;
  }
}

type State = {
  count: number;
  read: string[];
  skipped: string[];
  /** Read every index even if unchanged (a mirror distribution needs all of them). */
  readAll: boolean;
};

async function syncApt(ctx: SyncContext, stage: CatalogStage, indexes: CatalogIndexRecord[], state: State): Promise<void> {
  const { caps, source } = ctx;
  const suite = source.suite ?? '';
  const release = await readAptRelease(ctx.fetch, source.url, suite, source.key, { now: caps.now() });
  stopIfAborted(ctx.signal);
  if (ctx.mirrors && !state.readAll) {
    // One changed index changes the mirrors, and they are rebuilt from all of them.
    state.readAll = (source.components ?? ['main']).some((component) =>
      (source.architectures ?? ['amd64']).some((arch) => {
        const before = ctx.previous?.value.indexes.find((i) => i.index === `${component}/${arch}`);
        return before?.checksum !== `sha256:${pickPackagesIndex(release, component, arch).file.sha256}`;
      }),
    );
  }
  for (const component of source.components ?? ['main']) {
    for (const arch of source.architectures ?? ['amd64']) {
      const index = `${component}/${arch}`;
      const label = `${component}/binary-${arch}`;
      const { file } = pickPackagesIndex(release, component, arch);
      const checksum = `sha256:${file.sha256}`;
      if (carryOver(ctx, index, checksum, indexes, state, `${label}: unchanged since the last sync (sha256 ${file.sha256.slice(0, 12)}…), skipped`)) continue;
      ctx.progress(state.count, `Reading ${label} (${file.path})`);
      let n = 0;
      try {
        const options = { sha256: () => caps.hash('sha256'), keepStanza: ctx.mirrors?.keepStanzas };
        for await (const entry of readAptPackages(ctx.fetch, source.url, release, component, arch, options)) {
          stopIfAborted(ctx.signal);
          const stored = aptEntry(source.url, component, entry);
          await stage.add(stored);
          ctx.mirrors?.apt(component, entry, stored.url);
          n++;
          if (++state.count % PROGRESS_EVERY === 0) ctx.progress(state.count, `Reading ${label}: ${n} packages`);
        }
      } catch (error) {
        stage.dropIndex();
        throw error;
      }
      indexes.push({ index, path: file.path, checksum, count: n, segments: await stage.endIndex(), readAt: caps.now().toISOString() });
      state.read.push(index);
      ctx.progress(state.count, `${label}: ${n} packages`);
    }
  }
}

async function syncRpm(ctx: SyncContext, stage: CatalogStage, indexes: CatalogIndexRecord[], state: State): Promise<void> {
  const { caps, source } = ctx;
  const repomd = await readRepomd(ctx.fetch, source.url, source.key);
  stopIfAborted(ctx.signal);
  const primary = primaryData(repomd);
  const checksum = `${primary.checksum.type}:${primary.checksum.value}`;
  if (carryOver(ctx, 'primary', checksum, indexes, state, `primary: unchanged since the last sync (${primary.checksum.type} ${primary.checksum.value.slice(0, 12)}…), skipped`))
    return;
  ctx.progress(state.count, `Reading primary (${primary.href})`);
  const arches = source.architectures && source.architectures.length > 0 ? new Set([...source.architectures, 'noarch']) : null;
  let n = 0;
  try {
    for await (const pkg of readPrimary(ctx.fetch, source.url, repomd, { hash: (algorithm) => caps.hash(algorithm) })) {
      stopIfAborted(ctx.signal);
      if (arches && !arches.has(pkg.arch)) continue;
      const stored = rpmEntry(source.url, pkg);
      await stage.add(stored);
      ctx.mirrors?.rpm(pkg, stored.url);
      n++;
      if (++state.count % PROGRESS_EVERY === 0) ctx.progress(state.count, `Reading primary: ${n} packages`);
    }
  } catch (error) {
    stage.dropIndex();
    throw error;
  }
  indexes.push({ index: 'primary', path: primary.href, checksum, count: n, segments: await stage.endIndex(), readAt: caps.now().toISOString() });
  state.read.push('primary');
  ctx.progress(state.count, `primary: ${n} packages`);
}

/** Keeps the last sync's slices of an index whose checksum did not change; says so. */
function carryOver(ctx: SyncContext, index: string, checksum: string, indexes: CatalogIndexRecord[], state: State, message: string): boolean {
  if (state.readAll) return false;
  const before = ctx.previous?.value.indexes.find((i) => i.index === index);
  if (!before || before.checksum !== checksum) return false;
  indexes.push(before);
  state.count += before.count;
  state.skipped.push(index);
  ctx.progress(state.count, message);
  return true;
}

function aptEntry(base: string, component: string, e: AptCatalogEntry): StoredCatalogEntry {
  const out: StoredCatalogEntry = {
    name: e.name,
    version: e.version,
    architecture: e.architecture,
    size: e.size,
    sha256: e.sha256,
    url: upstreamUrl(base, e.filename),
    filename: e.filename,
    description: e.description,
    component,
  };
  if (e.source) out.source = e.source;
  if (e.depends) out.depends = e.depends;
  if (e.preDepends) out.preDepends = e.preDepends;
  if (e.provides) out.provides = e.provides;
  return out;
}

function rpmEntry(base: string, p: UpstreamRpmPackage): StoredCatalogEntry {
  const out: StoredCatalogEntry = {
    name: p.name,
    version: formatEvr(p.epoch, p.version, p.release),
    architecture: p.arch,
    size: p.size,
    sha256: p.sha256 ?? '',
    url: upstreamPackageUrl(base, p),
    filename: p.location,
    description: p.summary,
    requires: p.requires,
    rpmProvides: p.provides,
    files: p.files,
  };
  if (!p.sha256) out.checksum = p.checksum;
  return out;
}

function stopIfAborted(signal: AbortSignal): void {
  if (!signal.aborted) return;
  const reason: unknown = signal.reason;
  throw reason instanceof Error ? reason : new RepodError('sync_cancelled', 'Sync cancelled', { status: 409 });
}

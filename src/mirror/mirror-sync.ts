/**
 * Mirror distributions during a sync of their source: the packages of the index stream through
 * each bound distribution's filters as the sync reads them; before the catalog switches, the new
 * packages get their records and origins (and, for `immediate`, their bytes); once it
 * has switched, each distribution gets one revision holding exactly what the source now offers
 * through its filters. A sync that changes nothing publishes nothing.
 */
import type { EntryWithSegments, IndexEntry } from '../bucket/chunk.ts';
import { layout } from '../bucket/layout.ts';
import type { PackageRecord } from '../bucket/package-record.ts';
import type { Revision } from '../bucket/revision.ts';
import type { Capabilities } from '../capabilities.ts';
import { acceptedArchitectures, type Distribution, type Distributions } from '../config/distributions.ts';
import { bindsSource } from '../config/mirror-binding.ts';
import { ConflictError } from '../errors.ts';
import { parseDebControl } from '../formats/deb/control.ts';
import { compareDebVersions } from '../formats/deb/version.ts';
import { compareEvr } from '../formats/rpm/vercmp.ts';
import type { AptCatalogEntry } from '../import/apt/catalog-entry.ts';
import type { CatalogPointer } from '../import/catalog-store.ts';
import type { UpstreamRpmPackage } from '../import/rpm/upstream-package.ts';
import type { ImportSource } from '../import/sources.ts';
import type { MirrorRevision, SyncMirrors } from '../import/sync.ts';
import { aptEntry } from '../ingest/apt-entry.ts';
import { putRecord } from '../ingest/commit.ts';
import { rpmEntry } from '../ingest/rpm-entry.ts';
import { poolPath, sourceName } from '../metadata/apt/packages-stanza.ts';
import type { ChangeCommitter } from '../revisions/publish-group.ts';
import type { Repository } from '../revisions/repository.ts';
import type { EventSink } from '../security/events.ts';
import { getJson, putJson } from '../storage/objects.ts';
import { MirrorSelection } from './mirror-selection.ts';
import type { MirrorPackages } from './package-fetcher.ts';
import { debRecordFromIndex, rpmRecordFromIndex } from './upstream-records.ts';

export interface MirrorServices {
  caps: Capabilities;
  distributions: Distributions;
  repository: Repository;
  committer: ChangeCommitter;
  packages: MirrorPackages;
  /** Where a published revision is announced (webhooks, re-exports). */
  events?: EventSink;
  /** Stores the dependency index's capabilities beside the new chunks of a published revision. */
  prepareDependencies?: (revision: Revision) => Promise<number>;
}

/** What a mirror distribution was last published from (`mirror/state/<dist>.json`). */
interface MirrorState {
  format: 1;
  sourceId: number;
  /** The binding (policy and filters) as configured then. */
  binding: string;
  /** index → checksum of the catalog it was published from. */
  indexes: Record<string, string>;
  revision: string | null;
}

type Candidate =
  | { kind: 'rpm'; pkg: UpstreamRpmPackage & { sha256: string }; url: string }
  | { kind: 'apt'; component: string; entry: AptCatalogEntry & { stanza: string }; url: string };

interface Prepared {
  add: EntryWithSegments[];
  keys: Set<string>;
}

/** Downloads of an `immediate` mirror that run at once. */
const FETCH_CONCURRENCY = 4;

/** Distributions bound to the source, as one sink for its sync; null when there are none. */
export async function openMirrorSync(services: MirrorServices, source: ImportSource, jobId: string, actor: string | undefined): Promise<SyncMirrors | null> {
  const bound = services.distributions.all().filter((d) => d.mirror && bindsSource(d.mirror, source) && (d.kind === 'apt') === (source.kind === 'apt'));
  if (bound.length === 0) return null;
  const states = await Promise.all(bound.map(async (d) => (await getJson<MirrorState>(services.caps.store, layout.mirrorState(d.name)))?.value ?? null));
  return new MirrorSync(services, source, jobId, actor, bound, states);
}

class MirrorSync implements SyncMirrors {
  readonly keepStanzas = true;
  readonly #targets: Array<{ dist: Distribution; state: MirrorState | null; selection: MirrorSelection<Candidate>; prepared?: Prepared }>;
  #skipped = 0;

  constructor(
    private readonly services: MirrorServices,
    private readonly source: ImportSource,
    private readonly jobId: string,
    private readonly actor: string | undefined,
    dists: Distribution[],
    states: Array<MirrorState | null>,
  ) {
    this.#targets = dists.map((dist, i) => {
      const arches = acceptedArchitectures(dist);
      const compare =
        dist.kind === 'rpm'
          ? (a: Candidate, b: Candidate) => (a.kind === 'rpm' && b.kind === 'rpm' ? compareEvr(a.pkg, b.pkg) : 0)
          : (a: Candidate, b: Candidate) => (a.kind === 'apt' && b.kind === 'apt' ? compareDebVersions(a.entry.version, b.entry.version) : 0);
      return { dist, state: states[i], selection: new MirrorSelection<Candidate>(dist.mirror!.filters, (arch) => arches.has(arch), compare) };
    });
  }

  /** Whether a distribution was published from another catalog or another binding than `previous` and its own configuration. */
  stale(previous: CatalogPointer | null): boolean {
    return this.#targets.some(({ dist, state }) => {
      if (!state || !previous || state.sourceId !== this.source.id || state.binding !== JSON.stringify(dist.mirror)) return true;
      const indexes = Object.fromEntries(previous.indexes.map((i) => [i.index, i.checksum]));
      return JSON.stringify(indexes) !== JSON.stringify(state.indexes);
    });
  }

  rpm(pkg: UpstreamRpmPackage, url: string): void {
    if (!pkg.sha256) {
      this.#skipped++; // a sha1 or md5 repository: repod keys packages by sha256
      return;
    }
    const candidate: Candidate = { kind: 'rpm', pkg: pkg as UpstreamRpmPackage & { sha256: string }, url };
    for (const t of this.#targets) t.selection.add(pkg.name, pkg.arch, candidate);
  }

  apt(component: string, entry: AptCatalogEntry, url: string): void {
    if (entry.stanza === undefined) return;
    const candidate: Candidate = { kind: 'apt', component, entry: entry as AptCatalogEntry & { stanza: string }, url };
    for (const t of this.#targets) t.selection.add(entry.name, entry.architecture, candidate);
  }

  /** Everything but the revisions: records, pool paths and origins of new packages, and the bytes for `immediate`. */
  async prepare(progress: (message: string) => void): Promise<void> {
    if (this.#skipped > 0) progress(`${this.#skipped} packages without a sha256 checksum in the index are left out of the mirrors`);
    for (const target of this.#targets) {
      target.prepared = await this.#prepareOne(target.dist, target.selection, progress);
    }
  }

  async #prepareOne(dist: Distribution, selection: MirrorSelection<Candidate>, progress: (message: string) => void): Promise<Prepared> {
    const { repository, packages } = this.services;
    const parent = await repository.current(dist.name);
    const published = new Map<string, string>();
    if (parent) for (const e of await repository.findEntries(parent, '')) published.set(e.key, e.id);
    const add: EntryWithSegments[] = [];
    const keys = new Set<string>();
    const fresh: Array<{ sha256: string; url: string; size: number }> = [];
    let invalid = 0;
    for (const c of selection.selected()) {
      let described: { entry: EntryWithSegments; record: PackageRecord; isNew: boolean };
      try {
        described = await this.#describe(dist, c, published);
      } catch (error) {
        if (error instanceof ConflictError) throw error;
        invalid++;
        if (invalid <= 3) progress(`${dist.name}: left out ${c.kind === 'rpm' ? c.pkg.name : c.entry.name}: ${(error as Error).message}`);
        continue;
      }
      const { entry, isNew } = described;
      if (keys.has(entry.entry.key)) continue; // the same package listed twice upstream
      keys.add(entry.entry.key);
      add.push(entry);
      if (isNew) fresh.push({ sha256: entry.entry.id, url: c.url, size: c.kind === 'rpm' ? c.pkg.size : c.entry.size });
    }
    if (invalid > 3) progress(`${dist.name}: ${invalid} packages left out in all`);
    // Origins first: a client may ask for a package as soon as the revision is out.
    let stored = 0;
    for (const f of fresh) {
      if (await packages.stored(f.sha256)) stored++;
      else await packages.remember(f.sha256, { sourceId: this.source.id, url: f.url, size: f.size });
    }
    if (dist.mirror!.policy === 'immediate') {
      const missing = fresh.length - stored;
      progress(`${dist.name}: downloading ${missing} packages`);
      let next = 0;
      let done = 0;
      const worker = async () => {
        while (next < fresh.length) {
          const f = fresh[next++];
          await packages.ensure(f.sha256);
          if (++done % 100 === 0) progress(`${dist.name}: ${done} of ${fresh.length} packages checked`);
        }
      };
      await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, fresh.length) }, worker));
    }
    progress(`${dist.name}: ${add.length} packages selected, ${fresh.length} new`);
    return { add, keys };
  }

  /** The index entry of a candidate; records and pool paths of packages new to the distribution are written. */
  async #describe(dist: Distribution, c: Candidate, published: Map<string, string>): Promise<{ entry: EntryWithSegments; record: PackageRecord; isNew: boolean }> {
    const { caps } = this.services;
    const sha256 = c.kind === 'rpm' ? c.pkg.sha256 : c.entry.sha256;
    const indexRecord = c.kind === 'rpm' ? rpmRecordFromIndex(c.pkg) : debRecordFromIndex(c.entry, `${c.url} (${c.entry.name})`);
    const stored = (await getJson<PackageRecord>(caps.store, layout.packageRecord(sha256)))?.value;
    // A record read from the bytes (an upload, an earlier fetch) says more than the index.
    // (A source record is never under a binary package's sha256.)
    const record = stored && stored.kind !== 'dsc' && stored.origin !== 'index' ? stored : indexRecord;
    if (record.kind === 'rpm') {
      const entry = rpmEntry(record.package, record.facts);
      const isNew = published.get(entry.entry.key) !== sha256;
      if (isNew && !stored) await putRecord(caps, layout.packageRecord(sha256), record);
      return { entry, record, isNew };
    }
    const component = dist.kind === 'apt' && c.kind === 'apt' && dist.components.includes(c.component) ? c.component : (dist as { components: string[] }).components[0];
    const control = parseDebControl(record.control);
    const path = poolPath(component, sourceName(control), record.facts.fileName);
    const entry = aptEntry(control, record.facts, record.files, component, path);
    const isNew = published.get(entry.entry.key) !== sha256;
    if (isNew) {
      if (!stored) await putRecord(caps, layout.packageRecord(sha256), record);
      const claim = await putRecord(caps, layout.aptPoolPath(path), { sha256 });
      if (claim.sha256 !== sha256) {
        throw new ConflictError(
          `${dist.name}: the upstream's ${path} differs from the file repod already serves there (sha256 ${claim.sha256}, upstream ${sha256}); a pool path always holds one file`,
          'duplicate_package',
          {
            existing: claim.sha256,
            upstream: sha256,
          },
        );
      }
    }
    return { entry, record, isNew };
  }

  /**
   * A sync publishes chunks no process has read the records of: their capabilities are stored now,
   * read once here, so the first dependency check that reads the mirror (an upload into a
   * distribution that names it as a base, an import's dependency closure) does not read every
   * record of it. Best effort: a check still builds without them.
   */
  private async prepareDependencies(dist: string, revision: Revision): Promise<void> {
    try {
      await this.services.prepareDependencies?.(revision);
    } catch (error) {
      this.services.caps.log('mirror sync: dependency capabilities not stored', { distribution: dist, error: String(error) });
    }
  }

  /** One revision per distribution; answers a line for each. */
  async publish(progress: (message: string) => void, catalog: CatalogPointer): Promise<MirrorRevision[]> {
    const out: MirrorRevision[] = [];
    for (const target of this.#targets) {
      const { dist, prepared } = target;
      if (!prepared) continue;
      const { revision, outcome } = await this.services.committer.submit(dist.name, {
        dist,
        resolve: async (state) => {
          const remove: string[] = [];
          for (const e of await state.findEntries('')) if (!prepared.keys.has(e.key)) remove.push(e.key);
          return { add: prepared.add, remove, replace: true };
        },
        meta: { author: this.actor ?? `sync:${this.source.name}`, message: `sync of ${this.source.name} (job ${this.jobId})` },
      });
      const current = revision ?? (await this.services.repository.current(dist.name));
      if (revision) {
        await this.prepareDependencies(dist.name, revision);
        const brief = (e: IndexEntry) => ({ label: e.label, filename: e.file, sha256: e.id, architecture: e.arch });
        this.services.events?.emit({
          type: 'published',
          distribution: dist.name,
          actor: this.actor ?? `sync:${this.source.name}`,
          data: {
            revision: { id: revision.id, number: revision.number },
            source: { id: this.source.id, name: this.source.name },
            packages: outcome.added.map(brief),
            removed: outcome.removed.map(brief),
          },
        });
      }
      const state: MirrorState = {
        format: 1,
        sourceId: this.source.id,
        binding: JSON.stringify(dist.mirror),
        indexes: Object.fromEntries(catalog.indexes.map((i) => [i.index, i.checksum])),
        revision: current?.id ?? null,
      };
      await putJson(this.services.caps.store, layout.mirrorState(dist.name), state);
      const line: MirrorRevision = {
        distribution: dist.name,
        revision: current ? { id: current.id, number: current.number } : null,
        added: outcome.added.length,
        removed: outcome.removed.length,
        packages: prepared.add.length,
      };
      out.push(line);
      progress(
        revision
          ? `${dist.name}: revision ${revision.number} published (+${line.added} -${line.removed}, ${line.packages} packages)`
          : `${dist.name}: unchanged (${line.packages} packages)`,
      );
      target.prepared = undefined;
    }
    return out;
  }
}

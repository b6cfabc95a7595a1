import { decodeChunk, type EntryWithSegments, type IndexEntry } from '../bucket/chunk.ts';
import { namePrefix } from '../bucket/keys.ts';
import { layout } from '../bucket/layout.ts';
import type { PackageRecord } from '../bucket/package-record.ts';
import type { Revision } from '../bucket/revision.ts';
import type { Capabilities } from '../capabilities.ts';
import type { Distributions } from '../config/distributions.ts';
import { acceptedArchitectures, type Distribution } from '../config/distributions.ts';
import { NotFoundError, RepodError } from '../errors.ts';
import { compareDebVersions } from '../formats/deb/version.ts';
import { compareEvr } from '../formats/rpm/vercmp.ts';
import { baseComponent, entryComponents } from '../ingest/apt-component.ts';
import { APT_STREAMS } from '../ingest/apt-entry.ts';
import { type Candidate, storedCandidate } from '../ingest/pipeline.ts';
import { RPM_STREAMS } from '../ingest/rpm-entry.ts';
import { claimSourcePaths, SOURCE_ARCH, sourceFilesOfStanza } from '../ingest/source-entry.ts';
import { getJson } from '../storage/objects.ts';
import { chunkFor } from './compose.ts';
import { identity } from './history.ts';
import { type BatchResult, type GateHooks, gateAnswers, type HeldPackage, type PackageResult, refuseMirror, requireDistribution } from './publish.ts';
import type { Repository } from './repository.ts';

/**
 * Promotion and migration copy index entries (with their rendered metadata) from one
 * distribution's current revision into another's: references to the same pool blobs, never the
 * bytes, and no package is parsed again.
 */
function pair(core: { distributions: Distributions }, fromName: string, toName: string): { from: Distribution; to: Distribution } {
  const from = requireDistribution(core.distributions, fromName);
  const to = requireDistribution(core.distributions, toName);
  if (from.kind !== to.kind)
    throw new RepodError('incompatible_distributions', `${from.name} (${from.kind}) and ${to.name} (${to.kind}) hold different kinds of packages`, { status: 422 });
  if (from.name === to.name) throw new RepodError('invalid_request', 'source and target are the same distribution', { status: 400 });
  refuseMirror(to);
  return { from, to };
}

async function sourceRevision(core: { repository: Repository }, dist: string): Promise<Revision> {
  const revision = await core.repository.current(dist);
  if (!revision || revision.packageCount === 0) throw new NotFoundError(`distribution ${dist} has no packages`, 'empty_distribution');
  return revision;
}

/** The entries with their segments, reading each chunk that holds some of them once. */
async function withSegments(core: { caps: Capabilities; repository: Repository }, revision: Revision, entries: IndexEntry[]): Promise<EntryWithSegments[]> {
  const byChunk = new Map<string, Set<string>>();
  for (const e of entries) {
    const id = revision.chunks[chunkFor(revision.chunks, e.key)].id;
    byChunk.set(id, (byChunk.get(id) ?? new Set()).add(e.key));
  }
  const out: EntryWithSegments[] = [];
  for (const [id, keys] of byChunk) {
    const bytes = await core.repository.chunkBytes(id);
    out.push(
      ...decodeChunk(bytes)
        .withSegments(bytes, core.caps.gunzip)
        .filter((i) => keys.has(i.entry.key)),
    );
  }
  return out;
}

function checkTargetTakes(to: Distribution, entries: IndexEntry[]): void {
  const arches = acceptedArchitectures(to);
  for (const e of entries) {
    // A source package (arch `source`) goes to any APT distribution that has its component.
    const source = to.kind === 'apt' && e.arch === SOURCE_ARCH;
    if (!source && !arches.has(e.arch)) throw new RepodError('unsupported_architecture', `${to.name} does not carry architecture ${e.arch} (${e.label})`, { status: 422 });
    if (to.kind === 'apt' && e.component && !to.components.includes(baseComponent(e.component))) {
      throw new RepodError('unknown_component', `${to.name} has no component ${e.component} (${e.label})`, { status: 422 });
    }
  }
}

/** What promotion needs besides the repository: the target's security gate, and whether review findings are waved through. */
export interface PromoteServices {
  caps: Capabilities;
  distributions: Distributions;
  repository: Repository;
  gate?: GateHooks;
  /** Fetches the bytes of a mirror's package that no client asked for yet (mirror/package-fetcher.ts). */
  mirrorPackages?: { ensure(sha256: string): Promise<void> };
}

/**
 * Promotion applies the target's security policy: a package it blocks cannot be promoted; one it
 * would hold for review waits in the target's review queue, unless `force` (which skips review,
 * never a block). Returns the entries to publish now and the packages held.
 */
async function gateEntries(
  core: PromoteServices,
  to: Distribution,
  entries: EntryWithSegments[],
  author: string,
  force: boolean,
): Promise<{ publish: EntryWithSegments[]; held: HeldPackage[]; candidates: Map<string, Candidate> }> {
  const candidates = new Map<string, Candidate>();
  if (!core.gate) return { publish: entries, held: [], candidates };
  const list: Candidate[] = [];
  for (const entry of entries) {
    const record = (await getJson<PackageRecord>(core.caps.store, layout.packageRecord(entry.entry.id)))?.value;
    if (!record) throw new NotFoundError(`the record of ${entry.entry.label} is missing from the store`, 'unknown_package');
    const candidate = storedCandidate({ record, entry });
    candidates.set(entry.entry.key, candidate);
    list.push(candidate);
  }
  const target = { dist: to, component: to.kind === 'apt' ? baseComponent(entries[0]?.entry.component ?? to.components[0]) : '' };
  await core.gate.step(target, list, { author, acceptReview: force });
  const publish: EntryWithSegments[] = [];
  const held: HeldPackage[] = [];
  for (const entry of entries) {
    const verdict = candidates.get(entry.entry.key)!.verdict;
    if (verdict?.decision === 'review') {
      const id = identity(to.kind === 'rpm' ? 'rpm' : 'apt', entry.entry);
      held.push({
        steps: verdict.steps,
        info: { package: id.name, version: id.version, architecture: id.arch, filename: entry.entry.file, sha256: entry.entry.id, size: 0 },
      });
    } else publish.push(entry);
  }
  if (held.length) await core.gate.hold(target, held, author, {});
  return { publish, held, candidates };
}

async function copy(
  core: PromoteServices,
  from: Distribution,
  to: Distribution,
  gated: EntryWithSegments[],
  meta: { author: string; message: string; force?: boolean },
): Promise<BatchResult> {
  checkTargetTakes(
    to,
    gated.map((e) => e.entry),
  );
  // A promoted package is the target's for good: an on-demand mirror's bytes are fetched now,
  // and the target's gate reads them.
  if (from.mirror && core.mirrorPackages) for (const e of gated) await core.mirrorPackages.ensure(e.entry.id);
  const { publish: entries, held, candidates } = await gateEntries(core, to, gated, meta.author, meta.force ?? false);
  const gateOf = (key: string) => gateAnswers(candidates.get(key)?.verdict?.steps);
  const pending = held.map((h) => ({ ...h.info, status: 'pending_review' as const, ...gateAnswers(h.steps) }));
  if (entries.length === 0 && held.length > 0) {
    const current = await core.repository.current(to.name);
    return { status: 'pending_review', distribution: to.name, revision: current ? { id: current.id, number: current.number } : null, packages: pending, removed: [] };
  }
  // A source's files are served under pool paths of its component, claimed as the upload claims them:
  // the same bytes are found again, a path holding other bytes refuses the promotion (409).
  for (const e of entries) if (e.entry.arch === SOURCE_ARCH) await claimSourcePaths(core.caps, sourceFilesOfStanza(new TextDecoder().decode(e.segments[0])));
  const result = await core.repository.publish(
    to.name,
    to.kind === 'rpm' ? 'rpm' : 'apt',
    to.kind === 'rpm' ? RPM_STREAMS : APT_STREAMS,
    () => ({ add: entries, remove: [] }),
    meta,
  );
  const added = new Set(result.compose.added.map((e) => e.key));
  // A forced promotion publishes what an earlier, unforced one left waiting for review: that review is over.
  if (meta.force && core.gate) {
    const target = { dist: to, component: to.kind === 'apt' ? baseComponent(entries[0]?.entry.component ?? to.components[0]) : '' };
    await core.gate.release(
      target,
      entries.map((e) => e.entry.id),
      meta.author,
      'promoted with force',
    );
  }
  return {
    status: result.changed ? 'published' : 'unchanged',
    distribution: to.name,
    revision: result.revision ? { id: result.revision.id, number: result.revision.number } : null,
    packages: [
      ...entries.map(({ entry }): PackageResult => {
        const id = identity(from.kind === 'rpm' ? 'rpm' : 'apt', entry);
        return {
          package: id.name,
          version: id.version,
          architecture: id.arch,
          filename: entry.file,
          sha256: entry.id,
          size: 0,
          status: added.has(entry.key) ? ('published' as const) : ('unchanged' as const),
          ...gateOf(entry.key),
        };
      }),
      ...pending,
    ],
    removed: [],
  };
}

/** `POST /api/v1/distributions/promote`: one package (the newest version per architecture, or the one named). */
export async function promote(
  core: PromoteServices,
  input: { package: string; from: string; to: string; version?: string; force?: boolean },
  author: string,
): Promise<BatchResult> {
  const { from, to } = pair(core, input.from, input.to);
  const revision = await sourceRevision(core, from.name);
  const kind = from.kind === 'rpm' ? 'rpm' : 'apt';
  const prefixes = from.kind === 'rpm' ? [namePrefix('rpm', input.package)] : from.components.flatMap(entryComponents).map((c) => namePrefix('apt', input.package, c));
  let candidates: IndexEntry[] = [];
  for (const p of prefixes) candidates.push(...(await core.repository.findEntries(revision, p)));
  if (input.version) {
    const v = input.version;
    candidates = candidates.filter((e) => {
      const id = identity(kind, e);
      return id.version === v || id.version.split('-')[0] === v || (kind === 'rpm' && e.label.includes(`-${v}.`));
    });
  } else {
    // The newest version of each architecture.
    const newest = new Map<string, IndexEntry>();
    for (const e of candidates) {
      const id = identity(kind, e);
      const k = `${e.component ?? ''}/${id.arch}`;
      const best = newest.get(k);
      if (!best || compareVersions(kind, id.version, identity(kind, best).version) > 0) newest.set(k, e);
    }
    candidates = [...newest.values()];
  }
  if (candidates.length === 0) {
    throw new NotFoundError(`${input.package}${input.version ? ` version ${input.version}` : ''} is not in ${from.name}`, 'package_not_found');
  }
  return copy(core, from, to, await withSegments(core, revision, candidates), { author, message: `promote ${input.package} from ${from.name}`, force: input.force });
}

/** `POST /api/v1/distributions/migrate`: every package of the source's current revision. */
export async function migrate(core: PromoteServices, input: { from: string; to: string; force?: boolean }, author: string): Promise<BatchResult> {
  const { from, to } = pair(core, input.from, input.to);
  const revision = await sourceRevision(core, from.name);
  const entries: EntryWithSegments[] = [];
  for await (const items of core.repository.entriesWithSegments(revision)) entries.push(...items);
  return copy(core, from, to, entries, { author, message: `migrate ${from.name} revision ${revision.number} into ${to.name}`, force: input.force });
}

function compareVersions(kind: 'rpm' | 'apt', a: string, b: string): number {
  if (kind === 'apt') return compareDebVersions(a, b);
  const [va, ra] = a.split('-');
  const [vb, rb] = b.split('-');
  return compareEvr({ version: va, release: ra }, { version: vb, release: rb });
}

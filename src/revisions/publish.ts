import type { EntryWithSegments, IndexEntry } from '../bucket/chunk.ts';
import { joinKey, namePrefix, splitKey } from '../bucket/keys.ts';
import type { PackageRecord, RpmPackageRecord, SignatureVerdict } from '../bucket/package-record.ts';
import type { Capabilities } from '../capabilities.ts';
import type { AptDistribution, Distribution, Distributions } from '../config/distributions.ts';
import type { Settings } from '../config/settings.ts';
import { NotFoundError, RepodError } from '../errors.ts';
import { type DebControl, parseDebControl } from '../formats/deb/control.ts';
import { versionWithoutEpoch } from '../formats/deb/version.ts';
import type { RpmPackage } from '../formats/rpm/model.ts';
import { acceptedByDistribution } from '../ingest/accepted.ts';
import { entryComponents, indexComponent, resolveComponent } from '../ingest/apt-component.ts';
import { commitDeb, commitRpm, entryFromRecord, storeForReview } from '../ingest/commit.ts';
import { noDuplicates } from '../ingest/duplicates.ts';
import {
  type Candidate,
  type IngestContext,
  type IngestStep,
  type IngestTarget,
  runIngestSteps,
  type SignatureSummary,
  type StepReport,
  stagedCandidate,
  storedCandidate,
} from '../ingest/pipeline.ts';
import { rpmKeyFromFileName } from '../ingest/rpm-entry.ts';
import { signaturePolicy } from '../ingest/signature-policy.ts';
import { SOURCE_ARCH } from '../ingest/source-entry.ts';
import { discardStaged, type StagedPackage } from '../ingest/stage.ts';
import { type PipelineAnswer, pipelineAnswer, type ValidationAnswer, validationAnswer } from '../ingest/validation.ts';
import { poolPath, sourceName } from '../metadata/apt/packages-stanza.ts';
import type { Keyring } from '../signing/keyring.ts';
import type { PackageState, ResolveChange } from './compose-group.ts';
import type { ChangeCommitter } from './publish-group.ts';
import type { Repository } from './repository.ts';

const COMMIT_CONCURRENCY = 8;

/** What publishing a change uses. */
export type PublishServices = {
  caps: Capabilities;
  distributions: Distributions;
  repository: Repository;
  committer: ChangeCommitter;
  keyring: Keyring;
  settings: Settings;
  /** The security gate (security/gate), where the runtime has one. */
  gate?: GateHooks;
};

/** A package the gate held for review: its bytes and record are stored, it is in no revision. */
export interface HeldPackage {
  info: Omit<PackageResult, 'status'>;
  steps: StepReport[];
}

/** How the security gate plugs into publishing: its ingest step, and where held packages go. */
export interface GateHooks {
  step: IngestStep;
  /** `replace`: the change may replace a published package of the same identity (kept for the decision that publishes it). */
  hold(target: IngestTarget, held: HeldPackage[], author: string, options: { replace?: boolean }): Promise<void>;
  /** Packages published while an earlier change's copy of them waited for review (a forced promotion): that review is settled. */
  release(target: IngestTarget, sha256s: string[], author: string, reason: string): Promise<void>;
}

/** The gate's verdict in the shapes the answers carry, where it ran. */
export function gateAnswers(steps: StepReport[] | undefined): Pick<PackageResult, 'validation' | 'pipeline'> {
  return steps ? { validation: validationAnswer(steps), pipeline: pipelineAnswer(steps) } : {};
}

/** What the answer says of a package held for review, from its record (a .deb's pool path is not claimed yet). */
function heldInfo(record: PackageRecord, componentOf: (control: DebControl) => string): Omit<PackageResult, 'status'> {
  if (record.kind === 'rpm') return rpmInfo(record);
  const control = parseDebControl(record.control);
  const component = componentOf(control);
  return {
    package: control.package,
    version: control.version,
    architecture: control.architecture,
    filename: poolPath(component, sourceName(control), record.facts.fileName),
    sha256: record.facts.sha256,
    size: record.facts.size,
  };
}

export interface PackageResult {
  package: string;
  version: string;
  architecture: string;
  filename: string;
  sha256: string;
  size: number;
  /**
   * published: in the new revision; unchanged: the same bytes were already there; skipped: stored,
   * left out by the signature policy; pending_review: stored, held by the security gate for review.
   */
  status: 'published' | 'unchanged' | 'skipped' | 'pending_review';
  /** RPMs: what signature verification found (status, signing key ids, trusted by the policy). */
  signature?: SignatureSummary;
  /** The security gate's steps, where it ran. */
  validation?: ValidationAnswer;
  pipeline?: PipelineAnswer;
}

export interface RemovedPackage {
  label: string;
  filename: string;
  sha256: string;
}

export interface BatchResult {
  /** pending_review: nothing was published, and at least one package waits in the review queue. */
  status: 'published' | 'unchanged' | 'pending_review';
  distribution: string;
  packages: PackageResult[];
  removed: RemovedPackage[];
  revision: { id: string; number: number } | null;
}

export type UploadResult = Omit<BatchResult, 'packages' | 'removed'> & Omit<PackageResult, 'status'>;

/** One change to a distribution: a build (Koji/peridot-style push) or a plain upload. */
export interface BuildInput {
  /** Files uploaded with this change. */
  staged?: StagedPackage[];
  /** sha256 of packages already in the store (uploaded before, or published elsewhere). */
  refs?: string[];
  /** RPM: file names or NEVRAs; APT: name_version_arch (or the .deb file name). */
  remove?: string[];
  /** Remove every published version of these package names that this change does not add (the yumrepofs swap). */
  replaceNames?: string[];
  /** Imports: the sha256 an upstream catalog lists for a staged file (by its temp key), for the provenance step. */
  expectedSha256?: Map<string, string>;
}

export interface BuildOptions {
  replace?: boolean;
  author: string;
  message?: string;
  component?: string;
  /** Called as each gate step ends for a package (the live upload stream). */
  onStep?: IngestContext['onStep'];
  /** A reviewer's decision publishes packages the gate would hold for review (never blocked ones). */
  acceptReview?: boolean;
  /** What the committer's announce() returned for this change: called as it is submitted (group-commit.ts). */
  arrived?: () => void;
}

function evr(pkg: RpmPackage): string {
  return `${pkg.epoch !== '0' ? `${pkg.epoch}:` : ''}${pkg.version}-${pkg.release}`;
}

export function requireDistribution(distributions: Distributions, name: string | undefined): Distribution {
  if (!name) throw new RepodError('missing_distribution', 'the distribution field is required', { status: 400 });
  const dist = distributions.get(name);
  if (!dist) throw new NotFoundError(`unknown distribution ${JSON.stringify(name)}`, 'unknown_distribution');
  return dist;
}

/** A mirror distribution's packages come from its source's syncs; nothing else adds or removes any. */
export function refuseMirror(dist: Distribution): void {
  if (!dist.mirror) return;
  throw new RepodError(
    'mirror_distribution',
    `${dist.name} mirrors import source ${JSON.stringify(dist.mirror.source)}: its packages change only by syncing the source (POST /api/v1/import/sources/<id>/sync); roll back or pin a revision instead`,
    { status: 409 },
  );
}

interface Committed {
  entry: EntryWithSegments;
  info: Omit<PackageResult, 'status'>;
}

function rpmInfo(record: RpmPackageRecord): Omit<PackageResult, 'status'> {
  const pkg = record.package;
  return { package: pkg.name, version: evr(pkg), architecture: pkg.arch, filename: record.facts.fileName, sha256: record.facts.sha256, size: record.facts.size };
}

function infoOf(record: PackageRecord, entry: EntryWithSegments): Omit<PackageResult, 'status'> {
  if (record.kind === 'rpm') return rpmInfo(record);
  const [, name, arch, version] = splitKey(entry.entry.key);
  return { package: name, version, architecture: arch, filename: entry.entry.file, sha256: record.facts.sha256, size: record.facts.size };
}

/** Keys a removal names, resolved on the revision it applies to, in the entry components given (debs and udebs). */
async function resolveRemovals(state: PackageState, dist: Distribution, specs: string[], components: string[]): Promise<string[]> {
  const keys: string[] = [];
  for (const spec of specs) {
    if (dist.kind === 'rpm') {
      const key = rpmKeyFromFileName(spec.endsWith('.rpm') ? spec : `${spec.replace(/-\d+:/, '-')}.rpm`);
      if (!key) throw new RepodError('invalid_request', `${JSON.stringify(spec)} is neither an RPM file name nor a NEVRA`, { status: 400 });
      keys.push(key);
      continue;
    }
    const m = /^([^_/]+)_([^_/]+)_([^_/.]+)(?:\.u?d?deb)?$/.exec(spec);
    if (!m) throw new RepodError('invalid_request', `${JSON.stringify(spec)} is not name_version_arch`, { status: 400 });
    const [, name, version, arch] = m;
    const found: IndexEntry[] = [];
    for (const component of components) found.push(...(await state.findEntries(joinKey(component, name, arch, ''))));
    const match = found.filter((e) => {
      const v = splitKey(e.key)[3];
      return v === version || versionWithoutEpoch(v) === version;
    });
    if (match.length === 0) throw new NotFoundError(`package ${spec} is not in ${dist.name}`, 'package_not_found');
    keys.push(...match.map((e) => e.key));
  }
  return keys;
}

/** Keys of every published version of the named packages (APT: in the entry components given). */
async function entriesNamed(state: PackageState, dist: Distribution, names: string[], components: string[]): Promise<IndexEntry[]> {
  const out: IndexEntry[] = [];
  for (const name of names) for (const component of components) out.push(...(await state.findEntries(namePrefix(dist.kind, name, component))));
  // A binary package's name may also be its source package's: replacing binaries keeps the source.
  return out.filter((e) => e.arch !== SOURCE_ARCH);
}

/**
 * Where a change's Debian packages go: each in the component the change names, else the one its
 * Section's prefix names, else the distribution's first (ingest/apt-component.ts); an unknown one
 * refuses the change before anything is committed. Removals and replacements look in the named
 * component, or in every component when the change names none.
 */
function aptPlacement(dist: Distribution, requested: string | undefined) {
  if (dist.kind !== 'apt') return { of: () => '', search: [''] };
  const apt: AptDistribution = dist;
  if (requested !== undefined) resolveComponent(apt, requested, undefined);
  const of = (control: DebControl) => resolveComponent(apt, requested, control);
  const search = (requested !== undefined ? [requested] : apt.components).flatMap(entryComponents);
  return { of, search };
}

/** The steps every package of one change passes before it is committed (ingest/pipeline.ts); made anew for each change, as a step may keep what it read for the rest of its change (the trusted keys). */
export function ingestSteps(services: PublishServices, options: { replace?: boolean; indexCopies?: boolean }): IngestStep[] {
  return [
    acceptedByDistribution,
    signaturePolicy({ caps: services.caps, keyring: services.keyring, maxUploadBytes: services.settings.maxUploadBytes }, { indexCopies: options.indexCopies }),
    ...(options.replace ? [] : [noDuplicates(services.repository, services.caps)]),
    ...(services.gate ? [services.gate.step] : []),
  ];
}

/** Packages the change refers to by sha256: stored earlier, published elsewhere. */
async function storedCandidates(caps: Capabilities, refs: string[], component: (control: DebControl) => string): Promise<Candidate[]> {
  const out: Candidate[] = [];
  for (const sha256 of refs) {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new RepodError('invalid_request', `${JSON.stringify(sha256)} is not a sha256`, { status: 400 });
    const found = await entryFromRecord(caps, sha256, component);
    if (!found) throw new NotFoundError(`no package with sha256 ${sha256} in the store`, 'unknown_package');
    out.push(storedCandidate(found));
  }
  return out;
}

/**
 * Moves every upload to the pool with its record. Commits wait on the store (fsync,
 * round trips), not the CPU: a few run at once. On a failure the uploads not yet started are dropped.
 */
async function commitUploads(caps: Capabilities, uploads: Candidate[], componentOf: (control: DebControl) => string): Promise<Committed[]> {
  const committed: Committed[] = new Array(uploads.length);
  let next = 0;
  let failed: unknown = null;
  const worker = async () => {
    while (next < uploads.length && !failed) {
      const i = next++;
      const staged = uploads[i].staged!;
      try {
        const { record, entry } =
          staged.kind === 'rpm' ? await commitRpm(caps, staged, verdictOf(caps, uploads[i])) : await commitDeb(caps, staged, componentOf(staged.parsed.control));
        committed[i] = { entry, info: infoOf(record, entry) };
        // The parsed header is the biggest thing a staged package holds (tens of KB for a package
        // with many files); once committed, the change needs only its entry and signature verdict.
        uploads[i] = { ...uploads[i], staged: undefined };
      } catch (error) {
        failed ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(COMMIT_CONCURRENCY, uploads.length) }, worker));
  if (failed) {
    await Promise.all(uploads.slice(next).map((c) => discardStaged(caps, c.staged!)));
    throw failed;
  }
  return committed;
}

/** An RPM upload's signature verdict as its record keeps it (GET /api/v1/packages/<sha256>). */
function verdictOf(caps: Capabilities, upload: Candidate): SignatureVerdict | undefined {
  if (!upload.signature) return undefined;
  const { status, signers } = upload.signature.summary;
  return { format: 1, checked: caps.now().toISOString(), status, signers };
}

/** Each RPM upload's answer names its signature verdict. */
function recordVerdicts(uploads: Candidate[], committed: Committed[]): void {
  committed.forEach((c, i) => {
    const outcome = uploads[i].signature;
    if (outcome) c.info = { ...c.info, signature: outcome.summary };
  });
}

function changeMessage(labels: string[], input: BuildInput): string {
  const removals = (input.remove?.length ?? 0) + (input.replaceNames?.length ?? 0);
  return labels.length === 1 && !input.remove?.length ? `upload ${labels[0]}` : `change: +${labels.length} packages, -${removals} removals`;
}

/**
 * Publishes one change (files, references, removals, replacements) into a distribution as exactly
 * one new revision, or nothing: every refusal happens before anything is moved out of uploads/,
 * and staged objects are removed on every failure.
 */
export async function publishBuild(services: PublishServices, distName: string | undefined, input: BuildInput, options: BuildOptions): Promise<BatchResult> {
  const { caps } = services;
  // Taken over (the caller's list is emptied): each staged package is let go once it is committed.
  const staged = input.staged?.splice(0) ?? [];
  let uploads = staged.map((s) => stagedCandidate(s, ''));
  let target: IngestTarget;
  let stored: Candidate[];
  let placement: ReturnType<typeof aptPlacement>;
  // Side writes the steps started (signed-copy records): written beside the commit, awaited before the publish.
  const pending: Promise<unknown>[] = [];
  try {
    const dist = requireDistribution(services.distributions, distName);
    refuseMirror(dist);
    placement = aptPlacement(dist, options.component);
    const { of } = placement;
    const debs = staged.flatMap((s) => (s.kind === 'deb' ? [s.parsed.control] : []));
    // The change's component (the review queue keeps one per change): the named one, else its first package's.
    target = { dist, component: dist.kind === 'apt' ? (options.component ?? (debs.length ? of(debs[0]) : dist.components[0])) : '' };
    const entryComponent = (s: StagedPackage) => (s.kind === 'deb' ? indexComponent(of(s.parsed.control), s.parsed.control) : '');
    uploads = staged.splice(0).map((s) => ({ ...stagedCandidate(s, entryComponent(s)), expectedSha256: input.expectedSha256?.get(s.tempKey) }));
    stored = await storedCandidates(caps, input.refs ?? [], of);
    if (uploads.length + stored.length + (input.remove?.length ?? 0) + (input.replaceNames?.length ?? 0) === 0) {
      throw new RepodError('empty_change', 'the change names no package to add or remove', { status: 400 });
    }
    await runIngestSteps(ingestSteps(services, options), target, [...uploads, ...stored], {
      author: options.author,
      onStep: options.onStep,
      acceptReview: options.acceptReview,
      pending,
    });
  } catch (error) {
    await Promise.all([...uploads.map((c) => discardStaged(caps, c.staged!)), Promise.allSettled(pending)]);
    throw error;
  }
  const { dist } = target;

  // What the gate held for review is stored (bytes and record) but neither described nor claimed:
  // nothing of it is served until a reviewer accepts it (decide publishes it by sha256).
  const heldUploads = uploads.filter((c) => c.verdict?.decision === 'review');
  uploads = uploads.filter((c) => c.verdict?.decision !== 'review');
  const held: HeldPackage[] = [];
  for (const c of heldUploads) held.push({ info: heldInfo(await storeForReview(caps, c.staged!), placement.of), steps: c.verdict!.steps });
  for (const c of stored) if (c.verdict?.decision === 'review') held.push({ info: infoOf(c.stored!.record, c.stored!.entry), steps: c.verdict.steps });
  stored = stored.filter((c) => c.verdict?.decision !== 'review');
  if (held.length) await services.gate!.hold(target, held, options.author, { replace: options.replace });

  // The commit and the steps' side writes are independent objects: they wait on the store side by
  // side, not one after another (each is a durable write).
  const [committed] = await Promise.all([commitUploads(caps, uploads, placement.of), Promise.all(pending)]);
  recordVerdicts(uploads, committed);
  const skipped = new Set(committed.filter((_, i) => uploads[i].signature?.include === false).map((c) => c.entry.entry.key));
  const described = [...committed, ...stored.map((c) => ({ entry: c.stored!.entry, info: infoOf(c.stored!.record, c.stored!.entry) }))];
  const candidates = [...uploads, ...stored];
  for (const [i, c] of described.entries()) c.info = { ...c.info, ...gateAnswers(candidates[i].verdict?.steps) };
  const all = described.filter((c) => !skipped.has(c.entry.entry.key));
  const pendingReview = held.map(({ info, steps }) => ({ ...info, status: 'pending_review' as const, ...gateAnswers(steps) }));
  if (all.length === 0 && !input.remove?.length && !input.replaceNames?.length && held.length > 0) {
    const current = await services.repository.current(dist.name);
    return {
      status: 'pending_review',
      distribution: dist.name,
      revision: current ? { id: current.id, number: current.number } : null,
      packages: [...pendingReview, ...committed.filter((c) => skipped.has(c.entry.entry.key)).map(({ info }) => ({ ...info, status: 'skipped' as const }))],
      removed: [],
    };
  }
  const adding = new Set(all.map((c) => c.entry.entry.key));
  // A signed copy the distribution prefers replaces the copy the signature step saw published, and only that one.
  const replacing: Record<string, string> = {};
  for (const c of uploads) if (c.signature?.replaces !== undefined) replacing[c.key] = c.signature.replaces;
  // Resolved on the state the change applies to: the parent plus the changes before it in its group.
  const resolve: ResolveChange = async (state) => {
    // A package both removed and added by one change stays (unchanged if the bytes are the same).
    const remove = new Set<string>();
    for (const key of await resolveRemovals(state, dist, input.remove ?? [], placement.search)) if (!adding.has(key)) remove.add(key);
    for (const e of await entriesNamed(state, dist, input.replaceNames ?? [], placement.search)) if (!adding.has(e.key)) remove.add(e.key);
    return { add: all.map((c) => c.entry), remove: [...remove], replace: options.replace, replacing };
  };
  const meta = {
    author: options.author,
    message:
      options.message ??
      changeMessage(
        all.map((c) => c.entry.entry.label),
        input,
      ),
  };
  options.arrived?.();
  const { revision, outcome } = await services.committer.submit(dist.name, { dist, resolve, meta });
  const added = new Set(outcome.added.map((e) => e.id));
  return {
    status: outcome.added.length + outcome.removed.length > 0 ? 'published' : 'unchanged',
    distribution: dist.name,
    revision: revision ? { id: revision.id, number: revision.number } : null,
    packages: [
      ...all.map(({ info }) => ({ ...info, status: added.has(info.sha256) ? ('published' as const) : ('unchanged' as const) })),
      ...committed.filter((c) => skipped.has(c.entry.entry.key)).map(({ info }) => ({ ...info, status: 'skipped' as const })),
      ...pendingReview,
    ],
    removed: outcome.removed.map((e) => ({ label: e.label, filename: e.file, sha256: e.id })),
  };
}

/** Staged packages into a distribution as one revision (the upload endpoint, bulk imports). */
export function publishBatch(services: PublishServices, distName: string | undefined, staged: StagedPackage[], options: BuildOptions): Promise<BatchResult> {
  return publishBuild(services, distName, { staged }, options);
}

/** One package, answered in the shape Repod's upload endpoint uses. */
export async function publishUpload(services: PublishServices, distName: string | undefined, staged: StagedPackage, options: BuildOptions): Promise<UploadResult> {
  const { packages, removed: _removed, ...batch } = await publishBatch(services, distName, [staged], options);
  const { status: _status, ...pkg } = packages[0];
  return { ...batch, ...pkg };
}

/** Removes packages from a distribution as one new revision. */
export async function removePackages(services: PublishServices, distName: string, names: string[], options: BuildOptions): Promise<BatchResult> {
  if (names.length === 0) throw new RepodError('invalid_request', 'name at least one package to remove', { status: 400 });
  return publishBuild(services, distName, { remove: names }, options);
}

import type { Distribution } from '../config/distributions.ts';
import type { Core } from '../core.ts';
import { ConflictError, NotFoundError, RepodError } from '../errors.ts';
import { versionWithoutEpoch } from '../formats/deb/version.ts';
import type { RpmPackage } from '../formats/rpm/model.ts';
import { APT_STREAMS, aptKey } from './apt-entry.ts';
import type { EntryWithSegments, IndexEntry } from './chunk.ts';
import { commitDeb, commitRpm, discardStaged, entryFromRecord, type PackageRecord, type StagedPackage, type StagedRpm } from './ingest.ts';
import { applySignaturePolicy, signStaged, trustedKeys, type PolicyOutcome, type SignatureSummary } from './package-signatures.ts';
import { RpmKeyring } from '../signing/rpm-verify.ts';
import type { Revision } from './revision.ts';
import { rpmKey, rpmKeyFromFileName, RPM_STREAMS } from './rpm-entry.ts';
import { layout } from './layout.ts';
import { putJson } from '../storage/objects.ts';

const COMMIT_CONCURRENCY = 8;
const SEP = '\u0000';

export interface PackageResult {
  package: string;
  version: string;
  architecture: string;
  filename: string;
  sha256: string;
  size: number;
  /** published: in the new revision; unchanged: the same bytes were already there; skipped: stored, left out by the signature policy. */
  status: 'published' | 'unchanged' | 'skipped';
  /** RPMs: what signature verification found (status, signing key ids, trusted by the policy). */
  signature?: SignatureSummary;
}

export interface RemovedPackage {
  label: string;
  filename: string;
  sha256: string;
}

export interface BatchResult {
  status: 'published' | 'unchanged';
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
}

export interface BuildOptions {
  replace?: boolean;
  author: string;
  message?: string;
  component?: string;
}

function evr(pkg: RpmPackage): string {
  return `${pkg.epoch !== '0' ? `${pkg.epoch}:` : ''}${pkg.version}-${pkg.release}`;
}

export function requireDistribution(core: Core, name: string | undefined): Distribution {
  if (!name) throw new RepodError('missing_distribution', 'the distribution field is required', { status: 400 });
  const dist = core.distributions.get(name);
  if (!dist) throw new NotFoundError(`unknown distribution ${JSON.stringify(name)}`, 'unknown_distribution');
  return dist;
}

/** Refuses a package the distribution cannot take, before anything leaves uploads/. */
function checkAccepts(dist: Distribution, kind: 'rpm' | 'deb', arch: string, component: string): void {
  if (dist.kind === 'rpm' && kind !== 'rpm') {
    throw new RepodError('wrong_package_type', `distribution ${dist.name} is an RPM distribution and takes .rpm packages, not Debian packages`, { status: 422 });
  }
  if (dist.kind === 'apt' && kind !== 'deb') {
    throw new RepodError('wrong_package_type', `distribution ${dist.name} is an APT distribution and takes .deb packages, not RPMs`, { status: 422 });
  }
  const accepted = new Set(dist.kind === 'rpm' ? [...dist.architectures, 'noarch', 'src', 'nosrc'] : [...dist.architectures, 'all']);
  if (!accepted.has(arch)) {
    throw new RepodError('unsupported_architecture', `distribution ${dist.name} does not carry architecture ${arch} (it carries ${[...accepted].join(', ')})`, {
      status: 422,
    });
  }
  if (dist.kind === 'apt' && !dist.components.includes(component)) {
    throw new RepodError('unknown_component', `distribution ${dist.name} has no component ${component} (it has ${dist.components.join(', ')})`, { status: 422 });
  }
}

function stagedFacts(staged: StagedPackage, component: string): { kind: 'rpm' | 'deb'; arch: string; key: string } {
  if (staged.kind === 'rpm') return { kind: 'rpm', arch: staged.parsed.pkg.arch, key: rpmKey(staged.parsed.pkg) };
  const c = staged.parsed.control;
  return { kind: 'deb', arch: c.architecture, key: aptKey(component, c.package, c.architecture, c.version) };
}

/**
 * Refuses a package whose identity (RPM name-version-release.arch; APT component, name, version,
 * arch) is already published with other bytes, before it reaches the pool. Compose checks again
 * under the compare-and-swap, for a racing writer.
 */
async function checkNoDuplicates(core: Core, dist: string, wanted: Array<{ key: string; sha256: string }>): Promise<void> {
  const current = await core.repository.current(dist);
  if (!current) return;
  for (const w of wanted) {
    const existing = await core.repository.findEntry(current, w.key);
    if (existing && existing.id !== w.sha256) {
      throw new ConflictError(`${existing.label} is already published with different content (sha256 ${existing.id}); replace it explicitly`, 'duplicate_package', {
        existing: existing.id,
        uploaded: w.sha256,
      });
    }
  }
}

interface Committed {
  entry: EntryWithSegments;
  info: Omit<PackageResult, 'status'>;
}

function infoOf(record: PackageRecord, entry: EntryWithSegments): Omit<PackageResult, 'status'> {
  if (record.kind === 'rpm') {
    const pkg = record.package;
    return { package: pkg.name, version: evr(pkg), architecture: pkg.arch, filename: record.facts.fileName, sha256: record.facts.sha256, size: record.facts.size };
  }
  const [, name, arch, version] = entry.entry.key.split(SEP);
  return { package: name, version, architecture: arch, filename: entry.entry.file, sha256: record.facts.sha256, size: record.facts.size };
}

async function commit(core: Core, staged: StagedPackage, component: string): Promise<Committed> {
  const { record, entry } = staged.kind === 'rpm' ? await commitRpm(core.caps, staged) : await commitDeb(core.caps, staged, component);
  return { entry, info: infoOf(record, entry) };
}

/** Keys a removal names, resolved on the revision it applies to. */
async function resolveRemovals(core: Core, dist: Distribution, parent: Revision | null, specs: string[], component: string): Promise<string[]> {
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
    const found = parent ? await core.repository.findEntries(parent, [component, name, arch, ''].join(SEP)) : [];
    const match = found.filter((e) => {
      const v = e.key.split(SEP)[3];
      return v === version || versionWithoutEpoch(v) === version;
    });
    if (match.length === 0) throw new NotFoundError(`package ${spec} is not in ${dist.name}`, 'package_not_found');
    keys.push(...match.map((e) => e.key));
  }
  return keys;
}

/** Keys of every published version of the named packages. */
async function entriesNamed(core: Core, dist: Distribution, parent: Revision | null, names: string[], component: string): Promise<IndexEntry[]> {
  if (!parent) return [];
  const out: IndexEntry[] = [];
  for (const name of names) out.push(...(await core.repository.findEntries(parent, dist.kind === 'rpm' ? `${name}${SEP}` : `${component}${SEP}${name}${SEP}`)));
  return out;
}

/**
 * Publishes one change (files, references, removals, replacements) into a distribution as exactly
 * one new revision, or nothing: every refusal happens before anything is moved out of uploads/,
 * and staged objects are removed on every failure.
 */
export async function publishBuild(core: Core, distName: string | undefined, input: BuildInput, options: BuildOptions): Promise<BatchResult> {
  const staged = [...(input.staged ?? [])];
  const signatures = new Map<number, PolicyOutcome>();
  let dist: Distribution;
  let component = '';
  const refEntries: Committed[] = [];
  try {
    dist = requireDistribution(core, distName);
    component = dist.kind === 'apt' ? (options.component ?? dist.components[0]) : '';
    const wanted: Array<{ key: string; sha256: string }> = [];
    for (const s of staged) {
      const facts = stagedFacts(s, component);
      checkAccepts(dist, facts.kind, facts.arch, component);
    }
    if (dist.kind === 'rpm' && staged.length > 0) {
      // Verify what was uploaded (a bad signature is refused even when repod re-signs), then sign.
      const keyring = await RpmKeyring.from(await trustedKeys(core));
      for (let i = 0; i < staged.length; i++) {
        const s = staged[i] as StagedRpm;
        if (dist.packageSignatures?.sign) {
          // Only a bad signature or digest stops a package repod signs itself; the policy judges the signed copy.
          await applySignaturePolicy({ ...dist, packageSignatures: { ...dist.packageSignatures, policy: 'soft' } }, s, keyring);
          staged[i] = await signStaged(core, s);
          signatures.set(i, await applySignaturePolicy(dist, staged[i] as StagedRpm, keyring));
        } else {
          signatures.set(i, await applySignaturePolicy(dist, s, keyring));
        }
      }
    }
    for (const s of staged) wanted.push({ key: stagedFacts(s, component).key, sha256: s.sha256 });
    for (const sha256 of input.refs ?? []) {
      if (!/^[0-9a-f]{64}$/.test(sha256)) throw new RepodError('invalid_request', `${JSON.stringify(sha256)} is not a sha256`, { status: 400 });
      const found = await entryFromRecord(core.caps, sha256, component);
      if (!found) throw new NotFoundError(`no package with sha256 ${sha256} in the store`, 'unknown_package');
      checkAccepts(dist, found.record.kind, found.entry.entry.arch, component);
      refEntries.push({ entry: found.entry, info: infoOf(found.record, found.entry) });
      wanted.push({ key: found.entry.entry.key, sha256 });
    }
    if (staged.length + refEntries.length + (input.remove?.length ?? 0) + (input.replaceNames?.length ?? 0) === 0) {
      throw new RepodError('empty_change', 'the change names no package to add or remove', { status: 400 });
    }
    if (!options.replace) await checkNoDuplicates(core, dist.name, wanted);
  } catch (error) {
    await Promise.all(staged.map((s) => discardStaged(core.caps, s)));
    throw error;
  }

  // Commits wait on the store (fsync, round trips), not the CPU: run a few at once.
  const committed: Committed[] = new Array(staged.length);
  let next = 0;
  let failed: unknown = null;
  const worker = async () => {
    while (next < staged.length && !failed) {
      const i = next++;
      try {
        committed[i] = await commit(core, staged[i], component);
      } catch (error) {
        failed ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(COMMIT_CONCURRENCY, staged.length) }, worker));
  if (failed) {
    await Promise.all(staged.slice(next).map((s) => discardStaged(core.caps, s)));
    throw failed;
  }
  const skipped = new Set(committed.filter((_, i) => signatures.get(i)?.include === false).map((c) => c.entry.entry.key));
  await Promise.all(
    committed.map(async (c, i) => {
      const outcome = signatures.get(i);
      if (!outcome) return;
      c.info = { ...c.info, signature: outcome.summary };
      const { status, signers } = outcome.summary;
      await putJson(core.caps.store, layout.packageSignature(c.info.sha256), { format: 1, checked: core.caps.now().toISOString(), status, signers });
    }),
  );
  const all = [...committed, ...refEntries].filter((c) => !skipped.has(c.entry.entry.key));
  const labels = all.map((c) => c.entry.entry.label);
  const kind = dist.kind === 'rpm' ? 'rpm' : 'apt';
  const streams = dist.kind === 'rpm' ? RPM_STREAMS : APT_STREAMS;
  const adding = new Set(all.map((c) => c.entry.entry.key));
  const result = await core.repository.publish(
    dist.name,
    kind,
    streams,
    async (parent) => {
      // A package both removed and added by one change stays (unchanged if the bytes are the same).
      const remove = new Set<string>();
      for (const key of await resolveRemovals(core, dist, parent, input.remove ?? [], component)) if (!adding.has(key)) remove.add(key);
      for (const e of await entriesNamed(core, dist, parent, input.replaceNames ?? [], component)) if (!adding.has(e.key)) remove.add(e.key);
      return { add: all.map((c) => c.entry), remove: [...remove], replace: options.replace };
    },
    {
      author: options.author,
      message: options.message ?? (labels.length === 1 && !input.remove?.length ? `upload ${labels[0]}` : `change: +${labels.length} packages, -${(input.remove?.length ?? 0) + (input.replaceNames?.length ?? 0)} removals`),
    },
  );
  const added = new Set(result.compose.added.map((e) => e.id));
  return {
    status: result.changed ? 'published' : 'unchanged',
    distribution: dist.name,
    revision: result.revision ? { id: result.revision.id, number: result.revision.number } : null,
    packages: [
      ...all.map(({ info }) => ({ ...info, status: added.has(info.sha256) ? ('published' as const) : ('unchanged' as const) })),
      ...committed.filter((c) => skipped.has(c.entry.entry.key)).map(({ info }) => ({ ...info, status: 'skipped' as const })),
    ],
    removed: result.compose.removed.map((e) => ({ label: e.label, filename: e.file, sha256: e.id })),
  };
}

/** Staged packages into a distribution as one revision (the upload endpoint, bulk imports). */
export function publishBatch(core: Core, distName: string | undefined, staged: StagedPackage[], options: BuildOptions): Promise<BatchResult> {
  return publishBuild(core, distName, { staged }, options);
}

/** One package, answered in the shape Repod's upload endpoint uses. */
export async function publishUpload(core: Core, distName: string | undefined, staged: StagedPackage, options: BuildOptions): Promise<UploadResult> {
  const { packages, removed: _removed, ...batch } = await publishBatch(core, distName, [staged], options);
  const { status: _status, ...pkg } = packages[0];
  return { ...batch, ...pkg };
}

/** Removes packages from a distribution as one new revision. */
export async function removePackages(core: Core, distName: string, names: string[], options: BuildOptions): Promise<BatchResult> {
  if (names.length === 0) throw new RepodError('invalid_request', 'name at least one package to remove', { status: 400 });
  return publishBuild(core, distName, { remove: names }, options);
}

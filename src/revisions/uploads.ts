import type { Distribution } from '../config/distributions.ts';
import type { Core } from '../core.ts';
import { ConflictError, NotFoundError, RepodError } from '../errors.ts';
import type { RpmPackage } from '../formats/rpm/model.ts';
import type { EntryWithSegments } from './chunk.ts';
import { commitRpm, discardStaged, type PackageRecord, type StagedPackage } from './ingest.ts';
import { nevra, rpmKey, rpmKeyFromFileName, RPM_STREAMS } from './rpm-entry.ts';

export interface PackageResult {
  package: string;
  version: string;
  architecture: string;
  filename: string;
  sha256: string;
  size: number;
  /** published: in the new revision; unchanged: the same bytes were already there. */
  status: 'published' | 'unchanged';
}

export interface BatchResult {
  status: 'published' | 'unchanged';
  distribution: string;
  packages: PackageResult[];
  revision: { id: string; number: number } | null;
}

export type UploadResult = Omit<BatchResult, 'packages'> & Omit<PackageResult, 'status'>;

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
function checkAccepts(dist: Distribution, staged: StagedPackage): void {
  if (dist.kind !== 'rpm') {
    throw new RepodError('wrong_package_type', `distribution ${dist.name} is an APT distribution and takes .deb packages, not RPMs`, { status: 422 });
  }
  const arch = staged.parsed.pkg.arch;
  const accepted = new Set([...dist.architectures, 'noarch', 'src', 'nosrc']);
  if (!accepted.has(arch)) {
    throw new RepodError('unsupported_architecture', `distribution ${dist.name} does not carry architecture ${arch} (it carries ${[...accepted].join(', ')})`, {
      status: 422,
    });
  }
}

/**
 * Refuses a package whose name-version-release.arch is already published with other bytes before
 * it reaches the pool. Compose checks again under the compare-and-swap, for a racing writer.
 */
async function checkNoDuplicates(core: Core, dist: string, staged: StagedPackage[]): Promise<void> {
  const current = await core.repository.current(dist);
  if (!current) return;
  for (const s of staged) {
    const existing = await core.repository.findEntry(current, rpmKey(s.parsed.pkg));
    if (existing && existing.id !== s.sha256) {
      throw new ConflictError(`${existing.label} is already published with different content (sha256 ${existing.id}); replace it explicitly`, 'duplicate_package', {
        existing: existing.id,
        uploaded: s.sha256,
      });
    }
  }
}

/**
 * Publishes staged packages into a distribution as exactly one new revision, or nothing: every
 * refusal happens before anything is moved out of uploads/, and staged objects are removed on
 * every failure.
 */
export async function publishBatch(
  core: Core,
  distName: string | undefined,
  staged: StagedPackage[],
  options: { replace?: boolean; author: string; message?: string },
): Promise<BatchResult> {
  let dist: Distribution;
  try {
    dist = requireDistribution(core, distName);
    for (const s of staged) checkAccepts(dist, s);
    if (!options.replace) await checkNoDuplicates(core, dist.name, staged);
  } catch (error) {
    await Promise.all(staged.map((s) => discardStaged(core.caps, s)));
    throw error;
  }
  const committed: Array<{ record: PackageRecord; entry: EntryWithSegments }> = [];
  for (const s of staged) committed.push(await commitRpm(core.caps, s));
  const labels = committed.map((c) => nevra(c.record.package));
  const result = await core.repository.publish(dist.name, 'rpm', [...RPM_STREAMS], () => ({ add: committed.map((c) => c.entry), remove: [], replace: options.replace }), {
    author: options.author,
    message: options.message ?? (labels.length === 1 ? `upload ${labels[0]}` : `upload ${labels.length} packages`),
  });
  const added = new Set(result.compose.added.map((e) => e.id));
  return {
    status: result.changed ? 'published' : 'unchanged',
    distribution: dist.name,
    revision: result.revision ? { id: result.revision.id, number: result.revision.number } : null,
    packages: committed.map(({ record }) => ({
      package: record.package.name,
      version: evr(record.package),
      architecture: record.package.arch,
      filename: record.facts.fileName,
      sha256: record.facts.sha256,
      size: record.facts.size,
      status: added.has(record.facts.sha256) ? 'published' : 'unchanged',
    })),
  };
}

/** One package, answered in the shape Repod's upload endpoint uses. */
export async function publishUpload(core: Core, distName: string | undefined, staged: StagedPackage, options: { replace?: boolean; author: string }): Promise<UploadResult> {
  const { packages, ...batch } = await publishBatch(core, distName, [staged], options);
  const { status: _status, ...pkg } = packages[0];
  return { ...batch, ...pkg };
}

/**
 * Removes packages from a distribution as one new revision. A package is named by its file name
 * (name-version-release.arch.rpm) or its NEVRA (name-[epoch:]version-release.arch).
 */
export interface RemoveResult {
  status: 'published';
  distribution: string;
  revision: { id: string; number: number } | null;
  removed: Array<{ nevra: string; filename: string; sha256: string }>;
}

export async function removePackages(core: Core, distName: string, names: string[], options: { author: string; message?: string }): Promise<RemoveResult> {
  const dist = requireDistribution(core, distName);
  if (dist.kind !== 'rpm') throw new RepodError('wrong_package_type', `distribution ${dist.name} is not an RPM distribution`, { status: 422 });
  if (names.length === 0) throw new RepodError('invalid_request', 'name at least one package to remove', { status: 400 });
  const keys = names.map((name) => {
    const key = rpmKeyFromFileName(name.endsWith('.rpm') ? name : `${name.replace(/-\d+:/, '-')}.rpm`);
    if (!key) throw new RepodError('invalid_request', `${JSON.stringify(name)} is neither a file name nor a NEVRA`, { status: 400 });
    return key;
  });
  const result = await core.repository.publish(dist.name, 'rpm', [...RPM_STREAMS], () => ({ add: [], remove: keys }), {
    author: options.author,
    message: options.message ?? `remove ${names.join(', ')}`,
  });
  return {
    status: 'published',
    distribution: dist.name,
    revision: result.revision ? { id: result.revision.id, number: result.revision.number } : null,
    removed: result.compose.removed.map((e) => ({ nevra: e.label, filename: e.file, sha256: e.id })),
  };
}

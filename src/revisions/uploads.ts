import type { Distribution } from '../config/distributions.ts';
import type { Core } from '../core.ts';
import { ConflictError, NotFoundError, RepodError } from '../errors.ts';
import type { RpmPackage } from '../formats/rpm/model.ts';
import type { EntryWithSegments } from './chunk.ts';
import { APT_STREAMS, aptKey } from './apt-entry.ts';
import { commitDeb, commitRpm, discardStaged, type StagedPackage } from './ingest.ts';
import { rpmKey, rpmKeyFromFileName, RPM_STREAMS } from './rpm-entry.ts';

const COMMIT_CONCURRENCY = 8;

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
function checkAccepts(dist: Distribution, staged: StagedPackage, component: string): void {
  if (dist.kind === 'rpm' && staged.kind !== 'rpm') {
    throw new RepodError('wrong_package_type', `distribution ${dist.name} is an RPM distribution and takes .rpm packages, not Debian packages`, { status: 422 });
  }
  if (dist.kind === 'apt' && staged.kind !== 'deb') {
    throw new RepodError('wrong_package_type', `distribution ${dist.name} is an APT distribution and takes .deb packages, not RPMs`, { status: 422 });
  }
  const arch = staged.kind === 'rpm' ? staged.parsed.pkg.arch : staged.parsed.control.architecture;
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

function keyOf(staged: StagedPackage, component: string): string {
  if (staged.kind === 'rpm') return rpmKey(staged.parsed.pkg);
  const c = staged.parsed.control;
  return aptKey(component, c.package, c.architecture, c.version);
}

/**
 * Refuses a package whose identity (RPM name-version-release.arch; APT component, name, version,
 * arch) is already published with other bytes, before it reaches the pool. Compose checks again
 * under the compare-and-swap, for a racing writer.
 */
async function checkNoDuplicates(core: Core, dist: string, staged: StagedPackage[], component: string): Promise<void> {
  const current = await core.repository.current(dist);
  if (!current) return;
  for (const s of staged) {
    const existing = await core.repository.findEntry(current, keyOf(s, component));
    if (existing && existing.id !== s.sha256) {
      throw new ConflictError(`${existing.label} is already published with different content (sha256 ${existing.id}); replace it explicitly`, 'duplicate_package', {
        existing: existing.id,
        uploaded: s.sha256,
      });
    }
  }
}

interface Committed {
  entry: EntryWithSegments;
  info: Omit<PackageResult, 'status'>;
}

async function commit(core: Core, staged: StagedPackage, component: string): Promise<Committed> {
  if (staged.kind === 'rpm') {
    const { record, entry } = await commitRpm(core.caps, staged);
    const pkg = record.package;
    return {
      entry,
      info: { package: pkg.name, version: evr(pkg), architecture: pkg.arch, filename: record.facts.fileName, sha256: record.facts.sha256, size: record.facts.size },
    };
  }
  const { record, entry, poolPath } = await commitDeb(core.caps, staged, component);
  const c = staged.parsed.control;
  return { entry, info: { package: c.package, version: c.version, architecture: c.architecture, filename: poolPath, sha256: record.facts.sha256, size: record.facts.size } };
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
  options: { replace?: boolean; author: string; message?: string; component?: string },
): Promise<BatchResult> {
  let dist: Distribution;
  let component = '';
  try {
    dist = requireDistribution(core, distName);
    component = dist.kind === 'apt' ? (options.component ?? dist.components[0]) : '';
    for (const s of staged) checkAccepts(dist, s, component);
    if (!options.replace) await checkNoDuplicates(core, dist.name, staged, component);
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
  const labels = committed.map((c) => c.entry.entry.label);
  const kind = dist.kind === 'rpm' ? 'rpm' : 'apt';
  const streams = dist.kind === 'rpm' ? RPM_STREAMS : APT_STREAMS;
  const result = await core.repository.publish(dist.name, kind, streams, () => ({ add: committed.map((c) => c.entry), remove: [], replace: options.replace }), {
    author: options.author,
    message: options.message ?? (labels.length === 1 ? `upload ${labels[0]}` : `upload ${labels.length} packages`),
  });
  const added = new Set(result.compose.added.map((e) => e.id));
  return {
    status: result.changed ? 'published' : 'unchanged',
    distribution: dist.name,
    revision: result.revision ? { id: result.revision.id, number: result.revision.number } : null,
    packages: committed.map(({ info }) => ({ ...info, status: added.has(info.sha256) ? 'published' : 'unchanged' })),
  };
}

/** One package, answered in the shape Repod's upload endpoint uses. */
export async function publishUpload(core: Core, distName: string | undefined, staged: StagedPackage, options: { replace?: boolean; author: string; component?: string }): Promise<UploadResult> {
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
  const result = await core.repository.publish(dist.name, 'rpm', RPM_STREAMS, () => ({ add: [], remove: keys }), {
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

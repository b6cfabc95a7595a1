import type { Distribution } from '../config/distributions.ts';
import type { Core } from '../core.ts';
import { NotFoundError, RepodError } from '../errors.ts';
import type { RpmPackage } from '../formats/rpm/model.ts';
import { commitRpm, discardStaged, type StagedPackage } from './ingest.ts';
import type { Revision } from './revision.ts';
import { nevra, RPM_STREAMS } from './rpm-entry.ts';

export interface UploadResult {
  status: 'published' | 'unchanged';
  distribution: string;
  package: string;
  version: string;
  architecture: string;
  filename: string;
  sha256: string;
  size: number;
  revision: { id: string; number: number } | null;
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

/**
 * Publishes one staged upload into a distribution as one new revision. Every refusal happens before
 * anything is moved out of uploads/, and the staged object is removed on every failure.
 */
export async function publishUpload(
  core: Core,
  distName: string | undefined,
  staged: StagedPackage,
  options: { replace?: boolean; author: string },
): Promise<UploadResult> {
  let dist: Distribution;
  try {
    dist = requireDistribution(core, distName);
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
  } catch (error) {
    await discardStaged(core.caps, staged);
    throw error;
  }

  const { record, entry } = await commitRpm(core.caps, staged);
  const label = nevra(record.package);
  const result = await core.repository.publish(dist.name, 'rpm', [...RPM_STREAMS], () => ({ add: [entry], remove: [], replace: options.replace }), {
    author: options.author,
    message: `upload ${label}`,
  });
  const revision: Revision | null = result.revision;
  return {
    status: result.changed ? 'published' : 'unchanged',
    distribution: dist.name,
    package: record.package.name,
    version: evr(record.package),
    architecture: record.package.arch,
    filename: record.facts.fileName,
    sha256: record.facts.sha256,
    size: record.facts.size,
    revision: revision ? { id: revision.id, number: revision.number } : null,
  };
}

import { acceptedArchitectures } from '../config/distributions.ts';
import { RepodError } from '../errors.ts';
import type { IngestStep } from './pipeline.ts';

/** Refuses a package the distribution cannot take: another package type, architecture or component. */
export const acceptedByDistribution: IngestStep = async ({ dist, component }, candidates) => {
  const accepted = acceptedArchitectures(dist);
  for (const c of candidates) {
    if (dist.kind === 'rpm' && c.kind !== 'rpm') {
      throw new RepodError('wrong_package_type', `distribution ${dist.name} is an RPM distribution and takes .rpm packages, not Debian packages`, { status: 422 });
    }
    if (dist.kind === 'apt' && c.kind === 'rpm') {
      throw new RepodError('wrong_package_type', `distribution ${dist.name} is an APT distribution and takes .deb packages, not RPMs`, { status: 422 });
    }
    // A source package (a .dsc, arch `source`) is for every architecture the distribution carries.
    if (c.kind !== 'dsc' && !accepted.has(c.arch)) {
      throw new RepodError('unsupported_architecture', `distribution ${dist.name} does not carry architecture ${c.arch} (it carries ${[...accepted].join(', ')})`, {
        status: 422,
      });
    }
    if (dist.kind === 'apt' && !dist.components.includes(component)) {
      throw new RepodError('unknown_component', `distribution ${dist.name} has no component ${component} (it has ${dist.components.join(', ')})`, { status: 422 });
    }
  }
};

import type { PackageRecord } from '../../bucket/package-record.ts';
import { type DebControl, parseDebControl, parseSourceField } from '../../formats/deb/control.ts';
import type { RpmPackage } from '../../formats/rpm/model.ts';
import { recordDsc } from '../../ingest/source-entry.ts';
import { sourceRpmName } from '../advisories/version-order.ts';
import type { PackageIdentity } from './gate-services.ts';

/** RPM advisories compare `[epoch:]version-release`; AlmaLinux, Rocky and SUSE ones name the source package. */
export function rpmIdentity(pkg: RpmPackage): PackageIdentity {
  const source = pkg.sourceRpm ? sourceRpmName(pkg.sourceRpm) : undefined;
  return {
    kind: 'rpm',
    name: pkg.name,
    ...(source && source !== pkg.name ? { source } : {}),
    version: `${pkg.epoch && pkg.epoch !== '0' ? `${pkg.epoch}:` : ''}${pkg.version}-${pkg.release}`,
    arch: pkg.arch,
  };
}

/** Debian and Ubuntu advisories name the source package and its version (a binNMU's binary version differs). */
export function debIdentity(control: DebControl): PackageIdentity {
  const field = control.get('Source');
  const parsed = field ? parseSourceField(field) : undefined;
  const source = parsed && typeof parsed !== 'string' ? parsed : undefined;
  return {
    kind: 'deb',
    name: control.package,
    version: control.version,
    source: source?.name ?? control.package,
    ...(source?.version ? { sourceVersion: source.version } : {}),
    arch: control.architecture,
  };
}

/**
 * A source package as advisories name it: Debian and Ubuntu advisories (OSV `Debian:12`, USNs) are
 * about source packages, by source name and source version, so a .dsc matches them directly.
 */
export function sourceIdentity(source: string, version: string): PackageIdentity {
  return { kind: 'deb', name: source, source, version, arch: 'source' };
}

export function recordIdentity(record: PackageRecord): PackageIdentity {
  if (record.kind === 'dsc') {
    const dsc = recordDsc(record);
    return sourceIdentity(dsc.source, dsc.version);
  }
  return record.kind === 'rpm' ? rpmIdentity(record.package) : debIdentity(parseDebControl(record.control));
}

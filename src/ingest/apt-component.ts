import type { AptDistribution } from '../config/distributions.ts';
import { RepodError } from '../errors.ts';
import type { DebControl } from '../formats/deb/control.ts';

/**
 * Where a Debian package goes inside an APT distribution: its component, and whether it is an
 * installer package (udeb). The Debian archive (dak, reprepro, apt-ftparchive's generate trees)
 * keeps udebs out of the main Packages, in `<component>/debian-installer/binary-<arch>/Packages`;
 * repod does the same by giving a udeb's index entry the component `<component>/debian-installer`,
 * so chunks group it apart from the debs of its component (no new field in the chunk format) and
 * every index path follows from the entry's component. Its pool path stays under the real component.
 */
export const INSTALLER_SUFFIX = '/debian-installer';

/** dpkg's Package-Type: `deb` unless the control says otherwise. */
export function packageType(control: DebControl): string {
  return control.get('Package-Type')?.trim() || 'deb';
}

export function isUdeb(control: DebControl): boolean {
  return packageType(control) === 'udeb';
}

/** The component a package's index entry carries: `<component>/debian-installer` for a udeb. */
export function indexComponent(component: string, control: DebControl): string {
  return isUdeb(control) ? `${component}${INSTALLER_SUFFIX}` : component;
}

/** The distribution component of an index entry's component (the udeb suffix removed). */
export function baseComponent(entryComponent: string): string {
  return entryComponent.endsWith(INSTALLER_SUFFIX) ? entryComponent.slice(0, -INSTALLER_SUFFIX.length) : entryComponent;
}

/** Every entry component of a distribution component: its debs and its udebs. */
export function entryComponents(component: string): string[] {
  return [component, `${component}${INSTALLER_SUFFIX}`];
}

function unknownComponent(dist: AptDistribution, component: string, why: string): RepodError {
  return new RepodError('unknown_component', `distribution ${dist.name} has no component ${component}${why} (it has ${dist.components.join(', ')})`, {
    status: 422,
    details: { component, components: dist.components },
  });
}

/**
 * The component a package is published in: the one the upload names, else the prefix of its
 * Section as the Debian archive writes it (`contrib/net` is in contrib, `non-free/...`,
 * `non-free-firmware/...`), else the distribution's first component. A named or prefixed
 * component the distribution lacks is refused rather than filed elsewhere: a non-free package
 * must not land in main because main is the default.
 */
export function resolveComponent(dist: AptDistribution, requested: string | undefined, control: DebControl | undefined): string {
  if (requested !== undefined) {
    if (!dist.components.includes(requested)) throw unknownComponent(dist, requested, '');
    return requested;
  }
  const section = control?.get('Section')?.trim() ?? '';
  const slash = section.indexOf('/');
  if (slash <= 0) return dist.components[0];
  const prefix = section.slice(0, slash);
  if (!dist.components.includes(prefix)) throw unknownComponent(dist, prefix, ` (from the package's Section ${JSON.stringify(section)})`);
  return prefix;
}

/**
 * Refuses a package whose file name and control disagree on its type: a `.udeb` whose control has
 * no `Package-Type: udeb` is a deb under a udeb's name (it would be listed for the installer, where
 * it does not belong), and a udeb sent as a `.deb` would be installed by apt on a full system,
 * which udebs are not made for. dpkg-name and dak name a package from its Package-Type; the name an
 * upload carries is what the uploader says it is. Without a file name, the control decides alone.
 */
export function checkPackageType(fileName: string | undefined, control: DebControl): void {
  if (!fileName) return;
  const m = /\.(deb|udeb|ddeb)$/i.exec(fileName);
  if (!m) return;
  const claimed = m[1].toLowerCase();
  const type = packageType(control);
  if (claimed === type || (claimed === 'deb' && type !== 'udeb')) return;
  throw new RepodError(
    'package_type_mismatch',
    `${fileName} is sent as a .${claimed} but its control says Package-Type: ${type}; name a udeb <name>_<version>_<arch>.udeb and a deb .deb`,
    { status: 422, details: { fileName, packageType: type } },
  );
}

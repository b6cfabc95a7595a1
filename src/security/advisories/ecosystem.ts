/**
 * OSV ecosystem names of the distributions repod serves, and which version order each uses.
 * Names follow ossf/osv-schema's ecosystem list: "Debian:<number>", "Ubuntu:<YY.MM>[:LTS]",
 * "AlmaLinux:<major>", "Rocky Linux:<major>", "openSUSE:<PRETTY_NAME release>".
 */

const DEBIAN: Record<string, string> = { bullseye: 'Debian:11', bookworm: 'Debian:12', trixie: 'Debian:13' };
const UBUNTU: Record<string, string> = { focal: 'Ubuntu:20.04:LTS', jammy: 'Ubuntu:22.04:LTS', noble: 'Ubuntu:24.04:LTS' };

/**
 * The ecosystem a distribution named after its release is matched against by default, or
 * undefined when the name says nothing certain (its config then names the ecosystem itself).
 */
export function defaultEcosystem(distName: string, kind: 'rpm' | 'apt'): string | undefined {
  const name = distName.toLowerCase();
  if (kind === 'apt') return DEBIAN[name] ?? UBUNTU[name];
  const alma = /^alma(?:linux)?-?(\d+)$/.exec(name);
  if (alma) return `AlmaLinux:${alma[1]}`;
  const rocky = /^rocky(?:linux)?-?(\d+)$/.exec(name);
  if (rocky) return `Rocky Linux:${rocky[1]}`;
  const leap = /^opensuse-leap-?(\d+\.\d+)$/.exec(name);
  if (leap) return `openSUSE:Leap ${leap[1]}`;
  return undefined;
}

/** Ecosystems (the part before the first ':') whose package versions are dpkg versions. */
const DEB_ECOSYSTEMS = new Set(['Debian', 'Ubuntu']);
/** Ecosystems whose versions are rpm `[epoch:]version-release` and compare with rpmvercmp. */
const RPM_ECOSYSTEMS = new Set(['AlmaLinux', 'Rocky Linux', 'Red Hat', 'openSUSE', 'SUSE', 'Azure Linux', 'Mageia', 'openEuler', 'Photon OS']);

/** The version order of an ecosystem, or undefined for one this code does not know. */
export function ecosystemVersionKind(ecosystem: string): 'rpm' | 'deb' | undefined {
  const base = ecosystem.split(':')[0]!;
  if (DEB_ECOSYSTEMS.has(base)) return 'deb';
  if (RPM_ECOSYSTEMS.has(base)) return 'rpm';
  return undefined;
}

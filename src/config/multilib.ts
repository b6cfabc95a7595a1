import { RepodError } from '../errors.ts';

/**
 * Which packages of the compatibility arch (i686) a distribution's base arch repository (x86_64)
 * also lists, as pungi's multilib methods define them:
 *   none     no compatibility packages;
 *   runtime  packages that ship shared libraries (`*.so.*` in a library directory);
 *   devel    runtime, plus development packages (`-devel`, `-static`, unversioned `.so` links);
 *   all      every compatibility package.
 * The whitelist adds packages by name whatever the method says; the blacklist removes them.
 */
export type MultilibPolicy = 'none' | 'runtime' | 'devel' | 'all';

export interface MultilibSetting {
  policy: MultilibPolicy;
  /** Package names never added; a name in both lists is left out. */
  blacklist?: string[];
  /** Package names added whatever the method says (not with `none`: that turns multilib off). */
  whitelist?: string[];
  /** The base arch whose repository gains packages (default x86_64). */
  arch?: string;
  /** The arch the packages are taken from (default i686). */
  compat?: string;
}

const POLICIES: readonly MultilibPolicy[] = ['none', 'runtime', 'devel', 'all'];

/** Base arch → the compatibility arches rpm itself can install beside it. */
const COMPAT_ARCHES: Record<string, readonly string[]> = {
  x86_64: ['i686', 'i586', 'i486', 'i386', 'athlon'],
  ppc64: ['ppc'],
  s390x: ['s390'],
};

export function validateMultilib(dist: string, architectures: readonly string[], setting: MultilibSetting | undefined): void {
  if (setting === undefined) return;
  const bad = (message: string) => new RepodError('invalid_config', `distribution ${dist}: multilib ${message}`);
  if (typeof setting !== 'object' || setting === null || Array.isArray(setting)) throw bad('must be an object {"policy", "blacklist"?, "whitelist"?}');
  const known = new Set(['policy', 'blacklist', 'whitelist', 'arch', 'compat']);
  for (const key of Object.keys(setting)) if (!known.has(key)) throw bad(`has an unknown field ${JSON.stringify(key)}`);
  if (!POLICIES.includes(setting.policy)) throw bad(`policy must be one of ${POLICIES.join(', ')} (got ${JSON.stringify(setting.policy)})`);
  for (const list of ['blacklist', 'whitelist'] as const) {
    const names = setting[list];
    if (names !== undefined && (!Array.isArray(names) || !names.every((n) => typeof n === 'string' && n.length > 0))) throw bad(`${list} must be a list of package names`);
  }
  const { base, compat } = multilibArches(setting);
  if (!(base in COMPAT_ARCHES)) throw bad(`arch ${JSON.stringify(base)} is not an arch with a multilib compatibility arch (${Object.keys(COMPAT_ARCHES).join(', ')})`);
  if (!COMPAT_ARCHES[base].includes(compat)) throw bad(`compat ${JSON.stringify(compat)} cannot be installed beside ${base} (${COMPAT_ARCHES[base].join(', ')})`);
  for (const a of [base, compat]) {
    if (!architectures.includes(a))
      throw bad(`names arch ${a}, which is not among the distribution's architectures (${architectures.join(', ')}): uploads of ${compat} packages need both`);
  }
}

/** The base and compatibility arch of a setting, with their defaults. */
export function multilibArches(setting: MultilibSetting): { base: string; compat: string } {
  return { base: setting.arch ?? 'x86_64', compat: setting.compat ?? 'i686' };
}

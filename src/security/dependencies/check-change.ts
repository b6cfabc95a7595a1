/**
 * The dependencies step of a change: repoclosure, done as the change is published. Every package
 * the change adds must have each requirement satisfied by the distribution after the change (its
 * packages, minus what the change removes or replaces, plus what it adds) or by a base source (a
 * distribution's OS repositories). A package already in the distribution whose requirement the
 * change's removals break (satisfied before, not after) is reported too, as `existing`: it did not
 * change, but the change leaves it uninstallable. Requirements that were already unsatisfied
 * before the change are not blamed on it.
 */
import type { PackageCapabilities } from './model.ts';
import { type ProviderSource, ProvidesIndex, satisfied } from './provides-index.ts';
import { mentionedNames } from './requirement.ts';

export interface DependencyReport {
  /** NEVRA or name_version_arch. */
  package: string;
  /** The package's index entry key. */
  key: string;
  /** Requirements as written that nothing satisfies after the change. */
  missing: string[];
  /** `added`: a package of the change; `existing`: already in the distribution, broken by the change's removals. */
  origin: 'added' | 'existing';
}

/**
 * `index` is the distribution's current revision (DistributionProvides.forRevision), `base` the
 * base sources' indexes, `adding` the change's packages, `removingKeys` the index keys it removes
 * (an added key that is in the index replaces that package: no need to list it). Returns one report
 * per package with something missing; an empty list means the change keeps the distribution closed.
 */
export async function checkChange(index: ProvidesIndex, base: ProvidesIndex[], adding: PackageCapabilities[], removingKeys: string[]): Promise<DependencyReport[]> {
  // The change's packages with every path they ship: they are at hand, and one may need another's file.
  const overlay = new ProvidesIndex({ files: 'all' });
  for (const pkg of adding) overlay.add(pkg);
  const removed = new Set(removingKeys.filter((k) => index.has(k)));
  for (const pkg of adding) if (index.has(pkg.key)) removed.add(pkg.key);

  const baseSources: ProviderSource[] = base.map((b) => ({ index: b }));
  const after: ProviderSource[] = [{ index: overlay }, { index, exclude: removed }, ...baseSources];
  const reports: DependencyReport[] = [];
  for (const pkg of adding) {
    const missing = pkg.requires.filter((r) => !satisfied(after, pkg, r.requirement)).map((r) => r.text);
    if (missing.length > 0) reports.push({ package: pkg.label, key: pkg.key, missing, origin: 'added' });
  }
  if (removed.size === 0) return reports;

  // What the removed packages offered: only requirers mentioning one of these can break.
  const lost = new Set<string>();
  for (const key of removed) {
    const pkg = index.get(key)!;
    for (const c of pkg.provides) lost.add(c.name);
    for (const path of pkg.files) lost.add(path);
  }
  const before: ProviderSource[] = [{ index }, ...baseSources];
  const adds = new Set(adding.map((p) => p.key));
  for (const pkg of index.requirersOf(lost)) {
    if (removed.has(pkg.key) || adds.has(pkg.key)) continue;
    const missing: string[] = [];
    for (const r of pkg.requires) {
      if (![...mentionedNames(r.requirement)].some((n) => lost.has(n))) continue;
      if (satisfied(before, pkg, r.requirement) && !satisfied(after, pkg, r.requirement)) missing.push(r.text);
    }
    if (missing.length > 0) reports.push({ package: pkg.label, key: pkg.key, missing, origin: 'existing' });
  }
  return reports;
}

import { parseDebControl } from '../formats/deb/control.ts';
import type { RpmPackage } from '../formats/rpm/model.ts';
import { aptKey } from '../ingest/apt-entry.ts';
import { rpmKey } from '../ingest/rpm-entry.ts';
import { versionCompare } from '../security/advisories/version-order.ts';
import { debCapabilities } from '../security/dependencies/deb-capabilities.ts';
import { parseDebRelations } from '../security/dependencies/deb-relations.ts';
import type { PackageCapabilities } from '../security/dependencies/model.ts';
import { type ProviderSource, ProvidesIndex, satisfied } from '../security/dependencies/provides-index.ts';
import { mentionedNames } from '../security/dependencies/requirement.ts';
import { rpmCapabilities } from '../security/dependencies/rpm-capabilities.ts';
import type { CatalogPackage } from './catalog.ts';

/** The most packages one import may pull in as dependencies (a runaway closure is a mistake, not a request). */
const MAX_CLOSURE = 2000;

/** A catalog package's requirements and provides, in the model the dependency check uses. */
export function catalogCapabilities(p: CatalogPackage): PackageCapabilities {
  if (p.kind === 'apt') {
    const fields = [`Package: ${p.name}`, `Version: ${p.version}`, `Architecture: ${p.architecture}`];
    if (p.depends) fields.push(`Depends: ${p.depends}`);
    if (p.preDepends) fields.push(`Pre-Depends: ${p.preDepends}`);
    if (p.provides) fields.push(`Provides: ${p.provides}`);
    const control = parseDebControl(`${fields.join('\n')}\n`);
    return debCapabilities(control, aptKey(p.component ?? '', p.name, p.architecture, p.version));
  }
  const m = /^(?:(\d+):)?(.+)-([^-]+)$/.exec(p.version);
  const pkg = {
    name: p.name,
    epoch: m?.[1] ?? '0',
    version: m?.[2] ?? p.version,
    release: m?.[3] ?? '',
    arch: p.architecture,
    isSource: p.architecture === 'src' || p.architecture === 'nosrc',
    provides: p.rpmProvides ?? [],
    requires: p.requires ?? [],
    files: (p.files ?? []).map((path) => ({ path, type: 'file' as const })),
  } as unknown as RpmPackage;
  return rpmCapabilities(pkg, rpmKey(pkg));
}

export function newestFirst(a: CatalogPackage, b: CatalogPackage): number {
  return versionCompare(a.kind === 'apt' ? 'deb' : 'rpm')(b.version, a.version);
}

/** Names a catalog package answers to: its own, and what it provides. */
function providedNames(p: CatalogPackage): string[] {
  if (p.kind === 'rpm') return [p.name, ...(p.rpmProvides ?? []).map((d) => d.name), ...(p.files ?? [])];
  const names = [p.name];
  for (const group of parseDebRelations(p.provides ?? '')) for (const alt of group.alternatives) names.push(alt.name);
  return names;
}

export interface Closure {
  /** Packages added to satisfy the chosen ones, in the order they were found. */
  added: CatalogPackage[];
  /** Requirements neither the distribution nor the catalog satisfies (the gate's dependency step reports them). */
  unresolved: string[];
}

/**
 * What else to import with `chosen`: every requirement the target distribution (with its base
 * distributions, `installed`) and the packages chosen so far leave unsatisfied is looked up in the
 * catalog by name and provides, and the newest provider the distribution accepts is added, until
 * nothing more can be satisfied.
 */
export function dependencyClosure(chosen: CatalogPackage[], catalog: CatalogPackage[], installed: ProviderSource[], accepts: (arch: string) => boolean): Closure {
  const byName = new Map<string, CatalogPackage[]>();
  for (const p of catalog) {
    if (!accepts(p.architecture)) continue;
    for (const name of providedNames(p)) byName.set(name, [...(byName.get(name) ?? []), p]);
  }
  for (const list of byName.values()) list.sort(newestFirst);
  const overlay = new ProvidesIndex({ files: 'all' });
  const taken = new Set<string>();
  const queue: PackageCapabilities[] = [];
  const take = (p: CatalogPackage) => {
    const caps = catalogCapabilities(p);
    taken.add(`${p.name} ${p.architecture}`);
    overlay.add(caps);
    queue.push(caps);
  };
  for (const p of chosen) take(p);
  const added: CatalogPackage[] = [];
  const unresolved = new Set<string>();
  const sources = (): ProviderSource[] => [{ index: overlay }, ...installed];
  while (queue.length > 0 && added.length < MAX_CLOSURE) {
    const pkg = queue.shift()!;
    for (const entry of pkg.requires) {
      if (satisfied(sources(), pkg, entry.requirement)) continue;
      // The newest provider of a mentioned name that satisfies the requirement by itself.
      let found: CatalogPackage | undefined;
      for (const name of mentionedNames(entry.requirement)) {
        const providers = [...(byName.get(name) ?? [])].filter((p) => !taken.has(`${p.name} ${p.architecture}`));
        for (const p of providers) {
          const trial = new ProvidesIndex({ files: 'all' });
          trial.add(catalogCapabilities(p));
          if (satisfied([{ index: trial }, ...sources()], pkg, entry.requirement)) {
            found = p;
            break;
          }
        }
        if (found) break;
      }
      if (found) {
        take(found);
        added.push(found);
      } else unresolved.add(`${pkg.label}: ${entry.text}`);
    }
  }
  return { added, unresolved: [...unresolved] };
}

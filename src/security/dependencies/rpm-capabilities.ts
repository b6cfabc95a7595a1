/**
 * An RPM package's capabilities, from the neutral package model (formats/rpm/model.ts).
 *
 * - Provides: the header's provides, plus `name = epoch:version-release` when the header lacks it
 *   (libsolv adds this self-provide to every rpm-md solvable; rpmbuild always writes it).
 * - Files: every path in the file list, directories and ghosts included (libsolv's file provides).
 * - Requires: the model's requires. createrepo_c already dropped `rpmlib(...)` entries (satisfied by
 *   rpm itself, never by a package), the package's own primary files and requires identical to a
 *   provide; `rpmlib(...)` is skipped here too for records written by other tools. `config(name)`
 *   is an ordinary name (rpmbuild pairs it with a matching provide). A name starting with '/' is a
 *   file dependency; one starting with '(' a rich dependency (rpm-rich.ts).
 * - Source packages: their requires are build requirements, and they provide nothing a binary
 *   package can use: both lists are empty.
 * Recommends, Suggests, Supplements and Enhances are weak: never required.
 */
import type { RpmDependency, RpmPackage } from '../../formats/rpm/model.ts';
import { nevra, rpmKey } from '../../ingest/rpm-entry.ts';
import type { Capability, PackageCapabilities, Relation, RequirementEntry } from './model.ts';
import { uncheckedReasons } from './requirement.ts';
import { parseRichDependency, simpleRequirement } from './rpm-rich.ts';

const RELATIONS: Record<NonNullable<RpmDependency['flags']>, Relation> = { LT: '<', LE: '<=', EQ: '=', GE: '>=', GT: '>' };

/** `epoch:version[-release]`, the form capability versions take; undefined without a version. */
export function rpmDependencyVersion(dep: Pick<RpmDependency, 'epoch' | 'version' | 'release'>): string | undefined {
  if (dep.version === undefined) return undefined;
  return `${dep.epoch ?? '0'}:${dep.version}${dep.release ? `-${dep.release}` : ''}`;
}

/** The dependency as rpm -qR prints it: `name`, `name >= 1.0-1`, `name = 2:1.0` (epoch 0 not shown). */
export function rpmDependencyText(dep: RpmDependency): string {
  if (!dep.flags || dep.version === undefined) return dep.name;
  const epoch = dep.epoch && dep.epoch !== '0' ? `${dep.epoch}:` : '';
  const op = RELATIONS[dep.flags];
  return `${dep.name} ${op} ${epoch}${dep.version}${dep.release ? `-${dep.release}` : ''}`;
}

function capability(dep: RpmDependency): Capability {
  const version = rpmDependencyVersion(dep);
  return dep.flags && version !== undefined ? { name: dep.name, relation: RELATIONS[dep.flags], version } : { name: dep.name };
}

export function rpmRequirement(dep: RpmDependency): RequirementEntry {
  const text = rpmDependencyText(dep);
  if (dep.name.startsWith('(')) return { text, requirement: parseRichDependency(dep.name) };
  const version = rpmDependencyVersion(dep);
  return { text, requirement: simpleRequirement(dep.name, dep.flags && version !== undefined ? RELATIONS[dep.flags] : undefined, version) };
}

/** `key` defaults to the package's index entry key. */
export function rpmCapabilities(pkg: RpmPackage, key: string = rpmKey(pkg)): PackageCapabilities {
  const version = `${pkg.epoch || '0'}:${pkg.version}-${pkg.release}`;
  const base = { format: 'rpm' as const, key, label: nevra(pkg), name: pkg.name, version, arch: pkg.arch };
  if (pkg.isSource) return { ...base, provides: [], files: [], requires: [], notes: ['source package: build requirements are not checked'] };
  const provides = pkg.provides.map(capability);
  if (!provides.some((p) => p.name === pkg.name && p.relation === '=' && p.version === version)) provides.push({ name: pkg.name, relation: '=', version });
  const notes: string[] = [];
  const requires: RequirementEntry[] = [];
  for (const dep of pkg.requires) {
    if (dep.name.startsWith('rpmlib(')) continue;
    const entry = rpmRequirement(dep);
    for (const reason of uncheckedReasons(entry.requirement)) notes.push(`${entry.text}: ${reason}`);
    requires.push(entry);
  }
  return { ...base, provides, files: pkg.files.map((f) => f.path), requires, notes };
}

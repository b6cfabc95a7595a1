/**
 * A requirement read back from its text, for the dependency index, which keeps the text alone of
 * most requirements (provides-index.ts). The texts are the ones rpmRequirement (`name`,
 * `name >= 1.0-1`, `name = 2:1.0`, a rich `(a or b)`) and debCapabilities (a relationship group as
 * written) make; the index keeps a requirement as text only where this gives back exactly what was
 * parsed, so a text from elsewhere costs memory, never a wrong answer.
 */
import { debGroupRequirement, parseDebRelations } from './deb-relations.ts';
import type { PackageFormat, Relation, Requirement } from './model.ts';
import { parseRichDependency, simpleRequirement } from './rpm-rich.ts';

const RPM_SIMPLE = /^(\S+)(?: (<=|>=|<|>|=) (\S+))?$/;

/** The requirement a text says, or null where the text alone does not say it. */
export function requirementFromText(format: PackageFormat, text: string): Requirement | null {
  if (format === 'deb') {
    const groups = parseDebRelations(text);
    return groups.length === 1 && groups[0]!.text === text ? debGroupRequirement(groups[0]!) : null;
  }
  if (text.startsWith('(')) return parseRichDependency(text);
  const m = RPM_SIMPLE.exec(text);
  if (!m) return null;
  const [, name, relation, version] = m as unknown as [string, string, Relation | undefined, string | undefined];
  // rpm -qR leaves out epoch 0; the index's versions always carry the epoch.
  if (relation && version) return simpleRequirement(name, relation, version.includes(':') ? version : `0:${version}`);
  return simpleRequirement(name);
}

/** Whether two requirements say the same (their fields, not their object identity). */
export function sameRequirement(a: Requirement | null, b: Requirement): boolean {
  if (!a || a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'name': {
      const o = b as typeof a;
      return a.name === o.name && a.relation === o.relation && a.version === o.version && a.arch === o.arch;
    }
    case 'file':
      return a.path === (b as typeof a).path;
    case 'or':
    case 'and':
    case 'with': {
      const o = b as typeof a;
      return a.of.length === o.of.length && a.of.every((r, i) => sameRequirement(r, o.of[i]!));
    }
    case 'without': {
      const o = b as typeof a;
      return sameRequirement(a.base, o.base) && sameRequirement(a.not, o.not);
    }
    case 'unchecked':
    case 'invalid':
      return a.reason === (b as typeof a).reason;
  }
}

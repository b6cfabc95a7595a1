/**
 * Whether a provided capability matches a versioned requirement, by each format's rules.
 */
import { compareDebVersions } from '../../formats/deb/version.ts';
import { splitDependencyEvr } from '../../formats/rpm/evr.ts';
import { compareEvr } from '../../formats/rpm/vercmp.ts';
import type { Capability, Relation } from './model.ts';

interface Versioned {
  relation?: Relation;
  version?: string;
}

const LESS = new Set<Relation>(['<', '<=']);
const GREATER = new Set<Relation>(['>', '>=']);
const EQUAL = new Set<Relation>(['<=', '=', '>=']);

/**
 * rpm's rpmdsCompare (rpmds.c): a requirement and a provide match when their version ranges
 * overlap. Either side without a relation or with an empty version (a plain `Provides: foo`,
 * `Requires: foo`) overlaps everything. Versions compare as rpmverCmp does: epoch, version, and the
 * release only when both sides have one (`foo >= 1.0` accepts every release of 1.0).
 */
export function rpmMatches(requirement: Versioned, provide: Capability): boolean {
  if (!requirement.relation || !requirement.version || !provide.relation || !provide.version) return true;
  const a = splitDependencyEvr(provide.version);
  const b = splitDependencyEvr(requirement.version);
  if (!a?.version || !b?.version) return false;
  const sense = compareEvr({ epoch: a.epoch, version: a.version, release: a.release }, { epoch: b.epoch, version: b.version, release: b.release });
  const pa = provide.relation;
  const rb = requirement.relation;
  if (sense < 0) return GREATER.has(pa) || LESS.has(rb);
  if (sense > 0) return LESS.has(pa) || GREATER.has(rb);
  return (EQUAL.has(pa) && EQUAL.has(rb)) || (LESS.has(pa) && LESS.has(rb)) || (GREATER.has(pa) && GREATER.has(rb));
}

/** Whether `version` stands in `relation` to `wanted` (Debian: `<<` is '<', `>>` is '>'). */
export function debRelationHolds(version: string, relation: Relation, wanted: string): boolean {
  let c: number;
  try {
    c = compareDebVersions(version, wanted);
  } catch {
    return false; // an unparsable version satisfies nothing (dpkg refuses it)
  }
  switch (relation) {
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '=':
      return c === 0;
    case '>=':
      return c >= 0;
    case '>':
      return c > 0;
  }
}

/**
 * Debian Policy §7.5: an unversioned requirement is satisfied by the package or any provide of
 * the name; a versioned one only by the real package or a versioned provide (`Provides: foo (= 1)`)
 * whose version satisfies it.
 */
export function debMatches(requirement: Versioned, provide: Capability): boolean {
  if (!requirement.relation || !requirement.version) return true;
  if (!provide.version) return false;
  return debRelationHolds(provide.version, requirement.relation, requirement.version);
}

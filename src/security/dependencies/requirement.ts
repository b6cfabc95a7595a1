/**
 * Walks over parsed requirements: the names and paths they mention (what the index's reverse map
 * keys requirers by) and the parts that are not checked (for notes).
 */
import type { Requirement } from './model.ts';

/** Every name and file path a requirement mentions, whichever way it would be satisfied. */
export function mentionedNames(requirement: Requirement, out: Set<string> = new Set()): Set<string> {
  switch (requirement.kind) {
    case 'name':
      out.add(requirement.name);
      break;
    case 'file':
      out.add(requirement.path);
      break;
    case 'or':
    case 'and':
    case 'with':
      for (const r of requirement.of) mentionedNames(r, out);
      break;
    case 'without':
      mentionedNames(requirement.base, out);
      break;
    default:
      break;
  }
  return out;
}

/** Why parts of a requirement are not checked (empty when all of it is). */
export function uncheckedReasons(requirement: Requirement): string[] {
  switch (requirement.kind) {
    case 'unchecked':
      return [requirement.reason];
    case 'or':
    case 'and':
    case 'with':
      return requirement.of.flatMap(uncheckedReasons);
    default:
      return [];
  }
}

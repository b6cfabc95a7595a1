/**
 * Debian relationship fields (Depends, Pre-Depends, Provides, ...), Debian Policy §7.1 "Syntax of
 * relationship fields": a comma-separated list of groups; a group is alternatives separated by
 * '|'; an alternative is a package name, an optional architecture qualifier (`:any`, `:native`,
 * `:amd64`), an optional version restriction in parentheses with one of `<<`, `<=`, `=`, `>=`,
 * `>>`, and, in source packages' fields only, an architecture restriction list `[...]` and
 * build-profile restriction formulas `<...>` (read and ignored here: binary packages, which the
 * dependencies step checks, never carry them). White space, line breaks included, may appear
 * around every part. The obsolete single `<` and `>` mean `<=` and `>=`, as dpkg still reads them.
 */
import type { Relation, Requirement } from './model.ts';

const OPERATORS: Record<string, Relation> = { '<<': '<', '<=': '<=', '=': '=', '>=': '>=', '>>': '>', '<': '<=', '>': '>=' };

/** One alternative of a relationship: a name, maybe arch-qualified and versioned. */
export interface DebRelation {
  name: string;
  arch?: string;
  relation?: Relation;
  version?: string;
}

/** One comma-separated group with its text as written; `error` when it does not parse. */
export interface DebRelationGroup {
  text: string;
  alternatives: DebRelation[];
  error?: string;
}

/** Splits a relationship field into groups of alternatives; malformed groups carry an `error` (never throws). */
export function parseDebRelations(field: string): DebRelationGroup[] {
  const out: DebRelationGroup[] = [];
  for (const part of field.split(',')) {
    const text = part.replace(/\s+/g, ' ').trim();
    if (text === '') continue; // dpkg tolerates an empty group (a trailing comma)
    const alternatives: DebRelation[] = [];
    let error: string | undefined;
    for (const alt of text.split('|')) {
      const parsed = parseAlternative(alt);
      if (typeof parsed === 'string') {
        error = parsed;
        break;
      }
      alternatives.push(parsed);
    }
    out.push(error ? { text, alternatives: [], error } : { text, alternatives });
  }
  return out;
}

/**
 * Policy §5.6.1 names: lower-case letters, digits, '+', '-', '.', starting alphanumeric. Upper case
 * is accepted as dpkg's own name check (pkg_name_is_invalid) accepts it.
 */
const NAME = /^[A-Za-z0-9][A-Za-z0-9+.-]*$/;

function parseAlternative(input: string): DebRelation | string {
  let rest = input.trim();
  const m = /^([^\s:(<[]+)(?::([^\s(<[]+))?/.exec(rest);
  if (!m) return `no package name in '${input.trim()}'`;
  const [, name, arch] = m;
  if (!NAME.test(name!)) return `invalid package name '${name}'`;
  if (arch !== undefined && !/^[a-z0-9-]+$/.test(arch)) return `invalid architecture qualifier '${arch}'`;
  rest = rest.slice(m[0].length).trim();
  const out: DebRelation = { name: name!, ...(arch !== undefined ? { arch } : {}) };
  if (rest.startsWith('(')) {
    const close = rest.indexOf(')');
    if (close < 0) return `unclosed version restriction in '${input.trim()}'`;
    const inner = rest.slice(1, close).trim();
    const v = /^(<<|<=|>=|>>|=|<|>)\s*([^\s<>=]\S*)$/.exec(inner);
    if (!v) return `invalid version restriction '(${inner})'`;
    const relation = OPERATORS[v[1]!];
    if (!relation) return `unknown relation '${v[1]}'`;
    out.relation = relation;
    out.version = v[2]!;
    rest = rest.slice(close + 1).trim();
  }
  // Source-only restrictions: architecture lists and build profiles.
  while (rest.startsWith('[') || rest.startsWith('<')) {
    const close = rest.indexOf(rest[0] === '[' ? ']' : '>');
    if (close < 0) return `unclosed restriction in '${input.trim()}'`;
    rest = rest.slice(close + 1).trim();
  }
  if (rest !== '') return `unexpected '${rest}' in '${input.trim()}'`;
  return out;
}

/** A group as a requirement: one alternative is a name requirement, several an `or`. */
export function debGroupRequirement(group: DebRelationGroup): Requirement {
  if (group.error) return { kind: 'invalid', reason: group.error };
  const of: Requirement[] = group.alternatives.map((a) => ({
    kind: 'name',
    name: a.name,
    ...(a.relation ? { relation: a.relation, version: a.version } : {}),
    ...(a.arch ? { arch: a.arch } : {}),
  }));
  return of.length === 1 ? of[0]! : { kind: 'or', of };
}

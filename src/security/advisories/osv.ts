/**
 * One OSV advisory (ossf/osv-schema, docs/schema.md), validated and reduced to the fields the
 * gate uses. What is checked is what would otherwise be misread: required strings, the event
 * objects of a range (exactly one of introduced/fixed/last_affected/limit each, at least one
 * introduced, never both fixed and last_affected), and the shapes of the lists. Fields the
 * matcher never reads (credits, ecosystem_specific: Ubuntu's lists every binary) are dropped to
 * keep a feed of tens of thousands of advisories small in memory.
 */
import { RepodError } from '../../errors.ts';

export type OsvEvent = { introduced: string } | { fixed: string } | { last_affected: string } | { limit: string };

export interface OsvRange {
  /** ECOSYSTEM is what distributions publish; SEMVER and GIT ranges are kept but never matched. */
  type: string;
  events: OsvEvent[];
}

export interface OsvSeverity {
  /** CVSS_V2, CVSS_V3, CVSS_V4, Ubuntu, or a type this code does not know (then ignored). */
  type: string;
  score: string;
}

export interface OsvAffected {
  package: { ecosystem: string; name: string; purl?: string };
  ranges: OsvRange[];
  versions: string[];
  /** Per-package severity; when any affected entry has one the top-level list is absent. */
  severity?: OsvSeverity[];
  database_specific?: Record<string, unknown>;
}

export interface OsvReference {
  type: string;
  url: string;
}

export interface OsvAdvisory {
  id: string;
  /** Other ids of the same vulnerability: `aliases`, `upstream` and the CVE ids in `related` (AlmaLinux lists its CVEs only there). */
  aliases: string[];
  modified: string;
  published?: string;
  /** Set when the advisory was retracted: it stays in the feed (a newer record may follow) but matches nothing. */
  withdrawn?: string;
  summary?: string;
  details?: string;
  severity?: OsvSeverity[];
  affected: OsvAffected[];
  references: OsvReference[];
  database_specific?: Record<string, unknown>;
}

/** A file or record that is not a valid OSV advisory. Names the file (and record) and what is wrong. */
export class AdvisoryFormatError extends RepodError {
  readonly problem: string;
  constructor(name: string, problem: string) {
    super('invalid_advisory', `${name}: ${problem}`, { status: 422, details: { name, problem } });
    this.problem = problem;
  }
}

const EVENT_KINDS = ['introduced', 'fixed', 'last_affected', 'limit'] as const;

/** Validates `json` as one OSV advisory; `name` (a file, or file#index) goes into every error. */
export function parseOsvAdvisory(json: unknown, name: string): OsvAdvisory {
  const fail = (problem: string): never => {
    throw new AdvisoryFormatError(name, problem);
  };
  if (!isObject(json)) fail('an advisory must be a JSON object');
  const o = json as Record<string, unknown>;
  const id = requiredString(o, 'id', fail);
  const at = (problem: string) => fail(`${id}: ${problem}`);
  const modified = requiredString(o, 'modified', at);
  if (Number.isNaN(Date.parse(modified))) at(`modified '${modified}' is not an RFC 3339 time`);

  const advisory: OsvAdvisory = {
    id,
    aliases: aliasesOf(o, at),
    modified,
    affected: [],
    references: [],
  };
  const published = optionalString(o, 'published', at);
  if (published !== undefined) advisory.published = published;
  const withdrawn = optionalString(o, 'withdrawn', at);
  if (withdrawn !== undefined) advisory.withdrawn = withdrawn;
  const summary = optionalString(o, 'summary', at);
  if (summary !== undefined) advisory.summary = summary;
  const details = optionalString(o, 'details', at);
  if (details !== undefined) advisory.details = details;
  const severity = severityList(o.severity, 'severity', at);
  if (severity) advisory.severity = severity;
  if (o.database_specific !== undefined && o.database_specific !== null) {
    if (!isObject(o.database_specific)) at('database_specific must be an object');
    advisory.database_specific = o.database_specific as Record<string, unknown>;
  }

  for (const [i, entry] of listOf(o.affected, 'affected', at).entries()) {
    const affected = affectedEntry(entry, `affected[${i}]`, at);
    if (affected) advisory.affected.push(affected);
  }
  for (const [i, entry] of listOf(o.references, 'references', at).entries()) {
    if (!isObject(entry)) at(`references[${i}] must be an object`);
    const r = entry as Record<string, unknown>;
    const url = requiredString(r, 'url', (p) => at(`references[${i}]: ${p}`));
    const type = optionalString(r, 'type', (p) => at(`references[${i}]: ${p}`)) ?? 'WEB';
    advisory.references.push({ type, url });
  }
  return advisory;
}

/** aliases + upstream + the vulnerability ids among `related` (CVE-, GHSA-), without repeats. */
function aliasesOf(o: Record<string, unknown>, at: (p: string) => never): string[] {
  const out = new Set<string>();
  for (const field of ['aliases', 'upstream']) {
    for (const [i, a] of listOf(o[field], field, at).entries()) {
      if (typeof a !== 'string') at(`${field}[${i}] must be a string`);
      out.add(a as string);
    }
  }
  for (const [i, r] of listOf(o.related, 'related', at).entries()) {
    // Both forms exist: a plain id, or {type, id} in newer records.
    const rid = typeof r === 'string' ? r : isObject(r) && typeof r.id === 'string' ? r.id : at(`related[${i}] must be an id or {type, id}`);
    if (/^(CVE|GHSA)-/.test(rid)) out.add(rid);
  }
  out.delete(o.id as string);
  return [...out];
}

/** One affected entry, or undefined when it names no package (GIT-only entries: nothing to match). */
function affectedEntry(entry: unknown, path: string, at: (p: string) => never): OsvAffected | undefined {
  if (!isObject(entry)) at(`${path} must be an object`);
  const e = entry as Record<string, unknown>;
  if (e.package === undefined || e.package === null) return undefined;
  if (!isObject(e.package)) at(`${path}.package must be an object`);
  const p = e.package as Record<string, unknown>;
  const ecosystem = requiredString(p, 'ecosystem', (m) => at(`${path}.package: ${m}`));
  const name = requiredString(p, 'name', (m) => at(`${path}.package: ${m}`));
  const affected: OsvAffected = { package: { ecosystem, name }, ranges: [], versions: [] };
  const purl = optionalString(p, 'purl', (m) => at(`${path}.package: ${m}`));
  if (purl !== undefined) affected.package.purl = purl;

  for (const [i, v] of listOf(e.versions, `${path}.versions`, at).entries()) {
    if (typeof v !== 'string') at(`${path}.versions[${i}] must be a string`);
    affected.versions.push(v as string);
  }
  for (const [i, r] of listOf(e.ranges, `${path}.ranges`, at).entries()) {
    affected.ranges.push(range(r, `${path}.ranges[${i}]`, at));
  }
  const severity = severityList(e.severity, `${path}.severity`, at);
  if (severity) affected.severity = severity;
  if (isObject(e.database_specific) && e.database_specific.severity !== undefined) {
    // Only the severity is read from here; the rest (source URLs, CPEs) is dropped.
    affected.database_specific = { severity: e.database_specific.severity };
  }
  return affected;
}

function range(r: unknown, path: string, at: (p: string) => never): OsvRange {
  if (!isObject(r)) at(`${path} must be an object`);
  const o = r as Record<string, unknown>;
  const type = requiredString(o, 'type', (m) => at(`${path}: ${m}`));
  if (!Array.isArray(o.events) || o.events.length === 0) at(`${path}.events must be a non-empty array`);
  const events: OsvEvent[] = [];
  const seen = new Set<string>();
  for (const [i, ev] of (o.events as unknown[]).entries()) {
    if (!isObject(ev)) at(`${path}.events[${i}] must be an object`);
    const keys = EVENT_KINDS.filter((k) => (ev as Record<string, unknown>)[k] !== undefined);
    if (keys.length !== 1) at(`${path}.events[${i}] must have exactly one of ${EVENT_KINDS.join(', ')}`);
    const kind = keys[0]!;
    const value = (ev as Record<string, unknown>)[kind];
    if (typeof value !== 'string' || value === '') at(`${path}.events[${i}].${kind} must be a non-empty string`);
    seen.add(kind);
    events.push(event(kind, value as string));
  }
  if (!seen.has('introduced')) at(`${path}.events has no introduced event`);
  if (seen.has('fixed') && seen.has('last_affected')) at(`${path}.events has both fixed and last_affected events`);
  return { type, events };
}

/** Literal objects, one shape per kind: a computed key would make each event a dictionary-mode object. */
function event(kind: (typeof EVENT_KINDS)[number], value: string): OsvEvent {
  switch (kind) {
    case 'introduced':
      return { introduced: value };
    case 'fixed':
      return { fixed: value };
    case 'last_affected':
      return { last_affected: value };
    default:
      return { limit: value };
  }
}

function severityList(value: unknown, path: string, at: (p: string) => never): OsvSeverity[] | undefined {
  const list = listOf(value, path, at);
  if (list.length === 0) return undefined;
  return list.map((s, i) => {
    if (!isObject(s)) at(`${path}[${i}] must be an object`);
    const o = s as Record<string, unknown>;
    return { type: requiredString(o, 'type', (m) => at(`${path}[${i}]: ${m}`)), score: requiredString(o, 'score', (m) => at(`${path}[${i}]: ${m}`)) };
  });
}

/** An optional list: absent and null (the schema allows both) are empty. */
function listOf(value: unknown, path: string, at: (p: string) => never): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) at(`${path} must be an array`);
  return value as unknown[];
}

function requiredString(o: Record<string, unknown>, key: string, at: (p: string) => never): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') at(`${key} must be a non-empty string`);
  return v as string;
}

function optionalString(o: Record<string, unknown>, key: string, at: (p: string) => never): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') at(`${key} must be a string`);
  return v as string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

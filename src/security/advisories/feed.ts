/**
 * The advisories repod matches packages against, indexed by ecosystem and package name so a
 * package costs the advisories that name it, not the whole feed. Debian and Ubuntu advisories
 * name source packages and their versions, so a .deb is looked up by its Source and source
 * version (as Trivy and Grype do); an rpm by its own name and, when known, its source rpm's name.
 *
 * Merging is order-independent: of two records with one id the later `modified` wins, and at
 * equal times the one with the greater content digest, so every server that loads the same files
 * in any order holds the same feed and reports the same version().
 */
import { ecosystemVersionKind } from './ecosystem.ts';
import { type FixState, matchAffected } from './match.ts';
import type { OsvAdvisory, OsvAffected } from './osv.ts';
import { advisorySeverity, type RatedSeverity, type Severity, severityRank } from './severity.ts';
import { versionCompare } from './version-order.ts';

export interface PackageIdentity {
  kind: 'rpm' | 'deb';
  name: string;
  /** .deb: the Source name (else the name). rpm: the source rpm's name when known (sourceRpmName). */
  source?: string;
  /** Full version: rpm [epoch:]version-release; deb the binary version. */
  version: string;
  /** .deb: the source version from `Source: name (ver)` when it differs. */
  sourceVersion?: string;
  arch?: string;
}

export interface Finding {
  /** The advisory's id (DSA-..., USN-..., ALSA-..., CVE-...). */
  id: string;
  aliases: string[];
  severity: Severity;
  /** The CVSS base score, when the advisory carries a vector that scores. */
  cvss?: number;
  summary: string;
  fixState: FixState;
  /** Versions that fix it, for fixState 'fixed'. */
  fixVersions: string[];
  urls: string[];
  /** The package name the advisory matched (the source package for .deb). */
  package: string;
  /** The version compared (the source version for .deb). */
  version: string;
  ecosystem: string;
  modified: string;
}

interface Held {
  advisory: OsvAdvisory;
  digest: [number, number];
}

export class AdvisoryFeed {
  private readonly byId = new Map<string, Held>();
  /** ecosystem -> package name -> advisories naming it (each once). */
  private readonly index = new Map<string, Map<string, OsvAdvisory[]>>();
  /** Sums of the per-advisory digests, mod 2^32 per lane: updated in O(1) when one is replaced. */
  private sumA = 0;
  private sumB = 0;
  private readonly ratings = new WeakMap<object, RatedSeverity>();

  /** Adds advisories; a record of an id already held replaces it only when its `modified` is later. */
  add(advisories: Iterable<OsvAdvisory>): void {
    for (const advisory of advisories) {
      const digest = contentDigest(advisory);
      const held = this.byId.get(advisory.id);
      if (held) {
        if (!supersedes(advisory, digest, held)) continue;
        this.remove(held);
      }
      this.insert({ advisory, digest });
    }
  }

  /** How many of these records add() would take in (new ids, or later versions of held ones). */
  changes(advisories: Iterable<OsvAdvisory>): number {
    let n = 0;
    const taken = new Map<string, Held>();
    for (const advisory of advisories) {
      const digest = contentDigest(advisory);
      const held = taken.get(advisory.id) ?? this.byId.get(advisory.id);
      if (held && !supersedes(advisory, digest, held)) continue;
      taken.set(advisory.id, { advisory, digest });
      n++;
    }
    return n;
  }

  get size(): number {
    return this.byId.size;
  }

  /** The ecosystems some advisory names, sorted. */
  ecosystems(): string[] {
    return [...this.index.keys()].sort();
  }

  /** Changes whenever the set of advisories held changes; equal on every server holding the same ones. */
  version(): string {
    return `${this.byId.size.toString(36)}-${hex(this.sumA)}${hex(this.sumB)}`;
  }

  get(id: string): OsvAdvisory | undefined {
    return this.byId.get(id)?.advisory;
  }

  /** Every advisory held, in no particular order. */
  advisories(): OsvAdvisory[] {
    return [...this.byId.values()].map((h) => h.advisory);
  }

  /** An independent copy (advisory records are shared: they are never modified). */
  clone(): AdvisoryFeed {
    const copy = new AdvisoryFeed();
    for (const [id, held] of this.byId) copy.byId.set(id, held);
    for (const [ecosystem, names] of this.index) {
      const m = new Map<string, OsvAdvisory[]>();
      for (const [name, list] of names) m.set(name, list.slice());
      copy.index.set(ecosystem, m);
    }
    copy.sumA = this.sumA;
    copy.sumB = this.sumB;
    return copy;
  }

  /** The advisories of `ecosystem` that affect this package version, worst first. */
  findings(ecosystem: string, pkg: PackageIdentity): Finding[] {
    const names = this.index.get(ecosystem);
    if (!names) return [];
    const compare = versionCompare(ecosystemVersionKind(ecosystem) ?? pkg.kind);
    const deb = pkg.kind === 'deb';
    const version = deb ? (pkg.sourceVersion ?? pkg.version) : pkg.version;
    // Debian and Ubuntu name source packages only; rpm ecosystems name either (Red Hat: binary or source).
    const lookups = deb ? [pkg.source ?? pkg.name] : [...new Set([pkg.name, pkg.source ?? pkg.name])];

    const byId = new Map<string, Finding>();
    for (const name of lookups) {
      for (const advisory of names.get(name) ?? []) {
        if (advisory.withdrawn) continue;
        for (const affected of advisory.affected) {
          if (affected.package.ecosystem !== ecosystem || affected.package.name !== name) continue;
          const match = matchAffected(affected, version, compare);
          if (!match) continue;
          const rated = this.rate(advisory, affected);
          const seen = byId.get(advisory.id);
          if (seen) {
            merge(seen, match, rated);
            continue;
          }
          byId.set(advisory.id, {
            id: advisory.id,
            aliases: advisory.aliases,
            severity: rated.severity,
            ...(rated.cvss !== undefined ? { cvss: rated.cvss } : {}),
            summary: summaryOf(advisory),
            fixState: match.fixState,
            fixVersions: match.fixVersions.slice(),
            urls: [...new Set(advisory.references.map((r) => r.url))],
            package: name,
            version,
            ecosystem,
            modified: advisory.modified,
          });
        }
      }
    }
    return [...byId.values()].sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || (b.cvss ?? -1) - (a.cvss ?? -1) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private rate(advisory: OsvAdvisory, affected: OsvAffected): RatedSeverity {
    // Per-package severity is rare; otherwise every entry of an advisory rates the same.
    const key = affected.severity || affected.database_specific ? affected : advisory;
    let rated = this.ratings.get(key);
    if (!rated) {
      rated = advisorySeverity(advisory, affected);
      this.ratings.set(key, rated);
    }
    return rated;
  }

  private insert(held: Held): void {
    const { advisory } = held;
    this.byId.set(advisory.id, held);
    this.sumA = (this.sumA + held.digest[0]) >>> 0;
    this.sumB = (this.sumB + held.digest[1]) >>> 0;
    for (const { package: p } of advisory.affected) {
      let names = this.index.get(p.ecosystem);
      if (!names) this.index.set(p.ecosystem, (names = new Map()));
      let list = names.get(p.name);
      if (!list) names.set(p.name, (list = []));
      if (list[list.length - 1] !== advisory && !list.includes(advisory)) list.push(advisory);
    }
  }

  private remove(held: Held): void {
    const { advisory } = held;
    this.byId.delete(advisory.id);
    this.sumA = (this.sumA - held.digest[0]) >>> 0;
    this.sumB = (this.sumB - held.digest[1]) >>> 0;
    for (const { package: p } of advisory.affected) {
      const names = this.index.get(p.ecosystem);
      const list = names?.get(p.name);
      if (!names || !list) continue;
      const at = list.indexOf(advisory);
      if (at >= 0) list.splice(at, 1);
      if (list.length === 0) names.delete(p.name);
      if (names.size === 0) this.index.delete(p.ecosystem);
    }
  }
}

/** Several affected entries of one advisory matched (a binary and a source name): the worst severity, every fix. */
function merge(finding: Finding, match: { fixState: FixState; fixVersions: string[] }, rated: RatedSeverity): void {
  if (severityRank(rated.severity) > severityRank(finding.severity)) finding.severity = rated.severity;
  if (rated.cvss !== undefined && (finding.cvss === undefined || rated.cvss > finding.cvss)) finding.cvss = rated.cvss;
  for (const v of match.fixVersions) if (!finding.fixVersions.includes(v)) finding.fixVersions.push(v);
  if (finding.fixVersions.length > 0) finding.fixState = 'fixed';
  else if (match.fixState === 'not_fixed') finding.fixState = 'not_fixed';
}

function summaryOf(advisory: OsvAdvisory): string {
  if (advisory.summary?.trim()) return advisory.summary.trim();
  const line = advisory.details?.trim().split('\n')[0]?.trim();
  if (line) return line.length > 200 ? `${line.slice(0, 199)}…` : line;
  return advisory.id;
}

/** The later `modified` wins; at equal times the greater digest, so the outcome does not depend on order. */
function supersedes(advisory: OsvAdvisory, digest: [number, number], held: Held): boolean {
  return (compareTimes(advisory.modified, held.advisory.modified) || compareDigests(digest, held.digest)) > 0;
}

/** RFC 3339 times compared as instants; unparsable ones (already refused by parseOsvAdvisory) as text. */
function compareTimes(a: string, b: string): number {
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  if (Number.isNaN(ta) || Number.isNaN(tb)) return a < b ? -1 : a > b ? 1 : 0;
  return Math.sign(ta - tb);
}

function compareDigests(a: [number, number], b: [number, number]): number {
  return Math.sign(a[0] - b[0]) || Math.sign(a[1] - b[1]);
}

/**
 * Two independent 32-bit hashes of the record's JSON (FNV-1a and a multiply-rotate hash over
 * UTF-16 units). Not cryptographic: it only tells versions of the feed apart.
 */
function contentDigest(advisory: OsvAdvisory): [number, number] {
  const text = JSON.stringify(advisory);
  let a = 0x811c9dc5;
  let b = 0x9e3779b9 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
  b = Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  return [(a ^ (a >>> 16)) >>> 0, (b ^ (b >>> 16)) >>> 0];
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

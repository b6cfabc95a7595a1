import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { PreconditionFailedError } from '../errors.ts';
import { getJson, putJson } from '../storage/objects.ts';
import type { EventSink } from './events.ts';
import type { AdvisoryMatcher } from './gate/gate-services.ts';
import { publishedFindings, type ReportServices } from './vulnerability-report.ts';

interface Announced {
  format: 1;
  /** `<advisory id> <package sha256>` of every finding already announced. */
  seen: string[];
}

export interface NewFinding {
  id: string;
  severity: string;
  package: string;
  version: string;
  architecture: string;
  sha256: string;
}

/**
 * After the advisory feed changed: matches every published package again and announces the findings
 * not announced before (`new_findings`, one event per distribution). What was announced is kept in
 * the store and updated by compare-and-swap, so two servers re-matching at once announce each
 * finding once.
 */
/** The findings on published packages under a given feed, as `<advisory id> <sha256>` per distribution. */
export async function findingKeys(services: ReportServices, feed: AdvisoryMatcher): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const dist of services.distributions.all()) {
    const keys = new Set<string>();
    for await (const { entry, finding } of publishedFindings(services, [dist], undefined, feed)) keys.add(`${finding.id} ${entry.id}`);
    out.set(dist.name, keys);
  }
  return out;
}

/**
 * `before` holds the findings under the feed as it was before the change: those were known (the
 * upload answers reported them, a reviewer accepted them) and are not news, even on a bucket that
 * never announced anything yet.
 */
export async function announceNewFindings(
  services: ReportServices & { caps: Capabilities; events: EventSink },
  actor: string,
  before: Map<string, Set<string>>,
): Promise<Record<string, NewFinding[]>> {
  const out: Record<string, NewFinding[]> = {};
  for (const dist of services.distributions.all()) {
    const now = new Map<string, NewFinding>();
    const known = before.get(dist.name) ?? new Set<string>();
    for await (const { entry, identity, finding } of publishedFindings(services, [dist])) {
      now.set(`${finding.id} ${entry.id}`, {
        id: finding.id,
        severity: finding.severity,
        package: identity.name,
        version: identity.version,
        architecture: entry.arch,
        sha256: entry.id,
      });
    }
    const key = layout.announcedFindings(dist.name);
    for (let attempt = 0; attempt < 10; attempt++) {
      const stored = await getJson<Announced>(services.caps.store, key);
      const seen = new Set(stored?.value.seen ?? []);
      const fresh = [...now].filter(([k]) => !seen.has(k) && !known.has(k)).map(([, f]) => f);
      if (fresh.length === 0 && stored) break;
      try {
        // Findings that went away (fixed versions published, advisories withdrawn) are forgotten, so a relapse is announced again.
        await putJson(services.caps.store, key, { format: 1, seen: [...now.keys()].sort() } satisfies Announced, stored ? { ifMatch: stored.etag } : { ifNoneMatch: '*' });
      } catch (error) {
        if (error instanceof PreconditionFailedError) continue;
        throw error;
      }
      if (fresh.length) {
        out[dist.name] = fresh;
        services.events.emit({ type: 'new_findings', distribution: dist.name, actor, data: { findings: fresh } });
      }
      break;
    }
  }
  return out;
}

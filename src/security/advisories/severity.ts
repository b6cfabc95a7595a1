/**
 * One severity scale for every source an OSV advisory may carry. The distribution's own rating
 * comes first, as Trivy and Grype do: it is judged for the package as that distribution builds
 * it, where a CVSS vector (often the NVD's) rates the upstream code. So, in order: Ubuntu's
 * priority in severity[], a word in database_specific.severity (AlmaLinux, Rocky, Red Hat,
 * SUSE), Red Hat's "Important: ..." summary prefix, then the CVSS base score of the newest
 * vector version present (v4, v3, v2). The CVSS score is reported whenever a vector scores,
 * whichever source set the severity.
 */
import { cvssBaseScore } from './cvss.ts';
import type { OsvAdvisory, OsvAffected, OsvSeverity } from './osv.ts';

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'negligible' | 'unknown';

/** Highest first: for sorting findings and taking the worst of several. */
export const SEVERITY_ORDER: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'negligible', 'unknown'];

export function severityRank(s: Severity): number {
  return SEVERITY_ORDER.length - SEVERITY_ORDER.indexOf(s);
}

/** The rating words distributions use (Ubuntu priorities, Red Hat impacts, Debian urgencies), case-insensitive. */
const WORDS: Record<string, Severity> = {
  critical: 'critical',
  important: 'high',
  high: 'high',
  moderate: 'medium',
  medium: 'medium',
  low: 'low',
  negligible: 'negligible',
  none: 'negligible',
  unimportant: 'negligible',
};

/** A rating word on the common scale; unknown words (Ubuntu's "untriaged") are 'unknown'. */
export function severityFromWord(word: string): Severity {
  return WORDS[word.trim().toLowerCase()] ?? 'unknown';
}

/**
 * CVSS v3/v4 qualitative rating of a base score: 9.0+ critical, 7.0-8.9 high, 4.0-6.9 medium,
 * 0.1-3.9 low, 0.0 none (negligible here).
 */
export function severityFromCvss(score: number): Severity {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  if (score > 0) return 'low';
  return 'negligible';
}

/** CVSS v2 has only three bands (NVD): 7.0+ high, 4.0-6.9 medium, below low. */
function severityFromCvss2(score: number): Severity {
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  return score > 0 ? 'low' : 'negligible';
}

export interface RatedSeverity {
  severity: Severity;
  /** The base score of the newest CVSS vector that scored, when any did. */
  cvss?: number;
}

/** The severity of an advisory for one of its affected entries (per-package severity wins over the advisory's). */
export function advisorySeverity(advisory: OsvAdvisory, affected?: OsvAffected): RatedSeverity {
  const list: OsvSeverity[] = affected?.severity ?? advisory.severity ?? [];
  const cvss = newestCvss(list);
  const rated = (severity: Severity): RatedSeverity => (cvss ? { severity, cvss: cvss.score } : { severity });

  for (const s of list) {
    if (s.type.toLowerCase() === 'ubuntu') {
      const word = severityFromWord(s.score);
      if (word !== 'unknown') return rated(word);
    }
  }
  for (const source of [affected?.database_specific, advisory.database_specific]) {
    const word = source?.severity;
    if (typeof word === 'string' && severityFromWord(word) !== 'unknown') return rated(severityFromWord(word));
  }
  // Red Hat and its rebuilds title an erratum "Important: openssl security update".
  const prefix = /^\s*(critical|important|moderate|low)\s*:/i.exec(advisory.summary ?? '');
  if (prefix) return rated(severityFromWord(prefix[1]!));
  if (cvss) return rated(cvss.version === '2.0' ? severityFromCvss2(cvss.score) : severityFromCvss(cvss.score));
  return { severity: 'unknown' };
}

const CVSS_TYPES = ['CVSS_V4', 'CVSS_V3', 'CVSS_V2'];

function newestCvss(list: OsvSeverity[]): ReturnType<typeof cvssBaseScore> {
  for (const type of CVSS_TYPES) {
    for (const s of list) {
      if (s.type !== type) continue;
      const scored = cvssBaseScore(s.score);
      if (scored) return scored;
    }
  }
  return undefined;
}

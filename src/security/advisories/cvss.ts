/**
 * CVSS base scores of the vectors OSV carries in `severity[]`. The arithmetic (v3's round-up,
 * v4's macro-vector table) comes from ae-cvss-calculator; what is added here is strictness:
 * that library scores a partial vector as 0, so a vector is first checked to name every base
 * metric exactly once with a value its version defines. An unusable vector scores nothing
 * (severity then falls to the next source), never 0.
 */
import calculator from 'ae-cvss-calculator';

export type CvssVersion = '2.0' | '3.0' | '3.1' | '4.0';

export interface CvssScore {
  version: CvssVersion;
  /** The base score, 0.0 to 10.0. v4: from the base metrics only (CVSS-B), threat and environmental metrics left out. */
  score: number;
}

/** Base metrics and their values, per the specification of each version. */
const BASE_METRICS: Record<CvssVersion, Record<string, string>> = {
  '2.0': { AV: 'LAN', AC: 'HML', Au: 'MSN', C: 'NPC', I: 'NPC', A: 'NPC' },
  '3.0': { AV: 'NALP', AC: 'LH', PR: 'NLH', UI: 'NR', S: 'UC', C: 'HLN', I: 'HLN', A: 'HLN' },
  '3.1': { AV: 'NALP', AC: 'LH', PR: 'NLH', UI: 'NR', S: 'UC', C: 'HLN', I: 'HLN', A: 'HLN' },
  '4.0': { AV: 'NALP', AC: 'LH', AT: 'NP', PR: 'NLH', UI: 'NPA', VC: 'HLN', VI: 'HLN', VA: 'HLN', SC: 'HLN', SI: 'HLN', SA: 'HLN' },
};

/** The base score of a CVSS 2.0, 3.x or 4.0 vector, or undefined when the vector is not complete and valid. */
export function cvssBaseScore(vector: string): CvssScore | undefined {
  const text = vector.trim();
  const prefixed = /^CVSS:(3\.0|3\.1|4\.0)\//.exec(text);
  // v2 vectors carry no prefix ("AV:N/AC:L/Au:N/C:P/I:P/A:P"); some feeds wrap them in parentheses.
  const version: CvssVersion = prefixed ? (prefixed[1] as CvssVersion) : '2.0';
  const body = (prefixed ? text.slice(prefixed[0].length) : text.replace(/^\((.*)\)$/, '$1')).split('/');
  const required = BASE_METRICS[version];
  const seen = new Set<string>();
  for (const part of body) {
    const [metric, value, extra] = part.split(':');
    if (!metric || value === undefined || extra !== undefined || seen.has(metric)) return undefined;
    seen.add(metric);
    const allowed = required[metric];
    if (allowed !== undefined && (value.length !== 1 || !allowed.includes(value))) return undefined;
  }
  for (const metric of Object.keys(required)) if (!seen.has(metric)) return undefined;

  let parsed: { calculateScores(): unknown } | null;
  try {
    parsed = calculator.fromVector(text.replace(/^\((.*)\)$/, '$1'));
  } catch {
    return undefined;
  }
  if (!parsed) return undefined;
  const scores = parsed.calculateScores() as { base?: number; baseMetricsOnly?: number };
  const score = version === '4.0' ? scores.baseMetricsOnly : scores.base;
  if (typeof score !== 'number' || !Number.isFinite(score) || score < 0 || score > 10) return undefined;
  return { version, score };
}

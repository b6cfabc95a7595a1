/**
 * Whether one version falls in an affected entry, by the evaluation of ossf/osv-schema
 * (docs/schema.md, "Evaluation"): listed in `versions`, or inside an ECOSYSTEM range, where the
 * events sorted by version switch the state (introduced: affected from here; fixed: not from
 * here; last_affected: not after here) and `limit` events cap the range. `introduced: "0"`
 * sorts before every version, a `limit` containing "*" after every version.
 */
import type { OsvAffected, OsvRange } from './osv.ts';
import type { VersionCompare } from './version-order.ts';

export type FixState = 'fixed' | 'not_fixed' | 'unknown';

export interface AffectedMatch {
  /**
   * fixed: a `fixed` event above the version names the fix; not_fixed: the range is open above
   * it; unknown: only a last_affected ceiling, a limit, or the explicit version list says so.
   */
  fixState: FixState;
  fixVersions: string[];
}

/** The match of `version` against one affected entry, or undefined when the version is not affected. */
export function matchAffected(affected: OsvAffected, version: string, compare: VersionCompare): AffectedMatch | undefined {
  let inRange = false;
  let open = false;
  const fixVersions: string[] = [];
  for (const range of affected.ranges) {
    if (range.type !== 'ECOSYSTEM') continue;
    const state = matchRange(range, version, compare);
    if (!state) continue;
    inRange = true;
    if (state.fixed !== undefined && !fixVersions.includes(state.fixed)) fixVersions.push(state.fixed);
    open ||= state.open;
  }
  let fixState: FixState | undefined;
  if (inRange) fixState = fixVersions.length > 0 ? 'fixed' : open ? 'not_fixed' : 'unknown';
  else if (affected.versions.some((v) => v === version || safeCompare(compare, v, version) === 0)) fixState = 'unknown';
  return fixState === undefined ? undefined : { fixState, fixVersions };
}

interface RangeState {
  /** The first `fixed` event above the version. */
  fixed?: string;
  /** Nothing above the version ends the range (no fixed, last_affected or limit). */
  open: boolean;
}

type Point = { kind: 'introduced' | 'fixed' | 'last_affected' | 'limit'; version: string };

/** Where the version stands in one range: undefined when not affected. */
function matchRange(range: OsvRange, version: string, compare: VersionCompare): RangeState | undefined {
  const points: Point[] = range.events.map((e) => {
    const [kind, value] = Object.entries(e)[0] as [Point['kind'], string];
    return { kind, version: value };
  });
  const limits = points.filter((p) => p.kind === 'limit');
  if (limits.length > 0 && !limits.some((l) => isInfinite(l) || safeCompare(compare, version, l.version) < 0)) return undefined;

  const events = points.filter((p) => p.kind !== 'limit');
  let failed = false;
  const order = (a: Point, b: Point): number => {
    if (a.kind === 'introduced' && a.version === '0') return b.kind === 'introduced' && b.version === '0' ? 0 : -1;
    if (b.kind === 'introduced' && b.version === '0') return 1;
    const c = safeCompare(compare, a.version, b.version);
    if (Number.isNaN(c)) failed = true;
    // At one version an introduced event comes first, so a fixed event there wins.
    return c || (a.kind === 'introduced' ? -1 : 0) + (b.kind === 'introduced' ? 1 : 0);
  };
  events.sort(order);

  let affected = false;
  let index = 0;
  for (; index < events.length; index++) {
    const e = events[index]!;
    if (e.kind === 'introduced') {
      if (e.version === '0' || safeCompare(compare, version, e.version) >= 0) affected = true;
      else break;
    } else if (e.kind === 'fixed') {
      if (safeCompare(compare, version, e.version) >= 0) affected = false;
      else break;
    } else if (safeCompare(compare, version, e.version) > 0) {
      affected = false;
    } else {
      break;
    }
  }
  // A version that could not be compared with the range's bounds is not claimed affected.
  if (failed || !affected) return undefined;
  const next = events.slice(index).find((e) => e.kind !== 'introduced');
  if (next?.kind === 'fixed') return { fixed: next.version, open: false };
  return { open: next === undefined && limits.every(isInfinite) };
}

function isInfinite(p: Point): boolean {
  return p.version.includes('*');
}

/** NaN when the comparison throws (it does not with the lenient comparators, but a feed is input). */
function safeCompare(compare: VersionCompare, a: string, b: string): number {
  try {
    return compare(a, b);
  } catch {
    return Number.NaN;
  }
}

/**
 * rpm's version comparison (rpmio/rpmvercmp.c, rpm 4.18), on JavaScript strings.
 *
 * A version is split into runs of ASCII digits and runs of ASCII letters; every other character
 * only separates runs, except '~' (sorts before anything, even the end: 1.0~rc1 < 1.0) and '^'
 * (sorts after the end but before anything else: 1.0 < 1.0^git1 < 1.0.1). Digit runs compare as
 * numbers of any length (leading zeros ignored), letter runs byte-wise, and a digit run beats a
 * letter run. When all runs agree, the version with a run left over is newer; separators alone
 * decide nothing ("1.0" == "1_0" == "1.0.", "1.0" < "1.0.0").
 */

/** 1 when a is newer, -1 when b is newer, 0 when they are equal. */
export function rpmvercmp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && isSeparator(a.charCodeAt(i))) i++;
    while (j < b.length && isSeparator(b.charCodeAt(j))) j++;
    const ca = i < a.length ? a[i] : '';
    const cb = j < b.length ? b[j] : '';

    if (ca === '~' || cb === '~') {
      if (ca !== '~') return 1;
      if (cb !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (ca === '^' || cb === '^') {
      if (ca === '') return -1;
      if (cb === '') return 1;
      if (ca !== '^') return 1;
      if (cb !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (ca === '' || cb === '') break;

    // The segment type is decided by a; b's segment of that type may be empty.
    const numeric = isDigit(a.charCodeAt(i));
    const take = numeric ? isDigit : isAlpha;
    let ei = i;
    while (ei < a.length && take(a.charCodeAt(ei))) ei++;
    let ej = j;
    while (ej < b.length && take(b.charCodeAt(ej))) ej++;
    if (ej === j) return numeric ? 1 : -1;

    let sa = a.slice(i, ei);
    let sb = b.slice(j, ej);
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

export interface Evr {
  /** A missing or empty epoch counts as 0. */
  epoch?: string | number;
  version: string;
  /** Compared only when both sides have one (rpm's rpmverCmp). */
  release?: string;
}

/** Compares epoch, then version, then release, as rpm's rpmverCmp does. */
export function compareEvr(a: Evr, b: Evr): -1 | 0 | 1 {
  const rc = rpmvercmp(epochOf(a), epochOf(b));
  if (rc !== 0) return rc;
  const rv = rpmvercmp(a.version, b.version);
  if (rv !== 0) return rv;
  if (a.release !== undefined && b.release !== undefined) return rpmvercmp(a.release, b.release);
  return 0;
}

function epochOf(v: Evr): string {
  return v.epoch === undefined || v.epoch === '' ? '0' : String(v.epoch);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Anything but ASCII letters, digits, '~' and '^' only separates segments. */
function isSeparator(c: number): boolean {
  return !isDigit(c) && !isAlpha(c) && c !== 0x7e && c !== 0x5e;
}

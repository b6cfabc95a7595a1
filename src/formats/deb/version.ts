/**
 * Debian package versions, deb-version(7): `[epoch:]upstream_version[-debian_revision]`.
 *
 * Parsing follows dpkg's parseversion() in strict mode (what dpkg applies to package control
 * files): surrounding blanks are trimmed, embedded blanks refused; the epoch is a decimal number up
 * to INT_MAX before the first colon; the revision is what follows the last hyphen; the upstream
 * version must start with a digit and contain only alphanumerics and `.+-~:` (`-` only with a
 * revision, `:` only with an epoch), the revision only alphanumerics and `.+~`.
 *
 * Comparison is dpkg's verrevcmp(): alternately compare non-digit runs (letters sort before
 * non-letters, `~` before anything, even the end) and digit runs numerically.
 */
import { InvalidPackageError } from '../../errors.ts';

export interface DebVersion {
  epoch: number;
  upstream: string;
  /** Empty when the version has no revision ("native" version). */
  revision: string;
}

const INT_MAX = 2147483647;

/** The reason `text` is not a valid version, or undefined when it is. */
export function debVersionError(text: string): string | undefined {
  const result = parse(text);
  return typeof result === 'string' ? result : undefined;
}

/** Parses a version strictly; throws InvalidPackageError naming the problem. */
export function parseDebVersion(text: string): DebVersion {
  const result = parse(text);
  if (typeof result === 'string') throw new InvalidPackageError(`invalid version '${text}': ${result}`);
  return result;
}

export function isValidDebVersion(text: string): boolean {
  return typeof parse(text) !== 'string';
}

function isBlank(c: string): boolean {
  return c === ' ' || c === '\t';
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function isAlpha(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

function parse(input: string): DebVersion | string {
  let start = 0;
  while (start < input.length && isBlank(input[start]!)) start++;
  if (start === input.length) return 'version string is empty';
  let end = start;
  while (end < input.length && !isBlank(input[end]!)) end++;
  for (let i = end; i < input.length; i++) if (!isBlank(input[i]!)) return 'version string has embedded spaces';
  let text = input.slice(start, end);

  let epoch = 0;
  const colon = text.indexOf(':');
  if (colon !== -1) {
    // strtol(): optional sign, then decimal digits, which must run up to the colon.
    const m = /^([+-]?)(\d*)/.exec(text)!;
    if (m[2] === '') return 'epoch in version is empty';
    if (m[0].length !== colon) return 'epoch in version is not number';
    const value = Number(m[2]);
    if (m[1] === '-' && value !== 0) return 'epoch in version is negative';
    if (value > INT_MAX) return 'epoch in version is too big';
    if (colon === text.length - 1) return 'nothing after colon in version number';
    epoch = value;
    text = text.slice(colon + 1);
  }

  const hyphen = text.lastIndexOf('-');
  let upstream = text;
  let revision = '';
  if (hyphen !== -1) {
    upstream = text.slice(0, hyphen);
    revision = text.slice(hyphen + 1);
    if (revision === '') return 'revision number is empty';
  }
  if (upstream === '') return 'version number is empty';
  if (!isDigit(upstream.charCodeAt(0))) return 'version number does not start with digit';
  for (let i = 1; i < upstream.length; i++) {
    const c = upstream.charCodeAt(i);
    if (!isDigit(c) && !isAlpha(c) && !'.-+~:'.includes(upstream[i]!)) return 'invalid character in version number';
  }
  for (let i = 0; i < revision.length; i++) {
    const c = revision.charCodeAt(i);
    if (!isDigit(c) && !isAlpha(c) && !'.+~'.includes(revision[i]!)) return 'invalid character in revision number';
  }
  return { epoch, upstream, revision };
}

/** The canonical text: epoch shown only when non-zero. */
export function formatDebVersion(v: DebVersion): string {
  return `${v.epoch ? `${v.epoch}:` : ''}${v.upstream}${v.revision ? `-${v.revision}` : ''}`;
}

/** The version without its epoch, as used in pool file names (hello_2.10-3_amd64.deb). */
export function versionWithoutEpoch(text: string): string {
  const v = parseDebVersion(text);
  return `${v.upstream}${v.revision ? `-${v.revision}` : ''}`;
}

/** dpkg's order(): weight of one character of a non-digit run; 0 for the end of the string. */
function order(code: number): number {
  if (Number.isNaN(code) || isDigit(code)) return 0;
  if (isAlpha(code)) return code;
  if (code === 0x7e) return -1; // '~'
  return code + 256;
}

/** dpkg's verrevcmp() on an upstream version or a revision. Returns <0, 0 or >0. */
export function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = order(a.charCodeAt(i));
      const bc = order(b.charCodeAt(j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a.charCodeAt(i) === 0x30) i++;
    while (b.charCodeAt(j) === 0x30) j++;
    while (isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a.charCodeAt(i))) return 1;
    if (isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

/**
 * Compares two versions as `dpkg --compare-versions` does. Strings are parsed strictly (throwing
 * InvalidPackageError); returns -1, 0 or 1.
 */
export function compareDebVersions(a: string | DebVersion, b: string | DebVersion): number {
  const va = typeof a === 'string' ? parseDebVersion(a) : a;
  const vb = typeof b === 'string' ? parseDebVersion(b) : b;
  if (va.epoch !== vb.epoch) return va.epoch > vb.epoch ? 1 : -1;
  const r = verrevcmp(va.upstream, vb.upstream) || verrevcmp(va.revision, vb.revision);
  return Math.sign(r);
}

/**
 * Splitting a dependency's version string "[epoch:]version[-release]" the way createrepo_c's
 * cr_str_to_evr (misc.c) does, because its quirks show in the metadata:
 * - the epoch is everything before the FIRST ':' when strtol would consume all of it (so leading
 *   blanks and a sign are kept verbatim); an empty epoch or no ':' at all gives "0";
 * - the release is everything after the first '-' that follows the epoch; an empty release is
 *   absent, a version may be empty ("-1" gives version "" and release "1");
 * - an empty version string gives no epoch, version or release at all.
 */

export interface SplitEvr {
  epoch?: string;
  version?: string;
  release?: string;
}

/** undefined when the epoch is not a number: createrepo_c then drops the whole dependency. */
export function splitDependencyEvr(full: string): SplitEvr | undefined {
  if (full === '') return {};
  const colon = full.indexOf(':');
  let epoch = '0';
  let rest = full;
  if (colon >= 0) {
    const candidate = full.slice(0, colon);
    if (!strtolConsumesAll(candidate)) return undefined;
    if (candidate !== '') epoch = candidate;
    rest = full.slice(colon + 1);
  }
  const dash = rest.indexOf('-');
  if (dash < 0) return { epoch, version: rest };
  const release = rest.slice(dash + 1);
  return release === '' ? { epoch, version: rest.slice(0, dash) } : { epoch, version: rest.slice(0, dash), release };
}

/** Whether C's strtol(s, &end, 10) leaves end at the end of s (true for the empty string). */
function strtolConsumesAll(s: string): boolean {
  return s === '' || /^[ \t\n\r\v\f]*[+-]?[0-9]+$/.test(s);
}

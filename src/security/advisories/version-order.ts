/**
 * Version comparison for advisory ranges: rpm's EVR order or dpkg's, over the repository's own
 * implementations (formats/rpm/vercmp.ts, formats/deb/version.ts). Advisory versions are split
 * leniently (a version the strict dpkg parser refuses still compares the way dpkg would compare
 * its parts), so one odd version in a feed never stops matching.
 */
import { compareDebVersions, type DebVersion } from '../../formats/deb/version.ts';
import { compareEvr, type Evr } from '../../formats/rpm/vercmp.ts';

export type VersionCompare = (a: string, b: string) => number;

/**
 * `[epoch:]version[-release]`: the epoch is what precedes the first ':' when it is all digits,
 * the release what follows the last '-'. A missing release compares equal to any (rpm's rule).
 */
export function parseEvr(text: string): Evr {
  let rest = text.trim();
  let epoch: string | undefined;
  const colon = rest.indexOf(':');
  if (colon > 0 && /^\d+$/.test(rest.slice(0, colon))) {
    epoch = rest.slice(0, colon);
    rest = rest.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  const evr: Evr = dash > 0 ? { version: rest.slice(0, dash), release: rest.slice(dash + 1) } : { version: rest };
  if (epoch !== undefined) evr.epoch = epoch;
  return evr;
}

/** `[epoch:]upstream[-revision]` split as dpkg splits it, without refusing odd characters. */
export function splitDebVersion(text: string): DebVersion {
  let rest = text.trim();
  let epoch = 0;
  const colon = rest.indexOf(':');
  if (colon > 0 && /^\d+$/.test(rest.slice(0, colon))) {
    epoch = Number(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  return dash > 0 ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) } : { epoch, upstream: rest, revision: '' };
}

export const compareRpmVersions: VersionCompare = (a, b) => compareEvr(parseEvr(a), parseEvr(b));

export const compareDpkgVersions: VersionCompare = (a, b) => compareDebVersions(splitDebVersion(a), splitDebVersion(b));

export function versionCompare(kind: 'rpm' | 'deb'): VersionCompare {
  return kind === 'rpm' ? compareRpmVersions : compareDpkgVersions;
}

/**
 * The source package name of an rpm from its SOURCERPM header ("openssl-3.0.7-18.el9.src.rpm"
 * is "openssl"): the OSV ecosystems of Red Hat's rebuilds and SUSE name source packages.
 */
export function sourceRpmName(sourceRpm: string): string | undefined {
  const m = /^(.+)-[^-]+-[^-]+\.(?:no)?src\.rpm$/.exec(sourceRpm.trim());
  return m ? m[1] : undefined;
}

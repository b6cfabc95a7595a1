import { createrepoChangelogs } from '../../formats/rpm/index.ts';
import type { RpmPackage } from '../../formats/rpm/model.ts';
import { escapeAttr, escapeText } from '../xml.ts';
import { OTHER_NS, XML_DECLARATION } from './namespaces.ts';
import { renderVersion } from './version.ts';

/** createrepo_c's default `--changelog-limit`. */
export const DEFAULT_CHANGELOG_LIMIT = 10;

export interface OtherOptions {
  /** How many of the newest changelog entries to keep: createrepo_c's default 10; negative or Infinity keeps all. */
  changelogLimit?: number;
}

/** Start of other.xml, up to and including the newline after `<otherdata ...>`. */
export function otherHeader(count: number): string {
  return XML_DECLARATION + '<otherdata xmlns="' + OTHER_NS + '" packages="' + count + '">\n';
}

/** End of other.xml; createrepo_c writes no newline after it. */
export function otherFooter(): string {
  return '</otherdata>';
}

/**
 * One `<package>` element of other.xml and its trailing newline. The changelog holds the newest
 * `changelogLimit` entries, oldest first, with createrepo_c's spreading of equal timestamps
 * (which depends on the limit, hence done here and not in the parser).
 */
export function renderOtherPackage(pkg: RpmPackage, pkgId: string, options: OtherOptions = {}): string {
  let out = '<package pkgid="' + escapeAttr(pkgId) + '" name="' + escapeAttr(pkg.name) + '" arch="' + escapeAttr(pkg.arch) + '">\n' + renderVersion(pkg);
  for (const entry of createrepoChangelogs(pkg.changelogs, options.changelogLimit ?? DEFAULT_CHANGELOG_LIMIT)) {
    out += '  <changelog author="' + escapeAttr(entry.author) + '" date="' + entry.date + '">' + escapeText(entry.text) + '</changelog>\n';
  }
  return out + '</package>\n';
}

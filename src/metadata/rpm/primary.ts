import type { RpmFileFacts, RpmPackage } from '../../formats/rpm/model.ts';
import { escapeAttr, escapeText } from '../xml.ts';
import { renderDependencies } from './dependencies.ts';
import { renderFiles } from './files.ts';
import { COMMON_NS, RPM_NS, XML_DECLARATION } from './namespaces.ts';
import { renderVersion } from './version.ts';

/** Start of primary.xml, up to and including the newline after `<metadata ...>`. */
export function primaryHeader(count: number): string {
  return XML_DECLARATION + '<metadata xmlns="' + COMMON_NS + '" xmlns:rpm="' + RPM_NS + '" packages="' + count + '">\n';
}

/** End of primary.xml; createrepo_c writes no newline after it. */
export function primaryFooter(): string {
  return '</metadata>';
}

/**
 * One `<package type="rpm">` element of primary.xml and its trailing newline, byte-identical to
 * createrepo_c's. `href` is the location relative to the repository root.
 */
export function renderPrimaryPackage(pkg: RpmPackage, file: RpmFileFacts, href: string): string {
  return (
    '<package type="rpm">\n' +
    '  <name>' +
    escapeText(pkg.name) +
    '</name>\n' +
    '  <arch>' +
    escapeText(pkg.arch) +
    '</arch>\n' +
    renderVersion(pkg) +
    '  <checksum type="sha256" pkgid="YES">' +
    escapeText(file.sha256) +
    '</checksum>\n' +
    '  <summary>' +
    escapeText(pkg.summary) +
    '</summary>\n' +
    '  <description>' +
    escapeText(pkg.description) +
    '</description>\n' +
    '  <packager>' +
    escapeText(pkg.packager) +
    '</packager>\n' +
    '  <url>' +
    escapeText(pkg.url) +
    '</url>\n' +
    '  <time file="' +
    file.fileTime +
    '" build="' +
    pkg.buildTime +
    '"/>\n' +
    '  <size package="' +
    file.size +
    '" installed="' +
    pkg.installedSize +
    '" archive="' +
    pkg.archiveSize +
    '"/>\n' +
    '  <location href="' +
    escapeAttr(href) +
    '"/>\n' +
    '  <format>\n' +
    '    <rpm:license>' +
    escapeText(pkg.license) +
    '</rpm:license>\n' +
    '    <rpm:vendor>' +
    escapeText(pkg.vendor) +
    '</rpm:vendor>\n' +
    '    <rpm:group>' +
    escapeText(pkg.group) +
    '</rpm:group>\n' +
    '    <rpm:buildhost>' +
    escapeText(pkg.buildHost) +
    '</rpm:buildhost>\n' +
    '    <rpm:sourcerpm>' +
    escapeText(pkg.sourceRpm) +
    '</rpm:sourcerpm>\n' +
    '    <rpm:header-range start="' +
    pkg.headerStart +
    '" end="' +
    pkg.headerEnd +
    '"/>\n' +
    // createrepo_c's order, which is not the order of the model's fields.
    renderDependencies('rpm:provides', pkg.provides, false) +
    renderDependencies('rpm:requires', pkg.requires, true) +
    renderDependencies('rpm:conflicts', pkg.conflicts, false) +
    renderDependencies('rpm:obsoletes', pkg.obsoletes, false) +
    renderDependencies('rpm:suggests', pkg.suggests, false) +
    renderDependencies('rpm:enhances', pkg.enhances, false) +
    renderDependencies('rpm:recommends', pkg.recommends, false) +
    renderDependencies('rpm:supplements', pkg.supplements, false) +
    renderFiles(pkg.files, '    ', true) +
    '  </format>\n' +
    '</package>\n'
  );
}

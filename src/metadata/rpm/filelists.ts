import type { RpmPackage } from '../../formats/rpm/model.ts';
import { escapeAttr } from '../xml.ts';
import { renderFiles } from './files.ts';
import { FILELISTS_NS, XML_DECLARATION } from './namespaces.ts';
import { renderVersion } from './version.ts';

/** Start of filelists.xml, up to and including the newline after `<filelists ...>`. */
export function filelistsHeader(count: number): string {
  return XML_DECLARATION + '<filelists xmlns="' + FILELISTS_NS + '" packages="' + count + '">\n';
}

/** End of filelists.xml; createrepo_c writes no newline after it. */
export function filelistsFooter(): string {
  return '</filelists>';
}

/** One `<package>` element of filelists.xml (every file, in header order) and its trailing newline. */
export function renderFilelistsPackage(pkg: RpmPackage, pkgId: string): string {
  return (
    '<package pkgid="' +
    escapeAttr(pkgId) +
    '" name="' +
    escapeAttr(pkg.name) +
    '" arch="' +
    escapeAttr(pkg.arch) +
    '">\n' +
    renderVersion(pkg) +
    renderFiles(pkg.files, '  ', false) +
    '</package>\n'
  );
}

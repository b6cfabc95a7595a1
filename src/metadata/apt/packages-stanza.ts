/**
 * One package's stanza of an APT `Packages` index, written exactly as `apt-ftparchive packages`
 * writes it (apt's ftparchive/writer.cc PackagesWriter::DoPackage() with default settings, and
 * pkgTagSection::Write() with apt-pkg/tagfile-order.c's TFRewritePackageOrder):
 *
 * - fields named in apt's canonical order come first, in that order and with apt's spelling of the
 *   name; then the control file's other fields in file order and spelling;
 * - values are copied raw (what follows the colon; a value starting with a blank or a newline is
 *   written after "Name:" without adding a space), so multi-line values such as Description come
 *   out byte for byte;
 * - Filename, Size, MD5sum, SHA1, SHA256 (and SHA512 when given) are set from the file; Section and
 *   Priority are rewritten trimmed, or dropped when empty; Status is dropped;
 * - the stanza ends with an empty line.
 *
 * Not reproduced (apt-ftparchive features repod does not use): override files (Section, Priority,
 * Maintainer from an override), `LongDescription=false` (Description-md5 and Translation files).
 * apt-ftparchive writes SHA512 by default: pass `sha512` to get it too.
 */
import { InvalidPackageError } from '../../errors.ts';
import type { DebControl } from '../../formats/deb/control.ts';
import { parseSourceField } from '../../formats/deb/control.ts';
import { versionWithoutEpoch } from '../../formats/deb/version.ts';
import { fieldOrder, orderedStanza } from './control-stanza.ts';

export interface PackageFileInfo {
  /** Path of the .deb relative to the repository root, e.g. "pool/main/h/hello/hello_2.10-3_amd64.deb". */
  filename: string;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
  sha512?: string;
}

/** apt's TFRewritePackageOrder (apt 3.1: includes Architecture-Variant, after Architecture). */
export const PACKAGE_FIELD_ORDER: readonly string[] = [
  'Package',
  'Package-Type',
  'Architecture',
  'Architecture-Variant',
  'Subarchitecture',
  'Version',
  'Kernel-Version',
  'Built-Using',
  'Static-Built-Using',
  'Built-For-Profiles',
  'Auto-Built-Package',
  'Multi-Arch',
  'Status',
  'Priority',
  'Build-Essential',
  'Protected',
  'Important',
  'Essential',
  'Installer-Menu-Item',
  'Section',
  'Source',
  'Origin',
  'Phased-Update-Percentage',
  'Maintainer',
  'Original-Maintainer',
  'Bugs',
  'Config-Version',
  'Conffiles',
  'Triggers-Awaited',
  'Triggers-Pending',
  'Installed-Size',
  'Provides',
  'Pre-Depends',
  'Depends',
  'Recommends',
  'Suggests',
  'Conflicts',
  'Breaks',
  'Replaces',
  'Enhances',
  'Filename',
  'MSDOS-Filename',
  'Size',
  'MD5sum',
  'SHA1',
  'SHA256',
  'SHA512',
  'Homepage',
  'Description',
  'Description-md5',
  'Tag',
  'Task',
];

const ORDER = fieldOrder(PACKAGE_FIELD_ORDER);

/** Renders the stanza, ending with the blank line that separates stanzas. */
export function renderPackagesStanza(control: DebControl, file: PackageFileInfo): string {
  // The rewrites apt-ftparchive applies (a Rewrite with an empty value is a removal).
  const rewrites = new Map<string, string | null>();
  rewrites.set('size', String(file.size));
  rewrites.set('md5sum', file.md5);
  rewrites.set('sha1', file.sha1);
  rewrites.set('sha256', file.sha256);
  if (file.sha512 !== undefined) rewrites.set('sha512', file.sha512);
  rewrites.set('filename', file.filename);
  rewrites.set('priority', control.get('Priority')?.trim() || null);
  rewrites.set('status', null);
  rewrites.set('section', control.get('Section')?.trim() || null);

  return orderedStanza(control, ORDER, rewrites);
}

/** The source package name: the Source field without its "(version)", else the package name. */
export function sourceName(control: DebControl): string {
  const source = control.get('Source');
  if (source === undefined || source.trim() === '') return control.package;
  const parsed = parseSourceField(source);
  if (typeof parsed === 'string') throw new InvalidPackageError(parsed);
  return parsed.name;
}

/** The source package version: the Source field's "(version)" when present, else the package's Version. */
export function sourceVersion(control: DebControl): string {
  const source = control.get('Source');
  if (source !== undefined && source.trim() !== '') {
    const parsed = parseSourceField(source);
    if (typeof parsed === 'string') throw new InvalidPackageError(parsed);
    if (parsed.version !== undefined) return parsed.version;
  }
  return control.version;
}

/** Debian's pool prefix of a source package: "libx" for lib* sources, else the first character. */
export function poolPrefix(source: string): string {
  return source.startsWith('lib') ? source.slice(0, 4) : source.slice(0, 1);
}

const COMPONENT = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/**
 * `pool/<component>/<prefix>/<source>/<file>` as in the Debian archive (dak's poolify()).
 * Every part must be a single safe path segment.
 */
export function poolPath(component: string, source: string, fileName: string): string {
  if (!COMPONENT.test(component)) throw new RangeError(`invalid component name '${component}'`);
  if (!/^[A-Za-z0-9][A-Za-z0-9+._-]*$/.test(source)) throw new InvalidPackageError(`invalid source package name '${source}'`);
  if (fileName === '' || fileName === '.' || fileName === '..' || /[/\\\0]/.test(fileName)) {
    throw new InvalidPackageError(`invalid package file name '${fileName}'`);
  }
  return `pool/${component}/${poolPrefix(source)}/${source}/${fileName}`;
}

/**
 * The canonical file name of a binary package: `<package>_<version without epoch>_<arch>.deb`
 * (`.udeb` / `.ddeb` for Package-Type udeb / ddeb), as dpkg-name and the Debian archive name them.
 */
export function debFileName(control: DebControl): string {
  const type = control.get('Package-Type')?.trim();
  const ext = type === 'udeb' || type === 'ddeb' ? type : 'deb';
  return `${control.package}_${versionWithoutEpoch(control.version)}_${control.architecture}.${ext}`;
}

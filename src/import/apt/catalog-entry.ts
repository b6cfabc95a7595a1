/**
 * One binary package of an upstream Packages index, as the import catalog keeps it: what a search
 * shows (name, version, architecture, size, description), what a download checks (filename under
 * the source's base URL, size, sha256), and the relationship fields a dependency closure reads
 * (kept as written, on one line; `security/dependencies/deb-relations.ts` parses them).
 */

import { architectureError, packageNameError, parseSourceField } from '../../formats/deb/control.ts';
import { debVersionError } from '../../formats/deb/version.ts';
import { Deb822Fields, invalid } from './deb822-fields.ts';

export interface AptCatalogEntry {
  name: string;
  version: string;
  architecture: string;
  /** Size of the .deb in bytes. */
  size: number;
  /** Lower-case hex SHA-256 of the .deb. */
  sha256: string;
  /** Path of the .deb relative to the repository's base URL (`pool/main/h/hello/hello_2.10-3_amd64.deb`). */
  filename: string;
  /** The synopsis: the first line of Description (empty when the stanza has none). */
  description: string;
  /** Source package name, when it differs from the binary package's name. */
  source?: string;
  /** Source version, when it differs from the binary version (`Source: name (version)`). */
  sourceVersion?: string;
  depends?: string;
  preDepends?: string;
  provides?: string;
  section?: string;
  multiArch?: string;
  /** The stanza as the index wrote it, when the reader was asked to keep it (mirrors). */
  stanza?: string;
}

const SHA256 = /^[0-9a-fA-F]{64}$/;
const SIZE = /^[0-9]{1,15}$/;

/**
 * The catalog entry of one stanza. Refuses (`upstream_index_invalid`, 422) a stanza that lacks a
 * field a download needs or whose values would end up in a path or a comparison unchecked;
 * `where` names the index and the stanza for the message.
 */
export function catalogEntryFromStanza(text: string, where: string): AptCatalogEntry {
  const fields = new Deb822Fields(text, where);
  const required = (name: string): string => {
    const value = fields.firstLine(name);
    if (value === undefined || value === '') throw invalid(where, `no ${name} field${nameHint(fields)}`);
    return value;
  };
  const name = required('Package');
  const nameError = packageNameError(name);
  if (nameError) throw invalid(where, `package name '${name}' ${nameError}`);
  const at = `${where} (${name})`;
  const version = required('Version');
  const versionError = debVersionError(version);
  if (versionError) throw invalid(at, `version '${version}': ${versionError}`);
  const architecture = required('Architecture');
  const archError = architectureError(architecture);
  if (archError) throw invalid(at, `architecture '${architecture}' ${archError}`);
  const filename = required('Filename');
  const filenameError = relativePathError(filename);
  if (filenameError) throw invalid(at, `Filename '${filename}' ${filenameError}`);
  const size = required('Size');
  if (!SIZE.test(size)) throw invalid(at, `Size '${size}' is not a byte count`);
  const sha256 = fields.firstLine('SHA256');
  if (sha256 === undefined || !SHA256.test(sha256)) throw invalid(at, sha256 === undefined ? 'no SHA256 field' : `SHA256 '${sha256}' is not a SHA-256 digest`);

  const entry: AptCatalogEntry = {
    name,
    version,
    architecture,
    size: Number(size),
    sha256: sha256.toLowerCase(),
    filename,
    description: fields.firstLine('Description') ?? '',
  };
  const source = fields.firstLine('Source');
  if (source !== undefined && source !== '') {
    const parsed = parseSourceField(source);
    if (typeof parsed === 'string') throw invalid(at, parsed);
    const otherVersion = parsed.version !== undefined && parsed.version !== version;
    if (parsed.name !== name || otherVersion) entry.source = parsed.name;
    if (otherVersion) entry.sourceVersion = parsed.version;
  }
  const optional: Array<[keyof AptCatalogEntry, string, 'folded' | 'firstLine']> = [
    ['depends', 'Depends', 'folded'],
    ['preDepends', 'Pre-Depends', 'folded'],
    ['provides', 'Provides', 'folded'],
    ['section', 'Section', 'firstLine'],
    ['multiArch', 'Multi-Arch', 'firstLine'],
  ];
  for (const [key, field, how] of optional) {
    const value = how === 'folded' ? fields.folded(field) : fields.firstLine(field);
    if (value !== undefined && value !== '') (entry as unknown as Record<string, string>)[key] = value;
  }
  return entry;
}

function nameHint(fields: Deb822Fields): string {
  const name = fields.firstLine('Package');
  return name ? ` (${name})` : '';
}

/**
 * A path the download joins to the base URL: relative, '/'-separated, no empty, '.' or '..'
 * segments, no scheme, no query or fragment, nothing that URL parsing would reinterpret.
 */
export function relativePathError(path: string): string | undefined {
  if (path.startsWith('/')) return 'is absolute';
  // A percent-encoded dot would become a '..' segment once the path is part of a URL.
  if (/[\\?#\s\0]/.test(path) || /%2e/i.test(path) || path.includes('://')) return 'has characters a relative path may not hold';
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') return 'has an empty, "." or ".." segment';
  }
  return undefined;
}

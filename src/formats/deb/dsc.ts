/**
 * A Debian source control file (dsc(5)): one stanza, usually clear-signed, naming the source
 * package and the files that make it up (Files with MD5, Checksums-Sha1/-Sha256/-Sha512 beside it).
 *
 * The OpenPGP armor is only taken off for parsing (RFC 4880 §7: armor headers end at the first
 * blank line, dash-escaped lines lose their "- "); the uploaded bytes are what the pool keeps, so
 * `dpkg-source` can still check the signature. The signature is not verified here: dpkg-source
 * does that on the client with the keys its user trusts.
 */
import { InvalidPackageError } from '../../errors.ts';
import { DebControl, packageNameError, parseControlFields } from './control.ts';
import { debVersionError } from './version.ts';

/** One file a .dsc names, with every checksum the .dsc gives for it. */
export interface DscFile {
  name: string;
  size: number;
  md5?: string;
  sha1?: string;
  sha256?: string;
  sha512?: string;
}

export type DscHash = 'md5' | 'sha1' | 'sha256' | 'sha512';

/** The checksum fields of a .dsc, in the order dpkg-source writes them, with their hex length. */
export const DSC_CHECKSUM_FIELDS: ReadonlyArray<{ field: string; hash: DscHash; hexLength: number }> = [
  { field: 'Files', hash: 'md5', hexLength: 32 },
  { field: 'Checksums-Sha1', hash: 'sha1', hexLength: 40 },
  { field: 'Checksums-Sha256', hash: 'sha256', hexLength: 64 },
  { field: 'Checksums-Sha512', hash: 'sha512', hexLength: 128 },
];

export interface Dsc {
  /** The stanza, armor removed; field values as dpkg-source wrote them. */
  control: DebControl;
  /** Source, Version, Format (Format "1.0" when absent, as dpkg-source assumes). */
  source: string;
  version: string;
  format: string;
  /** Files in the order the Files field lists them. */
  files: DscFile[];
  /** Whether the file came clear-signed. */
  signed: boolean;
}

const BEGIN_SIGNED = '-----BEGIN PGP SIGNED MESSAGE-----';
const BEGIN_SIGNATURE = '-----BEGIN PGP SIGNATURE-----';

function invalid(message: string): InvalidPackageError {
  return new InvalidPackageError(`source package .dsc: ${message}`);
}

/** The signed text of a clear-signed message (or the text itself when it is not signed). */
export function stripClearSignature(text: string): { body: string; signed: boolean } {
  const lines = text.split(/\r?\n/);
  let i = 0;
  while (i < lines.length && lines[i]!.trim() === '') i++;
  if (lines[i]?.trimEnd() !== BEGIN_SIGNED) return { body: text, signed: false };
  i++;
  // Armor headers ("Hash: SHA512") up to the first empty line.
  while (i < lines.length && lines[i]!.trim() !== '') i++;
  i++;
  const body: string[] = [];
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trimEnd() === BEGIN_SIGNATURE) return { body: `${body.join('\n')}\n`, signed: true };
    body.push(line.startsWith('- ') ? line.slice(2) : line);
  }
  throw invalid('the clear-signed message has no signature block (-----BEGIN PGP SIGNATURE----- is missing)');
}

const SAFE_FILE = /^[A-Za-z0-9][A-Za-z0-9+._~-]*$/;

/** Parses one checksum field: lines of "<hex> <size> <name>". */
function checksumLines(field: string, value: string, hexLength: number): Array<{ hex: string; size: number; name: string }> {
  const out: Array<{ hex: string; size: number; name: string }> = [];
  for (const line of value.split('\n')) {
    const text = line.trim();
    if (text === '') continue;
    const parts = text.split(/[ \t]+/);
    if (parts.length !== 3) throw invalid(`${field}: line ${JSON.stringify(text)} is not "<checksum> <size> <file name>"`);
    const [hex, size, name] = parts as [string, string, string];
    if (hex.length !== hexLength || !/^[0-9a-fA-F]+$/.test(hex)) throw invalid(`${field}: ${JSON.stringify(hex)} is not a checksum of ${hexLength} hex digits`);
    if (!/^\d{1,15}$/.test(size)) throw invalid(`${field}: ${JSON.stringify(size)} is not a size`);
    if (!SAFE_FILE.test(name) || name === '.' || name === '..') throw invalid(`${field}: ${JSON.stringify(name)} is not a plain file name`);
    out.push({ hex: hex.toLowerCase(), size: Number(size), name });
  }
  return out;
}

/**
 * Parses a .dsc. Refuses what dpkg-source would: a missing Source, Version or Files, an invalid
 * name or version, checksum lines that are malformed, or lists that disagree on a file's size or
 * name a file the Files field does not.
 */
export function parseDsc(bytes: Uint8Array): Dsc {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid('the file is not UTF-8 text');
  }
  const { body, signed } = stripClearSignature(text);
  // One stanza: blank lines around it are not part of it.
  const stanza = `${body.replace(/^(?:[ \t]*\r?\n)+/, '').replace(/\s+$/, '')}\n`;
  if (stanza.trim() === '') throw invalid('the file is empty');
  const { fields, raw } = parseControlFields(stanza);
  const control = new DebControl(stanza, fields, raw);
  for (const required of ['Source', 'Version', 'Files']) {
    if (!control.get(required)) throw invalid(`no ${required} field`);
  }
  const source = control.get('Source')!;
  // Debian Policy 5.6.1: lower case letters, digits, + - . (at least two, starting alphanumeric).
  const nameError = packageNameError(source) ?? (/^[a-z0-9][a-z0-9+.-]+$/.test(source) ? undefined : 'a source name is lower-case letters, digits, +, - and .');
  if (nameError) throw invalid(`invalid source name '${source}': ${nameError}`);
  const version = control.get('Version')!;
  const versionError = debVersionError(version);
  if (versionError) throw invalid(`invalid version '${version}': ${versionError}`);

  const files = new Map<string, DscFile>();
  for (const { field, hash, hexLength } of DSC_CHECKSUM_FIELDS) {
    const value = control.get(field);
    if (value === undefined) continue;
    for (const line of checksumLines(field, value, hexLength)) {
      let file = files.get(line.name);
      if (!file) {
        if (hash !== 'md5') throw invalid(`${field} names ${line.name}, which the Files field does not list`);
        file = { name: line.name, size: line.size };
        files.set(line.name, file);
      }
      if (file.size !== line.size) throw invalid(`${line.name} has size ${file.size} in Files but ${line.size} in ${field}`);
      if (file[hash] !== undefined) throw invalid(`${field} lists ${line.name} twice`);
      file[hash] = line.hex;
    }
  }
  if (files.size === 0) throw invalid('the Files field lists no file');
  return { control, source, version, format: control.get('Format') || '1.0', files: [...files.values()], signed };
}

/** The canonical name of a .dsc: `<source>_<version without epoch>.dsc`. */
export function dscFileName(source: string, version: string): string {
  const colon = version.indexOf(':');
  return `${source}_${colon < 0 ? version : version.slice(colon + 1)}.dsc`;
}

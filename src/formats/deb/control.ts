/**
 * The binary package control file (deb-control(5)): one stanza of `Name: value` fields, values
 * continued on lines starting with a space or tab.
 *
 * Parsing follows dpkg's parse_stanza() in strict mode (what dpkg applies to a package's control
 * file): field names are non-empty, do not start with '-', and end at ':' (blanks before the colon
 * are allowed); a value ends at the first line not starting with a blank; blank lines inside values,
 * a missing final newline, duplicate fields (case-insensitive) and a second stanza are refused.
 * Values are kept as dpkg stores them (leading blanks of the first line and all trailing whitespace
 * removed; continuation lines verbatim), and the raw text after the colon is kept too for writers
 * that must reproduce the file byte for byte (apt-ftparchive copies values raw).
 */
import { InvalidPackageError } from '../../errors.ts';
import { debVersionError } from './version.ts';

export type DebControlField = [name: string, value: string];

export class DebControl {
  /** Fields in file order, with their original spelling. */
  readonly fields: DebControlField[];
  /** The control file text as read. */
  readonly text: string;
  readonly #raw: string[];
  readonly #index = new Map<string, number>();

  /** Use parseDebControl(); this constructor trusts its input. */
  constructor(text: string, fields: DebControlField[], raw: string[]) {
    this.text = text;
    this.fields = fields;
    this.#raw = raw;
    fields.forEach(([name], i) => {
      const key = name.toLowerCase();
      if (!this.#index.has(key)) this.#index.set(key, i);
    });
  }

  /** The value of a field (case-insensitive name), or undefined. */
  get(name: string): string | undefined {
    const i = this.#index.get(name.toLowerCase());
    return i === undefined ? undefined : this.fields[i]![1];
  }

  has(name: string): boolean {
    return this.#index.has(name.toLowerCase());
  }

  /**
   * The value as apt's pkgTagSection::FindRaw() returns it: everything after the colon (leading
   * blanks included) up to the next field, trailing whitespace removed.
   */
  raw(name: string): string | undefined {
    const i = this.#index.get(name.toLowerCase());
    return i === undefined ? undefined : this.#raw[i];
  }

  /** Package, Version and Architecture (always present in a parsed control file). */
  get package(): string {
    return this.get('Package')!;
  }

  get version(): string {
    return this.get('Version')!;
  }

  get architecture(): string {
    return this.get('Architecture')!;
  }

  toJSON(): { fields: DebControlField[] } {
    return { fields: this.fields };
  }
}

// c_isspace: space, \t, \n, \v, \f, \r
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

const MSDOS_EOF = 0x1a;

/**
 * Splits a control file into fields (dpkg's strict stanza syntax). Throws InvalidPackageError
 * naming the line. Does not check which fields are present: see validateBinaryControl().
 */
export function parseControlFields(text: string): { fields: DebControlField[]; raw: string[] } {
  const fields: DebControlField[] = [];
  const raw: string[] = [];
  const seen = new Set<string>();
  const n = text.length;
  let i = 0;
  let line = 1;
  const fail = (message: string): never => {
    throw new InvalidPackageError(`control file, line ${line}: ${message}`);
  };

  while (i < n && text.charCodeAt(i) === 0x0a) {
    i++;
    line++;
  }
  if (i === n) fail('no fields');

  while (i < n) {
    // field name
    const nameStart = i;
    while (i < n && !isSpace(text.charCodeAt(i)) && text.charCodeAt(i) !== 0x3a && text.charCodeAt(i) !== MSDOS_EOF) i++;
    const name = text.slice(nameStart, i);
    if (name === '') fail('empty field name');
    if (name.startsWith('-')) fail(`field name '${name}' cannot start with hyphen`);
    while (i < n && text.charCodeAt(i) !== 0x0a && isSpace(text.charCodeAt(i))) i++;
    if (i === n) fail(`end of file after field name '${name}'`);
    if (text.charCodeAt(i) === 0x0a) fail(`newline in field name '${name}'`);
    if (text.charCodeAt(i) === MSDOS_EOF) fail(`MSDOS end of file in field name '${name}'`);
    if (text.charCodeAt(i) !== 0x3a) fail(`field name '${name}' must be followed by colon`);
    i++; // ':'
    const rawStart = i;
    while (i < n && text.charCodeAt(i) !== 0x0a && isSpace(text.charCodeAt(i))) i++;
    if (i === n) fail(`end of file before value of field '${name}' (missing final newline)`);
    const valueStart = i;

    // value: up to a newline followed by a non-blank (next field), another newline (end of stanza) or the end
    let blankLine = false;
    let valueEnd: number;
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === MSDOS_EOF) fail(`MSDOS end of file in value of field '${name}'`);
      if (c === 0x0a) {
        if (blankLine) fail(`blank line in value of field '${name}'`);
        line++;
        i++;
        if (i === n || text.charCodeAt(i) === 0x0a || !isSpace(text.charCodeAt(i))) {
          valueEnd = i - 1;
          break;
        }
        blankLine = true;
        continue;
      }
      if (blankLine && !isSpace(c)) blankLine = false;
      i++;
      if (i === n) fail(`end of file during value of field '${name}' (missing final newline)`);
    }
    let end = valueEnd;
    while (end > valueStart && isSpace(text.charCodeAt(end - 1))) end--;
    let rawEnd = valueEnd;
    while (rawEnd > rawStart && isSpace(text.charCodeAt(rawEnd - 1))) rawEnd--;

    const key = name.toLowerCase();
    if (seen.has(key)) fail(`duplicate value for '${name}' field`);
    seen.add(key);
    fields.push([name, text.slice(valueStart, end)]);
    raw.push(text.slice(rawStart, rawEnd));

    if (i < n && text.charCodeAt(i) === 0x0a) {
      // end of the stanza: only empty lines may follow
      while (i < n && text.charCodeAt(i) === 0x0a) {
        i++;
        line++;
      }
      if (i < n) fail('several stanzas found, only one is allowed');
    }
  }
  return { fields, raw };
}

/** dpkg's pkg_name_is_invalid(): alphanumeric start, then alphanumerics and "-+._". */
export function packageNameError(name: string): string | undefined {
  if (name === '') return 'may not be empty string';
  if (!/^[A-Za-z0-9]/.test(name)) return 'must start with an alphanumeric character';
  const bad = /[^A-Za-z0-9+._-]/.exec(name);
  if (bad) return `character '${bad[0]}' not allowed (only letters, digits and characters '-+._')`;
  return undefined;
}

/** dpkg's dpkg_arch_name_is_invalid(): alphanumeric start, then alphanumerics and '-'. */
export function architectureError(arch: string): string | undefined {
  if (arch === '') return 'may not be empty string';
  if (!/^[A-Za-z0-9]/.test(arch)) return 'must start with an alphanumeric';
  const bad = /[^A-Za-z0-9-]/.exec(arch);
  if (bad) return `character '${bad[0]}' not allowed (only letters, digits and characters '-')`;
  return undefined;
}

/** `Source: name` or `Source: name (version)`: the parts, or an error message. */
export function parseSourceField(value: string): { name: string; version?: string } | string {
  const m = /^(\S+)(?:\s+\((.*)\))?$/.exec(value.trim());
  if (!m) return `malformed Source field '${value}'`;
  const name = m[1]!;
  const nameError = packageNameError(name);
  if (nameError) return `source package name '${name}' ${nameError}`;
  if (m[2] === undefined) return { name };
  const version = m[2].trim();
  const versionError = debVersionError(version);
  if (versionError) return `Source field version '${version}': ${versionError}`;
  return { name, version };
}

/**
 * Parses and validates a binary package's control file: dpkg's syntax, the fields every binary
 * package needs (Package, Version, Architecture), and the values that end up in paths or comparisons
 * (package and source names, versions, architecture). Throws InvalidPackageError.
 */
export function parseDebControl(text: string): DebControl {
  const { fields, raw } = parseControlFields(text);
  const control = new DebControl(text, fields, raw);
  for (const required of ['Package', 'Version', 'Architecture']) {
    const value = control.get(required);
    if (value === undefined) throw new InvalidPackageError(`control file has no ${required} field`);
    if (value === '') throw new InvalidPackageError(`control file has an empty ${required} field`);
  }
  const nameError = packageNameError(control.package);
  if (nameError) throw new InvalidPackageError(`invalid package name '${control.package}': ${nameError}`);
  const versionError = debVersionError(control.version);
  if (versionError) throw new InvalidPackageError(`invalid version '${control.version}': ${versionError}`);
  const archError = architectureError(control.architecture);
  if (archError) throw new InvalidPackageError(`invalid architecture '${control.architecture}': ${archError}`);
  const source = control.get('Source');
  if (source !== undefined) {
    const parsed = parseSourceField(source);
    if (typeof parsed === 'string') throw new InvalidPackageError(parsed);
  }
  return control;
}

/**
 * One deb822 stanza of an upstream index (Release, Packages) split into fields, leniently and fast.
 *
 * Upstream indexes are read the way apt's pkgTagSection reads them, not with dpkg's strict
 * control-file rules (formats/deb/control.ts): field names are case-insensitive, the first of
 * duplicate fields wins, and a value continues on lines starting with a space or a tab. A line
 * that is neither a continuation nor `Name: value` makes the stanza invalid. Values are kept as
 * offsets into the stanza text and sliced only when asked for, because a Packages stanza has
 * twenty-odd fields of which a catalog reads a dozen.
 */
import { RepodError } from '../../errors.ts';

export class Deb822Fields {
  readonly text: string;
  /**
   * Four numbers per field line, in order: where its name starts and ends (trailing blanks left
   * out), where its value starts, and the end of the field's last line. Kept as offsets rather
   * than a map of lower-cased names: a Debian index has tens of thousands of stanzas of twenty-odd
   * fields, and a string and an array per field are most of what reading one allocates.
   */
  readonly #fields: number[] = [];

  /** Throws `upstream_index_invalid` (422) naming `where` and the line. */
  constructor(text: string, where: string) {
    this.text = text;
    const fields = this.#fields;
    const n = text.length;
    let pos = 0;
    let line = 1;
    while (pos < n) {
      let eol = text.indexOf('\n', pos);
      if (eol === -1) eol = n;
      const first = text.charCodeAt(pos);
      if (first === 0x20 || first === 0x09) {
        if (fields.length === 0) throw invalid(where, `line ${line}: a continuation line before any field`);
        fields[fields.length - 1] = eol;
      } else if (eol > pos) {
        const colon = text.indexOf(':', pos);
        if (colon === -1 || colon >= eol || colon === pos) throw invalid(where, `line ${line}: not a "Name: value" field`);
        let nameEnd = colon;
        while (nameEnd > pos && isWhiteSpace(text.charCodeAt(nameEnd - 1))) nameEnd--;
        fields.push(pos, nameEnd, colon + 1, eol);
      }
      pos = eol + 1;
      line++;
    }
  }

  has(name: string): boolean {
    return this.#find(name) !== -1;
  }

  /** The whole value: its first line and continuation lines, trimmed, lines joined with '\n'. */
  get(name: string): string | undefined {
    const at = this.#find(name);
    if (at === -1) return undefined;
    const value = this.text.slice(this.#fields[at + 2]!, this.#fields[at + 3]!);
    return value.includes('\n')
      ? value
          .split('\n')
          .map((l, i) => (i === 0 ? l.trim() : l.trimEnd()))
          .join('\n')
          .trim()
      : value.trim();
  }

  /** The first line of the value, trimmed (a Description's synopsis). */
  firstLine(name: string): string | undefined {
    const at = this.#find(name);
    if (at === -1) return undefined;
    const start = this.#fields[at + 2]!;
    const end = this.#fields[at + 3]!;
    const eol = this.text.indexOf('\n', start);
    return this.text.slice(start, eol === -1 || eol > end ? end : eol).trim();
  }

  /** The value on one line: continuation lines joined with single spaces (relationship fields). */
  folded(name: string): string | undefined {
    const at = this.#find(name);
    if (at === -1) return undefined;
    const value = this.text.slice(this.#fields[at + 2]!, this.#fields[at + 3]!);
    return value.includes('\n') ? value.replace(/\s*\n\s*/g, ' ').trim() : value.trim();
  }

  /**
   * Where the first field named `name` (case-insensitively, as toLowerCase() compares) is in
   * #fields, or -1. ASCII names are compared in place; any other goes through toLowerCase().
   */
  #find(name: string): number {
    const want = name.toLowerCase();
    const { text } = this;
    const fields = this.#fields;
    for (let at = 0; at < fields.length; at += 4) {
      const start = fields[at]!;
      const end = fields[at + 1]!;
      let i = 0;
      let ascii = true;
      for (; start + i < end; i++) {
        let c = text.charCodeAt(start + i);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        if (i >= want.length) break;
        if (c >= 0x41 && c <= 0x5a) c += 0x20;
        if (c !== want.charCodeAt(i)) break;
      }
      if (ascii && start + i === end) {
        if (i === want.length) return at;
        continue;
      }
      if (!ascii && text.slice(start, end).toLowerCase() === want) return at;
    }
    return -1;
  }
}

/** What String.prototype.trimEnd() removes: ECMAScript WhiteSpace and LineTerminator. */
function isWhiteSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

export function invalid(where: string, message: string): RepodError {
  return new RepodError('upstream_index_invalid', `${where}: ${message}`, { status: 422, details: { where } });
}

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
  /** lower-case name → [start of the value, end of the field's last line] */
  readonly #spans = new Map<string, [number, number]>();

  /** Throws `upstream_index_invalid` (422) naming `where` and the line. */
  constructor(text: string, where: string) {
    this.text = text;
    const n = text.length;
    let pos = 0;
    let line = 1;
    let current: [number, number] | undefined;
    while (pos < n) {
      let eol = text.indexOf('\n', pos);
      if (eol === -1) eol = n;
      const first = text.charCodeAt(pos);
      if (first === 0x20 || first === 0x09) {
        if (current === undefined) throw invalid(where, `line ${line}: a continuation line before any field`);
        current[1] = eol;
      } else if (eol > pos) {
        const colon = text.indexOf(':', pos);
        if (colon === -1 || colon >= eol || colon === pos) throw invalid(where, `line ${line}: not a "Name: value" field`);
        const name = text.slice(pos, colon).trimEnd().toLowerCase();
        current = [colon + 1, eol];
        if (!this.#spans.has(name)) this.#spans.set(name, current);
      }
      pos = eol + 1;
      line++;
    }
  }

  has(name: string): boolean {
    return this.#spans.has(name.toLowerCase());
  }

  /** The whole value: its first line and continuation lines, trimmed, lines joined with '\n'. */
  get(name: string): string | undefined {
    const span = this.#spans.get(name.toLowerCase());
    if (span === undefined) return undefined;
    const value = this.text.slice(span[0], span[1]);
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
    const span = this.#spans.get(name.toLowerCase());
    if (span === undefined) return undefined;
    const eol = this.text.indexOf('\n', span[0]);
    return this.text.slice(span[0], eol === -1 || eol > span[1] ? span[1] : eol).trim();
  }

  /** The value on one line: continuation lines joined with single spaces (relationship fields). */
  folded(name: string): string | undefined {
    const span = this.#spans.get(name.toLowerCase());
    if (span === undefined) return undefined;
    const value = this.text.slice(span[0], span[1]);
    return value.includes('\n') ? value.replace(/\s*\n\s*/g, ' ').trim() : value.trim();
  }
}

export function invalid(where: string, message: string): RepodError {
  return new RepodError('upstream_index_invalid', `${where}: ${message}`, { status: 422, details: { where } });
}

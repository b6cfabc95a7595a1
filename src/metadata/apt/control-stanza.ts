import type { DebControl } from '../../formats/deb/control.ts';

/**
 * How apt-ftparchive writes a control paragraph into an index (Packages, Sources): the fields of
 * its order first, each rewritten or as the control has it, then the control's other fields in
 * their own order. A rewrite to null removes the field.
 */

/** apt's WriteTag(): "Name: value", or "Name:value" when the value is empty or starts with whitespace. */
export function writeTag(name: string, value: string): string {
  return value === '' || /^[ \t\n\v\f\r]/.test(value) ? `${name}:${value}\n` : `${name}: ${value}\n`;
}

/** Field names in apt's order, and the same lowercased for lookups. */
export interface FieldOrder {
  names: readonly string[];
  lowercased: ReadonlySet<string>;
}

export function fieldOrder(names: readonly string[]): FieldOrder {
  return { names, lowercased: new Set(names.map((name) => name.toLowerCase())) };
}

/** The stanza, ending with the blank line that separates stanzas; `rewrites` are keyed by lowercased name. */
export function orderedStanza(control: DebControl, order: FieldOrder, rewrites: ReadonlyMap<string, string | null>): string {
  let out = '';
  const field = (name: string, key: string) => {
    if (rewrites.has(key)) {
      const value = rewrites.get(key);
      if (value) out += writeTag(name, value);
      return;
    }
    const raw = control.raw(name);
    if (raw !== undefined) out += writeTag(name, raw);
  };
  for (const name of order.names) field(name, name.toLowerCase());
  for (const [name] of control.fields) {
    const key = name.toLowerCase();
    if (!order.lowercased.has(key)) field(name, key);
  }
  return `${out}\n`;
}

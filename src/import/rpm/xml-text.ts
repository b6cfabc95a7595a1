import { RepodError } from '../../errors.ts';

const ENTITY = /&(?:#(\d{1,7})|#x([0-9a-fA-F]{1,6})|(amp|lt|gt|quot|apos));/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Decodes the predefined entities and character references of XML 1.0, the only ones a
 * metadata file without a DTD may hold. saxen leaves attribute values raw, and its own decoder
 * turns references above U+FFFF into the wrong character (String.fromCharCode), so the readers
 * here decode with this instead. A reference to a code point XML forbids (NUL, a surrogate, past
 * U+10FFFF) is refused: it can only come from a broken or hostile generator.
 */
export function decodeXmlText(raw: string): string {
  if (raw.indexOf('&') === -1) return raw;
  return raw.replace(ENTITY, (whole, decimal: string | undefined, hex: string | undefined, name: string | undefined) => {
    if (name !== undefined) return NAMED[name];
    const code = decimal !== undefined ? Number.parseInt(decimal, 10) : Number.parseInt(hex!, 16);
    if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      throw new RepodError('upstream_index_invalid', `the upstream index holds the character reference ${whole}, which XML does not allow`, { status: 422 });
    }
    return String.fromCodePoint(code);
  });
}

/** The name without its namespace prefix: producers may bind the rpm namespace to any prefix. */
export function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon === -1 ? name : name.slice(colon + 1);
}

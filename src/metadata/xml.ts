/**
 * XML escaping that reproduces what createrepo_c's libxml2 (2.9, xmlNodeDump on nodes without a
 * document) writes, byte for byte, so our per-package fragments can be compared with its output:
 *
 * - text content: `&` `<` `>` become entities and `\r` becomes `&#13;` (xmlEscapeContent); every
 *   other character, including `"` and non-ASCII, is written as UTF-8;
 * - attribute values: `&` `<` `>` `"` become entities, `\n` `\r` `\t` become `&#10;` `&#13;` `&#9;`,
 *   and every non-ASCII character becomes an upper-case hexadecimal character reference such as
 *   `&#xED;` (libxml2 does this when the node has no document encoding).
 *
 * One deliberate difference: createrepo_c refuses a whole package whose strings hold C0 control
 * characters (parseRpm refuses those too), while these functions must never emit a character
 * that XML 1.0 forbids whatever string they get. Such characters (C0 controls other than tab,
 * newline and carriage return, lone UTF-16 surrogates, U+FFFE and U+FFFF) are dropped, as
 * createrepo_c's own fallback for non-UTF-8 strings drops control bytes.
 */

// Anything that needs work in text content: the three entities, \r, and characters XML 1.0 forbids.
const TEXT_SPECIAL = /[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]/;

// Anything outside printable ASCII minus the characters escaped in attributes.
const ATTR_SPECIAL = /[^\x20\x21\x23-\x25\x27-\x3b\x3d\x3f-\x7e]/;

/** Escapes a string for use as element text content, exactly as createrepo_c writes it. */
export function escapeText(value: string): string {
  if (!TEXT_SPECIAL.test(value)) return value;
  let out = '';
  let start = 0;
  const length = value.length;
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i);
    let replacement: string;
    if (c === 0x26) replacement = '&amp;';
    else if (c === 0x3c) replacement = '&lt;';
    else if (c === 0x3e) replacement = '&gt;';
    else if (c === 0x0d) replacement = '&#13;';
    else if (c < 0x20) {
      if (c === 0x09 || c === 0x0a) continue;
      replacement = '';
    } else if (c >= 0xd800 && c <= 0xdfff) {
      if (c <= 0xdbff && i + 1 < length) {
        const low = value.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          i++; // a valid pair stays as it is
          continue;
        }
      }
      replacement = '';
    } else if (c === 0xfffe || c === 0xffff) replacement = '';
    else continue;
    out += value.slice(start, i) + replacement;
    start = i + 1;
  }
  return out + value.slice(start);
}

/** Escapes a string for use inside a double-quoted attribute value, exactly as createrepo_c writes it. */
export function escapeAttr(value: string): string {
  if (!ATTR_SPECIAL.test(value)) return value;
  let out = '';
  let start = 0;
  const length = value.length;
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i);
    let replacement: string;
    if (c >= 0x20 && c < 0x7f) {
      if (c === 0x26) replacement = '&amp;';
      else if (c === 0x3c) replacement = '&lt;';
      else if (c === 0x3e) replacement = '&gt;';
      else if (c === 0x22) replacement = '&quot;';
      else continue;
    } else if (c === 0x7f) {
      continue; // DEL is a valid XML character and libxml2 copies it
    } else if (c < 0x20) {
      if (c === 0x0a) replacement = '&#10;';
      else if (c === 0x0d) replacement = '&#13;';
      else if (c === 0x09) replacement = '&#9;';
      else replacement = '';
    } else if (c >= 0xd800 && c <= 0xdfff) {
      replacement = '';
      if (c <= 0xdbff && i + 1 < length) {
        const low = value.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          replacement = charRef(((c - 0xd800) << 10) + (low - 0xdc00) + 0x10000);
          out += value.slice(start, i) + replacement;
          i++;
          start = i + 1;
          continue;
        }
      }
    } else if (c === 0xfffe || c === 0xffff) replacement = '';
    else replacement = charRef(c);
    out += value.slice(start, i) + replacement;
    start = i + 1;
  }
  return out + value.slice(start);
}

function charRef(codePoint: number): string {
  return '&#x' + codePoint.toString(16).toUpperCase() + ';';
}

/**
 * Header strings are bytes with no declared encoding. createrepo_c keeps a string that is UTF-8
 * and otherwise re-reads it as Latin-1, dropping C0 controls and the bytes 0x80-0xBF
 * (xml_dump.c cr_latin1_to_utf8: it takes those for misencoded cp1252). It refuses the whole
 * package when any string holds a control character other than tab, newline and carriage return
 * ("Forbidden control chars found"), so such a package is refused here too.
 *
 * Every string this returns is therefore valid XML 1.0 character data: we also refuse U+FFFE and
 * U+FFFF, which createrepo_c would write through and which break every XML reader.
 * One deliberate difference: libxml2's xmlCheckUTF8 only checks the byte structure, so createrepo_c
 * passes overlong forms, encoded surrogates and code points past U+10FFFF through as invalid
 * XML; a strict UTF-8 decoder rejects those and they take the Latin-1 path here.
 */
import { InvalidPackageError } from '../../errors.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** `field` names the string in error messages, e.g. "summary" or "requires[3].name". */
export function decodeHeaderString(bytes: Uint8Array, field: string): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) {
      throw new InvalidPackageError(`rpm header: ${field} contains the control character 0x${b.toString(16).padStart(2, '0')}, which XML metadata cannot carry`);
    }
    if (b >= 0x80) ascii = false;
  }
  if (ascii) return latin1(bytes, false);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return latin1(bytes, true);
  }
  if (text.includes('\uFFFE') || text.includes('\uFFFF')) {
    throw new InvalidPackageError(`rpm header: ${field} contains U+FFFE or U+FFFF, which XML metadata cannot carry`);
  }
  return text;
}

/**
 * Header bytes as a "binary string" (one char per byte). Filtering and splitting work on these so
 * they see exactly the bytes createrepo_c compares; only what ends up in the model is decoded.
 */
export function binaryString(bytes: Uint8Array): string {
  return latin1(bytes, false);
}

/** decodeHeaderString for a binary string. */
export function decodeBinaryString(binary: string, field: string): string {
  let ascii = true;
  for (let i = 0; i < binary.length; i++) {
    const c = binary.charCodeAt(i);
    if (c >= 0x80 || c < 0x20) {
      ascii = false;
      break;
    }
  }
  if (ascii) return binary;
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return decodeHeaderString(bytes, field);
}

/** Bytes as Latin-1; `createrepo` applies createrepo_c's dropping of 0x80-0xBF. */
function latin1(bytes: Uint8Array, createrepo: boolean): string {
  let out = '';
  const CHUNK = 8192;
  for (let start = 0; start < bytes.length; start += CHUNK) {
    const part = bytes.subarray(start, start + CHUNK);
    const codes: number[] = [];
    for (const b of part) {
      if (createrepo && b >= 0x80 && b < 0xc0) continue;
      codes.push(b);
    }
    out += String.fromCharCode(...codes);
  }
  return out;
}

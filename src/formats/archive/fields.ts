/** Text fields of binary headers (ar, tar): NUL-terminated, in the encodings the formats use. */
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');
const utf8Fatal = new TextDecoder('utf-8', { fatal: true });

/** Bytes up to the first NUL (or the end), decoded as ISO-8859-1 (one char per byte): for ASCII header fields. */
export function asciiField(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return latin1.decode(nul === -1 ? bytes : bytes.subarray(0, nul));
}

/** Bytes up to the first NUL (or the end), decoded as UTF-8 with U+FFFD for invalid sequences: for path names. */
export function utf8Field(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return utf8.decode(nul === -1 ? bytes : bytes.subarray(0, nul));
}

/** Strict UTF-8 decoding: undefined when the bytes are not valid UTF-8. */
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  try {
    return utf8Fatal.decode(bytes);
  } catch {
    return undefined;
  }
}

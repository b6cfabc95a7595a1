/**
 * The part of clamd's socket protocol (clamd(8), "COMMANDS") that scanning a stream needs, as pure
 * byte framing and text parsing:
 *
 * - The `z` prefix makes clamd read the command and write its reply NUL-terminated (the `n` prefix
 *   would use newlines, which a signature name could not contain either, but NUL is unambiguous).
 * - INSTREAM: after the command, the data goes as chunks, each preceded by its length as a 4-byte
 *   unsigned big-endian integer; a chunk of length zero ends the stream. clamd stores the stream,
 *   scans it once it ends and answers `stream: OK`, `stream: <signature> FOUND` or
 *   `<message> ERROR`.
 * - When the stream grows past StreamMaxLength, clamd answers `INSTREAM size limit exceeded. ERROR`
 *   at once and closes the connection, without waiting for the rest.
 * - Replies in an IDSESSION carry a `<id>: ` prefix; repod does not use sessions, but the parser
 *   accepts it.
 */

const encoder = new TextEncoder();

/** The INSTREAM command, NUL-terminated. */
export const INSTREAM_COMMAND: Uint8Array = encoder.encode('zINSTREAM\0');

/** The zero-length chunk that ends an INSTREAM stream. */
export const END_OF_STREAM: Uint8Array = new Uint8Array(4);

/** Largest chunk length the 4-byte length field can carry. */
export const MAX_CHUNK = 0xffffffff;

/** One chunk framed for INSTREAM: its length (4 bytes, big-endian) followed by its bytes. */
export function frameChunk(data: Uint8Array): Uint8Array {
  if (data.length === 0) throw new RangeError('an empty chunk would end the stream: send END_OF_STREAM instead');
  if (data.length > MAX_CHUNK) throw new RangeError(`chunk of ${data.length} bytes does not fit INSTREAM's 32-bit length`);
  const out = new Uint8Array(4 + data.length);
  new DataView(out.buffer).setUint32(0, data.length, false);
  out.set(data, 4);
  return out;
}

export type ClamdReply =
  | { kind: 'ok' }
  | { kind: 'found'; signature: string }
  /** `tooLarge`: the stream went past clamd's StreamMaxLength. */
  | { kind: 'error'; message: string; tooLarge: boolean }
  /** Anything else: not a reply to INSTREAM. */
  | { kind: 'unexpected'; text: string };

/** Longest reply accepted; real replies are a signature name and a few words. */
export const MAX_REPLY_BYTES = 4096;

/** Interprets one reply, without its terminator (NUL or newline; trailing ones are ignored). */
export function parseReply(text: string): ClamdReply {
  const line = text.replace(/[\0\r\n]+$/, '');
  const body = line.replace(/^\d+: /, '');
  if (body === 'stream: OK') return { kind: 'ok' };
  const found = /^stream: (.+) FOUND$/.exec(body);
  if (found) return { kind: 'found', signature: found[1]! };
  if (/ ERROR$/.test(body)) {
    const message = body.slice(0, -' ERROR'.length).replace(/^stream: /, '');
    return { kind: 'error', message, tooLarge: /size limit exceeded/i.test(message) };
  }
  return { kind: 'unexpected', text: line };
}

/**
 * Collects reply bytes until the first NUL. clamd sends one reply per command, so bytes after the
 * terminator are not expected and are ignored.
 */
export class ReplyCollector {
  #parts: Uint8Array[] = [];
  #length = 0;
  #complete = false;

  /** Adds received bytes; returns true once the reply is complete. Throws past MAX_REPLY_BYTES. */
  push(chunk: Uint8Array): boolean {
    if (this.#complete) return true;
    const nul = chunk.indexOf(0);
    const part = nul < 0 ? chunk : chunk.subarray(0, nul);
    if (this.#length + part.length > MAX_REPLY_BYTES) throw new RangeError(`clamd reply longer than ${MAX_REPLY_BYTES} bytes`);
    this.#parts.push(part.slice());
    this.#length += part.length;
    this.#complete = nul >= 0;
    return this.#complete;
  }

  get complete(): boolean {
    return this.#complete;
  }

  /** Bytes received so far (without the terminator), as text. */
  text(): string {
    const all = new Uint8Array(this.#length);
    let at = 0;
    for (const p of this.#parts) {
      all.set(p, at);
      at += p.length;
    }
    return new TextDecoder('utf-8', { fatal: false }).decode(all);
  }
}

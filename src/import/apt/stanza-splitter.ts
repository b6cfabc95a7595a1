/**
 * Cuts a deb822 text that arrives in pieces (a decompressing Packages index) into stanzas, holding
 * at most one stanza and one piece at a time. Stanzas are separated by one or more empty lines
 * (apt's pkgTagFile). A stanza longer than the limit fails the whole read: an upstream that never
 * sends a separator would otherwise make the reader hold everything.
 */
import { RepodError } from '../../errors.ts';

export class StanzaSplitter {
  #pending = '';
  readonly #maxStanza: number;
  readonly #onStanza: (text: string) => void;
  readonly #where: string;

  /**
   * @param maxStanza longest stanza accepted, in characters (at most its size in UTF-8 bytes)
   * @param onStanza receives each stanza's text with its final newline, in order
   */
  constructor(maxStanza: number, onStanza: (text: string) => void, where: string) {
    this.#maxStanza = maxStanza;
    this.#onStanza = onStanza;
    this.#where = where;
  }

  push(piece: string): void {
    if (piece === '') return;
    const text = this.#pending === '' ? piece : this.#pending + piece;
    // The separator may straddle the previous piece and this one.
    let start = 0;
    let from = Math.max(0, this.#pending.length - 1);
    for (;;) {
      while (start < text.length && text.charCodeAt(start) === 0x0a) start++;
      if (from < start) from = start;
      const at = text.indexOf('\n\n', from);
      if (at === -1) break;
      this.#emit(text, start, at + 1);
      start = at + 2;
      from = start;
    }
    this.#pending = start === 0 ? text : text.slice(start);
    if (this.#pending.length > this.#maxStanza) throw this.#tooLong();
  }

  /** The input is complete: the last stanza may end without an empty line (or without a newline). */
  end(): void {
    const rest = this.#pending;
    this.#pending = '';
    if (rest.trim() === '') return;
    this.#emit(rest.endsWith('\n') ? rest : `${rest}\n`, 0, rest.endsWith('\n') ? rest.length : rest.length + 1);
  }

  #emit(text: string, start: number, end: number): void {
    if (end - start > this.#maxStanza) throw this.#tooLong();
    this.#onStanza(start === 0 && end === text.length ? text : text.slice(start, end));
  }

  #tooLong(): RepodError {
    return new RepodError('upstream_index_too_large', `${this.#where}: a stanza is longer than ${this.#maxStanza} characters`, {
      status: 422,
      details: { where: this.#where, maxStanzaBytes: this.#maxStanza },
    });
  }
}

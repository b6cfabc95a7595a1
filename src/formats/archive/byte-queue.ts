/**
 * A FIFO of byte chunks fed by a stream. Parsers append what arrives and take whole structures
 * (headers, chunks) once enough bytes are buffered. Appended chunks are referenced, not copied:
 * callers must not modify a chunk after pushing it.
 */
export class ByteQueue {
  #chunks: Uint8Array[] = [];
  #head = 0; // offset into #chunks[0]
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The first `n` bytes (n <= length) as one contiguous array, without consuming them. */
  peek(n: number): Uint8Array {
    if (n > this.#length) throw new RangeError(`peek(${n}) with ${this.#length} bytes buffered`);
    const first = this.#chunks[0];
    if (first !== undefined && first.length - this.#head >= n) return first.subarray(this.#head, this.#head + n);
    const out = new Uint8Array(n);
    let filled = 0;
    let offset = this.#head;
    for (const chunk of this.#chunks) {
      const take = Math.min(n - filled, chunk.length - offset);
      out.set(chunk.subarray(offset, offset + take), filled);
      filled += take;
      offset = 0;
      if (filled === n) break;
    }
    return out;
  }

  /** Drops the first `n` bytes (n <= length). */
  skip(n: number): void {
    if (n > this.#length) throw new RangeError(`skip(${n}) with ${this.#length} bytes buffered`);
    this.#length -= n;
    while (n > 0) {
      const first = this.#chunks[0]!;
      const left = first.length - this.#head;
      if (n < left) {
        this.#head += n;
        return;
      }
      n -= left;
      this.#chunks.shift();
      this.#head = 0;
    }
  }

  /** Takes the first `n` bytes (n <= length) as one contiguous array. */
  take(n: number): Uint8Array {
    const out = this.peek(n);
    this.skip(n);
    return out;
  }

  /**
   * Takes up to `n` bytes without copying: the longest prefix available in the first chunk.
   * Used to pass stream content through in the pieces it arrived in.
   */
  takeSome(n: number): Uint8Array {
    const first = this.#chunks[0];
    if (first === undefined || n <= 0) return new Uint8Array(0);
    const take = Math.min(n, first.length - this.#head);
    const out = first.subarray(this.#head, this.#head + take);
    this.skip(take);
    return out;
  }

  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#length = 0;
  }
}

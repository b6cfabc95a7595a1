/**
 * Variable-length byte records by small integer id, all in one growable buffer.
 *
 * Why: the dependency index keeps a record for every package of a distribution for as long as the
 * server runs. Held as JS strings, arrays and objects, 100,000 packages took about 45 MiB of the
 * V8 heap (a heap snapshot of the scale bench's server), and V8 grows its heap to a multiple of
 * what is live before it collects: under load that multiple is what pushed the server past its
 * memory target. Bytes in an ArrayBuffer are memory V8 neither traces nor counts in that growth.
 *
 * A removed record leaves a hole; the buffer is compacted (live records copied to a new one, in id
 * order) once holes are more than half of it, so memory follows what is held, and an id stays the
 * same for the life of its record. Ids of removed records are given out again.
 */
export class RecordArena {
  private bytes: Uint8Array;
  private starts = new Int32Array(8);
  /** Per id: the record's length, or -1 where the id is free. */
  private lengths = new Int32Array(8).fill(-1);
  private end = 0;
  private holes = 0;
  private nextId = 0;
  private readonly freeIds: number[] = [];
  private count = 0;

  constructor(initialBytes = 256) {
    this.bytes = new Uint8Array(initialBytes);
  }

  /** Records held. */
  get size(): number {
    return this.count;
  }

  /** Bytes of buffers held (for memory figures). */
  get bufferBytes(): number {
    return this.bytes.byteLength + this.starts.byteLength + this.lengths.byteLength;
  }

  /**
   * Adds a record of at most `maxLength` bytes: `fill` writes it at the start of the view it gets
   * and returns how many bytes it wrote. Returns the record's id.
   */
  add(maxLength: number, fill: (into: Uint8Array) => number): number {
    if (this.end + maxLength > this.bytes.length) this.makeRoom(maxLength);
    const written = fill(this.bytes.subarray(this.end, this.end + maxLength));
    if (!(written >= 0 && written <= maxLength)) throw new RangeError(`a record of ${written} bytes where at most ${maxLength} were reserved`);
    const id = this.freeIds.pop() ?? this.nextId++;
    if (id >= this.starts.length) this.growIds();
    this.starts[id] = this.end;
    this.lengths[id] = written;
    this.end += written;
    this.count++;
    return id;
  }

  has(id: number): boolean {
    return id >= 0 && id < this.nextId && this.lengths[id]! >= 0;
  }

  /** The bytes of a record: a view, valid until the next add or delete. */
  view(id: number): Uint8Array {
    if (!this.has(id)) throw new RangeError(`no record ${id}`);
    const start = this.starts[id]!;
    return this.bytes.subarray(start, start + this.lengths[id]!);
  }

  delete(id: number): boolean {
    if (!this.has(id)) return false;
    this.holes += this.lengths[id]!;
    this.lengths[id] = -1;
    this.freeIds.push(id);
    this.count--;
    return true;
  }

  /** Ids of the records held, in id order. */
  *ids(): Generator<number> {
    for (let id = 0; id < this.nextId; id++) if (this.lengths[id]! >= 0) yield id;
  }

  /** Compacts when holes are most of the buffer, else doubles it, until `more` bytes fit. */
  private makeRoom(more: number): void {
    const needed = this.end - this.holes + more;
    let size = this.bytes.length;
    // Mostly holes: the live records go to a buffer twice their size, or the same size when that
    // is smaller and they fit; else twice the size.
    if (this.holes > this.end - this.holes) size = Math.min(size, Math.max(256, 2 * needed));
    while (needed > size) size *= 2;
    const bytes = new Uint8Array(size);
    let at = 0;
    for (let id = 0; id < this.nextId; id++) {
      const length = this.lengths[id]!;
      if (length < 0) continue;
      const start = this.starts[id]!;
      bytes.set(this.bytes.subarray(start, start + length), at);
      this.starts[id] = at;
      at += length;
    }
    this.bytes = bytes;
    this.end = at;
    this.holes = 0;
  }

  private growIds(): void {
    const starts = new Int32Array(this.starts.length * 2);
    starts.set(this.starts);
    const lengths = new Int32Array(this.lengths.length * 2).fill(-1);
    lengths.set(this.lengths);
    this.starts = starts;
    this.lengths = lengths;
  }
}

import type { RenderedFile, Segment } from '../bucket/render-manifest.ts';
import type { Hasher } from '../capabilities.ts';
import { toBase64 } from '../util/bytes.ts';
import { LruCache } from '../util/lru-cache.ts';

/**
 * Builds one listed index file of a render (Packages, Packages.gz, Contents, ...) chunk by chunk:
 * its segments, size and SHA256. Hashing is the only part of a render that reads every byte of
 * the distribution, so a builder can resume from what the previous render of the same file left
 * (a `FileProgress`): chunks are content-addressed, so when the new file starts with the same
 * chunks as the old one, the hash state after them is the same too. Renders lay chunks out oldest
 * first (see render-apt.ts), which puts what a publish rewrote at the end.
 */

/** Sizes of one xz block, as the xz index at the end of the file lists them. */
export interface BlockSizes {
  unpaddedSize: number;
  uncompressedSize: number;
}

/** The state after one chunk. The hasher is a snapshot: only ever copied, never updated. */
interface Mark {
  hasher: Hasher;
  size: number;
  openSize: number;
  segments: number;
  blocks: number;
}

/** How far a render got through a file: chunk ids in file order and the state after each. */
export interface FileProgress {
  chunks: string[];
  marks: Mark[];
  segments: Segment[];
  blocks: BlockSizes[];
}

/**
 * The last progress of each file, in memory only: hash states do not leave the process (and Web
 * Crypto cannot snapshot one at all), so a fresh process hashes its first render from the start.
 */
export class HashCarry {
  private readonly files = new LruCache<string, FileProgress>(256);

  get(key: string): FileProgress | undefined {
    return this.files.get(key);
  }

  set(key: string, progress: FileProgress): void {
    this.files.set(key, progress);
  }
}

/** A piece of a chunk's contribution: where the bytes live, and the bytes themselves to hash. */
export interface Piece {
  segment: Segment;
  bytes: Uint8Array;
}

export class IndexFileBuilder {
  private hasher: Hasher;
  private size = 0;
  private openSize = 0;
  private segments: Segment[] = [];
  private blocks: BlockSizes[] = [];
  private chunks: string[] = [];
  private marks: Mark[] = [];

  constructor(
    readonly path: string,
    readonly type: string,
    hasher: Hasher,
    head?: Uint8Array,
  ) {
    this.hasher = hasher;
    if (head) this.addData(head);
  }

  /**
   * Continues from `previous` after the longest common start of its chunks and `order` (chunk ids
   * in file order). Returns how many chunks of `order` are already accounted for.
   */
  resume(previous: FileProgress | undefined, order: readonly string[]): number {
    if (!previous) return 0;
    let n = 0;
    while (n < order.length && n < previous.chunks.length && previous.chunks[n] === order[n]) n++;
    const mark = n > 0 ? previous.marks[n - 1] : undefined;
    const copy = mark?.hasher.copy?.();
    if (!mark || !copy) return 0;
    this.hasher = copy;
    this.size = mark.size;
    this.openSize = mark.openSize;
    this.segments = previous.segments.slice(0, mark.segments);
    this.blocks = previous.blocks.slice(0, mark.blocks);
    this.chunks = order.slice(0, n);
    this.marks = previous.marks.slice(0, n);
    return n;
  }

  /** One chunk's part of the file: its pieces in order, their uncompressed size, and xz blocks. */
  addChunk(chunk: string, pieces: readonly Piece[], openSize: number, blocks: readonly BlockSizes[] = []): void {
    for (const p of pieces) {
      this.hasher.update(p.bytes);
      this.size += p.bytes.length;
      this.segments.push(p.segment);
    }
    this.openSize += openSize;
    this.blocks.push(...blocks);
    this.chunks.push(chunk);
    const snapshot = this.hasher.copy?.();
    if (snapshot) this.marks.push({ hasher: snapshot, size: this.size, openSize: this.openSize, segments: this.segments.length, blocks: this.blocks.length });
  }

  /** The xz blocks added so far (an xz file's trailer lists them). */
  blockSizes(): readonly BlockSizes[] {
    return this.blocks;
  }

  /**
   * The finished file, with `tail` appended after the last chunk, and the progress a later render
   * resumes from (null when the runtime cannot snapshot hashes).
   */
  async finish(tail?: Uint8Array): Promise<{ file: RenderedFile; progress: FileProgress | null }> {
    const progress: FileProgress | null =
      this.marks.length === this.chunks.length ? { chunks: this.chunks, marks: this.marks, segments: [...this.segments], blocks: [...this.blocks] } : null;
    if (tail) this.addData(tail);
    const file: RenderedFile = {
      path: this.path,
      type: this.type,
      size: this.size,
      openSize: this.openSize,
      checksums: { sha256: await this.hasher.digest() },
      segments: this.segments,
    };
    return { file, progress };
  }

  private addData(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.hasher.update(bytes);
    this.size += bytes.length;
    this.segments.push({ data: toBase64(bytes) });
  }
}

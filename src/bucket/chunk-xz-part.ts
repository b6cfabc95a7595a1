import { RepodError } from '../errors.ts';
import { encodeXzBlock } from '../formats/xz/block.ts';
import type { ChunkIndex, ViewSelector } from './chunk.ts';
import { decodeSegmented, encodeSegmented } from './segmented.ts';

/**
 * The xz form of a chunk's raw stream, kept beside the chunk in an "xz part" object: one xz block
 * per group (an APT component and architecture), each compressed on its own. An .xz file may hold
 * any number of blocks, so a view's Packages.xz is a stream header, the selected blocks of every
 * chunk and an index listing their sizes: nothing is recompressed when a revision changes other
 * chunks. Compressing is slow next to gzip, so a part is made on first need (the first render that
 * lists Packages.xz after the chunk was written), never on the publish path, and stored once for
 * every later revision that keeps the chunk.
 */
export interface XzPartBlock {
  arch: string;
  component?: string;
  /** Offset in the body and length of the block (with its padding and check). */
  offset: number;
  length: number;
  unpaddedSize: number;
  uncompressedSize: number;
}

export interface XzPartHeader {
  format: 1;
  /** The chunk and raw stream this part compresses. */
  chunk: string;
  stream: string;
  blocks: XzPartBlock[];
}

export function encodeXzPart(chunk: string, index: ChunkIndex, bytes: Uint8Array, stream: string): Uint8Array {
  const s = index.streamIndex(stream);
  const blocks: XzPartBlock[] = [];
  const body: Uint8Array[] = [];
  let offset = 0;
  for (const g of index.rawGroups(s)) {
    const block = encodeXzBlock(bytes.subarray(g.start, g.end));
    blocks.push({
      arch: g.arch,
      ...(g.component !== undefined ? { component: g.component } : {}),
      offset,
      length: block.bytes.length,
      unpaddedSize: block.unpaddedSize,
      uncompressedSize: block.uncompressedSize,
    });
    body.push(block.bytes);
    offset += block.bytes.length;
  }
  const header: XzPartHeader = { format: 1, chunk, stream, blocks };
  return encodeSegmented(header, body);
}

/** A decoded part: which blocks a view takes, at absolute offsets in the part object. */
export class XzPart {
  constructor(
    readonly header: XzPartHeader,
    private readonly bodyOffset: number,
  ) {}

  select(select: ViewSelector): Array<{ start: number; end: number; unpaddedSize: number; uncompressedSize: number }> {
    return this.header.blocks
      .filter((b) => select(b))
      .map((b) => ({ start: this.bodyOffset + b.offset, end: this.bodyOffset + b.offset + b.length, unpaddedSize: b.unpaddedSize, uncompressedSize: b.uncompressedSize }));
  }
}

export function decodeXzPart(bytes: Uint8Array, chunk: string, stream: string): XzPart {
  const { header, bodyOffset } = decodeSegmented<XzPartHeader>(bytes);
  if (header.format !== 1 || header.chunk !== chunk || header.stream !== stream) {
    throw new RepodError('corrupt_object', `xz part of chunk ${chunk} does not describe that chunk's ${stream} stream`, { status: 500 });
  }
  return new XzPart(header, bodyOffset);
}

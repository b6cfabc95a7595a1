import { RepodError } from '../errors.ts';
import { decodeSegmented, encodeSegmented } from './segmented.ts';

/**
 * A chunk is an immutable, content-addressed slice of a revision's package index: up to
 * CHUNK_MAX_ENTRIES entries sorted by key, each with its pre-rendered metadata segments (gzip members
 * for RPM primary/filelists/other, stanzas for APT). The body is stream-major: every entry's segment
 * of stream 0, then of stream 1, ... so the bytes one metadata file needs from a chunk are one
 * contiguous range when a view takes every entry. Publishing rewrites only the chunks a change
 * touches; rendering concatenates segments without recompressing anything.
 */
export interface IndexEntry {
  /** Identity and sort key within a distribution (see keys.ts). */
  key: string;
  /** sha256 of the package file. */
  id: string;
  /** The package's architecture as written in it (x86_64, noarch, src; amd64, all). */
  arch: string;
  /** File name used in hrefs (RPM) or pool path (APT). */
  file: string;
  /** Human-readable identity for change logs: NEVRA or name_version_arch. */
  label: string;
  /** APT only. */
  component?: string;
  /** Per stream: length of this entry's segment in the chunk, and its uncompressed length. */
  lengths: number[];
  rawLengths: number[];
}

export interface ChunkHeader {
  format: 1;
  streams: string[];
  entries: IndexEntry[];
}

/** An entry with its segment bytes, as composing needs it. */
export interface EntryWithSegments {
  entry: IndexEntry;
  segments: Uint8Array[];
}

/** A chunk is split when it outgrows these; new pieces are half full so the next inserts fit. */
export const CHUNK_MAX_ENTRIES = 1024;
export const CHUNK_MAX_BYTES = 4 * 1024 * 1024;

export function encodeChunk(streams: string[], items: EntryWithSegments[]): Uint8Array {
  const body: Uint8Array[] = [];
  for (let s = 0; s < streams.length; s++) for (const item of items) body.push(item.segments[s]);
  const header: ChunkHeader = { format: 1, streams, entries: items.map((i) => i.entry) };
  return encodeSegmented(header, body);
}

/** A chunk's header with the absolute byte offset of every entry's segment in every stream. */
export class ChunkIndex {
  readonly streams: string[];
  readonly entries: IndexEntry[];
  /** offsets[s][i]: absolute offset of entry i's segment of stream s; offsets[s][n] is the end. */
  private readonly offsets: number[][];

  constructor(header: ChunkHeader, bodyOffset: number) {
    if (header.format !== 1) throw new RepodError('corrupt_object', `unknown chunk format ${header.format}`, { status: 500 });
    this.streams = header.streams;
    this.entries = header.entries;
    this.offsets = [];
    let at = bodyOffset;
    for (let s = 0; s < this.streams.length; s++) {
      const row = new Array<number>(this.entries.length + 1);
      for (let i = 0; i < this.entries.length; i++) {
        row[i] = at;
        at += this.entries[i].lengths[s];
      }
      row[this.entries.length] = at;
      this.offsets.push(row);
    }
  }

  streamIndex(stream: string): number {
    const s = this.streams.indexOf(stream);
    if (s < 0) throw new RepodError('corrupt_object', `chunk has no stream ${stream}`, { status: 500 });
    return s;
  }

  /** [start, end) of entry i's segment of stream s. */
  segment(s: number, i: number): [number, number] {
    return [this.offsets[s][i], this.offsets[s][i + 1]];
  }

  /** Byte ranges [start, end) of the selected entries in stream s, adjacent ranges merged. */
  ranges(s: number, select: (entry: IndexEntry) => boolean): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < this.entries.length; i++) {
      if (!select(this.entries[i])) continue;
      const [start, end] = this.segment(s, i);
      if (start === end) continue;
      const last = out[out.length - 1];
      if (last && last[1] === start) last[1] = end;
      else out.push([start, end]);
    }
    return out;
  }

  /** Entries with their segment bytes, given the whole chunk object. */
  withSegments(bytes: Uint8Array): EntryWithSegments[] {
    return this.entries.map((entry, i) => ({
      entry,
      segments: this.streams.map((_, s) => {
        const [start, end] = this.segment(s, i);
        return bytes.subarray(start, end);
      }),
    }));
  }
}

export function decodeChunk(bytes: Uint8Array): ChunkIndex {
  const { header, bodyOffset } = decodeSegmented<ChunkHeader>(bytes);
  return new ChunkIndex(header, bodyOffset);
}

/** Keeps sorted items in one chunk while within the limits, else splits them into half-full pieces. */
export function splitIntoChunks(items: EntryWithSegments[]): EntryWithSegments[][] {
  if (items.length === 0) return [];
  const bytes = items.reduce((n, i) => n + i.segments.reduce((m, s) => m + s.length, 0), 0);
  if (items.length <= CHUNK_MAX_ENTRIES && bytes <= CHUNK_MAX_BYTES) return [items];
  const pieces = Math.max(Math.ceil((2 * items.length) / CHUNK_MAX_ENTRIES), Math.ceil((2 * bytes) / CHUNK_MAX_BYTES));
  const size = Math.ceil(items.length / pieces);
  const out: EntryWithSegments[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

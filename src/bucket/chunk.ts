import { RepodError } from '../errors.ts';
import { concatBytes } from '../util/bytes.ts';
import { type GzipBlockCompressor, gzipGroupMember } from './gzip-blocks.ts';
import { joinKey } from './keys.ts';
import { decodeSegmented, encodeSegmented } from './segmented.ts';

/**
 * A chunk is an immutable, content-addressed slice of a revision's package index: entries sorted
 * by key, each with its pre-rendered metadata in every stream (primary/filelists/other XML for
 * RPM; stanza, gzip stanza and Contents lines for APT).
 *
 * A `raw` stream keeps each entry's bytes as they are, entry after entry. A `gzip` stream keeps one
 * gzip member per group of entries that every view takes or leaves together (an RPM architecture;
 * an APT component and architecture), so clients download metadata compressed almost as well as a
 * whole-file gzip, while a render only concatenates members: a view's file is a header member, the
 * selected groups' members of every chunk, and a footer member. Publishing rewrites only the chunks
 * a change lands in, and recompresses only the blocks of them it touches (gzip-blocks.ts).
 */
export interface IndexEntry {
  /** Identity and sort key within a distribution (see rpm-entry.ts, apt-entry.ts). */
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
  /** Per stream: the entry's uncompressed bytes. */
  rawLengths: number[];
}

export interface StreamSpec {
  name: string;
  mode: 'raw' | 'gzip';
}

/** One gzip member of a gzip stream: the entries of one group, in entry order (made in one pass or block by block, gzip-blocks.ts). */
export interface ChunkGroup {
  stream: number;
  arch: string;
  component?: string;
  /** Offset in the body and length of the member. */
  offset: number;
  length: number;
  rawLength: number;
}

export interface ChunkHeader {
  format: 1;
  streams: StreamSpec[];
  entries: IndexEntry[];
  groups: ChunkGroup[];
}

/** An entry with its uncompressed bytes per stream, as composing needs it. */
export interface EntryWithSegments {
  entry: IndexEntry;
  segments: Uint8Array[];
}

/** What a view takes: a predicate on an entry's (or a group's) architecture and component. */
export type ViewSelector = (target: { arch: string; component?: string }) => boolean;

/** A chunk is split when it outgrows these; new pieces are half full so the next inserts fit. */
export const CHUNK_MAX_ENTRIES = 1024;
export const CHUNK_MAX_BYTES = 8 * 1024 * 1024;

const groupKey = (e: { arch: string; component?: string }) => joinKey(e.component ?? '', e.arch);

/**
 * `blocks`, where the runtime can deflate with a dictionary, makes each gzip group one member
 * built block by block (gzip-blocks.ts) so a rewrite compresses only what changed; without it
 * each group is one `gzip` call. Either decodes the same.
 */
export function encodeChunk(streams: StreamSpec[], items: EntryWithSegments[], gzip: (data: Uint8Array) => Uint8Array, blocks?: GzipBlockCompressor): Uint8Array {
  const body: Uint8Array[] = [];
  const groups: ChunkGroup[] = [];
  let offset = 0;
  const byGroup = new Map<string, EntryWithSegments[]>();
  for (const item of items) {
    const k = groupKey(item.entry);
    const list = byGroup.get(k);
    if (list) list.push(item);
    else byGroup.set(k, [item]);
  }
  streams.forEach((spec, s) => {
    if (spec.mode === 'raw') {
      // Group by group too, so what a view takes from a raw stream is one range per group.
      for (const members of byGroup.values()) {
        for (const item of members) {
          body.push(item.segments[s]);
          offset += item.segments[s].length;
        }
      }
      return;
    }
    for (const group of byGroup.values()) {
      let length: number;
      let rawLength: number;
      if (blocks) {
        const member = gzipGroupMember(spec.name, group, s, blocks);
        body.push(...member.parts);
        ({ length, rawLength } = member);
      } else {
        const raw = concatBytes(group.map((m) => m.segments[s]));
        const gz = gzip(raw);
        body.push(gz);
        length = gz.length;
        rawLength = raw.length;
      }
      const { arch, component } = group[0].entry;
      groups.push({ stream: s, arch, ...(component !== undefined ? { component } : {}), offset, length, rawLength });
      offset += length;
    }
  });
  const header: ChunkHeader = { format: 1, streams, entries: items.map((i) => i.entry), groups };
  return encodeSegmented(header, body);
}

/** A chunk's header with absolute byte offsets of raw segments and gzip groups. */
export class ChunkIndex {
  readonly streams: StreamSpec[];
  readonly entries: IndexEntry[];
  readonly groups: ChunkGroup[];
  private readonly bodyOffset: number;
  private groupOrder: number[][] | undefined;
  /** rawOffsets[s][i]: absolute offset of entry i's segment of raw stream s (undefined for gzip streams). */
  private readonly rawOffsets: Array<number[] | undefined>;

  constructor(header: ChunkHeader, bodyOffset: number) {
    if (header.format !== 1) throw new RepodError('corrupt_object', `unknown chunk format ${header.format}`, { status: 500 });
    this.streams = header.streams;
    this.entries = header.entries;
    this.groups = header.groups;
    this.bodyOffset = bodyOffset;
    this.rawOffsets = [];
    let at = bodyOffset;
    this.streams.forEach((spec, s) => {
      if (spec.mode !== 'raw') {
        this.rawOffsets.push(undefined);
        at = Math.max(at, ...this.groups.filter((g) => g.stream === s).map((g) => bodyOffset + g.offset + g.length));
        return;
      }
      // Segments are laid out group by group (see encodeChunk): row[i] is entry i's offset.
      const row = new Array<number>(this.entries.length);
      for (const members of this.entriesByGroup()) {
        for (const i of members) {
          row[i] = at;
          at += this.entries[i].rawLengths[s];
        }
      }
      this.rawOffsets.push(row);
    });
  }

  streamIndex(stream: string): number {
    const s = this.streams.findIndex((spec) => spec.name === stream);
    if (s < 0) throw new RepodError('corrupt_object', `chunk has no stream ${stream}`, { status: 500 });
    return s;
  }

  /**
   * Byte ranges [start, end) of what a view takes from stream s: the selected entries' segments of
   * a raw stream (adjacent ones merged), the selected groups' members of a gzip stream.
   */
  ranges(s: number, select: ViewSelector): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    const push = (start: number, end: number) => {
      if (start === end) return;
      const last = out[out.length - 1];
      if (last && last[1] === start) last[1] = end;
      else out.push([start, end]);
    };
    const row = this.rawOffsets[s];
    if (row) {
      // In group order, like the gzip streams, so a view's plain and compressed files hold the same text.
      for (const members of this.entriesByGroup()) {
        for (const i of members) if (select(this.entries[i])) push(row[i], row[i] + this.entries[i].rawLengths[s]);
      }
    } else {
      for (const g of this.groups) if (g.stream === s && select(g)) push(this.bodyOffset + g.offset, this.bodyOffset + g.offset + g.length);
    }
    return out;
  }

  /** Each group's bytes [start, end) in raw stream s, in layout order. */
  rawGroups(s: number): Array<{ arch: string; component?: string; start: number; end: number }> {
    const row = this.rawOffsets[s];
    if (!row) throw new RepodError('corrupt_object', `chunk stream ${this.streams[s]?.name} is not raw`, { status: 500 });
    return this.entriesByGroup().map((members) => {
      const { arch, component } = this.entries[members[0]];
      const last = members[members.length - 1];
      return { arch, ...(component !== undefined ? { component } : {}), start: row[members[0]], end: row[last] + this.entries[last].rawLengths[s] };
    });
  }

  /** Entry indexes grouped as encodeChunk groups them: groups in order of first appearance. */
  private entriesByGroup(): number[][] {
    if (this.groupOrder) return this.groupOrder;
    const groups = new Map<string, number[]>();
    this.entries.forEach((e, i) => {
      const k = groupKey(e);
      const list = groups.get(k);
      if (list) list.push(i);
      else groups.set(k, [i]);
    });
    this.groupOrder = [...groups.values()];
    return this.groupOrder;
  }

  /** Uncompressed bytes a view takes from stream s (the open size). */
  rawSize(s: number, select: ViewSelector): number {
    let n = 0;
    for (const e of this.entries) if (select(e)) n += e.rawLengths[s];
    return n;
  }

  /** Entries with their uncompressed segments, given the whole chunk object. */
  withSegments(bytes: Uint8Array, gunzip: (data: Uint8Array) => Uint8Array): EntryWithSegments[] {
    const items: EntryWithSegments[] = this.entries.map((entry) => ({ entry, segments: new Array<Uint8Array>(this.streams.length) }));
    this.streams.forEach((_spec, s) => {
      const row = this.rawOffsets[s];
      if (row) {
        items.forEach((item, i) => {
          item.segments[s] = bytes.subarray(row[i], row[i] + item.entry.rawLengths[s]);
        });
        return;
      }
      for (const g of this.groups) {
        if (g.stream !== s) continue;
        const raw = gunzip(bytes.subarray(this.bodyOffset + g.offset, this.bodyOffset + g.offset + g.length));
        if (raw.length !== g.rawLength) throw new RepodError('corrupt_object', 'chunk group does not decompress to its recorded length', { status: 500 });
        let at = 0;
        for (const item of items) {
          if (groupKey(item.entry) !== groupKey(g)) continue;
          const n = item.entry.rawLengths[s];
          item.segments[s] = raw.subarray(at, at + n);
          at += n;
        }
        if (at !== raw.length) throw new RepodError('corrupt_object', 'chunk group holds bytes no entry accounts for', { status: 500 });
      }
    });
    return items;
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

/**
 * One RPM header structure (the signature header or the main header): an 8-byte magic, the index
 * entry count (il) and data store length (dl), il 16-byte index entries, then the data store.
 * The checks follow rpm's lib/header.c (hdrblobVerifyLengths, hdrblobVerifyRegion,
 * hdrblobVerifyInfo, regionSwab), so a header rpm refuses is refused here too, with a message
 * that names the entry and the problem.
 */
import { InvalidPackageError } from '../../errors.ts';
import { HEADER_I18NTABLE, HEADER_IMAGE, HEADER_IMMUTABLE, HEADER_SIGNATURES, isStringType, MAIN_TAG_TYPES, TagType, TYPE_ALIGN, TYPE_NAMES, TYPE_SIZES } from './tags.ts';

export type HeaderKind = 'signature' | 'main';

/** Magic, reserved word, il, dl. */
export const HEADER_INTRO_SIZE = 16;
const ENTRY_SIZE = 16;
const HEADER_MAGIC = [0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];

/**
 * rpm's limits: a signature header has at most 32 tags and 64 MiB of data; a main header at most
 * 0xffff tags and 256 MiB - 1 of data; no header blob reaches 256 MiB; no non-binary entry has
 * more than 0xfffff items.
 */
export const LIMITS = {
  signature: { maxTags: 32, maxData: 64 * 1024 * 1024 },
  main: { maxTags: 0xffff, maxData: 0x0fffffff },
} as const;
const MAX_BLOB = 256 * 1024 * 1024;
const MAX_ARRAY = 0x000fffff;

export function headerLabel(kind: HeaderKind): string {
  return kind === 'signature' ? 'rpm signature header' : 'rpm header';
}

export interface HeaderIntro {
  indexCount: number;
  dataLength: number;
  /** Bytes from the magic to the end of the data store. */
  size: number;
}

/**
 * Checks the first 16 bytes of a header, before the rest is read, so a hostile count never makes
 * a reader wait for (or buffer) more than rpm's limits allow.
 */
export function readHeaderIntro(bytes: Uint8Array, offset: number, kind: HeaderKind): HeaderIntro {
  const label = headerLabel(kind);
  for (let i = 0; i < HEADER_MAGIC.length; i++) {
    if (bytes[offset + i] !== HEADER_MAGIC[i]) {
      throw new InvalidPackageError(`${label}: bad magic at byte ${offset} (expected 8e ad e8 01 00 00 00 00)`);
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset + 8, 8);
  const il = view.getUint32(0);
  const dl = view.getUint32(4);
  const limits = LIMITS[kind];
  if (il > limits.maxTags) {
    throw new InvalidPackageError(`${label}: ${il} index entries is more than the limit of ${limits.maxTags}`);
  }
  if (dl > limits.maxData) {
    throw new InvalidPackageError(`${label}: data store of ${dl} bytes is more than the limit of ${limits.maxData}`);
  }
  const blob = 8 + il * ENTRY_SIZE + dl;
  if (blob >= MAX_BLOB) {
    throw new InvalidPackageError(`${label}: ${blob} bytes is more than the header size limit of ${MAX_BLOB}`);
  }
  if (il < 1) throw new InvalidPackageError(`${label}: no index entries`);
  return { indexCount: il, dataLength: dl, size: HEADER_INTRO_SIZE + il * ENTRY_SIZE + dl };
}

export interface HeaderEntry {
  /** Position in the on-disk index (0 is the region tag when there is one). */
  readonly index: number;
  readonly tag: number;
  readonly type: number;
  /** Offset of the data in the data store. */
  readonly offset: number;
  readonly count: number;
  /** Bytes of data, including string terminators. */
  readonly length: number;
}

/** A parsed, fully validated header. Accessors return views into the original bytes. */
export class RpmHeader {
  readonly kind: HeaderKind;
  /** From the magic to the end of the data store. */
  readonly bytes: Uint8Array;
  /** Where the header starts in the package file. */
  readonly fileOffset: number;
  /** The region tag (62 or 63) of a v4 header; undefined for a legacy (v3) header without one. */
  readonly regionTag: number | undefined;
  private readonly store: Uint8Array;
  private readonly view: DataView;
  private readonly entries: Map<number, HeaderEntry>;

  private constructor(kind: HeaderKind, bytes: Uint8Array, fileOffset: number, regionTag: number | undefined, store: Uint8Array, entries: Map<number, HeaderEntry>) {
    this.kind = kind;
    this.bytes = bytes;
    this.fileOffset = fileOffset;
    this.regionTag = regionTag;
    this.store = store;
    this.view = new DataView(store.buffer, store.byteOffset, store.byteLength);
    this.entries = entries;
  }

  /** `bytes` holds exactly one header, magic first (its length is checked against il and dl). */
  static parse(bytes: Uint8Array, kind: HeaderKind, fileOffset = 0): RpmHeader {
    const label = headerLabel(kind);
    if (bytes.length < HEADER_INTRO_SIZE) throw new InvalidPackageError(`${label}: truncated (${bytes.length} bytes)`);
    const intro = readHeaderIntro(bytes, 0, kind);
    if (bytes.length !== intro.size) {
      throw new InvalidPackageError(`${label}: expected ${intro.size} bytes, got ${bytes.length}`);
    }
    const il = intro.indexCount;
    const dl = intro.dataLength;
    const index = new DataView(bytes.buffer, bytes.byteOffset + HEADER_INTRO_SIZE, il * ENTRY_SIZE);
    const store = bytes.subarray(HEADER_INTRO_SIZE + il * ENTRY_SIZE);
    const raw = (i: number) => ({
      tag: index.getInt32(i * ENTRY_SIZE),
      type: index.getUint32(i * ENTRY_SIZE + 4),
      offset: index.getInt32(i * ENTRY_SIZE + 8),
      count: index.getUint32(i * ENTRY_SIZE + 12),
    });

    const region = readRegion(kind, raw(0), store, il, dl);
    const entries = new Map<number, HeaderEntry>();
    // rpm requires the data to be laid out in index order, packed but for alignment padding:
    // regionSwab sums the lengths and the total must be the data store size exactly.
    let previousEnd = 0;
    let packed = 0;
    for (let i = region ? 1 : 0; i < il; i++) {
      const e = raw(i);
      const where = `${label}: index entry ${i} (tag ${e.tag})`;
      if (e.tag < HEADER_I18NTABLE) throw new InvalidPackageError(`${where}: tag number below ${HEADER_I18NTABLE} is reserved`);
      if (e.type < 1 || e.type > 9) throw new InvalidPackageError(`${where}: unknown data type ${e.type}`);
      const typeName = TYPE_NAMES[e.type];
      if (e.count < 1) throw new InvalidPackageError(`${where}: count is 0`);
      if (e.count > dl) throw new InvalidPackageError(`${where}: count ${e.count} is larger than the data store (${dl} bytes)`);
      if (e.type === TagType.STRING && e.count !== 1) throw new InvalidPackageError(`${where}: a STRING entry has count ${e.count}, not 1`);
      if (e.type !== TagType.BIN && e.count > MAX_ARRAY) throw new InvalidPackageError(`${where}: ${e.count} items is more than the limit of ${MAX_ARRAY}`);
      if (e.offset < 0 || e.offset >= dl) {
        throw new InvalidPackageError(`${where} points outside the data store (offset ${e.offset}, store ${dl} bytes)`);
      }
      if (e.offset % TYPE_ALIGN[e.type] !== 0) throw new InvalidPackageError(`${where}: offset ${e.offset} is not aligned for ${typeName}`);
      if (e.offset < previousEnd) throw new InvalidPackageError(`${where}: data at offset ${e.offset} overlaps the previous entry's data (ending at ${previousEnd})`);
      if (kind === 'main') checkTagType(where, e.tag, e.type);
      const length = dataLength(store, e.type, e.offset, e.count, dl);
      if (length < 0) {
        throw new InvalidPackageError(
          isStringType(e.type)
            ? `${where}: ${e.count} ${typeName} item(s) are not all NUL-terminated inside the data store`
            : `${where}: ${e.count} ${typeName} item(s) at offset ${e.offset} run past the end of the data store (${dl} bytes)`,
        );
      }
      const end = e.offset + length;
      if (region && end > region.dataLength - ENTRY_SIZE && e.offset < region.dataLength) {
        throw new InvalidPackageError(`${where}: data overlaps the region trailer`);
      }
      previousEnd = end;
      packed += alignPadding(e.type, packed) + length;

      const entry: HeaderEntry = { index: i, tag: e.tag, type: e.type, offset: e.offset, count: e.count, length };
      const earlier = entries.get(e.tag);
      // Entries after the region ("dribbles", signature header only) replace the region's copy.
      if (earlier && !(region && i >= region.indexCount && earlier.index < region.indexCount)) {
        throw new InvalidPackageError(`${where}: duplicate of index entry ${earlier.index}`);
      }
      entries.set(e.tag, entry);
    }
    if (region) packed += ENTRY_SIZE;
    if (packed !== dl) {
      throw new InvalidPackageError(`${label}: data store is ${dl} bytes but its entries account for ${packed} (gaps or trailing bytes)`);
    }
    return new RpmHeader(kind, bytes, fileOffset, region?.tag, store, entries);
  }

  /** Bytes from the magic to the end of the data store. */
  get size(): number {
    return this.bytes.length;
  }

  has(tag: number): boolean {
    return this.entries.has(tag);
  }

  entry(tag: number): HeaderEntry | undefined {
    return this.entries.get(tag);
  }

  tags(): number[] {
    return [...this.entries.keys()];
  }

  /** The raw data of an entry, whatever its type. */
  raw(tag: number): Uint8Array | undefined {
    const e = this.entries.get(tag);
    return e && this.store.subarray(e.offset, e.offset + e.length);
  }

  /** The items of a string-typed entry (STRING, STRING_ARRAY, I18NSTRING), without terminators. */
  strings(tag: number): Uint8Array[] | undefined {
    const e = this.entries.get(tag);
    if (!e) return undefined;
    this.expect(e, isStringType(e.type), 'a string type');
    const out: Uint8Array[] = [];
    let start = e.offset;
    for (let i = 0; i < e.count; i++) {
      const nul = this.store.indexOf(0, start);
      out.push(this.store.subarray(start, nul));
      start = nul + 1;
    }
    return out;
  }

  /**
   * The first item of a string-typed entry: what rpm's headerGetString returns (for I18NSTRING the
   * untranslated "C" entry, which is what createrepo_c gets in its C locale).
   */
  string(tag: number): Uint8Array | undefined {
    const e = this.entries.get(tag);
    if (!e) return undefined;
    this.expect(e, isStringType(e.type), 'a string type');
    return this.store.subarray(e.offset, this.store.indexOf(0, e.offset));
  }

  /** The items of an integer entry as unsigned numbers (rpmtdGetNumber semantics). */
  numbers(tag: number): number[] | undefined {
    const e = this.entries.get(tag);
    if (!e) return undefined;
    const out = new Array<number>(e.count);
    for (let i = 0; i < e.count; i++) out[i] = this.numberAt(e, i);
    return out;
  }

  /** The first item of an integer entry. */
  number(tag: number): number | undefined {
    const e = this.entries.get(tag);
    return e && this.numberAt(e, 0);
  }

  private numberAt(e: HeaderEntry, i: number): number {
    switch (e.type) {
      case TagType.CHAR:
      case TagType.INT8:
        return this.view.getUint8(e.offset + i);
      case TagType.INT16:
        return this.view.getUint16(e.offset + i * 2);
      case TagType.INT32:
        return this.view.getUint32(e.offset + i * 4);
      case TagType.INT64: {
        const value = this.view.getBigUint64(e.offset + i * 8);
        if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
          throw new InvalidPackageError(`${headerLabel(this.kind)}: tag ${e.tag} holds ${value}, beyond the largest exact number (2^53 - 1)`);
        }
        return Number(value);
      }
      default:
        this.expect(e, false, 'an integer type');
        return 0;
    }
  }

  private expect(e: HeaderEntry, ok: boolean, what: string): void {
    if (!ok) {
      throw new InvalidPackageError(`${headerLabel(this.kind)}: index entry ${e.index} (tag ${e.tag}) has type ${TYPE_NAMES[e.type]}, expected ${what}`);
    }
  }
}

interface Region {
  tag: number;
  /** Index entries covered by the region, its own included (rpm's ril). */
  indexCount: number;
  /** Data bytes covered by the region, its 16-byte trailer included (rpm's rdl). */
  dataLength: number;
}

/**
 * A v4 header starts with a region tag (63 in the main header, 62 in the signature header) whose
 * data is a 16-byte trailer at the end of the region, pointing back (negative offset) at the
 * index entries it covers. A header without one is a legacy v3 header.
 */
function readRegion(kind: HeaderKind, first: { tag: number; type: number; offset: number; count: number }, store: Uint8Array, il: number, dl: number): Region | undefined {
  const label = headerLabel(kind);
  const regionTag = kind === 'main' ? HEADER_IMMUTABLE : HEADER_SIGNATURES;
  if (first.tag !== regionTag) return undefined;
  if (first.type !== TagType.BIN || first.count !== ENTRY_SIZE) {
    throw new InvalidPackageError(`${label}: region tag ${regionTag} has type ${first.type} and count ${first.count}, expected BIN and 16`);
  }
  if (first.offset < 0 || first.offset + ENTRY_SIZE > dl) {
    throw new InvalidPackageError(`${label}: region trailer at offset ${first.offset} is outside the data store (${dl} bytes)`);
  }
  const trailer = new DataView(store.buffer, store.byteOffset + first.offset, ENTRY_SIZE);
  let trailerTag = trailer.getInt32(0);
  // Some old packages carry HEADERIMAGE in the signature region trailer; rpm accepts that.
  if (kind === 'signature' && trailerTag === HEADER_IMAGE) trailerTag = HEADER_SIGNATURES;
  const back = -trailer.getInt32(8);
  if (trailerTag !== regionTag || trailer.getUint32(4) !== TagType.BIN || trailer.getUint32(12) !== ENTRY_SIZE) {
    throw new InvalidPackageError(`${label}: region trailer is not a copy of the region tag ${regionTag}`);
  }
  const ril = back / ENTRY_SIZE;
  const rdl = first.offset + ENTRY_SIZE;
  if (!Number.isInteger(ril) || ril < 1 || ril > il) {
    throw new InvalidPackageError(`${label}: region claims ${ril} index entries, header has ${il}`);
  }
  // In a package file the main header is exactly its immutable region (rpm: exact_size).
  if (kind === 'main' && (ril !== il || rdl !== dl)) {
    throw new InvalidPackageError(`${label}: region covers ${ril} entries and ${rdl} bytes, header has ${il} entries and ${dl} bytes`);
  }
  return { tag: regionTag, indexCount: ril, dataLength: rdl };
}

function checkTagType(where: string, tag: number, type: number): void {
  const expected = MAIN_TAG_TYPES.get(tag);
  if (expected === undefined || expected === type) return;
  if (isStringType(expected) && isStringType(type)) return;
  throw new InvalidPackageError(`${where}: has type ${TYPE_NAMES[type]}, expected ${TYPE_NAMES[expected]}`);
}

/** Length of an entry's data, -1 when it does not fit in the store (rpm's dataLength). */
function dataLength(store: Uint8Array, type: number, offset: number, count: number, dl: number): number {
  if (isStringType(type)) {
    if (type === TagType.STRING && count !== 1) return -1;
    let at = offset;
    for (let i = 0; i < count; i++) {
      const nul = store.indexOf(0, at);
      if (nul < 0 || nul >= dl) return -1;
      at = nul + 1;
    }
    return at - offset;
  }
  const length = TYPE_SIZES[type] * count;
  return length <= 0 || length > dl - offset ? -1 : length;
}

function alignPadding(type: number, at: number): number {
  const size = TYPE_SIZES[type];
  if (size <= 1) return 0;
  const rest = at % size;
  return rest === 0 ? 0 : size - rest;
}

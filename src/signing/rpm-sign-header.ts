/**
 * The byte work of `rpmsign --addsign` (sign/rpmgensig.c rpmSign, rpm 4.18.2), without OpenPGP:
 * given the signature packets, build the package's new lead + signature header + padding.
 *
 * What rpm does, and this reproduces:
 * - The signature header is unloaded from its region and copied (unloadImmutableRegion +
 *   headerCopy): every tag is kept with its raw data, in tag-number order; the old region is dropped.
 * - Old signatures go (deleteSigs: GPG 1005, PGP 1002, DSA 267, RSA 268, PGP5 1006; rpm 6 also
 *   OPENPGP 278) and the new ones are put in. Digests and sizes stay: SHA1 269, SHA256 273,
 *   SHA3_256 279, MD5 1004, SIZE 1000, PAYLOADSIZE 1007, LONGSIZE 270, LONGARCHIVESIZE 271, and the
 *   IMA/fs-verity file signatures.
 * - The reserved-space tag (RESERVEDSPACE 1008; rpm 6 uses RESERVED 999 in v6 packages) shrinks or
 *   grows by the change in size, so the new header is exactly as long as the old one and rpm can
 *   write it in place: with `diff` = new size - old size (headerSizeof of the region-less copy),
 *   the new count is `count - diff` when that is above 0 and below the old size; otherwise the
 *   header just changes size (rpm then rewrites the file; we always write a new blob anyway).
 * - headerReload + headerExport seal it again: region tag 62 (HEADER_SIGNATURES, BIN, count 16)
 *   first in the index, pointing at a 16-byte trailer after the data store
 *   {62, BIN, -(index entries * 16), 16}; data aligned to its type's size (rpm's typeSizes), the
 *   gaps zeroed; the trailer itself unaligned.
 * - rpmWriteSignature pads the header with zeros to a multiple of 8 bytes; the 96-byte lead is
 *   copied from the original file (rpm 4.18.2; Debian's 4.18.0 writes a new lead from the build
 *   host's arch/os numbers, and only ever shrinks the reserved space).
 */
import { InvalidPackageError } from '../errors.ts';
import type { RpmParseResult, RpmRawTag } from '../formats/rpm/index.ts';
import { LEAD_SIZE, parseLead } from '../formats/rpm/lead.ts';
import { HEADER_IMMUTABLE, HEADER_SIGNATURES, SigTag, TagType, TYPE_SIZES } from '../formats/rpm/tags.ts';

/** Signature tags this module handles beyond those the parser names. */
export const SigTagExtra = {
  /** rpm 6: reserved space of v6 packages. */
  RESERVED: 999,
  /** Legacy PGP 5 signature, deleted like the others. */
  PGP5: 1006,
  /** rpm 4: reserved space that signatures are carved from. */
  RESERVEDSPACE: 1008,
} as const;

/** The tags rpmsign deletes before it adds a new signature (rpm 6's list, a superset of 4.18's). */
export const SIGNATURE_TAGS: readonly number[] = [SigTag.GPG, SigTag.PGP, SigTag.DSA, SigTag.RSA, SigTagExtra.PGP5, SigTag.OPENPGP];

export interface SignatureEntry {
  tag: number;
  type: number;
  count: number;
  data: Uint8Array;
}

const MAGIC = [0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
const ENTRY = 16;

function alignDiff(type: number, at: number): number {
  const size = TYPE_SIZES[type] ?? 1;
  if (size <= 1) return 0;
  const rest = at % size;
  return rest === 0 ? 0 : size - rest;
}

function byTag(entries: readonly SignatureEntry[]): SignatureEntry[] {
  return [...entries].sort((a, b) => a.tag - b.tag);
}

/**
 * rpm's headerSizeof(h, HEADER_MAGIC_YES) for a region-less header holding these entries: magic,
 * il and dl, then per entry its alignment, 16 index bytes and its data.
 */
export function unsealedSize(entries: readonly SignatureEntry[]): number {
  let size = 16;
  for (const e of byTag(entries)) {
    size += alignDiff(e.type, size);
    size += ENTRY + e.data.length;
  }
  return size;
}

/** The sealed signature header (region 62 first, trailer last), without the padding after it. */
export function encodeSignatureHeader(entries: readonly SignatureEntry[]): Uint8Array {
  const sorted = byTag(entries);
  const seen = new Set<number>();
  let dataLength = 0;
  const offsets: number[] = [];
  for (const e of sorted) {
    if (seen.has(e.tag)) throw new Error(`rpm signature header: tag ${e.tag} given twice`);
    seen.add(e.tag);
    dataLength += alignDiff(e.type, dataLength);
    offsets.push(dataLength);
    dataLength += e.data.length;
  }
  const il = sorted.length + 1;
  const dl = dataLength + ENTRY;
  const out = new Uint8Array(16 + il * ENTRY + dl);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(8, il);
  view.setUint32(12, dl);
  const entry = (i: number, tag: number, type: number, offset: number, count: number) => {
    const at = 16 + i * ENTRY;
    view.setInt32(at, tag);
    view.setUint32(at + 4, type);
    view.setInt32(at + 8, offset);
    view.setUint32(at + 12, count);
  };
  entry(0, HEADER_SIGNATURES, TagType.BIN, dataLength, ENTRY);
  const store = 16 + il * ENTRY;
  sorted.forEach((e, i) => {
    entry(i + 1, e.tag, e.type, offsets[i], e.count);
    out.set(e.data, store + offsets[i]);
  });
  const trailer = store + dataLength;
  view.setInt32(trailer, HEADER_SIGNATURES);
  view.setUint32(trailer + 4, TagType.BIN);
  view.setInt32(trailer + 8, -il * ENTRY);
  view.setUint32(trailer + 12, ENTRY);
  return out;
}

/** Zeros after a signature header of `size` bytes, up to a multiple of 8 (rpmWriteSignature). */
export function signaturePadding(size: number): number {
  return (8 - (size % 8)) % 8;
}

export interface SignatureEdit {
  /** Tags to delete (absent ones are ignored). */
  remove: readonly number[];
  /** Entries to put in; an entry replaces a kept one with the same tag. */
  add: readonly SignatureEntry[];
  /** The reserved-space tag to resize so the header keeps its size (1008, or 999 in v6 packages). */
  reserveTag: number;
}

/** The entries of the new signature header: rpmSign's delete, put and reserved-space adjustment. */
export function editSignatureEntries(tags: readonly RpmRawTag[], edit: SignatureEdit): SignatureEntry[] {
  const original: SignatureEntry[] = tags.map((t) => ({ tag: t.tag, type: t.type, count: t.count, data: t.data }));
  const originalSize = unsealedSize(original);
  const gone = new Set([...edit.remove, ...edit.add.map((e) => e.tag)]);
  const next = [...original.filter((e) => !gone.has(e.tag)), ...edit.add];
  const reserve = next.findIndex((e) => e.tag === edit.reserveTag && e.type === TagType.BIN);
  if (reserve >= 0) {
    const diff = unsealedSize(next) - originalSize;
    const count = next[reserve].count - diff;
    if (diff !== 0 && count > 0 && count < originalSize) {
      next[reserve] = { tag: edit.reserveTag, type: TagType.BIN, count, data: new Uint8Array(count) };
    }
  }
  return next;
}

/** Whether the main header is a v4 one (starts with the immutable region); rpmsign refuses v3 headers. */
export function hasImmutableRegion(parsed: RpmParseResult): boolean {
  const h = parsed.signature.header;
  return h.length >= 32 && new DataView(h.buffer, h.byteOffset + 16, 4).getInt32(0) === HEADER_IMMUTABLE;
}

/**
 * The package's first bytes, up to the main header, when they can be had: from `original` (the
 * caller's copy of the file's start) or from the buffer the parser kept (RpmReader assembles the
 * lead and both headers in one buffer that starts at file offset 0, and `signature.header` is a
 * view into it). Each candidate is checked against what was parsed: lead magic and fields, the
 * signature header's magic and sizes at its offset, the main header's bytes.
 */
export function originalPrefix(parsed: RpmParseResult, original?: Uint8Array): Uint8Array | undefined {
  const { header, headerRange, range } = parsed.signature;
  const candidates: Uint8Array[] = [];
  if (original) candidates.push(original);
  if (header.byteOffset >= headerRange.start) {
    candidates.push(new Uint8Array(header.buffer, header.byteOffset - headerRange.start, headerRange.start + header.length));
  }
  for (const bytes of candidates) {
    if (bytes.length < headerRange.start) continue;
    if (!sameLead(bytes, parsed)) continue;
    if (!MAGIC.every((b, i) => bytes[range.start + i] === b)) continue;
    const view = new DataView(bytes.buffer, bytes.byteOffset + range.start + 8, 8);
    if (16 + view.getUint32(0) * ENTRY + view.getUint32(4) !== range.end - range.start) continue;
    if (bytes.subarray(range.end, headerRange.start).some((b) => b !== 0)) continue;
    if (bytes.length >= headerRange.end && !equalBytes(bytes.subarray(headerRange.start, headerRange.end), header)) continue;
    return bytes.slice(0, headerRange.start);
  }
  return undefined;
}

function sameLead(bytes: Uint8Array, parsed: RpmParseResult): boolean {
  try {
    const lead = parseLead(bytes);
    const want = parsed.lead;
    return lead.major === want.major && lead.minor === want.minor && lead.type === want.type && lead.name === want.name;
  } catch {
    return false;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A lead rebuilt from the parsed fields, for when the original bytes are not at hand. The
 * architecture and OS numbers (rpm writes the build host's; nothing reads them) become 0.
 */
export function synthesizeLead(parsed: RpmParseResult): Uint8Array {
  const lead = new Uint8Array(LEAD_SIZE);
  const view = new DataView(lead.buffer);
  lead.set([0xed, 0xab, 0xee, 0xdb, parsed.lead.major, parsed.lead.minor]);
  view.setInt16(6, parsed.lead.type);
  const name = parsed.lead.name;
  for (let i = 0; i < Math.min(name.length, 65); i++) lead[10 + i] = name.charCodeAt(i) & 0xff;
  view.setInt16(78, 5);
  return lead;
}

/** Lead + sealed signature header + padding: the bytes that go before the main header. */
export function assemblePrefix(lead: Uint8Array, entries: readonly SignatureEntry[]): Uint8Array {
  if (lead.length < LEAD_SIZE) throw new InvalidPackageError(`rpm lead: truncated (${lead.length} of ${LEAD_SIZE} bytes)`);
  const header = encodeSignatureHeader(entries);
  const out = new Uint8Array(LEAD_SIZE + header.length + signaturePadding(header.length));
  out.set(lead.subarray(0, LEAD_SIZE), 0);
  out.set(header, LEAD_SIZE);
  return out;
}

/** A BIN entry holding one OpenPGP signature packet (RSA 268, DSA 267, PGP 1002, GPG 1005). */
export function packetEntry(tag: number, packet: Uint8Array): SignatureEntry {
  return { tag, type: TagType.BIN, count: packet.length, data: packet };
}

/** rpm 6's OPENPGP 278 entry: a string array of base64 signature packets. */
export function openpgpEntry(packets: readonly Uint8Array[]): SignatureEntry {
  const text = packets.map((p) => base64(p) + '\0').join('');
  const data = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) data[i] = text.charCodeAt(i);
  return { tag: SigTag.OPENPGP, type: TagType.STRING_ARRAY, count: packets.length, data };
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function base64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + (i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=') + (i + 2 < bytes.length ? B64[n & 63] : '=');
  }
  return out;
}

/**
 * What the signature header holds, kept raw for signature and digest verification later, and
 * the consistency rules rpm applies when it copies signature tags into the main header
 * (lib/package.c headerMergeLegacySigs, rpm 4.18): a main header must not carry a signature tag
 * itself, and the copied tags must have their declared type and count.
 */
import { InvalidPackageError } from '../../errors.ts';
import type { RpmHeader } from './header.ts';
import { SigTag, TagType, TYPE_NAMES } from './tags.ts';
import { binaryString } from './text.ts';

/** Byte offsets in the package file: start inclusive, end exclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface RpmRawTag {
  tag: number;
  type: number;
  count: number;
  data: Uint8Array;
}

export interface RpmSignatureHeader {
  /** The signature header, from its magic to the end of its data store (the padding after it excluded). */
  range: ByteRange;
  /** The main header: what header-only signatures (rsa, dsa, openpgp) and digests (sha1, sha256, sha3_256) cover. */
  headerRange: ByteRange;
  /** The bytes of headerRange, so verification needs no second read of the file. */
  header: Uint8Array;
  /** 267: OpenPGP signature over the main header (DSA, EdDSA, ECDSA). */
  dsa?: Uint8Array;
  /** 268: OpenPGP RSA signature over the main header. */
  rsa?: Uint8Array;
  /** 1002: legacy OpenPGP RSA signature over main header + payload. */
  pgp?: Uint8Array;
  /** 1005: legacy OpenPGP DSA signature over main header + payload. */
  gpg?: Uint8Array;
  /** 278 (rpm 6): base64-encoded OpenPGP signatures over the main header, possibly several. */
  openpgp?: string[];
  /** 269: hex SHA-1 of the main header. */
  sha1?: string;
  /** 273: hex SHA-256 of the main header. */
  sha256?: string;
  /** 279 (rpm 6): hex SHA3-256 of the main header. */
  sha3_256?: string;
  /** 1004: MD5 of main header + payload (16 bytes). */
  md5?: Uint8Array;
  /** 1000 / 270: bytes of main header + payload. */
  size?: number;
  longSize?: number;
  /** 1007 / 271: bytes of the uncompressed payload. */
  payloadSize?: number;
  longArchiveSize?: number;
  /** Every entry of the signature header, raw, in tag order. */
  tags: RpmRawTag[];
}

/** [signature tag, main-header tag it becomes, declared type, required count or 0, may already be in the main header]. */
const MERGED: readonly (readonly [number, number, number, number, boolean])[] = [
  [SigTag.SIZE, 257, TagType.INT32, 1, false],
  [SigTag.PGP, 259, TagType.BIN, 0, false],
  [SigTag.MD5, 261, TagType.BIN, 16, false],
  [SigTag.GPG, 262, TagType.BIN, 0, false],
  [SigTag.PAYLOADSIZE, 1046, TagType.INT32, 1, true],
  [SigTag.FILESIGNATURES, 5090, TagType.STRING_ARRAY, 0, true],
  [SigTag.FILESIGNATURELENGTH, 5091, TagType.INT32, 1, true],
  [SigTag.VERITYSIGNATURES, SigTag.VERITYSIGNATURES, TagType.STRING_ARRAY, 0, false],
  [SigTag.VERITYSIGNATUREALGO, SigTag.VERITYSIGNATUREALGO, TagType.INT32, 1, false],
  [SigTag.SHA1, SigTag.SHA1, TagType.STRING, 1, false],
  [SigTag.SHA256, SigTag.SHA256, TagType.STRING, 1, false],
  [SigTag.DSA, SigTag.DSA, TagType.BIN, 0, false],
  [SigTag.RSA, SigTag.RSA, TagType.BIN, 0, false],
  [SigTag.LONGSIZE, SigTag.LONGSIZE, TagType.INT64, 1, false],
  [SigTag.LONGARCHIVESIZE, SigTag.LONGARCHIVESIZE, TagType.INT64, 1, false],
];
const MAX_MERGED_COUNT = 16 * 1024 * 1024;

/** Tags rpm 4.18 does not copy, checked because they are handed out here. */
const OTHER_TYPES: readonly (readonly [number, number])[] = [
  [SigTag.OPENPGP, TagType.STRING_ARRAY],
  [SigTag.SHA3_256, TagType.STRING],
];

export function checkSignatureTags(sig: RpmHeader, main: RpmHeader): void {
  for (const [sigTag, mainTag, , , mayExist] of MERGED) {
    if (main.has(mainTag) && !(mayExist && !sig.has(sigTag))) {
      throw new InvalidPackageError(`rpm header: carries tag ${mainTag}, which only the signature header may set`);
    }
  }
  for (const [sigTag, , type, count] of MERGED) {
    const e = sig.entry(sigTag);
    if (!e) continue;
    if (e.type !== type) {
      throw new InvalidPackageError(`rpm signature header: tag ${sigTag} has type ${TYPE_NAMES[e.type]}, expected ${TYPE_NAMES[type]}`);
    }
    if (e.count > MAX_MERGED_COUNT || (count !== 0 && e.count !== count)) {
      throw new InvalidPackageError(`rpm signature header: tag ${sigTag} has count ${e.count}, expected ${count || `at most ${MAX_MERGED_COUNT}`}`);
    }
  }
  for (const [sigTag, type] of OTHER_TYPES) {
    const e = sig.entry(sigTag);
    if (e && e.type !== type) {
      throw new InvalidPackageError(`rpm signature header: tag ${sigTag} has type ${TYPE_NAMES[e.type]}, expected ${TYPE_NAMES[type]}`);
    }
  }
}

/** Call after checkSignatureTags: the types of the tags read here are then known. */
export function signatureFromHeaders(sig: RpmHeader, main: RpmHeader): RpmSignatureHeader {
  const ascii = (tag: number) => {
    const s = sig.string(tag);
    return s && binaryString(s);
  };
  const result: RpmSignatureHeader = {
    range: { start: sig.fileOffset, end: sig.fileOffset + sig.size },
    headerRange: { start: main.fileOffset, end: main.fileOffset + main.size },
    header: main.bytes,
    tags: sig
      .tags()
      .sort((a, b) => a - b)
      .map((tag) => {
        const e = sig.entry(tag)!;
        return { tag, type: e.type, count: e.count, data: sig.raw(tag)! };
      }),
  };
  const set = <K extends keyof RpmSignatureHeader>(key: K, value: RpmSignatureHeader[K] | undefined) => {
    if (value !== undefined) result[key] = value;
  };
  set('dsa', sig.raw(SigTag.DSA));
  set('rsa', sig.raw(SigTag.RSA));
  set('pgp', sig.raw(SigTag.PGP));
  set('gpg', sig.raw(SigTag.GPG));
  set('openpgp', sig.strings(SigTag.OPENPGP)?.map(binaryString));
  set('sha1', ascii(SigTag.SHA1));
  set('sha256', ascii(SigTag.SHA256));
  set('sha3_256', ascii(SigTag.SHA3_256));
  set('md5', sig.raw(SigTag.MD5));
  set('size', sig.number(SigTag.SIZE));
  set('longSize', sig.number(SigTag.LONGSIZE));
  set('payloadSize', sig.number(SigTag.PAYLOADSIZE));
  set('longArchiveSize', sig.number(SigTag.LONGARCHIVESIZE));
  return result;
}

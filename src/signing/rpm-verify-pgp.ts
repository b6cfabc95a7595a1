/**
 * OpenPGP signature packets as rpm 4.18 reads them from a package's signature header
 * (rpmio/rpmpgp_internal.c pgpPrtParams/pgpPrtSig with the libgcrypt backend Debian builds):
 * exactly one V3 or V4 signature packet, nothing after it; RSA, DSA or EdDSA only (any other
 * public-key algorithm makes the packet "invalid"); a V4 signature must carry a hashed creation
 * time and no unknown critical subpacket. Whatever this parser refuses, rpm reports as
 * "tag N: invalid OpenPGP signature" (BAD).
 *
 * It also gives what a verifier needs to check such a signature over data it cannot hold in
 * memory: the signature's hash algorithm (known before the data streams by) and the bytes hashed
 * after the data (V3: type and creation time; V4: the hashed part and the 6-byte trailer).
 */

/** rpm 4.18 refuses OpenPGP data larger than this (RPM_MAX_OPENPGP_BYTES). */
const MAX_OPENPGP_BYTES = 65535;

export const PGP_PUBKEY = { RSA: 1, DSA: 17, EDDSA: 22 } as const;

/** OpenPGP hash algorithm ids → the names the hash factory takes; the set rpm 4.18 (libgcrypt) can compute. */
export const PGP_HASHES: Readonly<Record<number, RpmHashAlgorithm>> = {
  1: 'md5',
  2: 'sha1',
  8: 'sha256',
  9: 'sha384',
  10: 'sha512',
  11: 'sha224',
};

/** The digests the collector may ask its hash factory for. */
export type RpmHashAlgorithm = 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

/** rpm's display names (rpmio/rpmpgpval.h). */
const PUBKEY_NAMES: Readonly<Record<number, string>> = {
  1: 'RSA',
  2: 'RSA(Encrypt-Only)',
  3: 'RSA(Sign-Only)',
  16: 'Elgamal(Encrypt-Only)',
  17: 'DSA',
  18: 'Elliptic Curve',
  19: 'ECDSA',
  20: 'Elgamal',
  21: 'Diffie-Hellman (X9.42)',
  22: 'EdDSA',
};
const HASH_NAMES: Readonly<Record<number, string>> = {
  1: 'MD5',
  2: 'SHA1',
  3: 'RIPEMD160',
  5: 'MD2',
  6: 'TIGER192',
  7: 'HAVAL-5-160',
  8: 'SHA256',
  9: 'SHA384',
  10: 'SHA512',
  11: 'SHA224',
};
export const pubkeyName = (algo: number): string => PUBKEY_NAMES[algo] ?? 'Unknown public key algorithm';
export const hashName = (algo: number): string => HASH_NAMES[algo] ?? 'Unknown hash algorithm';

/** Number of MPIs a signature of each algorithm rpm 4.18 supports carries. */
const SIGNATURE_MPIS: Readonly<Record<number, number>> = { [PGP_PUBKEY.RSA]: 1, [PGP_PUBKEY.DSA]: 2, [PGP_PUBKEY.EDDSA]: 2 };

export interface RpmPgpSignature {
  version: 3 | 4;
  /** 0 = binary document: the only type rpm accepts for package signatures. */
  sigType: number;
  pubkeyAlgo: number;
  hashAlgo: number;
  /** The issuer key id (8 bytes; zeros when the packet names none, which makes the key unfindable). */
  keyId: Uint8Array;
  /** Creation time, seconds since the epoch. */
  created: number;
  /** rpm's sig->hash: V3 the 5 bytes (type, time), V4 the packet from its version to the end of the hashed subpackets. */
  hashed: Uint8Array;
  /** The left 16 bits of the signed hash. */
  hash16: Uint8Array;
  /** The signature's MPIs, each with its 2-byte bit count. */
  mpis: Uint8Array[];
}

const grab = (b: Uint8Array, at: number, n: number): number => {
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + b[at + i];
  return v;
};

/** rpm's pgpLen: [length-of-length, length], or length-of-length 0 when it does not fit in `avail` bytes. */
function newLength(b: Uint8Array, at: number, avail: number): [number, number] {
  let lenlen = 0;
  let len = 0;
  const s = b[at];
  if (s < 192) {
    lenlen = 1;
    len = s;
  } else if (s < 224 && avail > 2) {
    lenlen = 2;
    len = ((s - 192) << 8) + b[at + 1] + 192;
  } else if (s === 255 && avail > 5) {
    lenlen = 5;
    len = grab(b, at + 1, 4);
  }
  if (avail - lenlen < len) lenlen = 0;
  return [lenlen, len];
}

interface SubpacketState {
  keyId?: Uint8Array;
  created?: number;
  keyFlags: boolean;
}

const SUB_CREATION_TIME = 2;
const SUB_ISSUER = 16;
const SUB_KEY_FLAGS = 27;
const CRITICAL = 0x80;

/** rpm's pgpPrtSubType: false when rpm rejects the subpacket area. */
function readSubpackets(b: Uint8Array, at: number, length: number, sigType: number, hashed: boolean, state: SubpacketState): boolean {
  let left = length;
  let p = at;
  while (left > 0) {
    const [lenlen, len] = newLength(b, p, left);
    if (lenlen === 0 || len < 1 || lenlen + len > left) break;
    p += lenlen;
    left -= lenlen;
    const type = b[p] & ~CRITICAL;
    let implemented = false;
    if (type === SUB_CREATION_TIME) {
      if (hashed && len - 1 === 4) {
        if (state.created !== undefined) return false; // duplicate timestamps
        implemented = true;
        state.created = grab(b, p + 1, 4);
      }
    } else if (type === SUB_ISSUER) {
      implemented = true;
      if (state.keyId === undefined && (sigType === 0x13 || sigType === 0x00 || sigType === 0x01 || sigType === 0x02) && len - 1 === 8) {
        state.keyId = b.slice(p + 1, p + 9);
      }
    } else if (type === SUB_KEY_FLAGS) {
      if (hashed) {
        if (state.keyFlags) return false;
        implemented = true;
        state.keyFlags = true;
      }
    }
    if (!implemented && b[p] & CRITICAL) return false;
    p += len;
    left -= len;
  }
  return left === 0;
}

/** rpm's processMpis for a signature of `algo`: the MPIs must fill the rest of the packet exactly. */
function readMpis(b: Uint8Array, at: number, end: number, algo: number): Uint8Array[] | undefined {
  const count = SIGNATURE_MPIS[algo];
  if (count === undefined) return undefined;
  const mpis: Uint8Array[] = [];
  let p = at;
  for (let i = 0; i < count && end - p >= 2; i++) {
    const length = 2 + ((grab(b, p, 2) + 7) >> 3);
    if (end - p < length) return undefined;
    mpis.push(b.slice(p, p + length));
    p += length;
  }
  return p === end && mpis.length === count ? mpis : undefined;
}

/** The body of `data` when it is exactly one signature packet (rpm's decodePkt rules), else undefined. */
export function signaturePacketBody(data: Uint8Array): Uint8Array | undefined {
  if (data.length < 2 || !(data[0] & 0x80)) return undefined;
  let tag: number;
  let lenlen: number;
  let bodyLength: number;
  if (data[0] & 0x40) {
    [lenlen, bodyLength] = newLength(data, 1, data.length - 1);
    tag = data[0] & 0x3f;
  } else {
    lenlen = 1 << (data[0] & 3);
    if (lenlen > 4 || data.length - 1 < lenlen) return undefined;
    bodyLength = grab(data, 1, lenlen);
    if (data.length - 1 - lenlen < bodyLength) return undefined;
    tag = (data[0] >> 2) & 0xf;
  }
  const start = 1 + lenlen;
  if (lenlen === 0 || start + bodyLength > data.length) return undefined;
  if (tag !== 2) return undefined;
  // One packet, nothing after it.
  if (start + bodyLength !== data.length) return undefined;
  return data.subarray(start, start + bodyLength);
}

/** Reads one signature packet the way rpm 4.18 does; undefined where rpm reports an invalid signature. */
export function parseRpmPgpSignature(data: Uint8Array): RpmPgpSignature | undefined {
  if (data.length > MAX_OPENPGP_BYTES) return undefined;
  const h = signaturePacketBody(data);
  if (!h) return undefined;
  const hlen = h.length;
  if (hlen < 1) return undefined;

  if (h[0] === 3) {
    if (hlen <= 19 || h[1] !== 5) return undefined;
    const pubkeyAlgo = h[15];
    const mpis = readMpis(h, 19, hlen, pubkeyAlgo);
    if (!mpis) return undefined;
    return {
      version: 3,
      sigType: h[2],
      pubkeyAlgo,
      hashAlgo: h[16],
      keyId: h.slice(7, 15),
      created: grab(h, 3, 4),
      hashed: h.slice(2, 7),
      hash16: h.slice(17, 19),
      mpis,
    };
  }
  if (h[0] === 4) {
    if (hlen <= 6) return undefined;
    const sigType = h[1];
    const pubkeyAlgo = h[2];
    const hashAlgo = h[3];
    const hashedLength = grab(h, 4, 2);
    let p = 6;
    if (hlen - p < hashedLength) return undefined;
    const state: SubpacketState = { keyFlags: false };
    if (!readSubpackets(h, p, hashedLength, sigType, true, state)) return undefined;
    p += hashedLength;
    if (state.created === undefined) return undefined; // creation time MUST be hashed
    if (hlen - p < 2) return undefined;
    const unhashedLength = grab(h, p, 2);
    p += 2;
    if (hlen - p < unhashedLength) return undefined;
    if (!readSubpackets(h, p, unhashedLength, sigType, false, state)) return undefined;
    p += unhashedLength;
    if (hlen - p < 2) return undefined;
    const hash16 = h.slice(p, p + 2);
    p += 2;
    const mpis = readMpis(h, p, hlen, pubkeyAlgo);
    if (!mpis) return undefined;
    return {
      version: 4,
      sigType,
      pubkeyAlgo,
      hashAlgo,
      keyId: state.keyId ?? new Uint8Array(8),
      created: state.created,
      hashed: h.slice(0, 6 + hashedLength),
      hash16,
      mpis,
    };
  }
  // rpm 4.18: "Unsupported version of signature: V5/V6".
  return undefined;
}

/** What is hashed after the signed data: rpm's sig->hash, then for V4 the trailer 04 ff <length of sig->hash>. */
export function signatureTrailer(sig: RpmPgpSignature): Uint8Array {
  if (sig.version === 3) return sig.hashed;
  const out = new Uint8Array(sig.hashed.length + 6);
  out.set(sig.hashed);
  const n = sig.hashed.length;
  out.set([4, 0xff, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff], sig.hashed.length);
  return out;
}

export const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * A minimal V4 packet (tag 2, new format) with the same algorithm, hash, issuer, hash16 and MPIs:
 * lets openpgp.js check a V3 signature (which it no longer reads) against a precomputed digest.
 * Only the fields its verify step reads matter; the digest itself is supplied separately.
 */
export function asV4Packet(sig: RpmPgpSignature): Uint8Array {
  const t = sig.created;
  const hashedArea = [5, SUB_CREATION_TIME, (t >>> 24) & 0xff, (t >>> 16) & 0xff, (t >>> 8) & 0xff, t & 0xff];
  const unhashedArea = [9, SUB_ISSUER, ...sig.keyId];
  const body = [
    4,
    sig.sigType,
    sig.pubkeyAlgo,
    sig.hashAlgo,
    0,
    hashedArea.length,
    ...hashedArea,
    0,
    unhashedArea.length,
    ...unhashedArea,
    ...sig.hash16,
    ...sig.mpis.flatMap((m) => Array.from(m)),
  ];
  const length = body.length;
  const header =
    length < 192
      ? [0xc2, length]
      : length < 8384
        ? [0xc2, ((length - 192) >> 8) + 192, (length - 192) & 0xff]
        : [0xc2, 255, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff];
  return Uint8Array.from([...header, ...body]);
}

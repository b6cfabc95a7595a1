/**
 * Signs an RPM package the way `rpmsign --addsign` does (rpm 4.18, sign/rpmgensig.c), in pure
 * TypeScript with openpgp.js: an OpenPGP V4 signature over the main header goes into the
 * signature header (RSAHEADER 268 for RSA keys, DSAHEADER 267 for EdDSA and DSA keys), replacing
 * the signatures already there; digests and sizes stay, and the reserved-space tag absorbs the
 * change so the signature header keeps its size. Only the lead and signature header change: the
 * caller writes `prefix` followed by the original bytes from `signature.headerRange.start` to the
 * end of the file into a new blob.
 *
 * The byte layout is in ./rpm-sign-header.ts. What this file adds: the OpenPGP signatures, rpm's
 * checks on them (makeSigTag: V4, a hash rpm knows, an RSA, DSA or EdDSA key), rpm's refusals
 * (v3 packages, a corrupt header), and --addsign's "already signed by this key: skip".
 *
 * rpmsign also makes a legacy header+payload signature (PGP 1002 / GPG 1005) when the package
 * has no payload digest (packages built before rpm 4.14): pass the bytes from the main header to
 * the end as `payload` for those (see needsPayloadSignature); they are read once, as a stream.
 */
import * as openpgp from 'openpgp';
import { InvalidPackageError, RepodError } from '../errors.ts';
import type { RpmParseResult } from '../formats/rpm/index.ts';
import { SigTag } from '../formats/rpm/tags.ts';
import {
  assemblePrefix,
  editSignatureEntries,
  hasImmutableRegion,
  openpgpEntry,
  originalPrefix,
  packetEntry,
  SIGNATURE_TAGS,
  type SignatureEntry,
  SigTagExtra,
  synthesizeLead,
} from './rpm-sign-header.ts';

export interface SignRpmOptions {
  /** Signature creation time (default: now). It must not be before the key's creation. */
  date?: Date;
  /**
   * The file's first bytes, at least up to `signature.headerRange.start`: the lead is copied from
   * them, as rpmsign does. Default: the buffer parseRpm / RpmReader read the headers into; failing
   * both, a lead is rebuilt from the parsed fields (arch and OS numbers 0, which rpm ignores).
   */
  original?: Uint8Array;
  /**
   * The bytes from `signature.headerRange.start` to the end of the file (main header + payload).
   * When given, a legacy header+payload signature is added too (PGP 1002 for RSA, GPG 1005 for
   * DSA/EdDSA), as rpmsign always does for packages without a payload digest and with --rpmv3
   * for others; not for v6-format packages (rpm 6 refuses v3 signatures there). The bytes are
   * checked to start with the parsed main header and to have the length the SIZE tag records.
   */
  payload?: Uint8Array | ReadableStream<Uint8Array>;
  /**
   * Sign even when a signature by the same key and parameters is there (rpm 6's --resign).
   * Default false: like --addsign, such a package is left unchanged (`changed: false`).
   */
  resign?: boolean;
}

export interface SignedRpmPrefix {
  /** Lead + new signature header + padding to 8 bytes; the main header and payload follow unchanged. */
  prefix: Uint8Array;
  /** Issuer key id of the signature (the signing subkey's when the key has one), 16 upper-case hex digits. */
  keyId: string;
  /** As rpm prints it: "RSA/SHA256", "DSA/SHA256", "EdDSA/SHA512". */
  algorithm: string;
  /** The signature header tag holding the header signature: 268 (RSA) or 267 (DSA, EdDSA). */
  headerTag: number;
  /** Whether a legacy header+payload signature was added (only when `payload` was given). */
  payloadSigned: boolean;
  /** False when the package already carried a signature by this key and was left as it was. */
  changed: boolean;
}

const SIGN_CONFIG = {
  nonDeterministicSignaturesViaNotation: false,
  preferredHashAlgorithm: openpgp.enums.hash.sha256,
} as const;

const PUBKEY_NAMES: Record<number, string> = {
  [openpgp.enums.publicKey.rsaEncryptSign]: 'RSA',
  [openpgp.enums.publicKey.dsa]: 'DSA',
  [openpgp.enums.publicKey.eddsaLegacy]: 'EdDSA',
};
const HASH_NAMES: Record<number, string> = {
  [openpgp.enums.hash.sha1]: 'SHA1',
  [openpgp.enums.hash.sha224]: 'SHA224',
  [openpgp.enums.hash.sha256]: 'SHA256',
  [openpgp.enums.hash.sha384]: 'SHA384',
  [openpgp.enums.hash.sha512]: 'SHA512',
};

/** rpmsign adds a header+payload signature when the package has no payload digest (rpm < 4.14 builds). */
export function needsPayloadSignature(parsed: RpmParseResult): boolean {
  return parsed.payloadDigest === undefined && parsed.payloadDigestAlt === undefined && (parsed.rpmFormat ?? 4) < 6;
}

/** A signed copy of an RPM: the new lead+signature header bytes; the main header and payload follow unchanged (stream them from the original blob at headerRange.start). */
export async function signRpmHeader(parsed: RpmParseResult, key: openpgp.PrivateKey, options: SignRpmOptions = {}): Promise<SignedRpmPrefix> {
  const date = options.date ?? new Date();
  if (!hasImmutableRegion(parsed)) {
    throw new InvalidPackageError('rpm: cannot sign an RPM v3 package (its header has no immutable region), as rpmsign cannot');
  }
  await checkHeaderDigests(parsed);
  await checkSigningKey(key, date);

  // The cheaper header signature first, as rpmsign does; it decides whether anything changes.
  const headerPacket = await detachedSignature(parsed.signature.header, key, date);
  const params = signatureParams(headerPacket);
  // makeSigTag: RSA goes to RSAHEADER / PGP, DSA and EdDSA to DSAHEADER / GPG.
  const rsa = params.pubkey === openpgp.enums.publicKey.rsaEncryptSign;
  const headerTag = rsa ? SigTag.RSA : SigTag.DSA;
  const payloadTag = rsa ? SigTag.PGP : SigTag.GPG;
  const result = { keyId: params.keyId, algorithm: `${PUBKEY_NAMES[params.pubkey]}/${HASH_NAMES[params.hash]}`, headerTag };
  const original = originalPrefix(parsed, options.original);
  const lead = original ?? synthesizeLead(parsed);

  if (!options.resign && (await sameSigner(parsed, headerTag, params))) {
    const unchanged = original ?? assemblePrefix(lead, editSignatureEntries(parsed.signature.tags, { remove: [], add: [], reserveTag: -1 }));
    return { prefix: unchanged, ...result, payloadSigned: false, changed: false };
  }

  const v6 = (parsed.rpmFormat ?? 0) >= 6;
  const add: SignatureEntry[] = [packetEntry(headerTag, headerPacket)];
  // v6 packages: rpm 6 signs them in OPENPGP 278 (base64, as its rpmsign writes it); rpm 4.18
  // ignores 278 and reads the legacy tag. Both get the same signature.
  if (v6) add.push(openpgpEntry([headerPacket]));
  let payloadSigned = false;
  if (options.payload !== undefined && !v6) {
    add.push(packetEntry(payloadTag, await detachedSignature(checkedPayload(parsed, options.payload), key, date)));
    payloadSigned = true;
  }
  const entries = editSignatureEntries(parsed.signature.tags, {
    remove: SIGNATURE_TAGS,
    add,
    reserveTag: v6 ? SigTagExtra.RESERVED : SigTagExtra.RESERVEDSPACE,
  });
  return { prefix: assemblePrefix(lead, entries), ...result, payloadSigned, changed: true };
}

/** The key openpgp.js will sign with, checked against what rpm 4.18 accepts, for a clear error up front. */
async function checkSigningKey(key: openpgp.PrivateKey, date: Date): Promise<void> {
  const fail = (message: string, cause?: unknown) => new RepodError('unsupported_signing_key', `cannot sign RPM packages with this key: ${message}`, { status: 500, cause });
  if (!key.isPrivate() || !key.isDecrypted()) throw fail('it is not a decrypted private key');
  let signing: openpgp.PrivateKey | openpgp.Subkey;
  try {
    signing = (await key.getSigningKey(undefined, date)) as openpgp.PrivateKey | openpgp.Subkey;
  } catch (cause) {
    throw fail(`it has no usable signing key at ${date.toISOString()} (${(cause as Error).message})`, cause);
  }
  const packet = signing.keyPacket;
  if (packet.version !== 4) throw fail(`its signing key is a version ${packet.version} key; rpm 4.18 verifies only V4 signatures`);
  const info = signing.getAlgorithmInfo();
  if (packet.algorithm === openpgp.enums.publicKey.rsaEncryptSign || packet.algorithm === openpgp.enums.publicKey.dsa) return;
  if (packet.algorithm === openpgp.enums.publicKey.eddsaLegacy && info.curve === openpgp.enums.curve.ed25519Legacy) return;
  throw fail(`rpm 4.18 signs and verifies only RSA, DSA and EdDSA (Ed25519) keys, not ${info.algorithm}${info.curve ? ` (${info.curve})` : ''}`);
}

/**
 * One binary OpenPGP V4 signature packet (type 0x00), as `gpg -sb` writes it: SHA-256 for RSA
 * and DSA keys; SHA-512 for Ed25519 keys, the only hash openpgp.js's public API uses with
 * EdDSA-legacy keys (it demands the curve's preferred hash) and gpg's default too. rpm 4.18
 * verifies both. Subpackets: creation time and issuer fingerprint (hashed), issuer key id
 * (unhashed, what rpm looks the key up by); no salt notation.
 */
async function detachedSignature(data: Uint8Array | ReadableStream<Uint8Array>, key: openpgp.PrivateKey, date: Date): Promise<Uint8Array> {
  const message = await openpgp.createMessage({ binary: data });
  const signed = await openpgp.sign({ message, signingKeys: key, detached: true, format: 'binary', date, config: SIGN_CONFIG });
  return readAll(signed as Uint8Array | ReadableStream<Uint8Array>);
}

interface SignatureParams {
  version: number;
  type: number;
  pubkey: number;
  hash: number;
  keyId: string;
}

/** rpm's makeSigTag checks plus the fields pgpDigParamsCmp compares. */
function signatureParams(packet: Uint8Array): SignatureParams {
  const params = readParams(packet);
  if (!params) throw new Error('openpgp.js made a signature that is not one V4 signature packet');
  const strongHash = params.hash === openpgp.enums.hash.sha256 || params.hash === openpgp.enums.hash.sha384 || params.hash === openpgp.enums.hash.sha512;
  if (params.version !== 4 || params.type !== openpgp.enums.signature.binary || !strongHash || !PUBKEY_NAMES[params.pubkey]) {
    throw new Error(`openpgp.js made a V${params.version} signature of type ${params.type}, hash ${params.hash}, key algorithm ${params.pubkey}: not what rpm expects`);
  }
  return params;
}

/** The parameters of a signature packet (V3 or V4), by a small reader so an odd old packet never throws. */
function readParams(packet: Uint8Array): SignatureParams | undefined {
  // Packet header: new format (0xc2, tag 2) or old format (0x88/0x89/0x8a, tag 2).
  let at: number;
  let length: number;
  const first = packet[0];
  if (first === 0xc2) {
    const l0 = packet[1];
    if (l0 < 192) [at, length] = [2, l0];
    else if (l0 < 224) [at, length] = [3, ((l0 - 192) << 8) + packet[2] + 192];
    else if (l0 === 255) [at, length] = [6, new DataView(packet.buffer, packet.byteOffset + 2, 4).getUint32(0)];
    else return undefined;
  } else if ((first & 0xfc) === 0x88) {
    const kind = first & 3;
    if (kind === 0) [at, length] = [2, packet[1]];
    else if (kind === 1) [at, length] = [3, (packet[1] << 8) | packet[2]];
    else if (kind === 2) [at, length] = [5, new DataView(packet.buffer, packet.byteOffset + 1, 4).getUint32(0)];
    else return undefined;
  } else {
    return undefined;
  }
  if (at + length !== packet.length) return undefined;
  const body = packet.subarray(at);
  const hex = (b: Uint8Array) =>
    Array.from(b, (x) => x.toString(16).padStart(2, '0'))
      .join('')
      .toUpperCase();
  if (body[0] === 3 && body.length > 19) {
    return { version: 3, type: body[2], keyId: hex(body.subarray(7, 15)), pubkey: body[15], hash: body[16] };
  }
  if (body[0] !== 4 || body.length < 6) return undefined;
  const view = new DataView(body.buffer, body.byteOffset, body.length);
  const hashedEnd = 6 + view.getUint16(4);
  if (hashedEnd + 2 > body.length) return undefined;
  const unhashedEnd = hashedEnd + 2 + view.getUint16(hashedEnd);
  if (unhashedEnd > body.length) return undefined;
  const keyId = issuer(body.subarray(6, hashedEnd)) ?? issuer(body.subarray(hashedEnd + 2, unhashedEnd));
  return { version: 4, type: body[1], pubkey: body[2], hash: body[3], keyId: keyId ? hex(keyId) : '' };
}

/** The issuer key id subpacket (16), or the low 8 bytes of a V4 issuer fingerprint (33). */
function issuer(area: Uint8Array): Uint8Array | undefined {
  let fingerprint: Uint8Array | undefined;
  for (let at = 0; at < area.length; ) {
    let length = area[at];
    let start = at + 1;
    if (length >= 192 && length < 255) [length, start] = [((length - 192) << 8) + area[at + 1] + 192, at + 2];
    else if (length === 255) [length, start] = [new DataView(area.buffer, area.byteOffset + at + 1, 4).getUint32(0), at + 5];
    if (length < 1 || start + length > area.length) return undefined;
    const type = area[start] & 0x7f;
    const data = area.subarray(start + 1, start + length);
    if (type === 16 && data.length === 8) return data;
    if (type === 33 && data[0] === 4 && data.length === 21) fingerprint = data.subarray(13);
    at = start + length;
  }
  return fingerprint;
}

/** --addsign: a signature in the same tag by the same key, algorithms, version and type is "identical". */
async function sameSigner(parsed: RpmParseResult, tag: number, ours: SignatureParams): Promise<boolean> {
  const existing = tag === SigTag.RSA ? parsed.signature.rsa : parsed.signature.dsa;
  const theirs = existing && readParams(existing);
  return !!theirs && theirs.version === ours.version && theirs.type === ours.type && theirs.pubkey === ours.pubkey && theirs.hash === ours.hash && theirs.keyId === ours.keyId;
}

/** rpmsign refuses to sign a corrupt package; the header digests can be checked here. */
async function checkHeaderDigests(parsed: RpmParseResult): Promise<void> {
  const { header, sha256, sha1 } = parsed.signature;
  const checks: [string, string, string | undefined][] = [
    ['SHA256', 'SHA-256', sha256],
    ['SHA1', 'SHA-1', sha1],
  ];
  for (const [name, algorithm, want] of checks) {
    if (want === undefined) continue;
    const got = Array.from(new Uint8Array(await crypto.subtle.digest(algorithm, header as Uint8Array<ArrayBuffer>)), (b) => b.toString(16).padStart(2, '0')).join('');
    if (got !== want.toLowerCase()) {
      throw new InvalidPackageError(`rpm: not signing a corrupt package: the main header's ${name} digest is ${got}, the signature header records ${want}`);
    }
  }
}

/** The payload bytes, checked on the way through: they start with the main header and have SIZE bytes. */
function checkedPayload(parsed: RpmParseResult, payload: Uint8Array | ReadableStream<Uint8Array>): Uint8Array | ReadableStream<Uint8Array> {
  const { header } = parsed.signature;
  const expected = parsed.signature.longSize ?? parsed.signature.size;
  const wrong = (what: string) => new InvalidPackageError(`rpm: the payload given for signing ${what}`);
  if (payload instanceof Uint8Array) {
    if (payload.length < header.length || payload.subarray(0, header.length).some((b, i) => b !== header[i])) throw wrong('does not start with the main header');
    if (expected !== undefined && payload.length !== expected) throw wrong(`has ${payload.length} bytes, the signature header records ${expected}`);
    return payload;
  }
  let seen = 0;
  return payload.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        for (let i = 0; seen + i < header.length && i < chunk.length; i++) {
          if (chunk[i] !== header[seen + i]) throw wrong('does not start with the main header');
        }
        seen += chunk.length;
        controller.enqueue(chunk);
      },
      flush() {
        if (seen < header.length) throw wrong('does not start with the main header');
        if (expected !== undefined && seen !== expected) throw wrong(`has ${seen} bytes, the signature header records ${expected}`);
      },
    }),
  );
}

async function readAll(data: Uint8Array | ReadableStream<Uint8Array>): Promise<Uint8Array> {
  if (data instanceof Uint8Array) return data;
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = data.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    total += value.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

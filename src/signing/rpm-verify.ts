/**
 * RPM signature and digest verification that agrees with `rpm -K` / `rpmkeys --checksig` of
 * rpm 4.18 (Debian 12's, OpenPGP parser built in, libgcrypt crypto), from a parse result and the
 * digests RpmDigestCollector computed while the file streamed by. The file is not read again.
 *
 * What rpm 4.18 does (lib/rpmvs.c, lib/rpmchecksig.c, rpmio/rpmpgp_internal.c), and so this:
 *
 * 1. Items. From the signature header: PGP (1002, RSA, header+payload), MD5 (1004, header+payload),
 *    GPG (1005, DSA, header+payload), DSAHEADER (267, header), RSAHEADER (268, header), SHA1HEADER
 *    (269, header), SHA256HEADER (273, header); from the main header: PAYLOADDIGEST (5092) and
 *    PAYLOADDIGESTALT (5097), both checked as SHA-256 over the payload *as stored* (rpm 4.18
 *    ignores PAYLOADDIGESTALGO and does not decompress; "ALT" only changes the label). Every item
 *    rpm knows is listed even when its tag is absent (result NOTFOUND). Tags rpm 4.18 does not
 *    know are ignored: the rpm 6 OPENPGP (278) signatures and SHA3-256 (279) digest. The 278
 *    signatures are still checked here, as informational checks (`counted: false`) that never
 *    change the verdict.
 * 2. Parsing. A signature must be one V3/V4 OpenPGP packet of RSA, DSA or EdDSA (rpm-verify-pgp.ts);
 *    otherwise BAD ("invalid OpenPGP signature"). A digest string must be hex, even-length, at
 *    least 40 digits, and SHA1/SHA256 header digests exactly 40/64 digits.
 * 3. Computing. A digest is OK when equal (case-insensitively) to the computed one, else BAD. A
 *    signature is BAD unless it is of type binary (0x00); its hash (data || hashed part ||
 *    trailer) must match the packet's left 16 bits or it is BAD -- with or without a key, so a
 *    tampered package is BAD even when the key is unknown; then no key with that key id and
 *    algorithm → NOKEY; else the MPI check decides OK or BAD. No expiry, revocation or hash-age
 *    policy: a V4 DSA/SHA1 signature verifies with its key. A hash rpm cannot compute → NOTFOUND.
 * 4. Order. Header range first, then payload, then header+payload; signatures before digests;
 *    higher tag first. A payload digest counts as signature strength once a header signature
 *    verified (it lives in the signed header).
 * 5. Verdict. A BAD item with an OK alternative (another item with the same disabler: the
 *    payload digest and its ALT twin) becomes NOTFOUND. The default level is "digest": every range
 *    (header, payload) some item covers must be covered by an OK digest; once any signature
 *    verified, also by an OK signature (or a digest inside the signed header) -- rpm refuses
 *    "partially signed" packages. NOTFOUND items that are not needed for that are not shown; every
 *    other item is shown, and the package fails when a shown item is not OK: NOKEY fails too.
 *
 * Status: 'bad' when rpm fails for anything but missing keys, 'unknown-key' when it fails only
 * because of NOKEY, 'signed' when it passes and a signature verified, 'unsigned' when it passes on
 * digests alone.
 */
import * as openpgp from 'openpgp';
import type { RpmParseResult } from '../formats/rpm/index.ts';
import type { RpmDigests } from './rpm-digests.ts';
import { RpmKeyring, type RpmKeyringEntry, type RpmVerifyKey, verifyDigestSignature } from './rpm-verify-keys.ts';
import { fromHex, hashName, PGP_HASHES, parseRpmPgpSignature, pubkeyName, type RpmPgpSignature, signaturePacketBody, toHex } from './rpm-verify-pgp.ts';

export { RpmKeyring, type RpmVerifyKey } from './rpm-verify-keys.ts';

export type RpmCheckName = 'rsa-header' | 'dsa-header' | 'header-sha1' | 'header-sha256' | 'payload-digest' | 'payload-digest-alt' | 'pgp' | 'gpg' | 'md5' | 'openpgp';

/** rpm's result words; UNSUPPORTED only for informational checks (an algorithm openpgp.js lacks). */
export type RpmCheckResult = 'OK' | 'BAD' | 'NOKEY' | 'NOTFOUND' | 'UNSUPPORTED';

export interface RpmCheck {
  check: RpmCheckName;
  tag: number;
  kind: 'digest' | 'signature';
  result: RpmCheckResult;
  ok: boolean;
  /** Whether rpm 4.18 runs this check (false: rpm 6 OPENPGP signatures, shown for information only). */
  counted: boolean;
  /** Signature checks: the issuer key id (16 hex digits) the packet names. */
  keyId?: string;
  /** Signature checks that verified: the fingerprint of the (sub)key and of its primary key. */
  fingerprint?: string;
  primaryFingerprint?: string;
  /** 'RSA/SHA256' for signatures, 'SHA256' for digests. */
  algorithm?: string;
  /** For counted checks, exactly the line `rpm -Kv` prints (without its indentation). */
  message: string;
}

export interface RpmSigner {
  keyId: string;
  fingerprint: string;
  primaryFingerprint: string;
}

export interface RpmVerification {
  status: 'signed' | 'unsigned' | 'bad' | 'unknown-key';
  /** Whether `rpm -K` would exit 0. */
  ok: boolean;
  /** No digest check rpm shows is BAD or missing. */
  digestsOk: boolean;
  /** Keys that made good (counted) signatures. */
  signers: RpmSigner[];
  /** The checks rpm -Kv shows, in its order, then the informational ones. */
  checks: RpmCheck[];
}

// lib/rpmvs.h and include/rpm/rpmts.h (4.18)
const DIGEST = 1;
const SIGNATURE = 2;
const HEADER = 1;
const PAYLOAD = 2;
const NOSHA1HEADER = 1 << 8;
const NOSHA256HEADER = 1 << 9;
const NODSAHEADER = 1 << 10;
const NORSAHEADER = 1 << 11;
const NOPAYLOAD = 1 << 16;
const NOMD5 = 1 << 17;
const NODSA = 1 << 18;
const NORSA = 1 << 19;
/** %_pkgverify_level "digest" (the default). */
const VERIFY_LEVEL = DIGEST;

const HASH_MD5 = 1;
const HASH_SHA1 = 2;
const HASH_SHA256 = 8;

interface Item {
  tag: number;
  check: RpmCheckName;
  /** Read from the signature header (false: the main header, "wrapped" in the signed header). */
  sigh: boolean;
  type: number;
  disabler: number;
  range: number;
  hashalgo: number;
  sigalgo: number;
  alt: boolean;
  /** Required string size (with its NUL) for header digests. */
  size: number;
}

/** rpmvfyitems of rpm 4.18, verifiable ones, in order. */
const ITEMS: readonly Item[] = [
  { tag: 1002, check: 'pgp', sigh: true, type: SIGNATURE, disabler: NORSA, range: HEADER | PAYLOAD, hashalgo: 0, sigalgo: 1, alt: false, size: 0 },
  { tag: 1004, check: 'md5', sigh: true, type: DIGEST, disabler: NOMD5, range: HEADER | PAYLOAD, hashalgo: HASH_MD5, sigalgo: 0, alt: false, size: 0 },
  { tag: 1005, check: 'gpg', sigh: true, type: SIGNATURE, disabler: NODSA, range: HEADER | PAYLOAD, hashalgo: 0, sigalgo: 17, alt: false, size: 0 },
  { tag: 267, check: 'dsa-header', sigh: true, type: SIGNATURE, disabler: NODSAHEADER, range: HEADER, hashalgo: 0, sigalgo: 17, alt: false, size: 0 },
  { tag: 268, check: 'rsa-header', sigh: true, type: SIGNATURE, disabler: NORSAHEADER, range: HEADER, hashalgo: 0, sigalgo: 1, alt: false, size: 0 },
  { tag: 269, check: 'header-sha1', sigh: true, type: DIGEST, disabler: NOSHA1HEADER, range: HEADER, hashalgo: HASH_SHA1, sigalgo: 0, alt: false, size: 41 },
  { tag: 273, check: 'header-sha256', sigh: true, type: DIGEST, disabler: NOSHA256HEADER, range: HEADER, hashalgo: HASH_SHA256, sigalgo: 0, alt: false, size: 65 },
  { tag: 5092, check: 'payload-digest', sigh: false, type: DIGEST, disabler: NOPAYLOAD, range: PAYLOAD, hashalgo: HASH_SHA256, sigalgo: 0, alt: false, size: 0 },
  { tag: 5097, check: 'payload-digest-alt', sigh: false, type: DIGEST, disabler: NOPAYLOAD, range: PAYLOAD, hashalgo: HASH_SHA256, sigalgo: 0, alt: true, size: 0 },
];

type Rc = 'OK' | 'BAD' | 'NOKEY' | 'NOTFOUND';

/** rpm's struct rpmsinfo_s, as far as used. */
interface SInfo {
  item: Item;
  index: number;
  hashalgo: number;
  id: number;
  strength: number;
  rc: Rc;
  msg?: string;
  sig?: RpmPgpSignature;
  /** Expected digest (hex) for digest items. */
  dig?: string;
  /** The computed value is available (rpm's ctx). */
  computed?: string;
  key?: RpmKeyringEntry;
}

/** The raw values of an item's tag: BIN tags as bytes, string tags as strings; undefined when absent. */
function values(item: Item, parsed: RpmParseResult): (Uint8Array | string)[] | undefined {
  const s = parsed.signature;
  switch (item.tag) {
    case 1002:
      return s.pgp && [s.pgp];
    case 1004:
      return s.md5 && [s.md5];
    case 1005:
      return s.gpg && [s.gpg];
    case 267:
      return s.dsa && [s.dsa];
    case 268:
      return s.rsa && [s.rsa];
    case 269:
      return s.sha1 !== undefined ? [s.sha1] : undefined;
    case 273:
      return s.sha256 !== undefined ? [s.sha256] : undefined;
    case 5092:
      return parsed.payloadDigest;
    case 5097:
      return parsed.payloadDigestAlt;
  }
  return undefined;
}

const validHex = (s: string): boolean => s.length % 2 === 0 && s.length >= 40 && /^[0-9a-fA-F]*$/.test(s);

/** rpmsinfoInit. */
function init(item: Item, index: number, value: Uint8Array | string | undefined): SInfo {
  const si: SInfo = { item, index, hashalgo: item.hashalgo, id: 0, strength: item.type, rc: 'BAD' };
  if (value === undefined) {
    si.rc = 'NOTFOUND';
    return si;
  }
  // Which header an item comes from only changes rpm's wording ("header" when the region does not cover every entry).
  const origin = 'package';
  if (item.type === SIGNATURE) {
    const sig = value instanceof Uint8Array ? parseRpmPgpSignature(value) : undefined;
    if (!sig) {
      si.msg = `${origin} tag ${item.tag}: invalid OpenPGP signature`;
      return si;
    }
    si.sig = sig;
    si.hashalgo = sig.hashAlgo;
  } else if (value instanceof Uint8Array) {
    if (value.length < 16) {
      si.msg = `${origin} tag ${item.tag}: invalid data (${value.length})`;
      return si;
    }
    si.dig = toHex(value);
  } else {
    const bytes = new TextEncoder().encode(value).length;
    if (bytes < 16) {
      si.msg = `${origin} tag ${item.tag}: invalid data (${bytes})`;
      return si;
    }
    if (item.size && bytes + 1 !== item.size) {
      si.msg = `${origin} tag ${item.tag}: invalid size ${bytes + 1}`;
      return si;
    }
    if (!validHex(value)) {
      si.msg = `${origin}: tag ${item.tag}: invalid hex`;
      return si;
    }
    si.dig = value;
  }
  if (si.hashalgo) si.id = ((item.tag << 16) | index) >>> 0;
  si.rc = 'OK';
  return si;
}

/** Attaches what was computed (rpmvsFiniRange): without it an item stays unchecked (NOTFOUND). */
function attach(si: SInfo, digests: RpmDigests): void {
  if (si.rc !== 'OK') return;
  const name = PGP_HASHES[si.hashalgo];
  let computed: string | undefined;
  if (name) {
    if (si.sig) {
      const hash16 = toHex(si.sig.hash16);
      computed = digests.signatures.find((d) => d.tag === si.item.tag && d.index === si.index && d.algorithm === name && d.hash16 === hash16)?.digest;
    } else if (si.item.range === HEADER) {
      computed = digests.header[name];
    } else if (si.item.range === PAYLOAD) {
      computed = digests.payload[name];
    } else {
      computed = digests.headerAndPayload[name];
    }
  }
  if (computed === undefined) {
    si.rc = 'NOTFOUND';
    if (name) si.msg = `${hashName(si.hashalgo)} not computed`;
    return;
  }
  si.computed = computed;
}

async function check(si: SInfo, keyring: RpmKeyring): Promise<void> {
  const computed = si.computed as string;
  if (si.item.type === DIGEST) {
    if ((si.dig as string).toLowerCase() === computed.toLowerCase()) {
      si.rc = 'OK';
    } else {
      si.rc = 'BAD';
      si.msg = `Expected ${si.dig} != ${computed}`;
    }
    return;
  }
  const sig = si.sig as RpmPgpSignature;
  si.rc = 'BAD';
  if (sig.sigType !== 0) return;
  const digest = fromHex(computed);
  if (digest[0] !== sig.hash16[0] || digest[1] !== sig.hash16[1]) return;
  const key = keyring.find(sig);
  if (!key) {
    si.rc = 'NOKEY';
    return;
  }
  if (await verifyDigestSignature(sig, digest, key)) {
    si.rc = 'OK';
    si.key = key;
  }
}

/** rpm's sinfoCmp (whose algorithm comparisons compare a value with itself, so never decide). */
function compare(a: SInfo, b: SInfo): number {
  return a.item.range - b.item.range || b.item.type - a.item.type || b.id - a.id || b.item.disabler - a.item.disabler;
}

const rangeName = (range: number): string => (range === HEADER ? 'Header ' : range === PAYLOAD ? 'Payload ' : '');

function describe(si: SInfo): string {
  const { item } = si;
  if (item.type === DIGEST) return `${rangeName(item.range)}${hashName(si.hashalgo)}${item.alt ? ' ALT' : ''} digest`;
  if (si.sig) {
    return `${rangeName(item.range)}V${si.sig.version} ${pubkeyName(si.sig.pubkeyAlgo)}/${hashName(si.sig.hashAlgo)} Signature, key ID ${toHex(si.sig.keyId.subarray(4))}`;
  }
  return `${rangeName(item.range)}${pubkeyName(item.sigalgo)}${item.alt ? ' ALT' : ''} signature`;
}

function toCheck(si: SInfo): RpmCheck {
  const message = `${describe(si)}: ${si.rc}${si.msg ? ` (${si.msg})` : ''}`;
  const out: RpmCheck = {
    check: si.item.check,
    tag: si.item.tag,
    kind: si.item.type === DIGEST ? 'digest' : 'signature',
    result: si.rc,
    ok: si.rc === 'OK',
    counted: true,
    message,
  };
  if (si.sig) {
    out.keyId = toHex(si.sig.keyId);
    out.algorithm = `${pubkeyName(si.sig.pubkeyAlgo)}/${hashName(si.sig.hashAlgo)}`;
  } else if (si.item.type === DIGEST) {
    out.algorithm = hashName(si.hashalgo);
  }
  if (si.key) {
    out.fingerprint = si.key.fingerprint;
    out.primaryFingerprint = si.key.primaryFingerprint;
  }
  return out;
}

/**
 * Verifies a package as `rpm -K` does, given the keys rpm would have imported.
 * `digests` must come from an RpmDigestCollector fed with the same file.
 */
export async function verifyRpm(parsed: RpmParseResult, digests: RpmDigests, keys: readonly RpmVerifyKey[] | RpmKeyring = []): Promise<RpmVerification> {
  const keyring = keys instanceof RpmKeyring ? keys : await RpmKeyring.from(keys);

  // rpmvsInit + rpmvsAppendTag (payload digests), then rpmvsFiniRange.
  const sinfos: SInfo[] = [];
  for (const item of ITEMS) {
    const vals = values(item, parsed);
    if (vals === undefined) sinfos.push(init(item, 0, undefined));
    else for (const [i, v] of vals.entries()) sinfos.push(init(item, i, v));
  }
  for (const si of sinfos) attach(si, digests);

  // rpmvsVerify.
  sinfos.sort(compare);
  const verified = [0, 0, 0];
  let range = 0;
  for (const si of sinfos) {
    if (!si.item.sigh && verified[SIGNATURE] & HEADER) si.strength = SIGNATURE;
    if (si.computed !== undefined) {
      await check(si, keyring);
      if (si.rc === 'OK') {
        verified[si.item.type] |= si.item.range;
        verified[si.strength] |= si.item.range;
      }
    }
    range |= si.item.range;
  }
  let level = VERIFY_LEVEL;
  if (verified[SIGNATURE]) level |= SIGNATURE;

  const shown: SInfo[] = [];
  for (const si of sinfos) {
    const strength = si.item.type | si.strength;
    if (si.rc === 'BAD') {
      const alt = sinfos.find((a) => si.id !== a.id && si.item.disabler === a.item.disabler);
      if (alt && alt.rc === 'OK') si.rc = 'NOTFOUND';
    }
    let required = 0;
    if (level & strength & DIGEST) required |= range & ~verified[DIGEST] & si.item.range;
    if (level & strength & SIGNATURE) required |= range & ~verified[SIGNATURE] & si.item.range;
    if (!required && si.rc === 'NOTFOUND') continue;
    shown.push(si);
  }

  const ok = shown.every((si) => si.rc === 'OK');
  const signed = sinfos.some((si) => si.item.type === SIGNATURE && si.rc === 'OK');
  const checks = shown.map(toCheck);
  const digestsOk = checks.every((c) => c.kind !== 'digest' || c.ok);
  let status: RpmVerification['status'];
  if (ok) status = signed ? 'signed' : 'unsigned';
  else if (shown.every((si) => si.rc === 'OK' || si.rc === 'NOKEY')) status = 'unknown-key';
  else status = 'bad';

  const signers: RpmSigner[] = [];
  for (const si of sinfos) {
    if (si.item.type !== SIGNATURE || si.rc !== 'OK' || !si.key) continue;
    if (signers.some((s) => s.fingerprint === si.key!.fingerprint)) continue;
    signers.push({ keyId: si.key.keyId, fingerprint: si.key.fingerprint, primaryFingerprint: si.key.primaryFingerprint });
  }

  for (const [index, encoded] of (parsed.signature.openpgp ?? []).entries()) {
    checks.push(await openpgpCheck(index, encoded, parsed.signature.header, keys));
  }
  return { status, ok, digestsOk, signers, checks };
}

const algorithmLabel = (algo: number): string =>
  algo === 27
    ? 'Ed25519'
    : algo === 28
      ? 'Ed448'
      : algo === 30
        ? 'ML-DSA-65+Ed25519'
        : algo === 31
          ? 'ML-DSA-87+Ed448'
          : pubkeyName(algo).startsWith('Unknown')
            ? `algorithm ${algo}`
            : pubkeyName(algo);

/** Public-key algorithms openpgp.js 6 can verify. */
const OPENPGP_JS_ALGOS = new Set([1, 3, 17, 19, 22, 27, 28]);

/** An rpm 6 OPENPGP (278) signature over the main header, checked with openpgp.js for information. */
async function openpgpCheck(index: number, encoded: string, header: Uint8Array, keys: readonly RpmVerifyKey[] | RpmKeyring): Promise<RpmCheck> {
  const out: RpmCheck = { check: 'openpgp', tag: 278, kind: 'signature', result: 'BAD', ok: false, counted: false, message: '' };
  const finish = (result: RpmCheckResult, label: string, note?: string) => {
    out.result = result;
    out.ok = result === 'OK';
    out.message = `OpenPGP signature #${index + 1}${label}: ${result}${note ? ` (${note})` : ''}`;
    return out;
  };
  let packet: openpgp.SignaturePacket;
  let binary: Uint8Array;
  try {
    binary = Uint8Array.from(atob(encoded.trim()), (c) => c.charCodeAt(0));
  } catch {
    return finish('BAD', '', 'invalid base64');
  }
  try {
    const sig = await openpgp.readSignature({ binarySignature: binary, config: { ...openpgp.config, ignoreUnsupportedPackets: false } });
    packet = sig.packets[0] as openpgp.SignaturePacket;
    if (!(packet instanceof openpgp.SignaturePacket)) return finish('BAD', '', 'not a signature packet');
  } catch (error) {
    // openpgp.js refuses algorithms it lacks (ML-DSA): name what the packet says.
    const body = signaturePacketBody(binary);
    const label = body && body.length >= 4 && body[0] >= 4 ? ` V${body[0]} ${algorithmLabel(body[2])}/${hashName(body[3])}` : '';
    if (body && body.length >= 4) out.algorithm = `${algorithmLabel(body[2])}/${hashName(body[3])}`;
    return finish('UNSUPPORTED', label, error instanceof Error ? error.message : String(error));
  }
  const algo = Number(packet.publicKeyAlgorithm);
  const hash = Number(packet.hashAlgorithm);
  const keyId = packet.issuerKeyID?.toHex?.() ?? (packet.issuerFingerprint ? toHex(packet.issuerFingerprint).slice(0, 16) : '');
  out.keyId = keyId || undefined;
  out.algorithm = `${algorithmLabel(algo)}/${hashName(hash)}`;
  const label = ` V${packet.version} ${algorithmLabel(algo)}/${hashName(hash)}${keyId ? `, key ID ${keyId}` : ''}`;
  if (!OPENPGP_JS_ALGOS.has(algo)) return finish('UNSUPPORTED', label, `public-key algorithm ${algo} is not supported by openpgp.js; rpm 4.18 does not read tag 278`);
  const candidates: (openpgp.PublicKeyPacket | openpgp.PublicSubkeyPacket)[] = [];
  for (const item of keys instanceof RpmKeyring ? [] : keys) {
    const read = typeof item === 'string' ? await openpgp.readKeys({ armoredKeys: item }) : item instanceof Uint8Array ? await openpgp.readKeys({ binaryKeys: item }) : [item];
    for (const key of read) {
      for (const p of [key.keyPacket, ...key.subkeys.map((s) => s.keyPacket)] as (openpgp.PublicKeyPacket | openpgp.PublicSubkeyPacket)[]) {
        const fpr = packet.issuerFingerprint ? toHex(packet.issuerFingerprint) : undefined;
        if ((fpr && p.getFingerprint().toLowerCase() === fpr) || (keyId && p.getKeyID().toHex() === keyId)) candidates.push(p);
      }
    }
  }
  if (keys instanceof RpmKeyring) {
    const entry = keyId ? keys.findById(keyId, algo) : undefined;
    if (entry) candidates.push(entry.packet);
  }
  if (candidates.length === 0) return finish('NOKEY', label);
  const message = await openpgp.createMessage({ binary: header });
  const literal = message.packets.findPacket(openpgp.enums.packet.literalData) as object;
  for (const key of candidates) {
    try {
      await packet.verify(key, openpgp.enums.signature.binary, literal, null as never, true, {
        ...openpgp.config,
        rejectHashAlgorithms: new Set(),
        rejectMessageHashAlgorithms: new Set(),
      });
      out.fingerprint = key.getFingerprint().toLowerCase();
      return finish('OK', label);
    } catch {
      // try the next candidate
    }
  }
  return finish('BAD', label);
}

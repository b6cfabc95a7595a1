import * as openpgp from 'openpgp';
import { RepodError } from '../errors.ts';

/**
 * Signs repository metadata (repomd.xml.asc, Release.gpg, InRelease) with one or more OpenPGP
 * keys: during a key rotation both the old and the new key sign, so clients that trust either
 * one verify. openpgp.js's random salt notation is off, so signatures are plain V4 ones that
 * gpgv, rpm and librepo read.
 */
export interface Signer {
  /** Fingerprints of the signing keys, upper-case hex. */
  fingerprints: string[];
  /** A short id of this set of keys: renders are cached per key set. */
  keysetId: string;
  /** One armored block holding every signing key's public key (what clients import). */
  publicKeyArmored: string;
  /** ASCII-armored detached signature(s) over the exact bytes of `data`. */
  detachSign(data: Uint8Array, date: Date): Promise<string>;
  /** A clear-signed document (InRelease). */
  clearSign(text: string, date: Date): Promise<string>;
}

const SIGN_CONFIG = { nonDeterministicSignaturesViaNotation: false } as const;

export async function readPrivateKey(armoredPrivateKey: string, passphrase?: string): Promise<openpgp.PrivateKey> {
  try {
    let key = await openpgp.readPrivateKey({ armoredKey: armoredPrivateKey });
    if (!key.isDecrypted()) {
      if (!passphrase) throw new Error('the key is protected by a passphrase and none was given');
      key = await openpgp.decryptKey({ privateKey: key, passphrase });
    }
    return key;
  } catch (cause) {
    throw new RepodError('invalid_signing_key', `cannot use the signing key: ${(cause as Error).message}`, { status: 422, cause });
  }
}

/** One armored public-key block for several keys (one block: apt's signed-by reads just one). */
export function armorPublicKeys(keys: openpgp.Key[]): string {
  const parts = keys.map((k) => k.toPublic().write());
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  // With the CRC-24 line: rpm 4.18 refuses armored keys without it (what key.armor() writes for v4 keys).
  return openpgp.armor(openpgp.enums.armor.publicKey, bytes, undefined, undefined, undefined, true);
}

export function signerFromKeys(keys: openpgp.PrivateKey[]): Signer {
  if (keys.length === 0) throw new RepodError('no_signing_key', 'no active signing key', { status: 500 });
  const fingerprints = keys.map((k) => k.getFingerprint().toUpperCase());
  return {
    fingerprints,
    keysetId: fingerprints.map((f) => f.slice(-8)).join('-'),
    publicKeyArmored: armorPublicKeys(keys),
    async detachSign(data, date) {
      const message = await openpgp.createMessage({ binary: data });
      return (await openpgp.sign({ message, signingKeys: keys, detached: true, format: 'armored', date, config: SIGN_CONFIG })) as string;
    },
    async clearSign(text, date) {
      // As gpg --clearsign writes it: the line break before the signature armor is the document's
      // own last one (not signed), and lines keep LF. The signature covers the canonical CRLF form
      // either way, so the body between the armor lines is byte-identical to Release.
      const message = await openpgp.createCleartextMessage({ text: text.endsWith('\n') ? text.slice(0, -1) : text });
      const signed = (await openpgp.sign({ message, signingKeys: keys, date, config: SIGN_CONFIG })) as string;
      return signed.replaceAll('\r\n', '\n');
    },
  };
}

export async function createSigner(armoredPrivateKey: string, passphrase?: string): Promise<Signer> {
  return signerFromKeys([await readPrivateKey(armoredPrivateKey, passphrase)]);
}

export type KeyAlgorithm = 'ed25519' | 'rsa4096' | 'rsa3072' | 'rsa2048';

/** A new signing key: Ed25519 (v4, readable by gpg 2.2, rpm, apt's gpgv and zypper) or RSA. */
export async function generateSigningKey(name = 'repod repository signing key', email = 'repod@localhost', date?: Date, algorithm: KeyAlgorithm = 'ed25519'): Promise<string> {
  // Backdated a little: a signature dated before its key's creation fails to verify on skewed clocks.
  const created = date ?? new Date(Date.now() - 24 * 3600 * 1000);
  const options = algorithm === 'ed25519' ? ({ type: 'ecc', curve: 'curve25519Legacy' } as const) : ({ type: 'rsa', rsaBits: Number(algorithm.slice(3)) } as const);
  const { privateKey } = await openpgp.generateKey({ ...options, userIDs: [{ name, email }], format: 'armored', date: created });
  return privateKey;
}

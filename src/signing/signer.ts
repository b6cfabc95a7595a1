import * as openpgp from 'openpgp';
import { RepodError } from '../errors.ts';

/**
 * Signs repository metadata (repomd.xml.asc, Release.gpg, InRelease) with an OpenPGP key.
 * Signatures carry the revision's time, and openpgp.js's random salt notation is off, so every
 * server renders byte-identical signatures for one revision (EdDSA and RSA PKCS#1 are deterministic).
 */
export interface Signer {
  fingerprint: string;
  keyId: string;
  publicKeyArmored: string;
  /** ASCII-armored detached signature over the exact bytes of `data`. */
  detachSign(data: Uint8Array, date: Date): Promise<string>;
  /** A clear-signed document (InRelease). */
  clearSign(text: string, date: Date): Promise<string>;
}

const SIGN_CONFIG = { nonDeterministicSignaturesViaNotation: false } as const;

export async function createSigner(armoredPrivateKey: string, passphrase?: string): Promise<Signer> {
  let key: openpgp.PrivateKey;
  try {
    key = await openpgp.readPrivateKey({ armoredKey: armoredPrivateKey });
    if (!key.isDecrypted()) {
      if (!passphrase) throw new Error('the key is protected by a passphrase and none was given');
      key = await openpgp.decryptKey({ privateKey: key, passphrase });
    }
  } catch (cause) {
    throw new RepodError('invalid_signing_key', `cannot use the signing key: ${(cause as Error).message}`, { status: 500, cause });
  }
  const publicKeyArmored = key.toPublic().armor();
  return {
    fingerprint: key.getFingerprint().toUpperCase(),
    keyId: key.getKeyID().toHex().toUpperCase(),
    publicKeyArmored,
    async detachSign(data, date) {
      const message = await openpgp.createMessage({ binary: data });
      return (await openpgp.sign({ message, signingKeys: key, detached: true, format: 'armored', date, config: SIGN_CONFIG })) as string;
    },
    async clearSign(text, date) {
      const message = await openpgp.createCleartextMessage({ text });
      return (await openpgp.sign({ message, signingKeys: key, date, config: SIGN_CONFIG })) as string;
    },
  };
}

/** A new Ed25519 signing key (v4, readable by gpg 2.2, rpm, apt's gpgv and zypper). */
export async function generateSigningKey(name = 'repod repository signing key', email = 'repod@localhost', date?: Date): Promise<string> {
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name, email }],
    format: 'armored',
    // Backdated a little: a signature dated before its key's creation fails to verify on skewed clocks.
    date: date ?? new Date(Date.now() - 24 * 3600 * 1000),
  });
  return privateKey;
}

/**
 * rpm 4.18's keyring, as far as package signature checks use it (rpmio/rpmkeyring.c): every V4
 * primary key and subkey is an entry found by its 8-byte key id; a signature finds its key only
 * when the id and the public-key algorithm both match. Expiry, revocation and key flags play no
 * part (rpm 4.18 checks none of them when verifying a package).
 *
 * The cryptographic step runs on a precomputed digest (the signed data of a header+payload
 * signature never sits in memory). openpgp.js verifies against a digest when a signature packet
 * carries it in `hashed` (the property its streaming one-pass verification uses); everything
 * else openpgp's verify checks beyond the MPIs is switched off (date: null; no hash algorithm
 * rejected) so the verdict is the MPI check alone, as in rpm.
 */
import * as openpgp from 'openpgp';
import { asV4Packet, type RpmPgpSignature, toHex } from './rpm-verify-pgp.ts';

/** A key as the caller may give it: an openpgp key, or armored / binary OpenPGP key data (one or more keys). */
export type RpmVerifyKey = openpgp.Key | string | Uint8Array;

export interface RpmKeyringEntry {
  /** 16 hex digits, lower case. */
  keyId: string;
  /** Of the (sub)key that matched, lower-case hex. */
  fingerprint: string;
  /** Of the primary key it belongs to. */
  primaryFingerprint: string;
  algorithm: number;
  packet: openpgp.PublicKeyPacket | openpgp.PublicSubkeyPacket;
}

export class RpmKeyring {
  private readonly byId = new Map<string, RpmKeyringEntry[]>();

  static async from(keys: readonly RpmVerifyKey[]): Promise<RpmKeyring> {
    const ring = new RpmKeyring();
    for (const item of keys) {
      const read = typeof item === 'string' ? await openpgp.readKeys({ armoredKeys: item }) : item instanceof Uint8Array ? await openpgp.readKeys({ binaryKeys: item }) : [item];
      for (const key of read) ring.add(key);
    }
    return ring;
  }

  private add(key: openpgp.Key): void {
    const primaryFingerprint = key.getFingerprint().toLowerCase();
    const packets = [key.keyPacket, ...key.subkeys.map((s) => s.keyPacket)] as (openpgp.PublicKeyPacket | openpgp.PublicSubkeyPacket)[];
    for (const packet of packets) {
      // rpm 4.18 imports V4 keys only ("Unsupported version of key: V6").
      if (packet.version !== 4) continue;
      const keyId = packet.getKeyID().toHex().toLowerCase();
      const entry: RpmKeyringEntry = { keyId, fingerprint: packet.getFingerprint().toLowerCase(), primaryFingerprint, algorithm: packet.algorithm, packet };
      const list = this.byId.get(keyId) ?? [];
      if (!list.some((e) => e.fingerprint === entry.fingerprint)) list.push(entry);
      this.byId.set(keyId, list);
    }
  }

  /** rpm's findbySig: same key id, same public-key algorithm. */
  find(sig: RpmPgpSignature): RpmKeyringEntry | undefined {
    return this.byId.get(toHex(sig.keyId))?.find((e) => e.algorithm === sig.pubkeyAlgo);
  }

  /** By key id (16 hex digits) and public-key algorithm. */
  findById(keyId: string, algorithm: number): RpmKeyringEntry | undefined {
    return this.byId.get(keyId.toLowerCase())?.find((e) => e.algorithm === algorithm);
  }

  get size(): number {
    return this.byId.size;
  }
}

const LENIENT: openpgp.Config = {
  ...openpgp.config,
  rejectHashAlgorithms: new Set(),
  rejectMessageHashAlgorithms: new Set(),
  rejectPublicKeyAlgorithms: new Set(),
  rejectCurves: new Set(),
  minRSABits: 0,
};

/** Whether the signature's MPIs sign `digest` (the full hash of data || trailer) under `key`. */
export async function verifyDigestSignature(sig: RpmPgpSignature, digest: Uint8Array, key: RpmKeyringEntry): Promise<boolean> {
  try {
    const parsed = await openpgp.readSignature({ binarySignature: asV4Packet(sig), config: LENIENT });
    const packet = parsed.packets[0] as openpgp.SignaturePacket & { hashed?: Promise<Uint8Array> };
    if (!(packet instanceof openpgp.SignaturePacket)) return false;
    packet.hashed = Promise.resolve(digest);
    await packet.verify(key.packet, openpgp.enums.signature.binary, undefined as never, null as never, true, LENIENT);
    return true;
  } catch {
    return false;
  }
}

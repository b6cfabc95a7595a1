import * as openpgp from 'openpgp';
import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { ConflictError, NotFoundError, PreconditionFailedError, RepodError } from '../errors.ts';
import { getBytes, getJson, putJson } from '../storage/objects.ts';
import { generateSigningKey, type KeyAlgorithm, readPrivateKey, type Signer, signerFromKeys } from './signer.ts';

/**
 * The metadata signing keys, kept in the store (keys/ring.json) so every server of a fleet signs
 * with the same ones. Active keys sign; during a rotation the old and the new key are both active,
 * then the old one is retired. Private keys are encrypted at rest with REPOD_KEY_PASSPHRASE when
 * it is set. An operator key (REPOD_SIGNING_KEY) replaces the ring: it stays outside the store and
 * cannot be managed through the API.
 */
export interface StoredKey {
  fingerprint: string;
  keyId: string;
  algorithm: string;
  created: string;
  status: 'active' | 'retired';
  /** Armored private key; encrypted with the ring passphrase when `encrypted`. */
  private: string;
  encrypted: boolean;
}

export interface RingFile {
  format: 1;
  keys: StoredKey[];
}

export interface KeyInfo {
  fingerprint: string;
  keyId: string;
  algorithm: string;
  created: string;
  status: 'active' | 'retired';
  encrypted: boolean;
  publicKey: string;
}

const REFRESH_MS = 5000;

export class Keyring {
  private cached: { at: number; etag: string | null; signer: Signer } | null = null;
  private operator: Signer | null = null;

  constructor(
    private readonly caps: Capabilities,
    private readonly options: { passphrase?: string } = {},
  ) {}

  /** Uses an operator key instead of the ring. */
  async useOperatorKey(armored: string, passphrase?: string): Promise<void> {
    this.operator = signerFromKeys([await readPrivateKey(armored, passphrase)]);
  }

  get external(): boolean {
    return this.operator !== null;
  }

  /**
   * The ring's signer, created with one Ed25519 key on a fresh store (or from the single key an
   * earlier version kept at keys/signing-key.asc). Re-read every few seconds, so a rotation made on
   * one server reaches the others.
   */
  async signer(): Promise<Signer> {
    if (this.operator) return this.operator;
    if (this.cached && Date.now() - this.cached.at < REFRESH_MS) return this.cached.signer;
    let found = await getJson<RingFile>(this.caps.store, layout.keyring());
    if (!found) {
      await this.bootstrap();
      found = (await getJson<RingFile>(this.caps.store, layout.keyring()))!;
    }
    if (this.cached && this.cached.etag === found.etag) {
      this.cached.at = Date.now();
      return this.cached.signer;
    }
    const active = await Promise.all(found.value.keys.filter((k) => k.status === 'active').map((k) => this.unlock(k)));
    const signer = signerFromKeys(active);
    this.cached = { at: Date.now(), etag: found.etag, signer };
    return signer;
  }

  /** The newest active key: what signs packages on ingest. */
  async packageSigningKey(): Promise<openpgp.PrivateKey> {
    if (this.operator) throw new ConflictError('packages are signed with the keyring, not with REPOD_SIGNING_KEY', 'keys_managed_externally');
    await this.signer();
    const ring = (await getJson<RingFile>(this.caps.store, layout.keyring()))!.value;
    const active = ring.keys.filter((k) => k.status === 'active').sort((a, b) => b.created.localeCompare(a.created));
    if (active.length === 0) throw new RepodError('no_signing_key', 'no active signing key', { status: 500 });
    return this.unlock(active[0]);
  }

  /** True when this call created the ring (a fresh store). */
  async bootstrap(): Promise<boolean> {
    if (this.operator || (await this.caps.store.head(layout.keyring()))) return false;
    const legacy = await getBytes(this.caps.store, layout.signingKey());
    const armored = legacy ? new TextDecoder().decode(legacy) : await generateSigningKey();
    try {
      await putJson(this.caps.store, layout.keyring(), { format: 1, keys: [await this.stored(armored, 'active')] } satisfies RingFile, { ifNoneMatch: '*' });
      return !legacy;
    } catch (error) {
      if (error instanceof PreconditionFailedError) return false;
      throw error;
    }
  }

  async list(): Promise<KeyInfo[]> {
    if (this.operator) {
      const s = this.operator;
      return s.fingerprints.map((f) => ({
        fingerprint: f,
        keyId: f.slice(-16),
        algorithm: 'operator',
        created: '',
        status: 'active',
        encrypted: false,
        publicKey: s.publicKeyArmored,
      }));
    }
    await this.signer();
    const ring = (await getJson<RingFile>(this.caps.store, layout.keyring()))!.value;
    return Promise.all(
      ring.keys.map(async (k) => ({
        fingerprint: k.fingerprint,
        keyId: k.keyId,
        algorithm: k.algorithm,
        created: k.created,
        status: k.status,
        encrypted: k.encrypted,
        publicKey: (await openpgp.readKey({ armoredKey: k.private })).toPublic().armor(),
      })),
    );
  }

  /** Generates a key and adds it (active: the start of a rotation; the old key keeps signing). */
  async generate(algorithm: KeyAlgorithm): Promise<KeyInfo> {
    return this.add(await generateSigningKey(undefined, undefined, undefined, algorithm), 'active');
  }

  /** Adds an operator-supplied private key (decrypted with `passphrase` if protected). */
  async import(armored: string, passphrase?: string, status: 'active' | 'retired' = 'active'): Promise<KeyInfo> {
    const key = await readPrivateKey(armored, passphrase);
    return this.add(key.armor(), status);
  }

  async setStatus(fingerprint: string, status: 'active' | 'retired'): Promise<KeyInfo> {
    return this.update(async (ring) => {
      const key = ring.keys.find((k) => k.fingerprint === fingerprint.toUpperCase());
      if (!key) throw new NotFoundError(`no signing key ${fingerprint}`, 'unknown_key');
      if (status === 'retired' && ring.keys.filter((k) => k.status === 'active' && k !== key).length === 0) {
        throw new ConflictError('cannot retire the last active signing key: add its successor first', 'last_active_key');
      }
      key.status = status;
      return key.fingerprint;
    });
  }

  private async add(armored: string, status: 'active' | 'retired'): Promise<KeyInfo> {
    const stored = await this.stored(armored, status);
    return this.update(async (ring) => {
      if (ring.keys.some((k) => k.fingerprint === stored.fingerprint)) throw new ConflictError(`key ${stored.fingerprint} is already in the keyring`, 'duplicate_key');
      ring.keys.push(stored);
      return stored.fingerprint;
    });
  }

  /** A compare-and-swap change of the ring, retried on a concurrent change. */
  private async update(change: (ring: RingFile) => Promise<string>): Promise<KeyInfo> {
    if (this.operator) throw new ConflictError('the signing key comes from REPOD_SIGNING_KEY and is managed outside repod', 'keys_managed_externally');
    await this.signer();
    for (let attempt = 0; attempt < 10; attempt++) {
      const found = (await getJson<RingFile>(this.caps.store, layout.keyring()))!;
      const fingerprint = await change(found.value);
      try {
        await putJson(this.caps.store, layout.keyring(), found.value, { ifMatch: found.etag });
        this.cached = null;
        return (await this.list()).find((k) => k.fingerprint === fingerprint)!;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
      }
    }
    throw new ConflictError('the keyring kept changing; try again', 'keyring_conflict');
  }

  private async stored(armored: string, status: 'active' | 'retired'): Promise<StoredKey> {
    let key = await readPrivateKey(armored);
    const info = {
      fingerprint: key.getFingerprint().toUpperCase(),
      keyId: key.getKeyID().toHex().toUpperCase(),
      algorithm: describe(key),
      created: key.getCreationTime().toISOString(),
      status,
    };
    if (this.options.passphrase) {
      key = await openpgp.encryptKey({ privateKey: key, passphrase: this.options.passphrase });
      return { ...info, private: key.armor(), encrypted: true };
    }
    return { ...info, private: key.armor(), encrypted: false };
  }

  private async unlock(stored: StoredKey): Promise<openpgp.PrivateKey> {
    if (stored.encrypted && !this.options.passphrase) {
      throw new RepodError('keyring_locked', `signing key ${stored.fingerprint} is encrypted: set REPOD_KEY_PASSPHRASE`, { status: 500 });
    }
    return readPrivateKey(stored.private, stored.encrypted ? this.options.passphrase : undefined);
  }
}

function describe(key: openpgp.Key): string {
  const info = key.getAlgorithmInfo() as { algorithm: string; bits?: number; curve?: string };
  return info.bits ? `${info.algorithm}${info.bits}` : `${info.algorithm}${info.curve ? `-${info.curve}` : ''}`;
}

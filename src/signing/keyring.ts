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
 *
 * Keys may have a name. A dedicated key signs only the distributions that name it in their
 * `signing.keys` (config/distributions.ts), never the default set that signs all the others: the
 * default set is every active key that is not dedicated.
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
  /** A name distributions may use in `signing.keys` instead of the fingerprint. */
  name?: string;
  /** Signs only the distributions that name it, not the default set. */
  dedicated?: boolean;
}

/** How a new key is known and whom it signs for. */
export interface KeyOptions {
  name?: string;
  dedicated?: boolean;
}

/** What names a set of keys to sign with: a distribution's `signing` setting, when it has one. */
export interface SigningChoice {
  name?: string;
  signing?: { keys: string[] };
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
  name?: string;
  dedicated?: boolean;
}

const REFRESH_MS = 5000;
/** `peekSigner`'s slot for callers that name no distribution. */
const DEFAULT_CHOICE: SigningChoice = {};
const KEY_NAME = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

export class Keyring {
  private ring: { at: number; etag: string; value: RingFile } | null = null;
  /** Signers by the fingerprints of their keys: a set of keys always makes the same signer. */
  private readonly signers = new Map<string, Signer>();
  private readonly unlocked = new Map<string, openpgp.PrivateKey>();
  /** What `peekSigner` found, per distribution settings object, with the ring read it was found in. */
  private readonly peeked = new WeakMap<SigningChoice, { ring: RingFile; signer: Signer }>();
  private operator: Signer | null = null;
  private choices: () => SigningChoice[] = () => [];

  constructor(
    private readonly caps: Capabilities,
    private readonly options: { passphrase?: string } = {},
  ) {}

  /** Uses an operator key instead of the ring. */
  async useOperatorKey(armored: string, passphrase?: string): Promise<void> {
    this.operator = signerFromKeys([await readPrivateKey(armored, passphrase)]);
  }

  /** The distributions that may name keys: a key cannot be retired while it is the last active one a distribution names. */
  watchDistributions(choices: () => SigningChoice[]): void {
    this.choices = choices;
  }

  get external(): boolean {
    return this.operator !== null;
  }

  /**
   * The signer of a distribution: the keys its `signing.keys` names that are active, or the ring's
   * default set (every active key that is not dedicated) when it names none. The ring is created
   * with one Ed25519 key on a fresh store (or from the single key an earlier version kept at
   * keys/signing-key.asc), and re-read every few seconds, so a rotation made on one server
   * reaches the others.
   */
  async signer(dist?: SigningChoice): Promise<Signer> {
    if (this.operator) return this.operator;
    const ring = await this.current();
    const keys = this.signingKeys(ring, dist);
    const id = keys.map((k) => k.fingerprint).join(',');
    const known = this.signers.get(id);
    if (known) return known;
    const signer = signerFromKeys(await Promise.all(keys.map((k) => this.unlock(k))));
    this.signers.set(id, signer);
    return signer;
  }

  /**
   * What `signer(dist)` answers when it would neither read the ring nor unlock a key: the ring was
   * read within the last few seconds and this set's signer was made before. Undefined otherwise
   * (also when `signer` would throw): the caller then asks `signer`. A runtime's fast path checks
   * a ready answer's key set with it in the same tick.
   */
  peekSigner(dist?: SigningChoice): Signer | undefined {
    if (this.operator) return this.operator;
    const ring = this.ring;
    if (!ring || Date.now() - ring.at >= REFRESH_MS) return undefined;
    // Per distribution settings object (replaced whole on every change) and ring read: the keys
    // are resolved once, not on every request.
    const slot = dist ?? DEFAULT_CHOICE;
    const peeked = this.peeked.get(slot);
    if (peeked?.ring === ring.value) return peeked.signer;
    let id: string;
    try {
      id = this.signingKeys(ring.value, dist)
        .map((k) => k.fingerprint)
        .join(',');
    } catch {
      return undefined;
    }
    const signer = this.signers.get(id);
    if (signer) this.peeked.set(slot, { ring: ring.value, signer });
    return signer;
  }

  /** The active keys that sign for `dist`: those its `signing.keys` names, or the default set. */
  private signingKeys(ring: RingFile, dist?: SigningChoice): StoredKey[] {
    if (!dist?.signing?.keys?.length) return defaultSet(ring);
    const keys = this.resolveIn(ring, dist.signing.keys).filter((k) => k.status === 'active');
    if (keys.length === 0) {
      throw new RepodError('no_signing_key', `distribution ${dist.name ?? ''}: none of its signing keys (${dist.signing.keys.join(', ')}) is active`, { status: 500 });
    }
    return keys;
  }

  /**
   * The keys that fingerprints, key ids or names stand for; throws 422 naming the first unknown
   * one (a distribution's `signing.keys` is checked with this before it is stored).
   */
  async resolve(refs: string[]): Promise<KeyInfo[]> {
    if (this.operator)
      throw new RepodError('keys_managed_externally', 'the signing key comes from REPOD_SIGNING_KEY: distributions cannot name keys of the keyring', { status: 422 });
    const ring = await this.current();
    const keys = this.resolveIn(ring, refs);
    if (!keys.some((k) => k.status === 'active')) throw new RepodError('no_active_key', `none of the signing keys ${refs.join(', ')} is active`, { status: 422 });
    const infos = await this.list();
    return keys.map((k) => infos.find((i) => i.fingerprint === k.fingerprint)!);
  }

  private resolveIn(ring: RingFile, refs: string[]): StoredKey[] {
    const out: StoredKey[] = [];
    for (const ref of refs) {
      const key = ring.keys.find((k) => matches(k, ref));
      if (!key) throw new RepodError('unknown_key', `no signing key ${JSON.stringify(ref)} in the keyring`, { status: 422 });
      if (!out.includes(key)) out.push(key);
    }
    return out;
  }

  /** The ring as stored, re-read every few seconds (created on a fresh store). */
  private async current(): Promise<RingFile> {
    if (this.ring && Date.now() - this.ring.at < REFRESH_MS) return this.ring.value;
    let found = await getJson<RingFile>(this.caps.store, layout.keyring());
    if (!found) {
      await this.bootstrap();
      found = (await getJson<RingFile>(this.caps.store, layout.keyring()))!;
    }
    this.ring = { at: Date.now(), etag: found.etag, value: found.value };
    return found.value;
  }

  /** The newest active key of a distribution's set (default: the default set): what signs packages on ingest. */
  async packageSigningKey(dist?: SigningChoice): Promise<openpgp.PrivateKey> {
    if (this.operator) throw new ConflictError('packages are signed with the keyring, not with REPOD_SIGNING_KEY', 'keys_managed_externally');
    await this.current();
    const ring = (await getJson<RingFile>(this.caps.store, layout.keyring()))!.value;
    const set = dist?.signing?.keys?.length ? this.resolveIn(ring, dist.signing.keys).filter((k) => k.status === 'active') : defaultSet(ring);
    const active = set.sort((a, b) => b.created.localeCompare(a.created));
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
    await this.current();
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
        ...(k.name !== undefined ? { name: k.name } : {}),
        ...(k.dedicated ? { dedicated: true } : {}),
      })),
    );
  }

  /**
   * Generates a key and adds it. A key of the default set starts a rotation (the old key keeps
   * signing); a dedicated one signs only the distributions that name it.
   */
  async generate(algorithm: KeyAlgorithm, options: KeyOptions = {}): Promise<KeyInfo> {
    checkKeyOptions(options);
    return this.add(await generateSigningKey(options.name ? `repod signing key ${options.name}` : undefined, undefined, undefined, algorithm), 'active', options);
  }

  /** Adds an operator-supplied private key (decrypted with `passphrase` if protected). */
  async import(armored: string, passphrase?: string, status: 'active' | 'retired' = 'active', options: KeyOptions = {}): Promise<KeyInfo> {
    checkKeyOptions(options);
    const key = await readPrivateKey(armored, passphrase);
    return this.add(key.armor(), status, options);
  }

  async setStatus(fingerprint: string, status: 'active' | 'retired'): Promise<KeyInfo> {
    return this.update(async (ring) => {
      const key = ring.keys.find((k) => k.fingerprint === fingerprint.toUpperCase());
      if (!key) throw new NotFoundError(`no signing key ${fingerprint}`, 'unknown_key');
      if (status === 'retired' && !key.dedicated && defaultSet(ring).filter((k) => k !== key).length === 0) {
        throw new ConflictError('cannot retire the last active signing key: add its successor first', 'last_active_key');
      }
      if (status === 'retired') {
        const stranded = this.choices()
          .filter((d) => d.signing?.keys?.length)
          .filter((d) => {
            const named = ring.keys.filter((k) => d.signing!.keys.some((ref) => matches(k, ref)));
            return named.includes(key) && !named.some((k) => k !== key && k.status === 'active');
          })
          .map((d) => d.name ?? '');
        if (stranded.length > 0) {
          throw new ConflictError(`key ${key.fingerprint} is the last active signing key of ${stranded.join(', ')}: name another key in their signing.keys first`, 'key_in_use', {
            distributions: stranded,
          });
        }
      }
      key.status = status;
      return key.fingerprint;
    });
  }

  private async add(armored: string, status: 'active' | 'retired', options: KeyOptions = {}): Promise<KeyInfo> {
    const stored: StoredKey = { ...(await this.stored(armored, status)), ...(options.name ? { name: options.name } : {}), ...(options.dedicated ? { dedicated: true } : {}) };
    return this.update(async (ring) => {
      if (ring.keys.some((k) => k.fingerprint === stored.fingerprint)) throw new ConflictError(`key ${stored.fingerprint} is already in the keyring`, 'duplicate_key');
      if (stored.name && ring.keys.some((k) => k.name === stored.name)) throw new ConflictError(`a key named ${stored.name} is already in the keyring`, 'duplicate_key_name');
      ring.keys.push(stored);
      return stored.fingerprint;
    });
  }

  /** A compare-and-swap change of the ring, retried on a concurrent change. */
  private async update(change: (ring: RingFile) => Promise<string>): Promise<KeyInfo> {
    if (this.operator) throw new ConflictError('the signing key comes from REPOD_SIGNING_KEY and is managed outside repod', 'keys_managed_externally');
    await this.current();
    for (let attempt = 0; attempt < 10; attempt++) {
      const found = (await getJson<RingFile>(this.caps.store, layout.keyring()))!;
      const fingerprint = await change(found.value);
      try {
        await putJson(this.caps.store, layout.keyring(), found.value, { ifMatch: found.etag });
        this.ring = null;
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
    const known = this.unlocked.get(stored.fingerprint);
    if (known) return known;
    if (stored.encrypted && !this.options.passphrase) {
      throw new RepodError('keyring_locked', `signing key ${stored.fingerprint} is encrypted: set REPOD_KEY_PASSPHRASE`, { status: 500 });
    }
    const key = await readPrivateKey(stored.private, stored.encrypted ? this.options.passphrase : undefined);
    this.unlocked.set(stored.fingerprint, key);
    return key;
  }
}

/** A key as `signing.keys` may name it: fingerprint or key id (any case, spaces ignored), or name. */
function matches(key: StoredKey, ref: string): boolean {
  const wanted = ref.replace(/\s+/g, '').toUpperCase();
  return key.fingerprint === wanted || key.keyId === wanted || (key.name !== undefined && key.name === ref);
}

/** What signs every distribution that names no keys of its own. */
function defaultSet(ring: RingFile): StoredKey[] {
  return ring.keys.filter((k) => k.status === 'active' && !k.dedicated);
}

function checkKeyOptions(options: KeyOptions): void {
  if (options.name !== undefined && (typeof options.name !== 'string' || !KEY_NAME.test(options.name) || /^[0-9A-Fa-f]{16}$|^[0-9A-Fa-f]{40}$/.test(options.name))) {
    throw new RepodError('invalid_request', 'a key name starts with a letter, has up to 64 letters, digits, ".", "_" or "-", and is not a key id', { status: 400 });
  }
}

function describe(key: openpgp.Key): string {
  const info = key.getAlgorithmInfo() as { algorithm: string; bits?: number; curve?: string };
  return info.bits ? `${info.algorithm}${info.bits}` : `${info.algorithm}${info.curve ? `-${info.curve}` : ''}`;
}

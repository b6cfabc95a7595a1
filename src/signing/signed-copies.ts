import { layout } from '../bucket/layout.ts';
import type { Capabilities, HashAlgorithm } from '../capabilities.ts';
import { PreconditionFailedError } from '../errors.ts';
import { type RpmParseResult, RpmReader } from '../formats/rpm/index.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { getJson, putJson } from '../storage/objects.ts';
import { RpmDigestCollector, type RpmDigests, type RpmHashFactory } from './rpm-digests.ts';
import { type RpmVerification, verifyRpm } from './rpm-verify.ts';

/**
 * Signed copies of one RPM build, as Koji keeps its `sigs`: the same main header and payload with
 * different signature headers. Each copy is its own pool object (content-addressed like any
 * package); this index says which copies exist and which keys signed each, so a distribution can
 * publish the copy signed with the first key of its preference list (revisions/dist-repo.ts) and
 * an upload that differs from the published package only by its signature is taken as another
 * copy instead of a conflicting build (ingest/duplicates.ts).
 *
 * One create-only object per copy (bucket/layout.ts `signedCopy`), under its NEVRA key: recording
 * never races, and listing one NEVRA's prefix finds every copy of it (and, in stores written before
 * that layout, the older prefix too). A copy is recorded when its upload is checked, before it is
 * committed: readers use only copies whose pool object exists.
 */
export interface SignedCopy {
  format: 1;
  /** The copy's file sha256 (its pool object). */
  sha256: string;
  /** The package's index key (bucket/keys.ts): name, arch, version, release. */
  key: string;
  /** `<main header sha256>.<payload sha256>`: equal for every copy of one build, whatever signs it. */
  identity: string;
  /** Issuer key ids (16 upper-case hex digits) of the signatures the copy carries, verified or not (Koji's sigkeys). */
  keyIds: string[];
  /** Fingerprints of the keys whose signatures repod verified (upper-case hex). */
  verified: string[];
  /** When repod first saw the copy (ISO 8601). */
  recorded: string;
}

/** What identifies a build across its signed copies; null when a digest is missing (never for a staged RPM). */
export function copyIdentity(digests: Pick<RpmDigests, 'header' | 'payload'>): string | null {
  const header = digests.header.sha256;
  const payload = digests.payload.sha256;
  return header && payload ? `${header}.${payload}` : null;
}

/** The key ids a copy is signed with, as Koji records sigkeys: every signature that is not bad, known key or not. */
export function signatureKeys(verification: Pick<RpmVerification, 'checks'>): { keyIds: string[]; verified: string[] } {
  const keyIds = new Set<string>();
  const verified = new Set<string>();
  for (const check of verification.checks) {
    if (check.kind !== 'signature' || !check.keyId) continue;
    if (check.result !== 'OK' && check.result !== 'NOKEY') continue;
    keyIds.add(check.keyId.toUpperCase());
    if (check.result === 'OK') {
      if (check.fingerprint) verified.add(check.fingerprint.toUpperCase());
      if (check.primaryFingerprint) verified.add(check.primaryFingerprint.toUpperCase());
    }
  }
  return { keyIds: [...keyIds].sort(), verified: [...verified].sort() };
}

/** Records a copy, create-only: the same copy seen again keeps its first record. */
export async function recordSignedCopy(store: BlobStore, copy: SignedCopy): Promise<void> {
  try {
    await putJson(store, layout.signedCopy(copy.key, copy), copy, { ifNoneMatch: '*' });
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
  }
}

/** Every recorded copy of a NEVRA (all its builds), oldest record first. */
export async function listSignedCopies(store: BlobStore, key: string): Promise<SignedCopy[]> {
  const out: SignedCopy[] = [];
  const seen = new Set<string>();
  for (const prefix of [layout.signedCopy(key), layout.legacySignedCopies(key)]) {
    for await (const e of store.list(prefix)) {
      if (!e.key.endsWith('.json')) continue;
      const found = await getJson<SignedCopy>(store, e.key);
      // A copy recorded in both forms (an older server and a newer one on one store) counts once.
      if (found?.value.format === 1 && !seen.has(found.value.sha256)) {
        seen.add(found.value.sha256);
        out.push(found.value);
      }
    }
  }
  return out.sort((a, b) => a.recorded.localeCompare(b.recorded) || a.sha256.localeCompare(b.sha256));
}

/** A key as an operator names it: key id (8 or 16 hex digits) or fingerprint, any case, spaces and 0x allowed. */
export function normalizeKeyId(key: string): string {
  return key.replace(/\s+/g, '').replace(/^0x/i, '').toUpperCase();
}

/** Whether a copy carries a signature by the named key (short or long key id, or fingerprint). */
export function signedBy(copy: Pick<SignedCopy, 'keyIds' | 'verified'>, key: string): boolean {
  const want = normalizeKeyId(key);
  if (!/^[0-9A-F]{8,}$/.test(want)) return false;
  return [...copy.keyIds, ...copy.verified].some((have) => have.endsWith(want) || (want.length > have.length && want.endsWith(have)));
}

/** The position in the preference list of the first key that signed the copy; Infinity for none. */
export function preferenceRank(copy: Pick<SignedCopy, 'keyIds' | 'verified'>, keys: readonly string[]): number {
  const i = keys.findIndex((k) => signedBy(copy, k));
  return i < 0 ? Number.POSITIVE_INFINITY : i;
}

/**
 * The copy a distribution publishes under a key preference (Koji's dist-repo): the one signed with
 * the first listed key that signed any; among several, the one published now, else the oldest.
 * null when no listed key signed any copy.
 */
export function preferredCopy<C extends Pick<SignedCopy, 'sha256' | 'keyIds' | 'verified'>>(
  copies: readonly C[],
  keys: readonly string[],
  published?: string,
): { copy: C; key: string } | null {
  for (const key of keys) {
    const signed = copies.filter((c) => signedBy(c, key));
    if (signed.length) return { copy: signed.find((c) => c.sha256 === published) ?? signed[0], key };
  }
  return null;
}

/**
 * The copy record of an RPM already in the pool that the index does not list (stored before signed
 * copies were indexed): its build identity and signing key ids, read by streaming the object once
 * (nothing of the payload is kept), then recorded so the next look-up is a listing. null when the
 * object is missing or is not an RPM.
 */
export async function indexStoredCopy(caps: Pick<Capabilities, 'store' | 'hash' | 'now'>, key: string, sha256: string): Promise<SignedCopy | null> {
  const object = await caps.store.get(layout.pool(sha256));
  if (!object) return null;
  const reader = new RpmReader();
  let parsed: RpmParseResult | undefined;
  const hash: RpmHashFactory = (a) => caps.hash(a as HashAlgorithm);
  const digests = new RpmDigestCollector(hash, () => parsed);
  try {
    for await (const chunk of object.body as unknown as AsyncIterable<Uint8Array>) {
      if (!parsed && reader.push(chunk)) parsed = reader.result();
      digests.push(chunk);
    }
  } catch {
    return null; // not an RPM (or a damaged one): nothing to index
  }
  if (!parsed) return null;
  const collected = await digests.finish();
  const identity = copyIdentity(collected);
  if (!identity) return null;
  const copy: SignedCopy = { format: 1, sha256, key, identity, ...signatureKeys(await verifyRpm(parsed, collected, [])), recorded: caps.now().toISOString() };
  await recordSignedCopy(caps.store, copy);
  return copy;
}

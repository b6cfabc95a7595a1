import type * as openpgp from 'openpgp';
import { layout } from '../bucket/layout.ts';
import type { RpmPackageRecord } from '../bucket/package-record.ts';
import type { Capabilities } from '../capabilities.ts';
import type { RpmDistribution } from '../config/distributions.ts';
import { NotFoundError, RepodError } from '../errors.ts';
import type { Keyring, SigningChoice } from '../signing/keyring.ts';
import { signRpmHeader } from '../signing/rpm-sign.ts';
import { type RpmKeyring, verifyRpm } from '../signing/rpm-verify.ts';
import { copyIdentity, recordSignedCopy, type SignedCopy, signatureKeys } from '../signing/signed-copies.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { bytesStream } from '../storage/objects.ts';
import { commitRpm } from './commit.ts';
import type { IngestStep, PolicyOutcome, SignatureSummary } from './pipeline.ts';
import { rpmKey } from './rpm-entry.ts';
import { discardStaged, type StagedRpm, stagePackage } from './stage.ts';
import { cachedTrustedKeyring } from './trusted-keyring.ts';

/**
 * Package signature policy per distribution, Koji-style: `require` a signature by one of the
 * listed keys (or by any trusted key when none are listed), `allow-missing` (unsigned packages are
 * published too), `skip-missing` (they are stored but left out of the revision), or `soft`
 * (Repod's default: accept and report). A bad signature or digest is refused under every policy.
 */
export type SignaturePolicyName = 'soft' | 'require' | 'allow-missing' | 'skip-missing';

/** Public keys packages may be signed with: the metadata keyring's and those added as trusted. */
export async function trustedKeys(keyring: Pick<Keyring, 'list'>, store: BlobStore): Promise<string[]> {
  const keys = (await keyring.list()).map((k) => k.publicKey);
  for await (const e of store.list(layout.trustedKeysPrefix())) {
    const object = await store.get(e.key);
    if (object) keys.push(await new Response(object.body).text());
  }
  return keys;
}

function matches(listed: string[], signer: { keyId: string; fingerprint: string; primaryFingerprint: string }): boolean {
  return listed.some((k) => {
    const want = k.replace(/\s+/g, '').toUpperCase();
    return [signer.keyId, signer.fingerprint, signer.primaryFingerprint].some((have) => have.toUpperCase().endsWith(want));
  });
}

export async function applySignaturePolicy(dist: RpmDistribution, staged: StagedRpm, keyring: RpmKeyring): Promise<PolicyOutcome> {
  const verification = await verifyRpm(staged.parsed, staged.digests, keyring);
  const listed = dist.packageSignatures?.keys ?? [];
  const trusted = verification.status === 'signed' && (listed.length === 0 || verification.signers.some((s) => matches(listed, s)));
  const summary: SignatureSummary = { status: verification.status, signers: verification.signers.map((s) => s.keyId), trusted };
  const label = `${staged.parsed.pkg.name}-${staged.parsed.pkg.version}-${staged.parsed.pkg.release}.${staged.parsed.pkg.arch}`;
  if (verification.status === 'bad') {
    const failed = verification.checks.filter((c) => c.counted && !c.ok && c.result === 'BAD').map((c) => c.message);
    throw new RepodError('bad_signature', `${label} has a bad signature or digest: ${failed.join('; ') || 'verification failed'}`, { status: 422, details: { checks: failed } });
  }
  const policy = dist.packageSignatures?.policy ?? 'soft';
  if (policy === 'require' && !trusted) {
    const wanted = listed.length ? `one of the keys ${listed.join(', ')}` : 'a trusted key';
    throw new RepodError(
      'signature_required',
      `distribution ${dist.name} requires packages signed by ${wanted} (policy require); ${label} is ${verification.status === 'signed' ? `signed by ${summary.signers.join(', ')}` : verification.status}`,
      {
        status: 422,
      },
    );
  }
  const identity = copyIdentity(staged.digests);
  const copy = identity ? { identity, ...signatureKeys(verification) } : undefined;
  return { summary, include: policy !== 'skip-missing' || trusted, copy };
}

/**
 * A copy of the staged RPM with a header signature by the keyring's newest active key, as
 * `rpmsign --addsign` makes it: a new blob with its own checksum. The unsigned upload is dropped.
 */
export async function signStaged(services: SignatureServices, staged: StagedRpm, dist?: SigningChoice): Promise<StagedRpm> {
  const { caps, keyring, maxUploadBytes } = services;
  // The distribution's own signing keys when it names some (config "signing"), else the default set.
  const key = await keyring.packageSigningKey(dist);
  const { prefix } = await signRpmHeader(staged.parsed, key);
  const rest = await caps.store.get(staged.tempKey, { range: { start: staged.parsed.signature.headerRange.start } });
  if (!rest) throw new RepodError('missing_object', 'the staged upload vanished before signing', { status: 500 });
  const joined = concatStreams([bytesStream(prefix), rest.body]);
  const signed = await stagePackage(caps, joined, { maxBytes: maxUploadBytes });
  await discardStaged(caps, staged);
  if (signed.kind !== 'rpm') throw new RepodError('internal_error', 'signing produced something else than an RPM', { status: 500 });
  return signed;
}

export interface SignatureServices {
  caps: Capabilities;
  keyring: Pick<Keyring, 'list' | 'packageSigningKey'>;
  maxUploadBytes: number;
}

/**
 * The ingest step for RPM uploads: verifies each one (a bad signature is refused even when repod
 * re-signs), signs it where the distribution asks for that, and records the policy's verdict.
 * Each signed upload is indexed among the signed copies of its build, unless `indexCopies` is
 * false (packages that never reach the pool: the index lists only copies whose pool object exists).
 */
export function signaturePolicy(services: SignatureServices, options: { indexCopies?: boolean } = {}): IngestStep {
  // A step serves one change (publish.ts ingestSteps), and every package of a change is judged by
  // the same keys: their state is read once, not once per package (a scan runs the steps package
  // by package, and a 5000-package tree read the keys' state 5000 times).
  let trusted: Promise<RpmKeyring> | undefined;
  return async ({ dist }, candidates, context) => {
    const uploads = candidates.filter((c) => c.staged?.kind === 'rpm');
    if (dist.kind !== 'rpm' || uploads.length === 0) return;
    trusted ??= cachedTrustedKeyring(services.keyring, services.caps.store, () => trustedKeys(services.keyring, services.caps.store));
    const keyring = await trusted;
    // Copies are indexed a few at a time beside the verification (one small create-only write each).
    const recording: Promise<void>[] = [];
    for (const c of uploads) {
      let staged = c.staged as StagedRpm;
      if (dist.packageSignatures?.sign) {
        // Only a bad signature or digest stops a package repod signs itself; the policy judges the signed copy.
        await applySignaturePolicy({ ...dist, packageSignatures: { ...dist.packageSignatures, policy: 'soft' } }, staged, keyring);
        staged = await signStaged(services, staged, dist);
        c.staged = staged;
        c.sha256 = staged.sha256;
      }
      c.signature = await applySignaturePolicy(dist, staged, keyring);
      if (options.indexCopies === false) continue;
      const recorded = recordCopy(services.caps, c.key, staged.sha256, c.signature);
      // Handled at once, so a failure before anyone waits is no unhandled rejection; whoever waits still sees it.
      recorded.catch(() => undefined);
      recording.push(recorded);
      if (recording.length >= 16) await Promise.all(recording.splice(0));
    }
    // The copy records need not precede the commit (readers check the pool): where the caller
    // takes them, they are written beside it rather than one more round trip before it.
    if (context?.pending) context.pending.push(...recording);
    else await Promise.all(recording);
  };
}

/** Indexes an RPM upload among the signed copies of its build (before commit: readers check the pool). */
async function recordCopy(caps: Capabilities, key: string, sha256: string, outcome: PolicyOutcome): Promise<void> {
  if (!outcome.copy) return;
  await recordSignedCopy(caps.store, { format: 1, sha256, key, ...outcome.copy, recorded: caps.now().toISOString() });
}

/**
 * A copy of a stored RPM signed by one keyring key (`POST /api/v1/packages/<sha256>/signatures`):
 * the package streams from the pool once to be parsed, then its main header and payload stream
 * again behind the new signature header into a new staged upload, which is committed to the pool
 * (with its record) and indexed as another signed copy. Published nowhere by itself.
 */
export async function signStoredRpm(
  services: Pick<SignatureServices, 'caps' | 'maxUploadBytes'>,
  sha256: string,
  key: openpgp.PrivateKey,
): Promise<{ copy: SignedCopy; record: RpmPackageRecord; changed: boolean }> {
  const { caps, maxUploadBytes } = services;
  const original = await caps.store.get(layout.pool(sha256));
  if (!original) throw new NotFoundError(`no package with sha256 ${sha256} in the store`, 'unknown_package');
  const parsed = await stagePackage(caps, original.body, { maxBytes: maxUploadBytes });
  try {
    if (parsed.kind !== 'rpm') throw new RepodError('not_an_rpm', `package ${sha256} is a Debian package: only RPMs carry signed copies`, { status: 422 });
    const { prefix, changed } = await signRpmHeader(parsed.parsed, key);
    const rest = await caps.store.get(parsed.tempKey, { range: { start: parsed.parsed.signature.headerRange.start } });
    if (!rest) throw new RepodError('missing_object', 'the staged copy vanished before signing', { status: 500 });
    const signed = await stagePackage(caps, concatStreams([bytesStream(prefix), rest.body]), { maxBytes: maxUploadBytes });
    if (signed.kind !== 'rpm') throw new RepodError('internal_error', 'signing produced something else than an RPM', { status: 500 });
    const verification = await verifyRpm(signed.parsed, signed.digests, [key.toPublic()]);
    const identity = copyIdentity(signed.digests);
    if (verification.status !== 'signed' || !identity) {
      await discardStaged(caps, signed);
      throw new RepodError('internal_error', `the signed copy of ${sha256} does not verify (${verification.status})`, { status: 500 });
    }
    const checked = caps.now().toISOString();
    const { record } = await commitRpm(caps, signed, { format: 1, checked, status: verification.status, signers: verification.signers.map((s) => s.keyId) });
    const copy: SignedCopy = {
      format: 1,
      sha256: signed.sha256,
      key: rpmKey(signed.parsed.pkg),
      identity,
      ...signatureKeys(verification),
      recorded: checked,
    };
    await recordSignedCopy(caps.store, copy);
    return { copy, record, changed };
  } finally {
    await discardStaged(caps, parsed);
  }
}

function concatStreams(streams: ReadableStream<Uint8Array>[]): ReadableStream<Uint8Array> {
  let index = 0;
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        reader ??= streams[index]?.getReader() ?? null;
        if (!reader) return controller.close();
        const { done, value } = await reader.read();
        if (!done) return controller.enqueue(value);
        reader = null;
        index++;
      }
    },
  });
}

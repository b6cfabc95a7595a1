import { PreconditionFailedError } from '../errors.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { getBytes } from '../storage/objects.ts';
import { layout } from '../revisions/layout.ts';
import { createSigner, generateSigningKey, type Signer } from './signer.ts';

/**
 * The metadata signing key: the operator's (REPOD_SIGNING_KEY, read by the runtime and passed in)
 * or one generated on first start and kept in the store, so every server of a fleet signs with the
 * same key. Two servers starting at once agree through a create-only write.
 */
export async function loadSigner(store: BlobStore, operatorKey?: { armored: string; passphrase?: string }): Promise<{ signer: Signer; generated: boolean }> {
  if (operatorKey) return { signer: await createSigner(operatorKey.armored, operatorKey.passphrase), generated: false };
  const existing = await getBytes(store, layout.signingKey());
  if (existing) return { signer: await createSigner(new TextDecoder().decode(existing)), generated: false };
  const armored = await generateSigningKey();
  try {
    await store.put(layout.signingKey(), new TextEncoder().encode(armored), { ifNoneMatch: '*', contentType: 'application/pgp-keys' });
    return { signer: await createSigner(armored), generated: true };
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    return loadSigner(store);
  }
}

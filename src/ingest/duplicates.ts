import type { IndexEntry } from '../bucket/chunk.ts';
import type { Revision } from '../bucket/revision.ts';
import type { Capabilities } from '../capabilities.ts';
import type { Distribution } from '../config/distributions.ts';
import { ConflictError } from '../errors.ts';
import { indexStoredCopy, listSignedCopies, preferenceRank } from '../signing/signed-copies.ts';
import type { Candidate, IngestStep } from './pipeline.ts';

/** What the step reads of the distribution as published (revisions/repository.ts provides it). */
export interface PublishedPackages {
  current(dist: string): Promise<Revision | null>;
  findEntry(revision: Revision, key: string): Promise<IndexEntry | null>;
}

/**
 * Refuses a package whose identity (RPM name-version-release.arch; APT component, name, version,
 * arch) is already published with other bytes, before it reaches the pool. Compose checks again
 * under the compare-and-swap, for a racing writer.
 *
 * An uploaded RPM that differs from the published one only by its signature header (the same main
 * header and payload: signing/signed-copies.ts) is another signed copy of the same build, as Koji
 * keeps them, not a conflicting build: it is stored, and published in place of the current copy
 * only when the distribution's key preference (`packageSignatures.keys`) ranks its signer higher.
 * `caps` gives the step the signed-copies index; without it every other copy is refused as before.
 */
export function noDuplicates(repository: PublishedPackages, caps?: Pick<Capabilities, 'store' | 'hash' | 'now'>): IngestStep {
  return async ({ dist }, candidates) => {
    const current = await repository.current(dist.name);
    if (!current) return;
    for (const c of candidates) {
      const existing = await repository.findEntry(current, c.key);
      if (!existing || existing.id === c.sha256) continue;
      if (caps && (await takeAsSignedCopy(caps, dist, c, existing.id))) continue;
      throw new ConflictError(`${existing.label} is already published with different content (sha256 ${existing.id}); replace it explicitly`, 'duplicate_package', {
        existing: existing.id,
        uploaded: c.sha256,
      });
    }
  };
}

/**
 * Whether an RPM upload is another signed copy of the published build; if so it is marked to
 * replace the published copy (preferred signer) or to be stored without being published.
 */
async function takeAsSignedCopy(caps: Pick<Capabilities, 'store' | 'hash' | 'now'>, dist: Distribution, c: Candidate, published: string): Promise<boolean> {
  const upload = c.signature?.copy;
  if (dist.kind !== 'rpm' || c.kind !== 'rpm' || !c.staged || !c.signature || !upload) return false;
  const copies = await listSignedCopies(caps.store, c.key);
  const current = copies.find((x) => x.sha256 === published) ?? (await indexStoredCopy(caps, c.key, published));
  if (!current || current.identity !== upload.identity) return false;
  const keys = dist.packageSignatures?.keys ?? [];
  if (preferenceRank(upload, keys) < preferenceRank(current, keys)) c.signature.replaces = published;
  else c.signature.include = false;
  return true;
}

import type { IndexEntry } from '../bucket/chunk.ts';
import type { Revision } from '../bucket/revision.ts';
import { ConflictError } from '../errors.ts';
import type { IngestStep } from './pipeline.ts';

/** What the step reads of the distribution as published (revisions/repository.ts provides it). */
export interface PublishedPackages {
  current(dist: string): Promise<Revision | null>;
  findEntry(revision: Revision, key: string): Promise<IndexEntry | null>;
}

/**
 * Refuses a package whose identity (RPM name-version-release.arch; APT component, name, version,
 * arch) is already published with other bytes, before it reaches the pool. Compose checks again
 * under the compare-and-swap, for a racing writer.
 */
export function noDuplicates(repository: PublishedPackages): IngestStep {
  return async ({ dist }, candidates) => {
    const current = await repository.current(dist.name);
    if (!current) return;
    for (const c of candidates) {
      const existing = await repository.findEntry(current, c.key);
      if (existing && existing.id !== c.sha256) {
        throw new ConflictError(`${existing.label} is already published with different content (sha256 ${existing.id}); replace it explicitly`, 'duplicate_package', {
          existing: existing.id,
          uploaded: c.sha256,
        });
      }
    }
  };
}

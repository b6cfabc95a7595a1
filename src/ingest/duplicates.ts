import { ConflictError } from '../errors.ts';
import type { Repository } from '../revisions/repository.ts';
import type { IngestStep } from './pipeline.ts';

/**
 * Refuses a package whose identity (RPM name-version-release.arch; APT component, name, version,
 * arch) is already published with other bytes, before it reaches the pool. Compose checks again
 * under the compare-and-swap, for a racing writer.
 */
export function noDuplicates(repository: Pick<Repository, 'current' | 'findEntry'>): IngestStep {
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

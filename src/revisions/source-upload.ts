import type { AptDistribution } from '../config/distributions.ts';
import { ConflictError, RepodError } from '../errors.ts';
import { resolveComponent } from '../ingest/apt-component.ts';
import type { IngestTarget } from '../ingest/pipeline.ts';
import { commitSource, recordFiles, SOURCE_ARCH, sourceCandidate, sourceKey, storeSourceForReview } from '../ingest/source-entry.ts';
import { discardSourceFiles, type StagedSource } from '../ingest/source-stage.ts';
import { type BuildOptions, gateAnswers, type PackageResult, type PublishServices, refuseMirror, requireDistribution, type UploadResult } from './publish.ts';

/** What publishing a source answers: the upload's fields, and the pool path of each of its files (the .dsc first). */
export type SourceUploadResult = UploadResult & { files: string[] };

/**
 * Publishes a checked source package (a .dsc and the files it names) into an APT distribution, as
 * a package upload is published: the distribution must take it (APT, not a mirror; the named
 * component, else the first), the same source version with another .dsc is a 409 duplicate, then
 * the security gate runs its steps over it (format, antivirus on each file, cve by source name,
 * gpg). A block refuses it with 422 `package_blocked` (thrown, nothing stored); a review stores its
 * files and record and holds it in the review queue (`pending_review`), publishing nothing; else it
 * is committed (pool paths claimed, record and fragment written) and published as one revision.
 * Every refusal before the commit drops the staged files.
 */
export async function publishSource(services: PublishServices, distName: string | undefined, source: StagedSource, options: BuildOptions): Promise<SourceUploadResult> {
  const { caps } = services;
  const staged = [source.self, ...source.files];
  let dist: AptDistribution;
  let target: IngestTarget;
  const candidate = sourceCandidate(source, '');
  try {
    const found = requireDistribution(services.distributions, distName);
    refuseMirror(found);
    if (found.kind !== 'apt') {
      throw new RepodError('wrong_package_type', `distribution ${found.name} is an RPM distribution; a Debian source package (.dsc) goes to an APT distribution`, { status: 422 });
    }
    dist = found;
    const component = resolveComponent(dist, options.component, undefined);
    target = { dist, component };
    candidate.key = sourceKey(component, source.dsc.source, source.dsc.version);
    const current = await services.repository.current(dist.name);
    const existing = current && !options.replace ? await services.repository.findEntry(current, candidate.key) : null;
    if (existing && existing.id !== source.self.sha256) {
      throw new ConflictError(`${existing.label} is already published with a different .dsc (sha256 ${existing.id}); replace it explicitly`, 'duplicate_package', {
        existing: existing.id,
        uploaded: source.self.sha256,
      });
    }
    if (services.gate) await services.gate.step(target, [candidate], { author: options.author, onStep: options.onStep, acceptReview: options.acceptReview });
  } catch (error) {
    await discardSourceFiles(caps, staged);
    throw error;
  }

  const steps = candidate.verdict?.steps;
  const { component } = target;
  if (candidate.verdict?.decision === 'review') {
    const record = await storeSourceForReview(caps, source);
    const files = recordFiles(record, component).map((f) => f.path);
    const info: Omit<PackageResult, 'status'> = {
      package: source.dsc.source,
      version: source.dsc.version,
      architecture: SOURCE_ARCH,
      filename: files[0]!,
      sha256: source.self.sha256,
      size: source.self.size,
    };
    await services.gate!.hold(target, [{ info, steps: steps ?? [] }], options.author, { replace: options.replace });
    const current = await services.repository.current(dist.name);
    return {
      status: 'pending_review',
      distribution: dist.name,
      revision: current ? { id: current.id, number: current.number } : null,
      ...info,
      ...gateAnswers(steps),
      files,
    };
  }

  const { record, entry } = await commitSource(caps, source, component);
  const { revision, outcome } = await services.committer.submit(dist.name, {
    dist,
    resolve: async () => ({ add: [entry], remove: [], replace: options.replace }),
    meta: { author: options.author, message: options.message ?? `upload ${entry.entry.label}` },
  });
  const published = outcome.added.some((e) => e.id === entry.entry.id);
  return {
    status: published ? 'published' : 'unchanged',
    distribution: dist.name,
    revision: revision ? { id: revision.id, number: revision.number } : null,
    package: source.dsc.source,
    version: source.dsc.version,
    architecture: SOURCE_ARCH,
    filename: entry.entry.file,
    sha256: source.self.sha256,
    size: source.self.size,
    ...gateAnswers(steps),
    files: recordFiles(record, component).map((f) => f.path),
  };
}

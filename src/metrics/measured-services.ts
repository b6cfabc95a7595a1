import type { RenderManifest } from '../bucket/render-manifest.ts';
import type { Revision } from '../bucket/revision.ts';
import { ConflictError } from '../errors.ts';
import { Renderer } from '../render/render-cache.ts';
import { type PublishMeta, type PublishResult, Repository } from '../revisions/repository.ts';
import type { RepodMetrics } from './repod-metrics.ts';

/**
 * The Repository with every publish and rollback counted and timed: each is one move of a
 * distribution's ref (or a conflict after the retries), whoever asked for it (an upload, a build,
 * a promotion, a group commit, a mirror sync).
 */
export class MeasuredRepository extends Repository {
  constructor(
    caps: ConstructorParameters<typeof Repository>[0],
    options: ConstructorParameters<typeof Repository>[1],
    private readonly metrics: RepodMetrics,
  ) {
    super(caps, options);
  }

  override publish(...args: Parameters<Repository['publish']>): Promise<PublishResult> {
    return this.measure(
      args[0],
      'publish',
      () => super.publish(...args),
      (r) => r.changed,
    );
  }

  override restore(dist: string, target: Revision, meta: PublishMeta): Promise<Revision> {
    return this.measure(
      dist,
      'rollback',
      () => super.restore(dist, target, meta),
      () => true,
    );
  }

  private measure<T>(distribution: string, operation: string, work: () => Promise<T>, changed: (value: T) => boolean): Promise<T> {
    return this.metrics.publishDuration.time(
      () => this.metrics.now(),
      work,
      ({ value, error }) => {
        const outcome = error === undefined ? (changed(value as T) ? 'published' : 'unchanged') : error instanceof ConflictError ? 'conflict' : 'error';
        this.metrics.publishes.inc({ distribution, operation, outcome });
        return { distribution, operation };
      },
    );
  }
}

/**
 * The Renderer with its view lookups counted: a miss is a view this process had to render (its
 * build ran), a hit one found in memory or already rendered in the store.
 */
export class MeasuredRenderer extends Renderer {
  constructor(
    caps: ConstructorParameters<typeof Renderer>[0],
    hotFiles: ConstructorParameters<typeof Renderer>[1],
    private readonly metrics: RepodMetrics,
    chunkRange?: ConstructorParameters<typeof Renderer>[2],
  ) {
    super(caps, hotFiles, chunkRange);
  }

  override async view(dist: string, revisionId: string, view: string, keyset: string, build: () => Promise<RenderManifest>): Promise<RenderManifest> {
    let built = false;
    const manifest = await super.view(dist, revisionId, view, keyset, () => {
      built = true;
      return build();
    });
    this.metrics.renderCache.inc({ result: built ? 'miss' : 'hit' });
    return manifest;
  }
}

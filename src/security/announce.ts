import type { BatchResult } from '../revisions/publish.ts';
import type { EventSink } from './events.ts';

/** Tells the outside world what a change did: what was published, and what waits for review. */
export function announceChange(events: EventSink, result: Pick<BatchResult, 'distribution' | 'revision' | 'packages' | 'removed'>, actor: string): void {
  const published = result.packages.filter((p) => p.status === 'published');
  const held = result.packages.filter((p) => p.status === 'pending_review');
  const brief = (p: BatchResult['packages'][number]) => ({ package: p.package, version: p.version, architecture: p.architecture, sha256: p.sha256, filename: p.filename });
  if (published.length || result.removed.length) {
    events.emit({ type: 'published', distribution: result.distribution, actor, data: { revision: result.revision, packages: published.map(brief), removed: result.removed } });
  }
  if (held.length) {
    events.emit({
      type: 'pending_review',
      distribution: result.distribution,
      actor,
      data: { packages: held.map((p) => ({ ...brief(p), findings: p.validation?.steps.filter((s) => s.action === 'review').map((s) => s.message) ?? [] })) },
    });
  }
}

/** A promotion: `promoted` for what the target published, `pending_review` for what its gate held. */
export function announcePromotion(events: EventSink, result: BatchResult, from: string, actor: string): void {
  const promoted = result.packages.filter((p) => p.status === 'published');
  if (promoted.length) {
    events.emit({
      type: 'promoted',
      distribution: result.distribution,
      actor,
      data: { from, revision: result.revision, packages: promoted.map((p) => ({ package: p.package, version: p.version, architecture: p.architecture, sha256: p.sha256 })) },
    });
  }
  announceChange(events, { ...result, packages: result.packages.filter((p) => p.status === 'pending_review') }, actor);
}

/** A rollback: the new revision and the one whose packages it restores. */
export function announceRollback(events: EventSink, distribution: string, revision: { id: string; number: number }, restored: { id: string; number: number }, actor: string): void {
  events.emit({
    type: 'rolled_back',
    distribution,
    actor,
    data: { revision: { id: revision.id, number: revision.number }, restored: { id: restored.id, number: restored.number } },
  });
}

import { NotFoundError, RepodError } from '../../errors.ts';
import { type BatchResult, type PublishServices, publishBuild } from '../../revisions/publish.ts';
import type { EventSink } from '../events.ts';
import { DECISION_ACTIONS, type DecisionAction, type DecisionRecord, type ReviewItem, type ReviewQueue } from './review-queue.ts';

export interface DecideInput {
  name: string;
  version: string;
  action: unknown;
  justification: unknown;
  expiresInDays?: unknown;
  distribution?: string;
}

export interface DecideResult {
  status: 'decided';
  action: DecisionAction;
  decision: DecisionRecord;
  packages: Array<Pick<ReviewItem, 'distribution' | 'package' | 'version' | 'architecture' | 'sha256' | 'status'>>;
  /** accept_risk and exception: the revision each distribution got (one per distribution). */
  published: BatchResult[];
}

/** Accepted risks last this long unless the reviewer says otherwise: a decision is revisited, not forgotten. */
const DEFAULT_EXPIRY_DAYS = 90;

/**
 * `POST /api/v1/security/packages/<name>/<version>/decide`. accept_risk and exception publish the
 * held packages, each distribution's as one revision, through the same publish path (and gate) as
 * an upload, with review findings accepted; reject and upgrade_required quarantine them: the bytes
 * are never published to that distribution.
 */
export async function decide(services: PublishServices & { review: ReviewQueue; events: EventSink }, input: DecideInput, actor: string): Promise<DecideResult> {
  const action = input.action as DecisionAction;
  if (!DECISION_ACTIONS.includes(action)) throw new RepodError('invalid_request', `action must be one of ${DECISION_ACTIONS.join(', ')}`, { status: 400 });
  if (typeof input.justification !== 'string' || !input.justification.trim()) {
    throw new RepodError('invalid_request', 'a justification is required for every decision', { status: 400 });
  }
  let expiresInDays = DEFAULT_EXPIRY_DAYS;
  if (input.expiresInDays !== undefined && input.expiresInDays !== null) {
    const n = Number(input.expiresInDays);
    if (!Number.isFinite(n) || n <= 0 || n > 3650) throw new RepodError('invalid_request', 'expires_in_days must be a number of days between 1 and 3650', { status: 400 });
    expiresInDays = n;
  }
  const items = await services.review.pendingVersion(input.name, input.version, input.distribution);
  if (items.length === 0) {
    throw new NotFoundError(
      `no package ${input.name} ${input.version} waits for review${input.distribution ? ` in ${input.distribution}` : ''} (GET /api/v1/security/review-queue lists them)`,
      'not_in_review',
    );
  }
  const now = services.caps.now();
  const decision: DecisionRecord = {
    action,
    justification: input.justification.trim(),
    by: actor,
    at: now.toISOString(),
    ...(action === 'accept_risk' || action === 'exception' ? { expires: new Date(now.getTime() + expiresInDays * 86_400_000).toISOString() } : {}),
  };
  const settled: ReviewItem[] = [];
  for (const item of items) settled.push(await services.review.settle(item, decision));
  const published: BatchResult[] = [];
  if (action === 'accept_risk' || action === 'exception') {
    const byDist = new Map<string, ReviewItem[]>();
    for (const item of settled) byDist.set(item.distribution, [...(byDist.get(item.distribution) ?? []), item]);
    for (const [dist, group] of byDist) {
      let result: BatchResult;
      try {
        result = await publishBuild(
          services,
          dist,
          { refs: group.map((i) => i.sha256) },
          {
            author: actor,
            acceptReview: true,
            replace: group.some((i) => i.replace),
            component: group[0].component || undefined,
            message: `${action} ${input.name} ${input.version}: ${decision.justification}`,
          },
        );
      } catch (error) {
        // Nothing was published (a block that came meanwhile, a conflict): the items wait again, and no risk is recorded as accepted.
        await Promise.all(group.map((i) => services.review.reopen(i)));
        throw error;
      }
      for (const item of group) await services.review.recordAccepted(item, decision);
      published.push(result);
      if (result.status === 'published') services.events.emit({ type: 'published', distribution: dist, actor, data: { revision: result.revision, packages: result.packages } });
    }
  }
  const packages = settled.map(({ distribution, package: pkg, version, architecture, sha256, status }) => ({ distribution, package: pkg, version, architecture, sha256, status }));
  services.events.emit({ type: 'decided', actor, data: { action, justification: decision.justification, expires: decision.expires, packages } });
  if (action === 'reject' || action === 'upgrade_required') services.events.emit({ type: 'rejected', actor, data: { reason: decision.justification, packages } });
  return { status: 'decided', action, decision, packages, published };
}

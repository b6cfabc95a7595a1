import { layout } from '../../bucket/layout.ts';
import type { Capabilities } from '../../capabilities.ts';
import { PreconditionFailedError, RepodError } from '../../errors.ts';
import type { IngestTarget, StepReport } from '../../ingest/pipeline.ts';
import type { HeldPackage } from '../../revisions/publish.ts';
import { getJson, putJson } from '../../storage/objects.ts';
import type { ReviewDecisions } from '../gate/security-gate.ts';

export const DECISION_ACTIONS = ['accept_risk', 'exception', 'reject', 'upgrade_required'] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];

export interface DecisionRecord {
  action: DecisionAction;
  justification: string;
  by: string;
  at: string;
  /** After this, an accepted risk no longer lets the version past review. */
  expires?: string;
}

/**
 * A package the gate held: stored in the pool with its record and fragments, in no revision. Clients
 * see nothing of it until a reviewer accepts the risk; a rejection quarantines it for good.
 */
export interface ReviewItem {
  format: 1;
  distribution: string;
  component: string;
  sha256: string;
  package: string;
  version: string;
  architecture: string;
  filename: string;
  status: 'pending' | 'accepted' | 'rejected';
  submitted: string;
  submittedBy: string;
  steps: StepReport[];
  /** The upload may replace a published package of the same identity (a rebuild): the decision publishes it so. */
  replace?: boolean;
  decision?: DecisionRecord;
}

export interface AcceptedVersion {
  format: 1;
  distribution: string;
  package: string;
  version: string;
  decision: DecisionRecord;
}

/** `security/rejected/<dist>.json`: the sha256 of every package rejected in review for a distribution. */
interface RejectedIndex {
  format: 1;
  sha256: string[];
}

/** How long a server trusts its copy of a rejection index: every upload asks it, rejections are rare. */
const REJECTED_TTL_MS = 1000;

/** The review queue and reviewers' decisions, in the store so every server of a fleet sees them. */
export class ReviewQueue implements ReviewDecisions {
  private readonly rejections = new Map<string, { at: number; sha256: Set<string> }>();

  constructor(private readonly caps: Capabilities) {}

  async hold(target: IngestTarget, held: HeldPackage[], author: string, options: { replace?: boolean } = {}): Promise<void> {
    const submitted = this.caps.now().toISOString();
    await Promise.all(
      held.map(({ info, steps }) =>
        putJson(this.caps.store, layout.reviewItem(target.dist.name, info.sha256), {
          format: 1,
          distribution: target.dist.name,
          component: target.component,
          sha256: info.sha256,
          package: info.package,
          version: info.version,
          architecture: info.architecture,
          filename: info.filename,
          status: 'pending',
          submitted,
          submittedBy: author,
          steps,
          ...(options.replace ? { replace: true } : {}),
        } satisfies ReviewItem),
      ),
    );
  }

  /** Every item of the queue (of one distribution), pending ones unless `all`. */
  async list(options: { distribution?: string; all?: boolean } = {}): Promise<ReviewItem[]> {
    const out: ReviewItem[] = [];
    for await (const e of this.caps.store.list(layout.reviewPrefix(options.distribution))) {
      const item = (await getJson<ReviewItem>(this.caps.store, e.key))?.value;
      if (item && (options.all || item.status === 'pending')) out.push(item);
    }
    return out.sort((a, b) => a.submitted.localeCompare(b.submitted));
  }

  /** Pending items of one package version (`1.2-3`, or just `1.2`), in one distribution or all. */
  async pendingVersion(name: string, version: string, distribution?: string): Promise<ReviewItem[]> {
    const matches = (item: ReviewItem) =>
      item.package === name && (item.version === version || item.version.replace(/^\d+:/, '') === version || item.version.replace(/^\d+:/, '').split('-')[0] === version);
    return (await this.list({ distribution })).filter(matches);
  }

  /** Records a decision on an item, once: two reviewers deciding at once cannot both win. */
  async settle(item: ReviewItem, decision: DecisionRecord): Promise<ReviewItem> {
    // The index first: a rejection the index lacks would let the bytes in again; an index entry
    // whose item did not settle is harmless (rejected() checks the item).
    if (decision.action === 'reject' || decision.action === 'upgrade_required') await this.addRejected(item.distribution, item.sha256);
    const key = layout.reviewItem(item.distribution, item.sha256);
    const current = await getJson<ReviewItem>(this.caps.store, key);
    if (current?.value.status !== 'pending') {
      throw new RepodError('already_decided', `${item.package} ${item.version} in ${item.distribution} was already decided`, { status: 409 });
    }
    const settled: ReviewItem = { ...current.value, status: decision.action === 'accept_risk' || decision.action === 'exception' ? 'accepted' : 'rejected', decision };
    try {
      await putJson(this.caps.store, key, settled, { ifMatch: current!.etag });
    } catch (error) {
      if (error instanceof PreconditionFailedError) throw new RepodError('already_decided', `${item.package} ${item.version} is being decided by someone else`, { status: 409 });
      throw error;
    }
    return settled;
  }

  /** Puts a settled item back in the queue: the publish its decision started failed, so nothing was decided. */
  async reopen(item: ReviewItem): Promise<void> {
    const { decision: _d, ...pending } = item;
    await putJson(this.caps.store, layout.reviewItem(item.distribution, item.sha256), { ...pending, status: 'pending' } satisfies ReviewItem);
  }

  /** Settles pending items whose packages were published by other means (a forced promotion). */
  async release(target: IngestTarget, sha256s: string[], author: string, reason: string): Promise<void> {
    const at = this.caps.now().toISOString();
    for (const sha256 of sha256s) {
      const item = (await getJson<ReviewItem>(this.caps.store, layout.reviewItem(target.dist.name, sha256)))?.value;
      if (item?.status !== 'pending') continue;
      await this.settle(item, { action: 'exception', justification: reason, by: author, at }).catch((error) => {
        if (!(error instanceof RepodError && error.code === 'already_decided')) throw error;
      });
    }
  }

  async recordAccepted(item: ReviewItem, decision: DecisionRecord): Promise<void> {
    await putJson(this.caps.store, layout.acceptedVersion(item.distribution, item.package, item.version), {
      format: 1,
      distribution: item.distribution,
      package: item.package,
      version: item.version,
      decision,
    } satisfies AcceptedVersion);
  }

  async accepted(distribution: string, name: string, version: string): Promise<{ by: string; action: string; expires?: string } | null> {
    const found = (await getJson<AcceptedVersion>(this.caps.store, layout.acceptedVersion(distribution, name, version)))?.value;
    if (!found) return null;
    const { decision } = found;
    if (decision.expires && Date.parse(decision.expires) <= this.caps.now().getTime()) return null;
    return { by: decision.by, action: decision.action, ...(decision.expires ? { expires: decision.expires } : {}) };
  }

  async rejected(distribution: string, sha256: string): Promise<{ by: string; justification: string } | null> {
    if (!(await this.rejectedSet(distribution)).has(sha256)) return null;
    const item = (await getJson<ReviewItem>(this.caps.store, layout.reviewItem(distribution, sha256)))?.value;
    if (item?.status !== 'rejected' || !item.decision) return null;
    return { by: item.decision.by, justification: item.decision.justification };
  }

  /** The rejected sha256s of a distribution, re-read at most once per REJECTED_TTL_MS (one small object, not one read per upload). */
  private async rejectedSet(distribution: string): Promise<Set<string>> {
    const held = this.rejections.get(distribution);
    if (held && Date.now() - held.at < REJECTED_TTL_MS) return held.sha256;
    const at = Date.now();
    const index = (await getJson<RejectedIndex>(this.caps.store, layout.rejectedPackages(distribution)))?.value;
    const set = new Set(index?.sha256 ?? []);
    this.rejections.set(distribution, { at, sha256: set });
    return set;
  }

  private async addRejected(distribution: string, sha256: string): Promise<void> {
    const key = layout.rejectedPackages(distribution);
    for (let attempt = 0; ; attempt++) {
      const current = await getJson<RejectedIndex>(this.caps.store, key);
      const list = current?.value.sha256 ?? [];
      if (!list.includes(sha256)) {
        try {
          await putJson(this.caps.store, key, { format: 1, sha256: [...list, sha256].sort() } satisfies RejectedIndex, current ? { ifMatch: current.etag } : { ifNoneMatch: '*' });
        } catch (error) {
          if (error instanceof PreconditionFailedError && attempt < 20) continue;
          throw error;
        }
      }
      this.rejections.set(distribution, { at: Date.now(), sha256: new Set([...list, sha256]) });
      return;
    }
  }
}

import { changeItem, type Revision, type RevisionPart } from '../bucket/revision.ts';
import type { Distribution } from '../config/distributions.ts';
import { APT_STREAMS } from '../ingest/apt-entry.ts';
import { RPM_STREAMS } from '../ingest/rpm-entry.ts';
import { applyInOrder, type ChangeOutcome, type GroupApplied, type PackageState, type ResolveChange } from './compose-group.ts';
import { GroupCommitter, type Verdict } from './group-commit.ts';
import type { PublishMeta, Repository } from './repository.ts';

/** One change waiting to be published: its packages are in the pool, its removals not yet resolved. */
export interface PendingChange {
  dist: Distribution;
  resolve: ResolveChange;
  meta: PublishMeta;
}

/** A change's own verdict: what it did, and the revision that contains it. */
export interface CommittedChange {
  revision: Revision | null;
  outcome: ChangeOutcome;
}

/** Publishes concurrent changes of one distribution together (see group-commit.ts). */
export type ChangeCommitter = GroupCommitter<PendingChange, CommittedChange>;

export function changeCommitter(repository: Repository, options: { enabled: boolean }): ChangeCommitter {
  return new GroupCommitter((dist, changes) => publishGroup(repository, dist, changes), options.enabled);
}

/** A revision's packages as compose-group.ts reads them. */
export function revisionState(repository: Repository, revision: Revision | null): PackageState {
  return {
    findEntry: async (key) => (revision ? repository.findEntry(revision, key) : null),
    findEntries: async (prefix) => (revision ? repository.findEntries(revision, prefix) : []),
  };
}

/** Longest message a grouped revision sums its parts up with (the parts keep every message whole). */
const MESSAGE_LIMIT = 500;

/**
 * Provenance of a group's revision. A group where one change did something reads exactly as that
 * change published alone; otherwise the revision names every author and keeps each change's
 * author, message and packages as a part.
 */
export function groupMeta(changes: PendingChange[], verdicts: Verdict<ChangeOutcome>[]): PublishMeta {
  const parts: RevisionPart[] = [];
  changes.forEach((change, i) => {
    const verdict = verdicts[i];
    if (!verdict.ok || verdict.value.added.length + verdict.value.removed.length === 0) return;
    parts.push({ ...change.meta, added: verdict.value.added.map(changeItem), removed: verdict.value.removed.map(changeItem) });
  });
  if (parts.length <= 1) return parts[0] ? { author: parts[0].author, message: parts[0].message } : changes[0].meta;
  let message = `${parts.length} changes: ${parts.map((p) => p.message).join('; ')}`;
  if (message.length > MESSAGE_LIMIT) message = `${message.slice(0, MESSAGE_LIMIT - 1)}…`;
  return { author: [...new Set(parts.map((p) => p.author))].join(', '), message, parts };
}

/**
 * One compose and one compare-and-swap for every change of the group. On a lost race the whole
 * group is applied again on the winner's revision, so each verdict is about the revision published.
 */
export async function publishGroup(repository: Repository, distName: string, changes: PendingChange[]): Promise<Verdict<CommittedChange>[]> {
  const { dist } = changes[0];
  let applied: GroupApplied | null = null;
  const result = await repository.publish(
    distName,
    dist.kind === 'rpm' ? 'rpm' : 'apt',
    dist.kind === 'rpm' ? RPM_STREAMS : APT_STREAMS,
    async (parent) => {
      applied = await applyInOrder(
        revisionState(repository, parent),
        changes.map((c) => c.resolve),
      );
      return applied.net;
    },
    () => groupMeta(changes, applied!.verdicts),
  );
  const { verdicts } = applied! as GroupApplied;
  return verdicts.map((v) => (v.ok ? { ok: true, value: { revision: result.revision, outcome: v.value } } : v));
}

import type { EntryWithSegments, IndexEntry } from '../bucket/chunk.ts';
import { readableKey } from '../bucket/keys.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { type ChangeSet, mayReplace } from './compose.ts';
import type { Verdict } from './group-commit.ts';

/** The packages of a distribution as a change sees them: what it resolves removals and names against. */
export interface PackageState {
  findEntry(key: string): Promise<IndexEntry | null>;
  /** Every entry whose key starts with `prefix`, in key order. */
  findEntries(prefix: string): Promise<IndexEntry[]>;
}

/** What one change of a group did, relative to the state it applied to. */
export interface ChangeOutcome {
  added: IndexEntry[];
  removed: IndexEntry[];
  /** Adds that were already present with identical content. */
  unchanged: IndexEntry[];
}

/** One change of a group: resolved (removals, replaced names) against the state it applies to. */
export type ResolveChange = (state: PackageState) => Promise<ChangeSet>;

export interface GroupApplied {
  /** The group's net effect on the parent, for one compose (already checked: replace is safe). */
  net: ChangeSet;
  verdicts: Verdict<ChangeOutcome>[];
}

const byKey = (a: IndexEntry, b: IndexEntry) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** The parent's packages with the edits of the changes applied so far (null: removed). */
class EditedState implements PackageState {
  readonly edits = new Map<string, EntryWithSegments | null>();
  constructor(private readonly base: PackageState) {}

  async findEntry(key: string): Promise<IndexEntry | null> {
    const edit = this.edits.get(key);
    if (edit !== undefined) return edit?.entry ?? null;
    return this.base.findEntry(key);
  }

  async findEntries(prefix: string): Promise<IndexEntry[]> {
    const out = (await this.base.findEntries(prefix)).filter((e) => !this.edits.has(e.key));
    for (const [key, edit] of this.edits) if (edit && key.startsWith(prefix)) out.push(edit.entry);
    return out.sort(byKey);
  }
}

/**
 * Checks one change against the state and returns its edits, or throws its refusal (the same
 * errors compose gives a lone change), leaving the state untouched.
 */
async function check(state: EditedState, change: ChangeSet): Promise<{ edits: Map<string, EntryWithSegments | null>; outcome: ChangeOutcome }> {
  const edits = new Map<string, EntryWithSegments | null>();
  const outcome: ChangeOutcome = { added: [], removed: [], unchanged: [] };
  for (const key of change.remove) {
    const existing = await state.findEntry(key);
    if (!existing || edits.get(key) === null) throw new NotFoundError(`package ${readableKey(key)} is not in the distribution`, 'package_not_found');
    edits.set(key, null);
    outcome.removed.push(existing);
  }
  const seen = new Set<string>();
  for (const item of change.add) {
    const key = item.entry.key;
    if (seen.has(key)) throw new ConflictError(`${item.entry.label} appears twice in one change`, 'duplicate_in_change');
    seen.add(key);
    const existing = edits.has(key) ? null : await state.findEntry(key);
    if (existing && existing.id === item.entry.id) {
      outcome.unchanged.push(existing);
      continue;
    }
    if (existing && !mayReplace(change, key, existing.id)) {
      throw new ConflictError(`${item.entry.label} is already published with different content (sha256 ${existing.id}); replace it explicitly`, 'duplicate_package', {
        existing: existing.id,
        uploaded: item.entry.id,
      });
    }
    if (existing) outcome.removed.push(existing);
    edits.set(key, item);
    outcome.added.push(item.entry);
  }
  return { edits, outcome };
}

/**
 * Applies a group's changes in order on the parent's packages, exactly as if each had been
 * published alone after the ones before it: each resolves against the state so far, and a change
 * that is refused leaves that state as it was and gets its own error while the others go on.
 */
export async function applyInOrder(parent: PackageState, changes: ResolveChange[]): Promise<GroupApplied> {
  const state = new EditedState(parent);
  const verdicts: Verdict<ChangeOutcome>[] = [];
  for (const resolve of changes) {
    try {
      const { edits, outcome } = await check(state, await resolve(state));
      for (const [key, edit] of edits) state.edits.set(key, edit);
      verdicts.push({ ok: true, value: outcome });
    } catch (error) {
      verdicts.push({ ok: false, error });
    }
  }
  const net: ChangeSet = { add: [], remove: [], replace: true };
  for (const [key, edit] of state.edits) {
    if (edit) net.add.push(edit);
    else if (await parent.findEntry(key)) net.remove.push(key); // added and removed within the group: never there
  }
  return { net, verdicts };
}

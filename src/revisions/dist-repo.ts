import type { EntryWithSegments, IndexEntry } from '../bucket/chunk.ts';
import type { Capabilities } from '../capabilities.ts';
import type { Distributions } from '../config/distributions.ts';
import { ConflictError, RepodError } from '../errors.ts';
import { entryFromRecord } from '../ingest/commit.ts';
import { readSignatureVerdict } from '../signing/signature-verdict.ts';
import { indexStoredCopy, listSignedCopies, normalizeKeyId, preferredCopy, type SignedCopy } from '../signing/signed-copies.ts';
import { mapLimited } from '../util/map-limited.ts';
import { refuseMirror, requireDistribution } from './publish.ts';
import type { ChangeCommitter } from './publish-group.ts';
import type { Repository } from './repository.ts';

/**
 * `repod dist-repo`, after Koji's dist-repo: one new revision of an RPM distribution in which every
 * current package is swapped to its signed copy (signing/signed-copies.ts) by the first key of a
 * preference list that signed one. A package no listed key signed is, as Koji's options say:
 * refused (the default: 422 naming every such package, nothing published), kept as it is
 * (`allow`, Koji's --allow-missing-signatures) or left out of the revision (`skip`, Koji's
 * --skip-missing-signatures). Copies are references to pool objects, never re-signed or copied
 * here; nothing changed means no new revision.
 */
export type MissingSignatures = 'fail' | 'allow' | 'skip';

export interface DistRepoRequest {
  /** Key ids (8 or 16 hex digits) or fingerprints, in order of preference. */
  keys: string[];
  missing?: MissingSignatures;
  message?: string;
}

export interface DistRepoSwap {
  label: string;
  filename: string;
  /** The sha256 published before, and the copy published now. */
  from: string;
  to: string;
  /** The listed key whose signature chose the copy. */
  key: string;
}

export interface DistRepoPackage {
  label: string;
  filename: string;
  sha256: string;
}

export interface DistRepoResult {
  status: 'published' | 'unchanged';
  distribution: string;
  keys: string[];
  missing: MissingSignatures;
  revision: { id: string; number: number } | null;
  /** Packages now published as another signed copy. */
  changed: DistRepoSwap[];
  /** Packages left out for lacking a listed signature (`skip`). */
  dropped: DistRepoPackage[];
  /** Packages no listed key signed (kept under `allow`, dropped under `skip`). */
  unsigned: DistRepoPackage[];
}

export interface DistRepoServices {
  caps: Capabilities;
  distributions: Distributions;
  repository: Repository;
  committer: ChangeCommitter;
}

const CONCURRENCY = 8;

/** Validates what a caller sent; the HTTP route and tests share it. */
export function parseDistRepoRequest(body: unknown): DistRepoRequest {
  const b = (body ?? {}) as { keys?: unknown; missing?: unknown; message?: unknown };
  const keys = b.keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string' && /^[0-9A-F]{8,40}$/.test(normalizeKeyId(k)))) {
    throw new RepodError('invalid_request', 'keys must be a non-empty list of key ids (8 or 16 hex digits) or fingerprints, in order of preference', { status: 400 });
  }
  if (b.missing !== undefined && b.missing !== 'fail' && b.missing !== 'allow' && b.missing !== 'skip') {
    throw new RepodError('invalid_request', 'missing must be "fail" (the default), "allow" or "skip"', { status: 400 });
  }
  if (b.message !== undefined && typeof b.message !== 'string') throw new RepodError('invalid_request', 'message must be a string', { status: 400 });
  return { keys: keys as string[], missing: b.missing as MissingSignatures | undefined, message: b.message as string | undefined };
}

/** What one package becomes: another copy, the same, or lacking every listed signature. */
type Decision = { kind: 'keep' } | { kind: 'swap'; entry: EntryWithSegments; key: string } | { kind: 'unsigned' };

/**
 * The copies of the published package's build. A published package the index does not list (stored
 * before copies were indexed) is read once and indexed when other copies of its NEVRA exist;
 * alone, its recorded signature verdict says which keys signed it.
 */
async function buildCopies(services: DistRepoServices, entry: IndexEntry): Promise<Pick<SignedCopy, 'sha256' | 'keyIds' | 'verified'>[]> {
  const { caps } = services;
  const copies = await listSignedCopies(caps.store, entry.key);
  if (copies.length === 0) {
    const verdict = await readSignatureVerdict(caps.store, entry.id);
    return [{ sha256: entry.id, keyIds: (verdict?.signers ?? []).map((k) => k.toUpperCase()), verified: [] }];
  }
  const published = copies.find((c) => c.sha256 === entry.id) ?? (await indexStoredCopy(caps, entry.key, entry.id));
  if (!published) return [{ sha256: entry.id, keyIds: [], verified: [] }];
  return [published, ...copies.filter((c) => c.identity === published.identity && c.sha256 !== published.sha256)];
}

async function decide(services: DistRepoServices, entry: IndexEntry, keys: string[]): Promise<Decision> {
  let copies = await buildCopies(services, entry);
  for (;;) {
    const chosen = preferredCopy(copies, keys, entry.id);
    if (!chosen) return { kind: 'unsigned' };
    if (chosen.copy.sha256 === entry.id) return { kind: 'keep' };
    // A copy recorded at upload whose change was then refused has no pool object: not a copy.
    const found = await entryFromRecord(services.caps, chosen.copy.sha256, '');
    if (found && found.entry.entry.key === entry.key) return { kind: 'swap', entry: found.entry, key: chosen.key };
    copies = copies.filter((c) => c !== chosen.copy);
  }
}

const packageOf = (e: IndexEntry): DistRepoPackage => ({ label: e.label, filename: e.file, sha256: e.id });

export async function distRepo(services: DistRepoServices, distName: string, request: DistRepoRequest, author: string): Promise<DistRepoResult> {
  const dist = requireDistribution(services.distributions, distName);
  if (dist.kind !== 'rpm') {
    throw new RepodError('wrong_distribution_kind', `${dist.name} is an APT distribution: signed copies and dist-repo are for RPM distributions`, { status: 422 });
  }
  refuseMirror(dist);
  const missing = request.missing ?? 'fail';
  const keys = request.keys;
  const current = await services.repository.current(dist.name);
  const base = { distribution: dist.name, keys, missing };
  const entries = current ? await services.repository.findEntries(current, '') : [];
  const decisions = await mapLimited(entries, CONCURRENCY, (e) => decide(services, e, keys));

  const changed: DistRepoSwap[] = [];
  const add: EntryWithSegments[] = [];
  const unsigned: DistRepoPackage[] = [];
  const expected = new Map<string, string>();
  entries.forEach((e, i) => {
    const d = decisions[i];
    if (d.kind === 'swap') {
      changed.push({ label: e.label, filename: e.file, from: e.id, to: d.entry.entry.id, key: d.key });
      add.push(d.entry);
      expected.set(e.key, e.id);
    } else if (d.kind === 'unsigned') unsigned.push(packageOf(e));
  });
  if (missing === 'fail' && unsigned.length > 0) {
    const names = unsigned.map((p) => p.label);
    const shown = names.length > 20 ? `${names.slice(0, 20).join(', ')} and ${names.length - 20} more` : names.join(', ');
    throw new RepodError(
      'missing_signatures',
      `${unsigned.length} package(s) of ${dist.name} have no copy signed by any of the keys ${keys.join(', ')}: ${shown} (allow them with missing=allow / --allow-missing-signatures, or leave them out with missing=skip / --skip-missing-signatures)`,
      { status: 422, details: { packages: unsigned } },
    );
  }
  const dropKeys = missing === 'skip' ? entries.filter((_, i) => decisions[i].kind === 'unsigned') : [];
  for (const e of dropKeys) expected.set(e.key, e.id);
  if (add.length === 0 && dropKeys.length === 0) {
    return { status: 'unchanged', ...base, revision: current ? { id: current.id, number: current.number } : null, changed, dropped: [], unsigned };
  }

  const message =
    request.message ??
    `dist-repo ${keys.join(' ')}${missing === 'allow' ? ' --allow-missing-signatures' : missing === 'skip' ? ' --skip-missing-signatures' : ''}: ${changed.length} re-signed, ${dropKeys.length} dropped`;
  const { revision, outcome } = await services.committer.submit(dist.name, {
    dist,
    meta: { author, message },
    // Applied on the revision the change lands on: a package that changed since it was planned refuses the change.
    resolve: async (state) => {
      for (const [key, id] of expected) {
        const now = await state.findEntry(key);
        if (now?.id !== id) {
          throw new ConflictError(`${now?.label ?? key.replaceAll('\u0000', ' ')} changed while dist-repo ran; run it again`, 'concurrent_change', {
            expected: id,
            found: now?.id ?? null,
          });
        }
      }
      return { add, remove: dropKeys.map((e) => e.key), replace: true };
    },
  });
  return {
    status: outcome.added.length + outcome.removed.length > 0 ? 'published' : 'unchanged',
    ...base,
    revision: revision ? { id: revision.id, number: revision.number } : null,
    changed,
    dropped: dropKeys.map(packageOf),
    unsigned,
  };
}

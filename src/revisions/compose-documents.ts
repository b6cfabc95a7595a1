import { splitKey } from '../bucket/keys.ts';
import { layout } from '../bucket/layout.ts';
import type { DocumentRef, Revision, RevisionDocuments } from '../bucket/revision.ts';
import type { Capabilities } from '../capabilities.ts';
import type { RpmDistribution } from '../config/distributions.ts';
import { PreconditionFailedError, RepodError } from '../errors.ts';
import { RPM_STREAMS } from '../ingest/rpm-entry.ts';
import { type CompsSummary, parseComps } from '../metadata/rpm/comps.ts';
import { type ModulesSummary, parseModules } from '../metadata/rpm/modulemd.ts';
import { type Advisory, decodeAdvisorySet, encodeAdvisorySet, mergeAdvisories } from '../metadata/rpm/updateinfo.ts';
import { getBytes } from '../storage/objects.ts';
import type { Repository } from './repository.ts';

/**
 * The compose documents of an RPM distribution (comps groups, module documents, advisories):
 * checked, stored whole by content, and published as a new revision that keeps the packages and
 * the other documents of its parent. A document that fails its check changes nothing.
 */
export type ComposeDocumentKind = keyof RevisionDocuments;

export interface ComposeDocumentDeps {
  caps: Capabilities;
  repository: Repository;
}

export interface DocumentChange {
  /** The new revision, or the current one when the document was already the same. */
  revision: Revision | null;
  changed: boolean;
  /** What the caller should know but that did not stop the change (packages the comps names and the distribution lacks). */
  warnings: string[];
  document: DocumentRef | null;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** The body as UTF-8 text; comps and updateinfo are XML in UTF-8, modulemd is YAML in UTF-8. */
export function documentText(bytes: Uint8Array, kind: ComposeDocumentKind): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new RepodError(kind === 'modules' ? 'invalid_modulemd' : `invalid_${kind}`, `the ${kind} document is not UTF-8 text`, { status: 400 });
  }
}

async function sha256(caps: Capabilities, bytes: Uint8Array): Promise<string> {
  const h = caps.hash('sha256');
  h.update(bytes);
  return h.digest();
}

/** Stores a document create-only under its sha256 (already there is fine: same bytes). */
export async function storeComposeDocument(caps: Capabilities, bytes: Uint8Array, count: number): Promise<DocumentRef> {
  const id = await sha256(caps, bytes);
  try {
    await caps.store.put(layout.composeDocument(id), bytes, { ifNoneMatch: '*' });
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
  }
  return { id, size: bytes.length, count };
}

export async function readComposeDocument(caps: Capabilities, ref: DocumentRef): Promise<Uint8Array> {
  const bytes = await getBytes(caps.store, layout.composeDocument(ref.id));
  if (!bytes) throw new RepodError('missing_object', `compose document ${ref.id} is missing from the store`, { status: 500 });
  return bytes;
}

/** The advisories a revision names (none without an updateinfo). */
export async function revisionAdvisories(caps: Capabilities, revision: Revision): Promise<Advisory[]> {
  const ref = revision.documents?.updateinfo;
  return ref ? decodeAdvisorySet(await readComposeDocument(caps, ref)).advisories : [];
}

function requireRpm(dist: { name: string; kind: string }): void {
  if (dist.kind !== 'rpm')
    throw new RepodError('not_rpm_distribution', `${dist.name} is an APT distribution: comps, modules and updateinfo belong to RPM distributions`, { status: 400 });
}

async function publish(
  deps: ComposeDocumentDeps,
  dist: RpmDistribution,
  kind: ComposeDocumentKind,
  next: (parent: Revision | null) => Promise<DocumentRef | null | 'same'>,
  meta: { author: string; message: string },
): Promise<{ revision: Revision | null; changed: boolean; document: DocumentRef | null }> {
  requireRpm(dist);
  let document: DocumentRef | null = null;
  const { revision, changed } = await deps.repository.publishDocuments(
    dist.name,
    'rpm',
    RPM_STREAMS,
    async (parent) => {
      const ref = await next(parent);
      if (ref === 'same') {
        document = parent?.documents?.[kind] ?? null;
        return null;
      }
      document = ref;
      const documents: RevisionDocuments = { ...parent?.documents };
      if (ref) documents[kind] = ref;
      else delete documents[kind];
      return documents;
    },
    meta,
  );
  return { revision, changed, document };
}

/** Names of the packages a revision holds (every arch), for the comps warnings. */
async function packageNames(repository: Repository, revision: Revision | null): Promise<Set<string>> {
  const names = new Set<string>();
  for (const chunk of revision?.chunks ?? []) for (const e of (await repository.chunkIndex(chunk.id)).entries) names.add(splitKey(e.key)[0]);
  return names;
}

/** PUT comps: replaces the groups. Packages it names that the distribution lacks are warnings (yumrepofs applies catalogs so). */
export async function replaceComps(deps: ComposeDocumentDeps, dist: RpmDistribution, bytes: Uint8Array, author: string): Promise<DocumentChange & { summary: CompsSummary }> {
  requireRpm(dist);
  const summary = parseComps(documentText(bytes, 'comps'));
  const ref = await storeComposeDocument(deps.caps, bytes, summary.groups.length);
  let warnings: string[] = [];
  const result = await publish(
    deps,
    dist,
    'comps',
    async (parent) => {
      const names = await packageNames(deps.repository, parent);
      const missing = summary.packages.filter((p) => !names.has(p));
      warnings = missing.length > 0 ? [`the comps names ${missing.length} package(s) that ${dist.name} lacks: ${missing.join(', ')}`] : [];
      return parent?.documents?.comps?.id === ref.id ? 'same' : ref;
    },
    { author, message: `comps: ${summary.groups.length} group(s), ${summary.categories.length} category(ies), ${summary.environments.length} environment(s)` },
  );
  return { ...result, warnings, summary };
}

/** PUT modules: replaces the module documents (streams, defaults, obsoletes, translations). */
export async function replaceModules(deps: ComposeDocumentDeps, dist: RpmDistribution, bytes: Uint8Array, author: string): Promise<DocumentChange & { summary: ModulesSummary }> {
  requireRpm(dist);
  const summary = parseModules(documentText(bytes, 'modules'));
  const ref = await storeComposeDocument(deps.caps, bytes, summary.documents);
  const result = await publish(deps, dist, 'modules', async (parent) => (parent?.documents?.modules?.id === ref.id ? 'same' : ref), {
    author,
    message: `modules: ${summary.streams.length} stream(s), ${summary.defaults.length} defaults`,
  });
  return { ...result, warnings: [], summary };
}

/** DELETE comps or modules: the next revision has none. */
export async function removeDocument(deps: ComposeDocumentDeps, dist: RpmDistribution, kind: 'comps' | 'modules', author: string): Promise<DocumentChange> {
  const result = await publish(deps, dist, kind, async (parent) => (parent?.documents?.[kind] ? null : 'same'), { author, message: `${kind} removed` });
  return { ...result, warnings: [] };
}

/** POST updateinfo: adds advisories, replacing those with the same id. */
export async function addAdvisories(deps: ComposeDocumentDeps, dist: RpmDistribution, incoming: Advisory[], author: string): Promise<DocumentChange> {
  requireRpm(dist);
  if (incoming.length === 0) throw new RepodError('invalid_updateinfo', 'the updateinfo holds no advisory', { status: 400 });
  const result = await publish(
    deps,
    dist,
    'updateinfo',
    async (parent) => {
      const merged = mergeAdvisories(parent ? await revisionAdvisories(deps.caps, parent) : [], incoming);
      const ref = await storeComposeDocument(deps.caps, encodeAdvisorySet(merged), merged.length);
      return parent?.documents?.updateinfo?.id === ref.id ? 'same' : ref;
    },
    { author, message: `updateinfo: ${incoming.map((a) => a.id).join(', ')}` },
  );
  return { ...result, warnings: [] };
}

/** DELETE updateinfo/<id>: 404 when the current revision has no such advisory. */
export async function removeAdvisory(deps: ComposeDocumentDeps, dist: RpmDistribution, id: string, author: string): Promise<DocumentChange> {
  requireRpm(dist);
  const result = await publish(
    deps,
    dist,
    'updateinfo',
    async (parent) => {
      const advisories = parent ? await revisionAdvisories(deps.caps, parent) : [];
      const kept = advisories.filter((a) => a.id !== id);
      if (kept.length === advisories.length) throw new RepodError('unknown_advisory', `${dist.name} has no advisory ${JSON.stringify(id)}`, { status: 404 });
      return kept.length === 0 ? null : storeComposeDocument(deps.caps, encodeAdvisorySet(kept), kept.length);
    },
    { author, message: `updateinfo: ${id} removed` },
  );
  return { ...result, warnings: [] };
}

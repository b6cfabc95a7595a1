import { type Context, Hono } from 'hono';
import type { DocumentRef, Revision } from '../../bucket/revision.ts';
import type { RpmDistribution } from '../../config/distributions.ts';
import type { Core } from '../../core/core.ts';
import { NotFoundError, RepodError } from '../../errors.ts';
import { parseUpdateinfoJson, parseUpdateinfoXml, renderUpdateinfo } from '../../metadata/rpm/updateinfo.ts';
import {
  addAdvisories,
  type ComposeDocumentKind,
  type DocumentChange,
  documentText,
  readComposeDocument,
  removeAdvisory,
  removeDocument,
  replaceComps,
  replaceModules,
  revisionAdvisories,
} from '../../revisions/compose-documents.ts';
import { requireDistribution } from '../../revisions/publish.ts';
import { resolveRevision } from '../../revisions/resolve-revision.ts';
import { readAllBytes } from '../../storage/objects.ts';
import { requireReader, requireRole } from '../auth.ts';
import { describeRoute, type OperationDoc } from '../openapi/describe.ts';

const tags = ['Compose documents'];
const pinned = { revision: 'a revision id or number (default: the current revision)' };
const published = { 200: 'unchanged: the document was already the same', 201: 'published as a new revision' };

/** What the OpenAPI document (/api/v1/openapi.json) says of each route below. */
const docs = {
  getComps: {
    summary: "A revision's comps.xml (groups)",
    tags,
    role: 'reader',
    query: pinned,
    responses: { 200: { description: 'the comps.xml as uploaded', contentType: 'application/xml' } },
  },
  putComps: {
    summary: 'Replace the comps (groups) of an RPM distribution',
    description: 'The body is a comps.xml. Packages it names that the distribution lacks are listed in `warnings`.',
    tags,
    role: 'maintainer',
    body: { binary: true, description: 'comps.xml' },
    responses: published,
  },
  deleteComps: { summary: 'Remove the comps of an RPM distribution', tags, role: 'maintainer' },
  getModules: {
    summary: "A revision's module documents (modulemd YAML)",
    tags,
    role: 'reader',
    query: pinned,
    responses: { 200: { description: 'the YAML stream as uploaded', contentType: 'application/yaml' } },
  },
  putModules: {
    summary: 'Replace the module documents of an RPM distribution',
    description: 'The body is a modulemd YAML stream: modulemd v2, modulemd-defaults v1 (also modulemd-obsoletes and modulemd-translations v1).',
    tags,
    role: 'maintainer',
    body: { binary: true, description: 'modules.yaml' },
    responses: published,
  },
  deleteModules: { summary: 'Remove the module documents of an RPM distribution', tags, role: 'maintainer' },
  getUpdateinfo: {
    summary: 'The advisory ids of a revision (XML with ?format=xml)',
    tags,
    role: 'reader',
    query: { ...pinned, format: 'xml for the advisories as updateinfo.xml' },
  },
  getUpdateinfoId: {
    summary: 'One advisory as updateinfo.xml',
    tags,
    role: 'reader',
    query: pinned,
    responses: { 200: { description: 'updateinfo.xml with one advisory', contentType: 'application/xml' } },
  },
  postUpdateinfo: {
    summary: 'Add or update advisories (updateinfo.xml or JSON) by id',
    tags,
    role: 'maintainer',
    body: { binary: true, description: 'updateinfo.xml, or JSON (content-type application/json): {"updates": [...]}' },
    responses: published,
  },
  deleteUpdateinfoId: { summary: 'Remove one advisory', tags, role: 'maintainer' },
} satisfies Record<string, OperationDoc>;

/** The largest comps, modules or updateinfo body accepted (Fedora's comps.xml is about 2 MB). */
const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;

async function body(c: Context): Promise<Uint8Array> {
  const stream = c.req.raw.body;
  if (!stream) throw new RepodError('empty_body', 'the request has no body: send the document as the body', { status: 400 });
  try {
    const bytes = await readAllBytes(stream, MAX_DOCUMENT_BYTES);
    if (bytes.length === 0) throw new RepodError('empty_body', 'the request body is empty: send the document as the body', { status: 400 });
    return bytes;
  } catch (error) {
    if (error instanceof RangeError) throw new RepodError('document_too_large', `the document is larger than ${MAX_DOCUMENT_BYTES} bytes`, { status: 413 });
    throw error;
  }
}

const answer = (dist: string, kind: ComposeDocumentKind, change: DocumentChange, extra: Record<string, unknown> = {}) => ({
  status: change.changed ? 'published' : 'unchanged',
  distribution: dist,
  document: kind,
  revision: change.revision ? { id: change.revision.id, number: change.revision.number } : null,
  ...(change.document ? { sha256: change.document.id, size: change.document.size, count: change.document.count } : {}),
  warnings: change.warnings,
  ...extra,
});

/**
 * Compose documents of RPM distributions under /api/v1/distributions/<dist>/: comps (groups),
 * modules (modulemd) and updateinfo (advisories). Each change makes a new revision (maintainer
 * role); a GET answers the current revision's document, or a pinned one's with `?revision=`.
 */
export function composeDocumentRoutes(core: Pick<Core, 'caps' | 'distributions' | 'repository' | 'tokens' | 'events'>): Hono {
  const app = new Hono();
  const rpmDist = (c: Context): RpmDistribution => {
    const d = requireDistribution(core.distributions, c.req.param('dist'));
    if (d.kind !== 'rpm')
      throw new RepodError('not_rpm_distribution', `${d.name} is an APT distribution: comps, modules and updateinfo belong to RPM distributions`, { status: 400 });
    return d;
  };
  const maintainer = async (c: Context) => (await requireRole(core, c, 'maintainer')).subject;
  const readRevision = async (c: Context): Promise<{ dist: RpmDistribution; revision: Revision | null }> => {
    const dist = rpmDist(c);
    await requireReader(core, c, dist);
    const pinned = c.req.query('revision');
    return { dist, revision: pinned ? await resolveRevision(core, dist.name, pinned) : await core.repository.current(dist.name) };
  };
  const raw = async (c: Context, kind: 'comps' | 'modules', contentType: string) => {
    const { dist, revision } = await readRevision(c);
    const ref: DocumentRef | undefined = revision?.documents?.[kind];
    if (!ref) throw new NotFoundError(`${dist.name} has no ${kind} in revision ${revision?.number ?? 0}`, `no_${kind}`);
    const bytes = await readComposeDocument(core.caps, ref);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { 'content-type': contentType, etag: `"${ref.id}"`, 'x-repod-revision': revision!.id });
  };
  const announce = (dist: string, actor: string, kind: ComposeDocumentKind, change: DocumentChange) => {
    if (!change.changed || !change.revision) return;
    core.caps.log('compose document published', { dist, kind, revision: change.revision.id, by: actor });
    // A new revision like any other: webhooks and automatic exports hear of it.
    core.events.emit({
      type: 'published',
      distribution: dist,
      actor,
      data: { revision: { id: change.revision.id, number: change.revision.number }, document: kind, packages: [], removed: [] },
    });
  };

  app.get('/:dist/comps', describeRoute(docs.getComps), (c) => raw(c, 'comps', 'application/xml'));
  app.put('/:dist/comps', describeRoute(docs.putComps), async (c) => {
    const actor = await maintainer(c);
    const dist = rpmDist(c);
    const change = await replaceComps(core, dist, await body(c), actor);
    announce(dist.name, actor, 'comps', change);
    const { groups, categories, environments } = change.summary;
    return c.json(answer(dist.name, 'comps', change, { groups: groups.length, categories: categories.length, environments: environments.length }), change.changed ? 201 : 200);
  });
  app.delete('/:dist/comps', describeRoute(docs.deleteComps), async (c) => {
    const actor = await maintainer(c);
    const dist = rpmDist(c);
    const change = await removeDocument(core, dist, 'comps', actor);
    return c.json(answer(dist.name, 'comps', change), 200);
  });

  app.get('/:dist/modules', describeRoute(docs.getModules), (c) => raw(c, 'modules', 'application/yaml'));
  app.put('/:dist/modules', describeRoute(docs.putModules), async (c) => {
    const actor = await maintainer(c);
    const dist = rpmDist(c);
    const change = await replaceModules(core, dist, await body(c), actor);
    announce(dist.name, actor, 'modules', change);
    const { streams, defaults } = change.summary;
    return c.json(
      answer(dist.name, 'modules', change, { streams: streams.map((s) => `${s.name}:${s.stream}:${s.version}:${s.context}:${s.arch}`), defaults }),
      change.changed ? 201 : 200,
    );
  });
  app.delete('/:dist/modules', describeRoute(docs.deleteModules), async (c) => {
    const actor = await maintainer(c);
    const dist = rpmDist(c);
    return c.json(answer(dist.name, 'modules', await removeDocument(core, dist, 'modules', actor)), 200);
  });

  // The advisories as stored (every package they name); repodata/…-updateinfo.xml.gz shows each view's cut.
  app.get('/:dist/updateinfo', describeRoute(docs.getUpdateinfo), async (c) => {
    const { dist, revision } = await readRevision(c);
    const advisories = revision ? await revisionAdvisories(core.caps, revision) : [];
    if ((c.req.header('accept') ?? '').includes('application/xml') || c.req.query('format') === 'xml') {
      return c.body(renderUpdateinfo(advisories), 200, { 'content-type': 'application/xml' });
    }
    return c.json({ distribution: dist.name, revision: revision ? { id: revision.id, number: revision.number } : null, advisories: advisories.map((a) => a.id) });
  });
  app.get('/:dist/updateinfo/:id', describeRoute(docs.getUpdateinfoId), async (c) => {
    const { dist, revision } = await readRevision(c);
    const id = c.req.param('id');
    const found = (revision ? await revisionAdvisories(core.caps, revision) : []).find((a) => a.id === id);
    if (!found) throw new NotFoundError(`${dist.name} has no advisory ${JSON.stringify(id)}`, 'unknown_advisory');
    return c.body(renderUpdateinfo([found]), 200, { 'content-type': 'application/xml' });
  });
  app.post('/:dist/updateinfo', describeRoute(docs.postUpdateinfo), async (c) => {
    const actor = await maintainer(c);
    const dist = rpmDist(c);
    const bytes = await body(c);
    const text = documentText(bytes, 'updateinfo');
    const isJson = (c.req.header('content-type') ?? '').includes('json') || /^\s*[[{]/.test(text);
    let advisories: ReturnType<typeof parseUpdateinfoXml>;
    if (isJson) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new RepodError('invalid_updateinfo', `the updateinfo is not valid JSON: ${(error as Error).message}`, { status: 400 });
      }
      advisories = parseUpdateinfoJson(value);
    } else {
      advisories = parseUpdateinfoXml(text);
    }
    const change = await addAdvisories(core, dist, advisories, actor);
    announce(dist.name, actor, 'updateinfo', change);
    return c.json(answer(dist.name, 'updateinfo', change, { advisories: advisories.map((a) => a.id) }), change.changed ? 201 : 200);
  });
  app.delete('/:dist/updateinfo/:id', describeRoute(docs.deleteUpdateinfoId), async (c) => {
    const actor = await maintainer(c);
    const dist = rpmDist(c);
    const change = await removeAdvisory(core, dist, c.req.param('id'), actor);
    announce(dist.name, actor, 'updateinfo', change);
    return c.json(answer(dist.name, 'updateinfo', change, { removed: c.req.param('id') }), 200);
  });
  return app;
}

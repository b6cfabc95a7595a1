import { type Context, Hono } from 'hono';
import type { Core } from '../../core/core.ts';
import { NotFoundError, RepodError } from '../../errors.ts';
import { diffRevisions, entriesOf, listRevisions, summary } from '../../revisions/history.ts';
import { requireDistribution } from '../../revisions/publish.ts';
import { resolveRevision } from '../../revisions/resolve-revision.ts';
import { announceRollback } from '../../security/announce.ts';
import { requireReader, requireRole } from '../auth.ts';
import { describeRoute, type OperationDoc } from '../openapi/describe.ts';

/** What the OpenAPI document (/api/v1/openapi.json) says of each route below. */
const docs = {
  getDistRevisions: {
    summary: "A distribution's revisions, newest first",
    tags: ['Revisions'],
    role: 'reader',
    query: { limit: 'at most this many (1-500, default 20)', before: 'only revisions numbered below this' },
  },
  getDistRevisionsRev: { summary: 'One revision: who, when, what changed', tags: ['Revisions'], role: 'reader' },
  getDistRevisionsADiffB: { summary: 'What changed between two revisions', tags: ['Revisions'], role: 'reader' },
  postDistRollback: {
    summary: 'Roll back to an earlier revision (as a new revision)',
    tags: ['Revisions'],
    role: 'maintainer',
    body: { json: { type: 'object', required: ['revision'], properties: { revision: { type: ['string', 'integer'] } } } },
  },
  getDistTags: { summary: 'List the tags of a distribution', tags: ['Revisions'], role: 'reader' },
  putDistTagsTag: {
    summary: 'Point a tag at a revision (a pinned URL)',
    tags: ['Revisions'],
    role: 'maintainer',
    body: { json: { type: 'object', properties: { revision: { type: ['string', 'integer'] } } }, required: false },
  },
  deleteDistTagsTag: { summary: 'Delete a tag', tags: ['Revisions'], role: 'maintainer' },
} satisfies Record<string, OperationDoc>;

const TAG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** History, pinning, rollback and tags under /api/v1/distributions/<dist>/. */
export function historyRoutes(core: Pick<Core, 'caps' | 'distributions' | 'repository' | 'tokens' | 'events'>): Hono {
  const app = new Hono();
  const dist = async (c: Context) => {
    const d = requireDistribution(core.distributions, c.req.param('dist'));
    await requireReader(core, c, d);
    return d;
  };

  app.get('/:dist/revisions', describeRoute(docs.getDistRevisions), async (c) => {
    const d = await dist(c);
    const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 20) || 20, 1), 500);
    const before = c.req.query('before') ? Number(c.req.query('before')) : undefined;
    return c.json(await listRevisions(core.repository, d.name, { limit, before }));
  });

  app.get('/:dist/revisions/:rev', describeRoute(docs.getDistRevisionsRev), async (c) => {
    const d = await dist(c);
    const revision = await resolveRevision(core, d.name, c.req.param('rev'));
    const packages = (await entriesOf(core.repository, revision)).map((e) => ({
      label: e.label,
      arch: e.arch,
      file: e.file,
      sha256: e.id,
      ...(e.component ? { component: e.component } : {}),
    }));
    // A grouped revision lists each change's own packages with its author (summary only counts them).
    return c.json({ ...summary(revision), ...(revision.parts ? { parts: revision.parts } : {}), changes: revision.changes, packages });
  });

  app.get('/:dist/revisions/:a/diff/:b', describeRoute(docs.getDistRevisionsADiffB), async (c) => {
    const d = await dist(c);
    const a = await resolveRevision(core, d.name, c.req.param('a'));
    const b = await resolveRevision(core, d.name, c.req.param('b'));
    return c.json(await diffRevisions(core.repository, a, b));
  });

  app.post('/:dist/rollback', describeRoute(docs.postDistRollback), async (c) => {
    const principal = await requireRole(core, c, 'maintainer');
    const d = requireDistribution(core.distributions, c.req.param('dist'));
    const body = (await c.req.json().catch(() => null)) as { revision?: unknown } | null;
    if (!body || (typeof body.revision !== 'string' && typeof body.revision !== 'number'))
      throw new RepodError('invalid_request', 'the body must be JSON {"revision": <id or number>}', { status: 400 });
    const target = await resolveRevision(core, d.name, String(body.revision));
    const revision = await core.repository.restore(d.name, target, { author: principal.subject, message: `rollback to revision ${target.number}` });
    announceRollback(core.events, d.name, revision, target, principal.subject);
    return c.json({ status: 'published', distribution: d.name, revision: { id: revision.id, number: revision.number }, restored: target.id }, 201);
  });

  app.get('/:dist/tags', describeRoute(docs.getDistTags), async (c) => {
    const d = await dist(c);
    const tags = await core.repository.tags(d.name);
    return c.json({ tags: tags.map((t) => ({ name: (t as typeof t & { name: string }).name, revision: t.revision, number: t.number, updated: t.updated })) });
  });

  app.put('/:dist/tags/:tag', describeRoute(docs.putDistTagsTag), async (c) => {
    const principal = await requireRole(core, c, 'maintainer');
    const d = requireDistribution(core.distributions, c.req.param('dist'));
    const tag = c.req.param('tag');
    if (!TAG.test(tag) || tag === 'current') throw new RepodError('invalid_request', `invalid tag name ${JSON.stringify(tag)}`, { status: 400 });
    const body = (await c.req.json().catch(() => null)) as { revision?: unknown } | null;
    if (!body || (typeof body.revision !== 'string' && typeof body.revision !== 'number'))
      throw new RepodError('invalid_request', 'the body must be JSON {"revision": <id or number>}', { status: 400 });
    const target = await resolveRevision(core, d.name, String(body.revision));
    const ref = await core.repository.setTag(d.name, tag, target);
    core.caps.log('tag set', { dist: d.name, tag, revision: target.id, by: principal.subject });
    return c.json({ name: tag, revision: ref.revision, number: ref.number, updated: ref.updated });
  });

  app.delete('/:dist/tags/:tag', describeRoute(docs.deleteDistTagsTag), async (c) => {
    await requireRole(core, c, 'maintainer');
    const d = requireDistribution(core.distributions, c.req.param('dist'));
    const tag = c.req.param('tag');
    if (!TAG.test(tag) || tag === 'current' || !(await core.repository.deleteTag(d.name, tag)))
      throw new NotFoundError(`no tag ${JSON.stringify(tag)} in ${d.name}`, 'unknown_tag');
    return c.json({ status: 'deleted', name: tag });
  });
  return app;
}

import { type Context, Hono } from 'hono';
import type { Distribution } from '../../config/distributions.ts';
import type { Core } from '../../core/core.ts';
import { NotFoundError, RepodError } from '../../errors.ts';
import { APT_STREAMS } from '../../ingest/apt-entry.ts';
import { RPM_STREAMS } from '../../ingest/rpm-entry.ts';
import { migrate, promote } from '../../revisions/promote.ts';
import { type BatchResult, removePackages } from '../../revisions/publish.ts';
import { announcePromotion } from '../../security/announce.ts';
import { noteAuditTarget } from '../audit.ts';
import { requireRole } from '../auth.ts';
import { describeRoute, type OperationDoc } from '../openapi/describe.ts';
import { buildsHandler } from './builds.ts';

/** What the OpenAPI document (/api/v1/openapi.json) says of each route below. */
const entrySchema = {
  type: 'object',
  required: ['name', 'kind', 'architectures'],
  description: 'An entry of the REPOD_DISTRIBUTIONS file',
  properties: {
    name: { type: 'string' },
    kind: { enum: ['rpm', 'apt'] },
    architectures: { type: 'array', items: { type: 'string' } },
    components: { type: 'array', items: { type: 'string' } },
    signing: { type: 'object', properties: { keys: { type: 'array', items: { type: 'string' } } } },
  },
};

const docs = {
  get: { summary: 'List distributions with their current revision (and the retired ones)', tags: ['Distributions'] },
  getDist: { summary: 'One distribution: its configuration and current revision', tags: ['Distributions'] },
  post: {
    summary: 'Create a distribution (the JSON object of a REPOD_DISTRIBUTIONS entry)',
    tags: ['Distributions'],
    role: 'admin',
    body: { json: entrySchema },
    responses: { 201: 'the distribution', 409: 'it exists, or was retired with another kind', 422: 'an invalid entry (details.field names the field)' },
  },
  patchDist: {
    summary: 'Change a distribution with a JSON merge patch (RFC 7396); name and kind cannot change',
    tags: ['Distributions'],
    role: 'admin',
    body: { json: { type: 'object', description: 'a JSON merge patch of the entry' } },
    responses: { 200: 'the distribution', 422: 'an invalid result (details.field names the field)' },
  },
  deleteDist: {
    summary: 'Retire a distribution: no longer served; its revisions are kept',
    tags: ['Distributions'],
    role: 'admin',
    query: { force: 'true: retire it although it has revisions' },
    responses: { 200: 'retired', 409: 'it has revisions (without force), or another distribution depends on it' },
  },
  postDistBuilds: {
    summary: 'Publish one build (several packages) as one revision',
    tags: ['Publishing'],
    role: 'uploader',
    body: { multipart: { file: 'file' } },
    responses: { 201: 'published', 202: 'held for review', 409: 'a duplicate', 422: 'refused' },
  },
  postPromote: {
    summary: 'Promote packages from one distribution to another (references, not bytes)',
    tags: ['Publishing'],
    role: 'maintainer',
    body: { json: { type: 'object' } },
  },
  postMigrate: { summary: "Copy a whole distribution's packages into another", tags: ['Publishing'], role: 'maintainer', body: { json: { type: 'object' } } },
  postInit: { summary: 'Give every configured distribution its first, empty revision', tags: ['Distributions'], role: 'maintainer' },
  deleteDistPackagesName: { summary: 'Remove a package by name (a new revision)', tags: ['Publishing'], role: 'maintainer' },
  postDistRemove: {
    summary: 'Remove several packages as one revision',
    tags: ['Publishing'],
    role: 'maintainer',
    body: { json: { type: 'object', properties: { packages: { type: 'array', items: { type: 'string' } }, message: { type: 'string' } } } },
  },
} satisfies Record<string, OperationDoc>;

/** A JSON body, or a 422 saying it is not one (the body is what is being validated). */
async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new RepodError('invalid_distribution', 'the body must be JSON', { status: 422 });
  }
}

const statusOf = (result: BatchResult) => (result.status === 'published' ? 201 : result.status === 'pending_review' ? 202 : 200);

/** `/api/v1/distributions`: what is configured, where each one stands, its changes (admin), and removals. */
export function distributionRoutes(
  core: Pick<Core, 'caps' | 'committer' | 'distributions' | 'distributionStore' | 'keyring' | 'mirrorPackages' | 'repository' | 'settings' | 'tokens' | 'gate' | 'events'>,
): Hono {
  const app = new Hono();
  const withRevision = async (d: Distribution) => {
    const { ref } = await core.repository.currentRef(d.name);
    return { ...d, revision: ref ? { id: ref.revision, number: ref.number, updated: ref.updated } : null };
  };
  app.get('/', describeRoute(docs.get), async (c) => {
    const list = await Promise.all(core.distributions.all().map(withRevision));
    return c.json({ distributions: list, retired: core.distributionStore.retired() });
  });

  app.post('/', describeRoute(docs.post), async (c) => {
    const principal = await requireRole(core, c, 'admin');
    const body = await jsonBody(c);
    if (body && typeof body === 'object' && typeof (body as { name?: unknown }).name === 'string') noteAuditTarget(c, (body as { name: string }).name);
    const created = await core.distributionStore.create(body, principal.subject);
    return c.json(await withRevision(created), 201);
  });
  app.get('/:dist', describeRoute(docs.getDist), async (c) => {
    const dist = core.distributions.get(c.req.param('dist'));
    if (!dist) throw new NotFoundError(`no distribution ${JSON.stringify(c.req.param('dist'))}`, 'unknown_distribution');
    return c.json(await withRevision(dist));
  });
  app.patch('/:dist', describeRoute(docs.patchDist), async (c) => {
    const principal = await requireRole(core, c, 'admin');
    const updated = await core.distributionStore.update(c.req.param('dist'), await jsonBody(c), principal.subject);
    return c.json(await withRevision(updated));
  });
  app.delete('/:dist', describeRoute(docs.deleteDist), async (c) => {
    const principal = await requireRole(core, c, 'admin');
    const name = c.req.param('dist');
    const force = c.req.query('force') === 'true' || c.req.query('force') === '1';
    const retired = await core.distributionStore.retire(name, {
      force,
      actor: principal.subject,
      hasRevisions: async () => (await core.repository.currentRef(name, true)).ref !== null,
    });
    return c.json({ status: 'retired', ...retired });
  });

  app.post('/:dist/builds', describeRoute(docs.postDistBuilds), buildsHandler(core));

  // Repod's endpoints: copy references between distributions, never bytes.
  app.post('/promote', describeRoute(docs.postPromote), async (c) => {
    const principal = await requireRole(core, c, 'maintainer');
    const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
    const { package: name, from_dist, to_dist, version, force } = body ?? {};
    if (typeof name !== 'string' || typeof from_dist !== 'string' || typeof to_dist !== 'string' || (version !== undefined && typeof version !== 'string')) {
      throw new RepodError('invalid_request', 'the body must be JSON {"package", "from_dist", "to_dist", "version"?, "force"?}', { status: 400 });
    }
    const result = await promote(core, { package: name, from: from_dist, to: to_dist, version, force: force === true }, principal.subject);
    announcePromotion(core.events, result, from_dist, principal.subject);
    return c.json(result, statusOf(result));
  });
  app.post('/migrate', describeRoute(docs.postMigrate), async (c) => {
    const principal = await requireRole(core, c, 'maintainer');
    const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
    const { from_dist, to_dist, force } = body ?? {};
    if (typeof from_dist !== 'string' || typeof to_dist !== 'string')
      throw new RepodError('invalid_request', 'the body must be JSON {"from_dist", "to_dist", "force"?}', { status: 400 });
    const result = await migrate(core, { from: from_dist, to: to_dist, force: force === true }, principal.subject);
    announcePromotion(core.events, result, from_dist, principal.subject);
    return c.json(result, statusOf(result));
  });
  // Gives every configured distribution that was never published to its first, empty revision.
  app.post('/init', describeRoute(docs.postInit), async (c) => {
    const principal = await requireRole(core, c, 'maintainer');
    const created: string[] = [];
    for (const d of core.distributions.all()) {
      const kind = d.kind === 'rpm' ? 'rpm' : 'apt';
      const revision = await core.repository.initialize(d.name, kind, kind === 'rpm' ? RPM_STREAMS : APT_STREAMS, { author: principal.subject, message: 'initialize' });
      if (revision) created.push(d.name);
    }
    return c.json({
      status: 'ok',
      created,
      existing: core.distributions
        .all()
        .map((d) => d.name)
        .filter((n) => !created.includes(n)),
    });
  });

  // One package by file name or NEVRA: DELETE /api/v1/distributions/rocky9/packages/hello-2.0-1.x86_64.rpm
  app.delete('/:dist/packages/:name', describeRoute(docs.deleteDistPackagesName), async (c) => {
    const principal = await requireRole(core, c, 'maintainer');
    return c.json(await removePackages(core, c.req.param('dist'), [c.req.param('name')], { author: principal.subject }));
  });

  // Several at once, as one revision: POST /api/v1/distributions/rocky9/remove {"packages": [...]}
  app.post('/:dist/remove', describeRoute(docs.postDistRemove), async (c) => {
    const principal = await requireRole(core, c, 'maintainer');
    const body = (await c.req.json().catch(() => null)) as { packages?: unknown; message?: unknown } | null;
    if (!body || !Array.isArray(body.packages) || !body.packages.every((p) => typeof p === 'string')) {
      throw new RepodError('invalid_request', 'the body must be JSON {"packages": ["<file name or NEVRA>", ...]}', { status: 400 });
    }
    return c.json(
      await removePackages(core, c.req.param('dist'), body.packages as string[], {
        author: principal.subject,
        message: typeof body.message === 'string' ? body.message : undefined,
      }),
    );
  });
  return app;
}

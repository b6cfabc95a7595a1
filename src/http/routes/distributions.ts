import { Hono } from 'hono';
import type { Core } from '../../core/core.ts';
import { RepodError } from '../../errors.ts';
import { APT_STREAMS } from '../../ingest/apt-entry.ts';
import { RPM_STREAMS } from '../../ingest/rpm-entry.ts';
import { migrate, promote } from '../../revisions/promote.ts';
import { type BatchResult, removePackages } from '../../revisions/publish.ts';
import { announcePromotion } from '../../security/announce.ts';
import { requireRole } from '../auth.ts';
import { describeRoute, type OperationDoc } from '../openapi/describe.ts';
import { buildsHandler } from './builds.ts';

/** What the OpenAPI document (/api/v1/openapi.json) says of each route below. */
const docs = {
  get: { summary: 'List distributions with their current revision', tags: ['Distributions'] },
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

const statusOf = (result: BatchResult) => (result.status === 'published' ? 201 : result.status === 'pending_review' ? 202 : 200);

/** `/api/v1/distributions`: what is configured, where each one stands, and removals. */
export function distributionRoutes(
  core: Pick<Core, 'caps' | 'committer' | 'distributions' | 'keyring' | 'mirrorPackages' | 'repository' | 'settings' | 'tokens' | 'gate' | 'events'>,
): Hono {
  const app = new Hono();
  app.get('/', describeRoute(docs.get), async (c) => {
    const list = await Promise.all(
      core.distributions.all().map(async (d) => {
        const { ref } = await core.repository.currentRef(d.name);
        return { ...d, revision: ref ? { id: ref.revision, number: ref.number, updated: ref.updated } : null };
      }),
    );
    return c.json({ distributions: list });
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

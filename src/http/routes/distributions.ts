import { Hono } from 'hono';
import type { Core } from '../../core.ts';
import { RepodError } from '../../errors.ts';
import { removePackages } from '../../revisions/uploads.ts';
import { requireRole } from '../auth.ts';

/** `/api/v1/distributions`: what is configured, where each one stands, and removals. */
export function distributionRoutes(core: Core): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    const list = await Promise.all(
      core.distributions.all().map(async (d) => {
        const { ref } = await core.repository.currentRef(d.name);
        return { ...d, revision: ref ? { id: ref.revision, number: ref.number, updated: ref.updated } : null };
      }),
    );
    return c.json({ distributions: list });
  });

  // One package by file name or NEVRA: DELETE /api/v1/distributions/rocky9/packages/hello-2.0-1.x86_64.rpm
  app.delete('/:dist/packages/:name', async (c) => {
    const principal = await requireRole(core, c, 'maintainer');
    return c.json(await removePackages(core, c.req.param('dist'), [c.req.param('name')], { author: principal.subject }));
  });

  // Several at once, as one revision: POST /api/v1/distributions/rocky9/remove {"packages": [...]}
  app.post('/:dist/remove', async (c) => {
    const principal = await requireRole(core, c, 'maintainer');
    const body = (await c.req.json().catch(() => null)) as { packages?: unknown; message?: unknown } | null;
    if (!body || !Array.isArray(body.packages) || !body.packages.every((p) => typeof p === 'string')) {
      throw new RepodError('invalid_request', 'the body must be JSON {"packages": ["<file name or NEVRA>", ...]}', { status: 400 });
    }
    return c.json(await removePackages(core, c.req.param('dist'), body.packages as string[], { author: principal.subject, message: typeof body.message === 'string' ? body.message : undefined }));
  });
  return app;
}

import { Hono } from 'hono';
import type { Core } from '../../core/core.ts';
import { distRepo, parseDistRepoRequest } from '../../revisions/dist-repo.ts';
import { requireRole } from '../auth.ts';
import { describeRoute, type OperationDoc } from '../openapi/describe.ts';

/** What the OpenAPI document (/api/v1/openapi.json) says of the route below. */
const docs = {
  postDistDistRepo: {
    summary: "Publish every package as its copy signed by the first listed key that signed one (Koji's dist-repo)",
    tags: ['Publishing'],
    role: 'maintainer',
    body: {
      json: {
        type: 'object',
        required: ['keys'],
        properties: {
          keys: { type: 'array', items: { type: 'string' }, description: 'key ids or fingerprints, in order of preference' },
          missing: { enum: ['fail', 'allow', 'skip'], description: 'packages no listed key signed: refuse (default), keep as they are, or leave out' },
          message: { type: 'string' },
        },
      },
    },
    responses: { 201: 'a new revision', 200: 'nothing to change', 422: 'packages lack a listed signature (missing=fail)' },
  },
} satisfies Record<string, OperationDoc>;

/** `POST /api/v1/distributions/<dist>/dist-repo {keys, missing?, message?}` (mounted under /api/v1/distributions). */
export function distRepoRoutes(core: Pick<Core, 'caps' | 'committer' | 'distributions' | 'repository' | 'tokens'>): Hono {
  const app = new Hono();
  app.post('/:dist/dist-repo', describeRoute(docs.postDistDistRepo), async (c) => {
    const principal = await requireRole(core, c, 'maintainer');
    const request = parseDistRepoRequest(await c.req.json().catch(() => null));
    const result = await distRepo(core, c.req.param('dist'), request, principal.subject);
    return c.json(result, result.status === 'published' ? 201 : 200);
  });
  return app;
}

import { type Context, Hono } from 'hono';
import type { Core } from '../../core/core.ts';
import { RepodError } from '../../errors.ts';
import { importPackages } from '../../import/import-package.ts';
import { announceChange } from '../../security/announce.ts';
import { requireRole } from '../auth.ts';
import { errorBody } from '../errors.ts';
import { describeRoute, type OperationDoc } from '../openapi/describe.ts';

/** What the OpenAPI document (/api/v1/openapi.json) says of each route below. */
const docs = {
  postApiV1ImportPackages: {
    summary: 'Import packages by name from the synced catalog, with their dependencies',
    tags: ['Import'],
    role: 'uploader',
    body: { json: { type: 'object' } },
  },
  postImportPackages: { summary: 'Import packages by name (short path)', tags: ['Import'], role: 'uploader', body: { json: { type: 'object' } } },
} satisfies Record<string, OperationDoc>;

type ImportCore = Pick<
  Core,
  'caps' | 'committer' | 'distributions' | 'keyring' | 'repository' | 'settings' | 'tokens' | 'gate' | 'events' | 'catalog' | 'importSources' | 'outbound' | 'installedProviders'
>;

/** `{name, version?}` from a list entry: a name, `name=version`, or an object. */
function packageSpec(value: unknown): { name: string; version?: string } {
  if (typeof value === 'string' && value.trim()) {
    const [name, version] = value.trim().split('=', 2);
    return version ? { name, version } : { name };
  }
  if (value && typeof value === 'object' && typeof (value as { name?: unknown }).name === 'string') {
    const { name, version } = value as { name: string; version?: unknown };
    return typeof version === 'string' && version ? { name, version } : { name };
  }
  throw new RepodError('invalid_request', `${JSON.stringify(value)} is not a package: use "name", "name=version" or {"name", "version"}`, { status: 400 });
}

/**
 * `POST /api/v1/import/packages` (also `/import/packages`), as Repod documents it:
 * `{"source_id": 1, "package": "nginx", "distribution": "jammy", "version"?, "with_dependencies"?}`,
 * or several at once with `"packages": [...]` (one revision). Answered like an upload: 201
 * published, 202 held for review, 200 already there, 422 refused by the gate.
 */
function importHandler(core: ImportCore) {
  return async (c: Context) => {
    const principal = await requireRole(core, c, 'uploader');
    const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
    if (!body) throw new RepodError('invalid_request', 'send JSON {"source_id", "package" or "packages", "distribution", "version"?, "with_dependencies"?}', { status: 400 });
    const sourceId = typeof body.source_id === 'string' && /^\d+$/.test(body.source_id) ? Number(body.source_id) : body.source_id;
    const packages =
      body.packages !== undefined
        ? Array.isArray(body.packages)
          ? body.packages.map(packageSpec)
          : (() => {
              throw new RepodError('invalid_request', 'packages must be a list', { status: 400 });
            })()
        : [packageSpec(typeof body.version === 'string' ? { name: body.package, version: body.version } : body.package)];
    if (typeof body.distribution !== 'string' || !body.distribution) throw new RepodError('missing_distribution', 'the distribution field is required', { status: 400 });
    try {
      const result = await importPackages(core, {
        sourceId: sourceId as number,
        distribution: body.distribution,
        packages,
        withDependencies: body.with_dependencies === true || body.with_dependencies === 'true',
        author: principal.subject,
      });
      announceChange(core.events, result, principal.subject);
      const first = result.packages[0];
      const single = body.packages === undefined && first ? { package: first.package, version: first.version, pipeline: first.pipeline, validation: first.validation } : {};
      return c.json({ ...single, ...result }, result.status === 'published' ? 201 : result.status === 'pending_review' ? 202 : 200);
    } catch (error) {
      if (error instanceof RepodError && (error.code === 'package_blocked' || error.code === 'package_rejected')) {
        const { details, ...rest } = errorBody(error);
        core.events.emit({ type: 'rejected', distribution: body.distribution, actor: principal.subject, data: { reason: error.message, ...(details ?? {}) } });
        return c.json({ ...rest, status: 'rejected', ...(details ?? {}) }, 422);
      }
      throw error;
    }
  };
}

export function importPackageRoutes(core: ImportCore): Hono {
  const app = new Hono();
  const handler = importHandler(core);
  app.post('/api/v1/import/packages', describeRoute(docs.postApiV1ImportPackages), handler);
  app.post('/import/packages', describeRoute(docs.postImportPackages), handler);
  return app;
}

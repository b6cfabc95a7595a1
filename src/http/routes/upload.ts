import { type Context, Hono } from 'hono';
import type { Core } from '../../core/core.ts';
import { ConflictError, RepodError } from '../../errors.ts';
import { discardStaged, type StagedPackage, stagePackage } from '../../ingest/stage.ts';
import { type BuildOptions, type PublishServices, publishUpload } from '../../revisions/publish.ts';
import { requireRole } from '../auth.ts';
import { errorBody } from '../errors.ts';
import { boundaryOf, MultipartReader, readText } from '../multipart.ts';

const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v);

/**
 * `POST /api/v1/upload` (also `/api/v1/upload/` and `/upload/`): multipart `file` + `distribution`
 * as Repod's CI scripts send it, or the raw package as the body with `?distribution=` for large
 * files. Answered directly with JSON; refusals carry honest status codes and Repod's `status` field.
 */
export function uploadHandler(core: Pick<Core, 'caps' | 'committer' | 'distributions' | 'keyring' | 'repository' | 'settings' | 'tokens'>) {
  return async (c: Context) => {
    const principal = await requireRole(core, c, 'uploader');
    const body = c.req.raw.body;
    if (!body) throw new RepodError('missing_file', 'the request has no body', { status: 400 });
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.req.query())) fields[k] = v;
    let staged: StagedPackage | null = null;
    const boundary = boundaryOf(c.req.header('content-type'));
    try {
      if (boundary) {
        const reader = new MultipartReader(body, boundary);
        for (let part = await reader.next(); part; part = await reader.next()) {
          if (part.filename !== undefined || part.name === 'file') {
            if (part.name !== 'file') {
              await part.body.cancel();
              continue;
            }
            if (staged) throw new RepodError('too_many_files', 'one file per upload request', { status: 400 });
            staged = await stagePackage(core.caps, part.body, { maxBytes: core.settings.maxUploadBytes });
          } else {
            fields[part.name] = (await readText(part.body)).trim();
          }
        }
      } else {
        staged = await stagePackage(core.caps, body, { maxBytes: core.settings.maxUploadBytes });
      }
    } catch (error) {
      if (staged) await discardStaged(core.caps, staged);
      throw error;
    }
    if (!staged) throw new RepodError('missing_file', 'the multipart field "file" is required', { status: 400 });
    return publishAndAnswer(c, core, fields.distribution, staged, { replace: truthy(fields.replace), author: principal.subject, component: fields.component || undefined });
  };
}

/**
 * Publishes one staged package and answers as `POST /api/v1/upload` does: 201 published, 200
 * already there, 409 with Repod's `status: "duplicate"`; other refusals are thrown. The completion
 * of an upload in parts (routes/uploads.ts) answers through this too, so both answers are the same.
 */
export async function publishAndAnswer(c: Context, core: PublishServices, distribution: string | undefined, staged: StagedPackage, options: BuildOptions): Promise<Response> {
  try {
    const result = await publishUpload(core, distribution, staged, options);
    return c.json(
      {
        ...result,
        message: result.status === 'published' ? `${result.filename} published to ${result.distribution}` : `${result.filename} is already in ${result.distribution}`,
      },
      result.status === 'published' ? 201 : 200,
    );
  } catch (error) {
    if (error instanceof ConflictError) return c.json({ ...errorBody(error), status: 'duplicate' }, 409);
    throw error;
  }
}

export function uploadRoutes(core: Pick<Core, 'caps' | 'committer' | 'distributions' | 'keyring' | 'repository' | 'settings' | 'tokens'>): Hono {
  const app = new Hono();
  const handler = uploadHandler(core);
  app.post('/api/v1/upload', handler);
  app.post('/api/v1/upload/', handler);
  app.post('/upload/', handler);
  app.post('/upload', handler);
  return app;
}

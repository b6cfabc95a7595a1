import type { Context } from 'hono';
import type { Core } from '../../core/core.ts';
import { RepodError } from '../../errors.ts';
import { discardStaged, type StagedPackage, stagePackage } from '../../ingest/stage.ts';
import { type BuildInput, publishBuild } from '../../revisions/publish.ts';
import { announceChange } from '../../security/announce.ts';
import { requireRole } from '../auth.ts';
import { errorBody } from '../errors.ts';
import { boundaryOf, MultipartReader, readText } from '../multipart.ts';

const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v);
const MAX_FILES = 10_000;

/**
 * Reads the rest of a refused request, part by part (never buffered), before answering: a client
 * still sending its batch (`repod push` streams hundreds of files per request) otherwise sees the
 * connection close under it ("other side closed") instead of the refusal it needs to go on with.
 */
async function drainParts(reader: MultipartReader): Promise<void> {
  try {
    for (let part = await reader.next(); part; part = await reader.next()) await part.body.cancel();
  } catch {
    // A broken body: nothing more to read, the connection closes after the answer.
  }
}

/**
 * `POST /api/v1/distributions/<dist>/builds`: a build system's push hook. One change (several
 * files, references to packages already stored, removals, "replace the previous build of these
 * names") becomes exactly one revision, or nothing if any part is refused. Multipart: `file`
 * (repeatable), `package` (sha256, repeatable), `remove` (repeatable), `replace_names`
 * (repeatable or comma-separated), `message`, `component`, `replace`; or JSON with the same
 * fields (no files).
 */
export function buildsHandler(core: Pick<Core, 'caps' | 'committer' | 'distributions' | 'keyring' | 'repository' | 'settings' | 'tokens' | 'gate' | 'events'>) {
  return async (c: Context) => {
    const principal = await requireRole(core, c, 'uploader');
    const dist = c.req.param('dist');
    const lists: Record<'package' | 'remove' | 'replace_names', string[]> = { package: [], remove: [], replace_names: [] };
    const fields: Record<string, string> = {};
    const staged: StagedPackage[] = [];
    const boundary = boundaryOf(c.req.header('content-type'));
    let reader: MultipartReader | null = null;
    try {
      if (boundary) {
        const body = c.req.raw.body;
        if (!body) throw new RepodError('invalid_request', 'the request has no body', { status: 400 });
        reader = new MultipartReader(body, boundary);
        for (let part = await reader.next(); part; part = await reader.next()) {
          if (part.name === 'file') {
            if (staged.length >= MAX_FILES) throw new RepodError('too_many_files', `at most ${MAX_FILES} files per build`, { status: 400 });
            staged.push(await stagePackage(core.caps, part.body, { maxBytes: core.settings.maxUploadBytes, fileName: part.filename }));
          } else if (part.filename !== undefined) {
            await part.body.cancel();
          } else if (part.name in lists) {
            lists[part.name as keyof typeof lists].push(...(await readText(part.body)).split(/[\s,]+/).filter(Boolean));
          } else {
            fields[part.name] = (await readText(part.body)).trim();
          }
        }
      } else {
        const json = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
        if (!json) throw new RepodError('invalid_request', 'send multipart/form-data (files) or JSON {packages, remove, replace_names, message}', { status: 400 });
        for (const [name, key] of [
          ['package', 'packages'],
          ['remove', 'remove'],
          ['replace_names', 'replace_names'],
        ] as const) {
          const v = json[key];
          if (v !== undefined && (!Array.isArray(v) || !v.every((x) => typeof x === 'string')))
            throw new RepodError('invalid_request', `${key} must be a list of strings`, { status: 400 });
          lists[name].push(...((v as string[] | undefined) ?? []));
        }
        for (const key of ['message', 'component', 'replace'] as const) if (json[key] !== undefined) fields[key] = String(json[key]);
      }
    } catch (error) {
      await Promise.all(staged.map((s) => discardStaged(core.caps, s)));
      if (reader && error instanceof RepodError && error.status < 500) await drainParts(reader);
      throw error;
    }
    const input: BuildInput = { staged, refs: lists.package, remove: lists.remove, replaceNames: lists.replace_names };
    try {
      const result = await publishBuild(core, dist, input, {
        author: principal.subject,
        message: fields.message || undefined,
        component: fields.component || undefined,
        replace: truthy(fields.replace),
      });
      announceChange(core.events, result, principal.subject);
      return c.json(result, result.status === 'published' ? 201 : result.status === 'pending_review' ? 202 : 200);
    } catch (error) {
      if (error instanceof RepodError && error.status === 409) return c.json({ ...errorBody(error), status: 'duplicate' }, 409);
      throw error;
    }
  };
}

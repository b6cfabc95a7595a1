import { type Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Core } from '../../core/core.ts';
import { ConflictError, RepodError } from '../../errors.ts';
import { candidateLabel } from '../../ingest/pipeline.ts';
import { checkSourceUpload, discardSourceFiles, isDscName, type StagedSource, type StagedSourceFile, stageSourceFile } from '../../ingest/source-stage.ts';
import { discardStaged, type StagedPackage, stagePackage } from '../../ingest/stage.ts';
import { type BuildOptions, type PublishServices, publishUpload, type UploadResult } from '../../revisions/publish.ts';
import { publishSource } from '../../revisions/source-upload.ts';
import { announceChange } from '../../security/announce.ts';
import type { EventSink } from '../../security/events.ts';
import { requireRole } from '../auth.ts';
import { errorBody } from '../errors.ts';
import { boundaryOf, MultipartReader, readText } from '../multipart.ts';
import { describeRoute, type OperationDoc } from '../openapi/describe.ts';

const UPLOAD_ANSWERS = {
  201: 'published',
  202: 'held for review',
  200: 'already in the distribution',
  409: 'a duplicate (Repod status "duplicate")',
  422: 'refused by the gate or unreadable (status "rejected")',
};

/** What the OpenAPI document (/api/v1/openapi.json) says of each route below. */
const docs = {
  postApiV1UploadStream: {
    summary: 'Upload one package, answered as Server-Sent Events (gate steps, then the result)',
    tags: ['Upload'],
    role: 'uploader',
    body: { multipart: { file: 'file', distribution: 'string', replace: 'string', component: 'string' } },
    responses: { 200: { description: 'event stream', contentType: 'text/event-stream' } },
  },
  postApiV1Upload: {
    summary: 'Upload one package (Repod-compatible: multipart file + distribution)',
    tags: ['Upload'],
    role: 'uploader',
    query: {
      distribution: 'the distribution, when the body is the raw package',
      component: 'APT: the component (default: the Section prefix, else the first)',
      filename: 'the file name, when the body is the raw package (a .udeb must be a udeb)',
    },
    body: { multipart: { file: 'file', distribution: 'string', replace: 'string', component: 'string' }, binary: true },
    responses: UPLOAD_ANSWERS,
  },
  postApiV1UploadSlash: {
    summary: "Upload one package (the same, with a trailing slash as Repod's scripts send it)",
    tags: ['Upload'],
    role: 'uploader',
    body: { multipart: { file: 'file', distribution: 'string' }, binary: true },
    responses: UPLOAD_ANSWERS,
  },
  postUploadSlash: {
    summary: "Upload one package (Repod's short path)",
    tags: ['Upload'],
    role: 'uploader',
    body: { multipart: { file: 'file', distribution: 'string' }, binary: true },
    responses: UPLOAD_ANSWERS,
  },
  postUpload: {
    summary: 'Upload one package (short path)',
    tags: ['Upload'],
    role: 'uploader',
    body: { multipart: { file: 'file', distribution: 'string' }, binary: true },
    responses: UPLOAD_ANSWERS,
  },
} satisfies Record<string, OperationDoc>;

const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v);

/**
 * `POST /api/v1/upload` (also `/api/v1/upload/` and `/upload/`): multipart `file` + `distribution`
 * as Repod's CI scripts send it, or the raw package as the body with `?distribution=` for large
 * files. Answered directly with JSON; refusals carry honest status codes and Repod's `status` field.
 */
type UploadCore = Pick<Core, 'caps' | 'committer' | 'distributions' | 'keyring' | 'repository' | 'settings' | 'tokens' | 'gate' | 'events'>;

/** A file part of a source upload (the .dsc and the tarballs and diffs it names), told apart by its name. */
const SOURCE_FILE = /\.(dsc|tar|tar\.(gz|xz|bz2|lzma|zst)|diff\.gz)$/i;

/** What an upload request carried: one package, or one source package (a .dsc and its files). */
type ReadUpload = { staged: StagedPackage; source?: undefined; fields: Record<string, string> } | { staged?: undefined; source: StagedSource; fields: Record<string, string> };

/**
 * Reads an upload request: its fields and its one package, staged (streamed into uploads/ and
 * parsed); or, when its files are a .dsc and the files it names (several `file` parts), the
 * source package, staged and checked against the .dsc (ingest/source-stage.ts).
 */
async function readUpload(core: UploadCore, c: Context): Promise<ReadUpload> {
  const body = c.req.raw.body;
  if (!body) throw new RepodError('missing_file', 'the request has no body', { status: 400 });
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.req.query())) fields[k] = v;
  let staged: StagedPackage | null = null;
  const sourceFiles: StagedSourceFile[] = [];
  const dscs: Array<{ file: StagedSourceFile; bytes: Uint8Array }> = [];
  const boundary = boundaryOf(c.req.header('content-type'));
  const maxBytes = core.settings.maxUploadBytes;
  try {
    if (boundary) {
      const reader = new MultipartReader(body, boundary);
      for (let part = await reader.next(); part; part = await reader.next()) {
        if (part.filename !== undefined || part.name === 'file') {
          if (part.name !== 'file') {
            await part.body.cancel();
            continue;
          }
          if (part.filename !== undefined && SOURCE_FILE.test(part.filename)) {
            const dsc = isDscName(part.filename);
            const { file, bytes } = await stageSourceFile(core.caps, part.body, { maxBytes, fileName: part.filename, keep: dsc });
            if (dsc) dscs.push({ file, bytes: bytes! });
            else sourceFiles.push(file);
            continue;
          }
          if (staged) throw new RepodError('too_many_files', 'one file per upload request', { status: 400 });
          staged = await stagePackage(core.caps, part.body, { maxBytes, fileName: part.filename });
        } else {
          fields[part.name] = (await readText(part.body)).trim();
        }
      }
    } else if (isDscName(fields.filename)) {
      throw new RepodError('missing_file', 'a source package is a .dsc and the files it names: send them as multipart `file` parts', { status: 400 });
    } else {
      staged = await stagePackage(core.caps, body, { maxBytes, fileName: fields.filename || undefined });
    }
    if (dscs.length || sourceFiles.length) {
      if (staged) throw new RepodError('too_many_files', 'a source package (.dsc and its files) is uploaded on its own, without binary packages', { status: 400 });
      if (dscs.length !== 1) {
        throw new RepodError(dscs.length ? 'too_many_files' : 'missing_file', `a source upload carries exactly one .dsc (this one has ${dscs.length})`, {
          status: dscs.length ? 400 : 422,
        });
      }
      const source = checkSourceUpload(dscs[0]!.bytes, dscs[0]!.file, sourceFiles);
      return { source, fields };
    }
  } catch (error) {
    if (staged) await discardStaged(core.caps, staged);
    await discardSourceFiles(core.caps, [...sourceFiles, ...dscs.map((d) => d.file)]);
    throw error;
  }
  if (!staged) throw new RepodError('missing_file', 'the multipart field "file" is required', { status: 400 });
  return { staged, fields };
}

export function uploadHandler(core: UploadCore) {
  return async (c: Context) => {
    const principal = await requireRole(core, c, 'uploader');
    // Concurrent uploads join one publish: one still arriving is worth a publish's short wait.
    const arrived = core.committer.announce();
    try {
      const { staged, source, fields } = await readUpload(core, c);
      const options: BuildOptions = { replace: truthy(fields.replace), author: principal.subject, component: fields.component || undefined, arrived };
      if (source) {
        const { body, status } = await sourceAnswer(core, fields.distribution, source, options);
        return c.json(body, status as 200);
      }
      return await publishAndAnswer(c, core, fields.distribution, staged, options);
    } finally {
      arrived();
    }
  };
}

/**
 * `POST /api/v1/upload/stream`: the same form as the upload, answered as Server-Sent Events: an
 * `event: step` as each gate step ends, then `event: result` whose data is the upload's normal
 * answer (with `http_status`, the status code the plain upload would have answered with).
 */
export function uploadStreamHandler(core: UploadCore) {
  return async (c: Context) => {
    const principal = await requireRole(core, c, 'uploader');
    const { staged, source, fields } = await readUpload(core, c);
    return streamSSE(c, async (stream) => {
      let id = 0;
      const options: BuildOptions = {
        replace: truthy(fields.replace),
        author: principal.subject,
        component: fields.component || undefined,
        onStep: (pkg, step) => {
          void stream.writeSSE({ event: 'step', id: String(id++), data: JSON.stringify({ package: candidateLabel(pkg), ...step }) });
        },
      };
      const { body, status } = source ? await sourceAnswer(core, fields.distribution, source, options) : await answerOf(core, fields.distribution, staged!, options);
      await stream.writeSSE({ event: 'result', id: String(id++), data: JSON.stringify({ ...body, http_status: status }) });
    });
  };
}

/**
 * Publishes one staged package and answers as `POST /api/v1/upload` does: 201 published, 200
 * already there, 409 with Repod's `status: "duplicate"`; other refusals are thrown. The completion
 * of an upload in parts (routes/uploads.ts) answers through this too, so both answers are the same.
 */
export async function publishAndAnswer(
  c: Context,
  core: PublishServices & { events: EventSink },
  distribution: string | undefined,
  staged: StagedPackage,
  options: BuildOptions,
): Promise<Response> {
  const { body, status } = await answerOf(core, distribution, staged, options);
  return c.json(body, status as 200);
}

function uploadMessage(result: UploadResult): string {
  if (result.status === 'published') return `${result.filename} published to ${result.distribution}`;
  if (result.status === 'pending_review') return `${result.filename} is stored and waits for review before it is published to ${result.distribution}`;
  return `${result.filename} is already in ${result.distribution}`;
}

/** Publishes and shapes the answer: 201 published, 202 held for review, 200 already there, 409 duplicate, 422 refused by the gate. */
function answerOf(
  core: PublishServices & { events: EventSink },
  distribution: string | undefined,
  staged: StagedPackage,
  options: BuildOptions,
): Promise<{ body: Record<string, unknown>; status: number }> {
  return answerWith(core, distribution, () => publishUpload(core, distribution, staged, options), options);
}

async function answerWith(
  core: PublishServices & { events: EventSink },
  distribution: string | undefined,
  publish: () => Promise<UploadResult>,
  options: BuildOptions,
): Promise<{ body: Record<string, unknown>; status: number }> {
  try {
    const result = await publish();
    const { status: _s, ...rest } = result;
    announceChange(core.events, { ...rest, packages: [{ ...result }], removed: [] }, options.author);
    const status = result.status === 'published' ? 201 : result.status === 'pending_review' ? 202 : 200;
    return { body: { ...result, message: uploadMessage(result) }, status };
  } catch (error) {
    if (error instanceof ConflictError) return { body: { ...errorBody(error), status: 'duplicate' }, status: 409 };
    if (error instanceof RepodError && (error.code === 'package_blocked' || error.code === 'package_rejected')) {
      const { details, ...body } = errorBody(error);
      const gate = (details ?? {}) as Record<string, unknown>;
      core.events.emit({ type: 'rejected', distribution, actor: options.author, data: { package: gate.package, sha256: gate.sha256, reason: error.message } });
      return { body: { ...body, status: 'rejected', ...gate }, status: 422 };
    }
    if (error instanceof RepodError && error.status < 500 && options.onStep) return { body: errorBody(error), status: error.status };
    throw error;
  }
}

/**
 * Publishes a checked source package (a .dsc and its files: revisions/source-upload.ts) and answers
 * as for a package: 201 published, 202 held for review, 200 already there, 409 duplicate, 422
 * refused by the gate (with its validation and pipeline), plus the pool path of each file.
 */
function sourceAnswer(
  core: PublishServices & { events: EventSink },
  distribution: string | undefined,
  source: StagedSource,
  options: BuildOptions,
): Promise<{ body: Record<string, unknown>; status: number }> {
  return answerWith(core, distribution, () => publishSource(core, distribution, source, options), options);
}

export function uploadRoutes(core: UploadCore): Hono {
  const app = new Hono();
  const handler = uploadHandler(core);
  app.post('/api/v1/upload/stream', describeRoute(docs.postApiV1UploadStream), uploadStreamHandler(core));
  app.post('/api/v1/upload', describeRoute(docs.postApiV1Upload), handler);
  app.post('/api/v1/upload/', describeRoute(docs.postApiV1UploadSlash), handler);
  app.post('/upload/', describeRoute(docs.postUploadSlash), handler);
  app.post('/upload', describeRoute(docs.postUpload), handler);
  return app;
}

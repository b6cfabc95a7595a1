import { type Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { EntryWithSegments } from '../../bucket/chunk.ts';
import type { AptDistribution } from '../../config/distributions.ts';
import type { Core } from '../../core/core.ts';
import { ConflictError, RepodError } from '../../errors.ts';
import { resolveComponent } from '../../ingest/apt-component.ts';
import { candidateLabel } from '../../ingest/pipeline.ts';
import { commitSource, SOURCE_ARCH, sourceKey } from '../../ingest/source-entry.ts';
import { checkSourceUpload, discardSourceFiles, isDscName, type StagedSource, type StagedSourceFile, stageSourceFile } from '../../ingest/source-stage.ts';
import { discardStaged, type StagedPackage, stagePackage } from '../../ingest/stage.ts';
import { type BuildOptions, type PublishServices, publishUpload, refuseMirror, requireDistribution, type UploadResult } from '../../revisions/publish.ts';
import type { CommittedChange } from '../../revisions/publish-group.ts';
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
    const { staged, source, fields } = await readUpload(core, c);
    const options = { replace: truthy(fields.replace), author: principal.subject, component: fields.component || undefined };
    if (source) {
      const { body, status } = await sourceAnswer(core, fields.distribution, source, options);
      return c.json(body, status as 200);
    }
    return publishAndAnswer(c, core, fields.distribution, staged, options);
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
    if (source) {
      // A source package passes no gate steps: its answer is the only event.
      return streamSSE(c, async (stream) => {
        const { body, status } = await sourceAnswer(core, fields.distribution, source, {
          replace: truthy(fields.replace),
          author: principal.subject,
          component: fields.component || undefined,
        });
        await stream.writeSSE({ event: 'result', id: '0', data: JSON.stringify({ ...body, http_status: status }) });
      });
    }
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
      const { body, status } = await answerOf(core, fields.distribution, staged, options);
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
async function answerOf(
  core: PublishServices & { events: EventSink },
  distribution: string | undefined,
  staged: StagedPackage,
  options: BuildOptions,
): Promise<{ body: Record<string, unknown>; status: number }> {
  try {
    const result = await publishUpload(core, distribution, staged, options);
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
 * Publishes a checked source package (a .dsc and its files) and shapes the answer as for a package:
 * 201 published, 200 already there, 409 duplicate (the same source and version with another .dsc,
 * or a pool path that holds other bytes). The source goes to the named component, else the
 * distribution's first. Refusals before the commit leave the revision and the pool untouched.
 */
async function sourceAnswer(
  core: PublishServices & { events: EventSink },
  distribution: string | undefined,
  source: StagedSource,
  options: { replace: boolean; author: string; component?: string },
): Promise<{ body: Record<string, unknown>; status: number }> {
  const { caps } = core;
  const staged = [source.self, ...source.files];
  let component: string;
  let dist: AptDistribution;
  try {
    const found = requireDistribution(core.distributions, distribution);
    refuseMirror(found);
    if (found.kind !== 'apt') {
      throw new RepodError('wrong_package_type', `distribution ${found.name} is an RPM distribution; a Debian source package (.dsc) goes to an APT distribution`, { status: 422 });
    }
    dist = found;
    component = resolveComponent(dist, options.component, undefined);
    const key = sourceKey(component, source.dsc.source, source.dsc.version);
    const current = await core.repository.current(dist.name);
    const existing = current && !options.replace ? await core.repository.findEntry(current, key) : null;
    if (existing && existing.id !== source.self.sha256) {
      throw new ConflictError(`${existing.label} is already published with a different .dsc (sha256 ${existing.id}); replace it explicitly`, 'duplicate_package', {
        existing: existing.id,
        uploaded: source.self.sha256,
      });
    }
  } catch (error) {
    await discardSourceFiles(caps, staged);
    if (error instanceof ConflictError) return { body: { ...errorBody(error), status: 'duplicate' }, status: 409 };
    throw error;
  }
  let entry: EntryWithSegments;
  try {
    entry = await commitSource(caps, source, component);
  } catch (error) {
    if (error instanceof ConflictError) return { body: { ...errorBody(error), status: 'duplicate' }, status: 409 };
    throw error;
  }
  const label = entry.entry.label;
  let committed: CommittedChange;
  try {
    committed = await core.committer.submit(dist.name, {
      dist,
      resolve: async () => ({ add: [entry], remove: [], replace: options.replace }),
      meta: { author: options.author, message: `upload ${label}` },
    });
  } catch (error) {
    if (error instanceof ConflictError) return { body: { ...errorBody(error), status: 'duplicate' }, status: 409 };
    throw error;
  }
  const { revision, outcome } = committed;
  const published = outcome.added.some((e) => e.id === entry.entry.id);
  const info = {
    package: source.dsc.source,
    version: source.dsc.version,
    architecture: SOURCE_ARCH,
    filename: entry.entry.file,
    sha256: source.self.sha256,
    size: source.self.size,
  };
  const result = {
    status: published ? ('published' as const) : ('unchanged' as const),
    distribution: dist.name,
    revision: revision ? { id: revision.id, number: revision.number } : null,
  };
  announceChange(core.events, { ...result, packages: [{ ...info, status: result.status }], removed: [] }, options.author);
  const files = [entry.entry.file, ...source.files.map((f) => `${entry.entry.file.slice(0, entry.entry.file.lastIndexOf('/'))}/${f.name}`)];
  const message = published ? `${label} published to ${dist.name}` : `${label} is already in ${dist.name}`;
  return { body: { ...result, ...info, files, message }, status: published ? 201 : 200 };
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

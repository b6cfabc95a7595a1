import { type Context, Hono } from 'hono';
import type { Principal } from '../../auth/roles.ts';
import type { Core } from '../../core/core.ts';
import { NotFoundError, RepodError } from '../../errors.ts';
import { discardStaged, type StagedPackage, stagePackage } from '../../ingest/stage.ts';
import {
  checkParts,
  claimCompletion,
  completionRunning,
  createUploadSession,
  deleteUploadSession,
  isExpired,
  partBytes,
  partCount,
  partsStream,
  presignSecondsFor,
  readUploadSession,
  releaseCompletion,
  requireAllParts,
  sameSecret,
  storedParts,
  type UploadRequest,
  type UploadSession,
  uploadKeys,
  writePart,
} from '../../ingest/upload-session.ts';
import { refuseMirror, requireDistribution } from '../../revisions/publish.ts';
import { requireRole } from '../auth.ts';
import { describeRoute, type OperationDoc } from '../openapi/describe.ts';
import { baseUrl } from '../paths.ts';
import { publishAndAnswer } from './upload.ts';

/** What the OpenAPI document (/api/v1/openapi.json) says of each route below. */
const docs = {
  post: {
    summary: 'Start an upload in parts (large packages)',
    tags: ['Upload'],
    role: 'uploader',
    body: {
      json: {
        type: 'object',
        required: ['filename', 'size', 'distribution'],
        properties: { filename: { type: 'string' }, size: { type: 'integer' }, distribution: { type: 'string' }, part_size: { type: 'integer' } },
      },
    },
    responses: { 201: 'the session and its part URLs', 422: 'a file of a Debian source package (.dsc, tarball, diff): those go to POST /api/v1/upload together' },
  },
  getId: { summary: 'An upload session and the parts received', tags: ['Upload'], role: 'uploader' },
  deleteId: { summary: 'Abandon an upload session', tags: ['Upload'], role: 'uploader' },
  putIdPartsNumber: { summary: 'Send one part (authorized by the token in the part URL)', tags: ['Upload'], query: { token: "the part URL's token" }, body: { binary: true } },
  postIdComplete: {
    summary: 'Complete an upload in parts and publish the package',
    tags: ['Upload'],
    role: 'uploader',
    responses: { 201: 'published', 202: 'held for review', 200: 'already there', 409: 'a duplicate', 422: 'refused' },
  },
} satisfies Record<string, OperationDoc>;

type UploadsCore = Pick<Core, 'caps' | 'committer' | 'distributions' | 'keyring' | 'repository' | 'settings' | 'tokens' | 'gate' | 'events'>;

/**
 * Uploads in parts, for packages larger than one request body may be (Cloudflare Workers take
 * 100 MB): `POST /api/v1/uploads` announces the package and answers one URL per part, presigned
 * straight to the store where it can presign, else repod's own
 * `PUT /api/v1/uploads/<id>/parts/<n>?token=` (the token stands in for the bearer token, as a
 * presigned URL's signature does). `POST .../complete` streams the parts through the same staging
 * and publish as `POST /api/v1/upload` and answers exactly as it does.
 *
 * Parts are kept until the package is read whole: a refused completion for missing or wrong-sized
 * parts (409/400) or a failure of the store (5xx) keeps them for another try; once the package was
 * read and refused (invalid, another sha256 than announced, a duplicate) the session and its parts
 * are deleted, as a one-request upload leaves nothing behind.
 */
export function uploadsRoutes(core: UploadsCore): Hono {
  const app = new Hono();

  app.post('/', describeRoute(docs.post), async (c) => {
    const principal = await requireRole(core, c, 'uploader');
    const request = parseRequest(await c.req.json().catch(() => null));
    refuseSourceFile(request.filename);
    const dist = requireDistribution(core.distributions, request.distribution);
    refuseMirror(dist);
    if (dist.kind === 'apt' && request.component !== undefined && !dist.components.includes(request.component)) {
      throw new RepodError('unknown_component', `distribution ${dist.name} has no component ${request.component} (it has ${dist.components.join(', ')})`, { status: 422 });
    }
    const session = await createUploadSession(core.caps, core.settings, request, principal.subject);
    core.caps.log('upload session created', { id: session.id, by: principal.subject, size: session.size, parts: partCount(session), distribution: session.distribution });
    return c.json(await describe(core, c, session, null), 201);
  });

  app.get('/:id', describeRoute(docs.getId), async (c) => {
    const principal = await requireRole(core, c, 'uploader');
    const { session } = await sessionOf(core, c.req.param('id'), principal);
    return c.json(await describe(core, c, session, await storedParts(core.caps.store, session)));
  });

  app.delete('/:id', describeRoute(docs.deleteId), async (c) => {
    const principal = await requireRole(core, c, 'uploader');
    const { session } = await sessionOf(core, c.req.param('id'), principal, { expired: true });
    if (completionRunning(session, core.caps.now())) throw new RepodError('upload_completing', `upload ${session.id} is being completed`, { status: 409 });
    const parts = await deleteUploadSession(core.caps.store, session.id);
    return c.json({ status: 'aborted', id: session.id, deleted_parts: parts });
  });

  // No bearer token: the session's secret in the URL is the credential, as a presigned URL's signature.
  app.put('/:id/parts/:number', describeRoute(docs.putIdPartsNumber), async (c) => {
    const id = c.req.param('id');
    const found = await readUploadSession(core.caps.store, id);
    if (!found) throw new NotFoundError(`no upload ${id} (completed, aborted, expired or never created)`, 'unknown_upload');
    const { session } = found;
    if (!sameSecret(c.req.query('token') ?? '', session.token)) throw new RepodError('invalid_upload_token', `the token of this part URL is not upload ${id}'s`, { status: 403 });
    if (isExpired(session, core.caps.now())) throw expired(session);
    if (completionRunning(session, core.caps.now())) throw new RepodError('upload_completing', `upload ${id} is being completed: its parts cannot change`, { status: 409 });
    const n = Number(c.req.param('number'));
    if (!/^\d+$/.test(c.req.param('number')) || n < 1 || n > partCount(session)) {
      throw new NotFoundError(`upload ${id} has parts 1 to ${partCount(session)}, not ${c.req.param('number')}`, 'unknown_part');
    }
    const expected = partBytes(session, n);
    const declared = c.req.header('content-length');
    if (declared !== undefined && Number(declared) !== expected) {
      throw new RepodError('wrong_part_size', `part ${n} of upload ${id} must be ${expected} bytes; the request declares ${declared}`, { status: 400 });
    }
    const body = c.req.raw.body;
    if (!body) throw new RepodError('wrong_part_size', `part ${n} of upload ${id} must be ${expected} bytes; the request has no body`, { status: 400 });
    const { etag, size } = await writePart(core.caps.store, session, n, body);
    return c.json({ status: 'received', id, number: n, size, etag });
  });

  app.post('/:id/complete', describeRoute(docs.postIdComplete), async (c) => {
    const principal = await requireRole(core, c, 'uploader');
    const found = await sessionOf(core, c.req.param('id'), principal);
    const { caps } = core;
    requireAllParts(found.session, checkParts(found.session, await storedParts(caps.store, found.session)));
    const claimed = await claimCompletion(caps, found);
    const { session } = claimed;
    const read: { failure: RepodError | null } = { failure: null };
    let staged: StagedPackage | null = null;
    let answer: Response;
    try {
      try {
        staged = await stagePackage(
          caps,
          partsStream(caps.store, session, (e) => (read.failure = e)),
          { maxBytes: core.settings.maxUploadBytes, fileName: session.filename },
        );
      } catch (error) {
        throw read.failure ?? error;
      }
      if (session.sha256 && staged.sha256 !== session.sha256) {
        await discardStaged(caps, staged);
        throw new RepodError('sha256_mismatch', `the parts of upload ${session.id} make a file of sha256 ${staged.sha256}, not the announced ${session.sha256}`, {
          status: 422,
          details: { expected: session.sha256, actual: staged.sha256 },
        });
      }
      answer = await publishAndAnswer(c, core, session.distribution, staged, {
        replace: session.replace,
        author: session.author,
        component: session.component,
        ...(session.message !== undefined ? { message: session.message } : {}),
      });
    } catch (error) {
      // Parts that are missing or changed, or a store that failed: worth another try with the parts kept.
      if (error === read.failure || !(error instanceof RepodError) || error.status >= 500) {
        await releaseCompletion(caps, claimed);
      } else {
        await deleteUploadSession(caps.store, session.id).catch(() => undefined);
      }
      throw error;
    }
    await deleteUploadSession(caps.store, session.id).catch((error) => caps.log('upload session cleanup failed', { id: session.id, message: String(error) }));
    return answer;
  });

  return app;
}

function expired(session: UploadSession): RepodError {
  return new RepodError('upload_expired', `upload ${session.id} expired at ${session.expires}: start a new one`, { status: 410 });
}

/** The session named in the path, for its author (or an admin), not expired unless asked. */
async function sessionOf(core: UploadsCore, id: string, principal: Principal, options: { expired?: boolean } = {}) {
  const found = await readUploadSession(core.caps.store, id);
  if (!found) throw new NotFoundError(`no upload ${id} (completed, aborted, expired or never created)`, 'unknown_upload');
  if (found.session.author !== principal.subject && principal.role !== 'admin') {
    throw new RepodError('forbidden', `upload ${id} belongs to ${found.session.author}, not ${principal.subject}`, { status: 403 });
  }
  if (!options.expired && isExpired(found.session, core.caps.now())) throw expired(found.session);
  return found;
}

/** A session as clients see it: where each part goes and, once asked, which arrived. */
async function describe(core: UploadsCore, c: Context, session: UploadSession, stored: Map<number, number> | null) {
  const { store } = core.caps;
  const base = `${baseUrl(c.req.raw)}/api/v1/uploads/${session.id}`;
  const presign = store.capabilities.presign && store.presign ? store.presign.bind(store) : null;
  const expiresInSeconds = presignSecondsFor(session, core.caps.now());
  const parts = [];
  for (let n = 1; n <= partCount(session); n++) {
    const size = partBytes(session, n);
    const received = stored ? stored.get(n) === size : undefined;
    // Parts already received get no URL when asked again: only what is left to send.
    const url = received
      ? undefined
      : presign
        ? await presign(uploadKeys.part(session.id, n), { method: 'PUT', expiresInSeconds })
        : `${base}/parts/${n}?token=${encodeURIComponent(session.token)}`;
    parts.push({ number: n, size, ...(url ? { url, method: 'PUT' } : {}), ...(received !== undefined ? { received } : {}) });
  }
  return {
    id: session.id,
    status: completionRunning(session, core.caps.now()) ? 'completing' : stored ? 'pending' : 'created',
    filename: session.filename,
    size: session.size,
    distribution: session.distribution,
    ...(session.component !== undefined ? { component: session.component } : {}),
    ...(session.sha256 !== undefined ? { sha256: session.sha256 } : {}),
    part_size: session.partSize,
    parts,
    ...(stored ? { received_bytes: parts.filter((p) => p.received).reduce((n, p) => n + p.size, 0), missing: parts.filter((p) => !p.received).map((p) => p.number) } : {}),
    part_urls: presign ? 'store' : 'repod',
    complete_url: `${base}/complete`,
    abort_url: base,
    created_at: session.created,
    expires_at: session.expires,
  };
}

/**
 * An upload session carries one package file. A Debian source package is a set (the .dsc and the
 * tarballs and diff it names) that is checked against its .dsc as one: it goes to the one-request
 * upload, so a session for one of its files is refused before any part is sent.
 */
function refuseSourceFile(filename: string): void {
  if (!/\.(dsc|tar|tar\.(gz|xz|bz2|lzma|zst)|diff\.gz)$/i.test(filename)) return;
  throw new RepodError(
    'source_upload_unsupported',
    `${filename} is part of a Debian source package: upload the .dsc with every file it names in one request, as multipart "file" parts of POST /api/v1/upload (repod push x.dsc does); upload sessions carry one binary package`,
    { status: 422, details: { filename, route: 'POST /api/v1/upload' } },
  );
}

/** The JSON body of `POST /api/v1/uploads`, checked field by field. */
function parseRequest(body: unknown): UploadRequest {
  const usage = 'the body must be JSON {"filename", "size", "distribution", "component"?, "replace"?, "sha256"?, "message"?, "part_size"?}';
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new RepodError('invalid_request', usage, { status: 400 });
  const b = body as Record<string, unknown>;
  const bad = (field: string, what: string) => new RepodError('invalid_request', `${field} must be ${what}; ${usage}`, { status: 400 });
  if (typeof b.filename !== 'string' || !b.filename || b.filename.length > 255 || /[/\\\u0000]/.test(b.filename)) throw bad('filename', 'a file name (no "/")');
  if (typeof b.size !== 'number') throw bad('size', "the package's length in bytes");
  if (b.distribution !== undefined && typeof b.distribution !== 'string') throw bad('distribution', 'a distribution name');
  if (b.component !== undefined && (typeof b.component !== 'string' || !b.component)) throw bad('component', 'an APT component name');
  if (b.replace !== undefined && typeof b.replace !== 'boolean') throw bad('replace', 'true or false');
  if (b.message !== undefined && typeof b.message !== 'string') throw bad('message', 'a string');
  if (b.sha256 !== undefined && (typeof b.sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(b.sha256))) throw bad('sha256', '64 hex digits');
  if (b.part_size !== undefined && typeof b.part_size !== 'number') throw bad('part_size', 'a number of bytes');
  return {
    filename: b.filename,
    size: b.size,
    distribution: (b.distribution as string | undefined) ?? '',
    ...(b.component !== undefined ? { component: b.component as string } : {}),
    ...(b.replace !== undefined ? { replace: b.replace } : {}),
    ...(b.message !== undefined ? { message: b.message } : {}),
    ...(b.sha256 !== undefined ? { sha256: (b.sha256 as string).toLowerCase() } : {}),
    ...(b.part_size !== undefined ? { partSize: b.part_size } : {}),
  };
}

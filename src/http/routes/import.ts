/**
 * Importing from upstream repositories: sources (`/sources`), index syncs answered as
 * Server-Sent Events (`/sources/<id>/sync`), their jobs (`/jobs`) and the catalog search
 * (`/catalog`). Mounted at /api/v1/import; the sync alone also at /import, where Repod's
 * documented curl calls send it. Maintainer role to write, reader to read.
 */
import { type Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Core } from '../../core/core.ts';
import { NotFoundError, RepodError } from '../../errors.ts';
import type { CatalogPackage } from '../../import/catalog.ts';
import { type ImportSourceInput, unknownSource } from '../../import/sources.ts';
import type { SyncJobs } from '../../import/sync-jobs.ts';
import { requireRole } from '../auth.ts';
import { describeRoute, type OperationDoc } from '../openapi/describe.ts';

/** What the OpenAPI document (/api/v1/openapi.json) says of each route below. */
const docs = {
  postSources: { summary: 'Add an upstream repository to import from', tags: ['Import'], role: 'maintainer', body: { json: { type: 'object' } }, responses: { 201: 'the source' } },
  getSources: { summary: 'List import sources', tags: ['Import'], role: 'reader' },
  getSourcesId: { summary: 'One import source', tags: ['Import'], role: 'reader' },
  patchSourcesId: { summary: 'Change an import source', tags: ['Import'], role: 'maintainer', body: { json: { type: 'object' } } },
  deleteSourcesId: { summary: 'Delete an import source', tags: ['Import'], role: 'maintainer' },
  postSourcesIdSync: { summary: "Start syncing a source's index into the catalog (a job)", tags: ['Import'], role: 'maintainer', responses: { 202: 'the job' } },
  getJobs: { summary: 'List sync jobs', tags: ['Import'], role: 'reader', query: { limit: 'at most this many (1-1000, default 100)' } },
  getJobsId: { summary: 'One sync job and its progress', tags: ['Import'], role: 'reader' },
  getJobsIdEvents: {
    summary: "A sync job's progress as Server-Sent Events",
    tags: ['Import'],
    role: 'reader',
    query: { from: 'the first event number to send' },
    responses: { 200: { description: 'event stream', contentType: 'text/event-stream' } },
  },
  postJobsIdCancel: { summary: 'Cancel a sync job', tags: ['Import'], role: 'maintainer' },
  getCatalog: {
    summary: 'Search the synced catalog of upstream packages',
    tags: ['Import'],
    role: 'reader',
    query: { q: 'text to search for', source_id: 'only this source', arch: 'only this architecture', limit: 'at most this many' },
  },
} satisfies Record<string, OperationDoc>;

type ImportCore = Pick<Core, 'tokens' | 'importSources' | 'catalog' | 'syncJobs'>;

export function importRoutes(core: ImportCore): Hono {
  const app = new Hono();

  app.post('/sources', describeRoute(docs.postSources), async (c) => {
    const principal = await requireRole(core, c, 'maintainer');
    const source = await core.importSources.create(await jsonBody(c), principal.subject);
    return c.json(source, 201);
  });

  app.get('/sources', describeRoute(docs.getSources), async (c) => {
    await requireRole(core, c, 'reader');
    return c.json({ sources: await core.importSources.list() });
  });

  app.get('/sources/:id', describeRoute(docs.getSourcesId), async (c) => {
    await requireRole(core, c, 'reader');
    const id = sourceId(c.req.param('id'));
    const source = await core.importSources.get(id);
    if (!source) throw unknownSource(id);
    return c.json(source);
  });

  app.patch('/sources/:id', describeRoute(docs.patchSourcesId), async (c) => {
    await requireRole(core, c, 'maintainer');
    return c.json(await core.importSources.update(sourceId(c.req.param('id')), await jsonBody(c)));
  });

  app.delete('/sources/:id', describeRoute(docs.deleteSourcesId), async (c) => {
    await requireRole(core, c, 'maintainer');
    const id = sourceId(c.req.param('id'));
    if (!(await core.importSources.remove(id))) throw unknownSource(id);
    core.catalog.invalidate(id);
    return c.json({ status: 'deleted', id });
  });

  app.post('/sources/:id/sync', describeRoute(docs.postSourcesIdSync), syncHandler(core));

  app.get('/jobs', describeRoute(docs.getJobs), async (c) => {
    await requireRole(core, c, 'reader');
    const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 100) || 100, 1), 1000);
    return c.json({ jobs: await core.syncJobs.list(limit) });
  });

  app.get('/jobs/:id', describeRoute(docs.getJobsId), async (c) => {
    await requireRole(core, c, 'reader');
    const job = await core.syncJobs.get(c.req.param('id'));
    if (!job) throw unknownJob(c.req.param('id'));
    return c.json(job);
  });

  app.get('/jobs/:id/events', describeRoute(docs.getJobsIdEvents), async (c) => {
    await requireRole(core, c, 'reader');
    const id = c.req.param('id');
    const lastEventId = Number(c.req.header('last-event-id'));
    const from = c.req.query('from') !== undefined ? Number(c.req.query('from')) : Number.isInteger(lastEventId) ? lastEventId + 1 : 0;
    if (!Number.isInteger(from) || from < 0) throw new RepodError('invalid_request', 'from must be a whole number of events', { status: 400 });
    if (!(await core.syncJobs.get(id))) throw unknownJob(id);
    return eventStream(c, core.syncJobs, id, from);
  });

  app.post('/jobs/:id/cancel', describeRoute(docs.postJobsIdCancel), async (c) => {
    const principal = await requireRole(core, c, 'maintainer');
    return c.json(await core.syncJobs.cancel(c.req.param('id'), principal.subject));
  });

  app.get('/catalog', describeRoute(docs.getCatalog), async (c) => {
    await requireRole(core, c, 'reader');
    const sourceQuery = c.req.query('source_id');
    const limitQuery = c.req.query('limit');
    const limit = limitQuery === undefined || limitQuery === '' ? undefined : Number(limitQuery);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
      throw new RepodError('invalid_request', 'limit must be a positive whole number (at most 1000)', { status: 400 });
    const id = sourceQuery === undefined || sourceQuery === '' ? undefined : sourceId(sourceQuery);
    const sources = new Map((await core.importSources.listCached()).map((s) => [s.id, s.name]));
    if (id !== undefined && !sources.has(id) && !(await core.importSources.get(id))) throw unknownSource(id);
    const packages = await core.catalog.search({ q: c.req.query('q'), sourceId: id, arch: c.req.query('arch') || undefined, limit });
    return c.json({ packages: packages.map((p) => catalogAnswer(p, sources.get(p.sourceId))), count: packages.length });
  });

  return app;
}

/** The routes also served outside /api/v1 (mounted at /import). */
export function importShortRoutes(core: ImportCore): Hono {
  const app = new Hono();
  app.post('/sources/:id/sync', describeRoute(docs.postSourcesIdSync), syncHandler(core));
  return app;
}

/** Starts a sync (409 naming the running job when one runs) and streams its events until it ends. */
function syncHandler(core: ImportCore) {
  return async (c: Context) => {
    const principal = await requireRole(core, c, 'maintainer');
    const job = await core.syncJobs.start(sourceId(c.req.param('id') ?? ''), principal.subject);
    c.header('x-repod-job', job.id);
    return eventStream(c, core.syncJobs, job.id, 0);
  };
}

/** `data: {"status":...,"count":...,"message":...}` per event, with its index as the SSE id (resumable with Last-Event-ID). */
function eventStream(c: Context, jobs: SyncJobs, id: string, from: number): Response {
  return streamSSE(c, async (stream) => {
    const closed = new AbortController();
    stream.onAbort(() => closed.abort());
    for await (const { index, event } of jobs.events(id, from, closed.signal)) {
      await stream.writeSSE({ id: String(index), data: JSON.stringify({ status: event.status, count: event.count, message: event.message }) });
    }
  });
}

function catalogAnswer(p: CatalogPackage, sourceName: string | undefined): Record<string, unknown> {
  return {
    name: p.name,
    version: p.version,
    architecture: p.architecture,
    size: p.size,
    description: p.description,
    source: { id: p.sourceId, name: sourceName ?? null },
    source_id: p.sourceId,
    last_sync: p.syncedAt,
    filename: p.filename,
    sha256: p.sha256 || undefined,
  };
}

async function jsonBody(c: Context): Promise<ImportSourceInput> {
  const body = (await c.req.json().catch(() => null)) as unknown;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new RepodError('invalid_request', 'the body must be a JSON object {"name", "url", "kind": "apt"|"rpm", "suite"?, "components"?, "architectures"?, "key"?}', {
      status: 400,
    });
  }
  return body as ImportSourceInput;
}

function sourceId(text: string): number {
  const id = /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(id)) throw new NotFoundError(`no import source ${JSON.stringify(text)}: source ids are numbers`, 'unknown_source');
  return id;
}

const unknownJob = (id: string) => new NotFoundError(`no import job ${JSON.stringify(id)}`, 'unknown_job');

import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { roleAtLeast } from '../../auth/roles.ts';
import type { Core } from '../../core/core.ts';
import { NotFoundError, RepodError } from '../../errors.ts';
import { importPackages } from '../../import/import-package.ts';
import type { ImportSourceInput } from '../../import/sources.ts';
import { announceChange } from '../../security/announce.ts';
import { importJobPage, importPage } from '../../ui/pages/import.tsx';
import { uploadResultPage } from '../../ui/pages/upload.tsx';
import type { UiGuards } from './ui.ts';

type ImportCore = Pick<
  Core,
  | 'caps'
  | 'committer'
  | 'distributions'
  | 'keyring'
  | 'repository'
  | 'settings'
  | 'tokens'
  | 'gate'
  | 'events'
  | 'catalog'
  | 'importSources'
  | 'syncJobs'
  | 'outbound'
  | 'installedProviders'
>;

const text = (fields: Record<string, unknown>, name: string) => (typeof fields[name] === 'string' ? (fields[name] as string).trim() : '');
const words = (value: string) => value.split(/[\s,]+/).filter(Boolean);
const unknownJob = (id: string) => new NotFoundError(`no import job ${JSON.stringify(id)}`, 'unknown_job');

/**
 * The UI's import view: sources (reader reads, maintainer adds and syncs), a sync's page whose
 * script follows the job's events live (this file's own SSE route, for the session cookie: the API's
 * wants a bearer token), the catalog search, and importing a package by name (uploader), through
 * the same services as /api/v1/import.
 */
export function uiImportRoutes(core: ImportCore, ui: UiGuards): Hono {
  const app = new Hono();

  app.get('/ui/import', async (c) => {
    const principal = await ui.requireUiRole(c, 'reader');
    const q = (c.req.query('q') ?? '').trim();
    const sourceId = c.req.query('source_id') ?? '';
    const arch = (c.req.query('arch') ?? '').trim();
    const [sources, jobs] = await Promise.all([core.importSources.list(), core.syncJobs.list(10)]);
    const searched = q !== '' || sourceId !== '' || arch !== '';
    const id = /^[1-9]\d{0,9}$/.test(sourceId) ? Number(sourceId) : undefined;
    const results = searched ? await core.catalog.search({ ...(q ? { q } : {}), ...(id ? { sourceId: id } : {}), ...(arch ? { arch } : {}), limit: 50 }) : null;
    return c.html(
      await importPage(await ui.viewerOf(c), {
        sources,
        jobs,
        search: { q, sourceId, arch, results },
        targets: core.distributions
          .all()
          .filter((d) => !d.mirror)
          .map((d) => d.name),
        canMaintain: roleAtLeast(principal.role, 'maintainer'),
        canImport: roleAtLeast(principal.role, 'uploader'),
      }),
    );
  });

  app.post('/ui/import/sources', async (c) => {
    const fields = await c.req.parseBody();
    await ui.requireCsrf(c, fields);
    const principal = await ui.requireUiRole(c, 'maintainer');
    const input: ImportSourceInput = { name: text(fields, 'name'), url: text(fields, 'url'), kind: text(fields, 'kind') };
    if (text(fields, 'suite')) input.suite = text(fields, 'suite');
    if (text(fields, 'components')) input.components = words(text(fields, 'components'));
    if (text(fields, 'architectures')) input.architectures = words(text(fields, 'architectures'));
    if (text(fields, 'key')) input.key = text(fields, 'key');
    await core.importSources.create(input, principal.subject);
    return c.redirect('/ui/import#sources', 303);
  });

  app.post('/ui/import/sources/:id/sync', async (c) => {
    const fields = await c.req.parseBody();
    await ui.requireCsrf(c, fields);
    const principal = await ui.requireUiRole(c, 'maintainer');
    const id = /^[1-9]\d{0,9}$/.test(c.req.param('id')) ? Number(c.req.param('id')) : Number.NaN;
    if (!Number.isSafeInteger(id)) throw new NotFoundError(`no import source ${JSON.stringify(c.req.param('id'))}`, 'unknown_source');
    const job = await core.syncJobs.start(id, principal.subject);
    return c.redirect(`/ui/import/jobs/${encodeURIComponent(job.id)}`, 303);
  });

  app.get('/ui/import/jobs/:id', async (c) => {
    const principal = await ui.requireUiRole(c, 'reader');
    const job = await core.syncJobs.get(c.req.param('id'));
    if (!job) throw unknownJob(c.req.param('id'));
    return c.html(await importJobPage(await ui.viewerOf(c), job, roleAtLeast(principal.role, 'maintainer')));
  });

  // The job's events as /api/v1/import/jobs/:id/events sends them, then one `end` event with the job's outcome.
  app.get('/ui/import/jobs/:id/events', async (c) => {
    await ui.requireUiRole(c, 'reader');
    const id = c.req.param('id');
    const lastEventId = Number(c.req.header('last-event-id'));
    // A reconnecting EventSource sends the same URL again: its Last-Event-ID says where it really is.
    const from = c.req.header('last-event-id') && Number.isInteger(lastEventId) ? lastEventId + 1 : Number(c.req.query('from') ?? 0);
    if (!Number.isInteger(from) || from < 0) throw new RepodError('invalid_request', 'from must be a whole number of events', { status: 400 });
    if (!(await core.syncJobs.get(id))) throw unknownJob(id);
    return streamSSE(c, async (stream) => {
      const closed = new AbortController();
      stream.onAbort(() => closed.abort());
      for await (const { index, event } of core.syncJobs.events(id, from, closed.signal)) {
        await stream.writeSSE({ id: String(index), data: JSON.stringify({ status: event.status, count: event.count, message: event.message }) });
      }
      const job = await core.syncJobs.get(id);
      if (job && !closed.signal.aborted) {
        await stream.writeSSE({ event: 'end', data: JSON.stringify({ status: job.status, count: job.count, message: job.error?.message ?? job.message }) });
      }
    });
  });

  app.post('/ui/import/jobs/:id/cancel', async (c) => {
    const fields = await c.req.parseBody();
    await ui.requireCsrf(c, fields);
    const principal = await ui.requireUiRole(c, 'maintainer');
    await core.syncJobs.cancel(c.req.param('id'), principal.subject);
    return c.redirect(`/ui/import/jobs/${encodeURIComponent(c.req.param('id'))}`, 303);
  });

  app.post('/ui/import/packages', async (c) => {
    const fields = await c.req.parseBody();
    await ui.requireCsrf(c, fields);
    const principal = await ui.requireUiRole(c, 'uploader');
    const sourceId = Number(text(fields, 'source_id'));
    const name = text(fields, 'package');
    const version = text(fields, 'version');
    const distribution = text(fields, 'distribution');
    if (!name || !distribution || !Number.isSafeInteger(sourceId))
      throw new RepodError('invalid_request', 'choose a package of the catalog and a distribution to import it into', { status: 400 });
    const result = await importPackages(core, {
      sourceId,
      distribution,
      packages: [version ? { name, version } : { name }],
      withDependencies: text(fields, 'with_dependencies') === 'true',
      author: principal.subject,
    });
    announceChange(core.events, result, principal.subject);
    const status = result.status === 'published' ? 201 : result.status === 'pending_review' ? 202 : 200;
    return c.html(await uploadResultPage(await ui.viewerOf(c), result, { title: `Import from ${result.source.name} into ${result.distribution}` }), status);
  });

  return app;
}

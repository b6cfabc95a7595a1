import { Hono } from 'hono';
import type { Core } from '../../core/core.ts';
import { RepodError } from '../../errors.ts';
import { announceNewFindings, findingKeys } from '../../security/new-findings.ts';
import { decide } from '../../security/review/decide.ts';
import { vulnerabilityReport } from '../../security/vulnerability-report.ts';
import { requireRole } from '../auth.ts';
import { describeRoute, type OperationDoc } from '../openapi/describe.ts';

/** What the OpenAPI document (/api/v1/openapi.json) says of each route below. */
const docs = {
  getReviewQueue: { summary: 'Packages held for review', tags: ['Security'], role: 'auditor', query: { distribution: 'only this distribution' } },
  postPackagesNameVersionDecide: { summary: 'Decide on a held package: approve (publish) or reject', tags: ['Security'], role: 'maintainer', body: { json: { type: 'object' } } },
  getVulnerabilities: {
    summary: 'Vulnerabilities of published packages',
    tags: ['Security'],
    role: 'reader',
    query: { distribution: 'only this distribution', severity: 'at least this severity', page: 'page number', per_page: 'items per page' },
  },
  getAdvisories: { summary: 'The loaded advisory feed', tags: ['Security'], role: 'reader' },
  postAdvisories: {
    summary: 'Load advisories (OSV JSON or zip) into the feed',
    tags: ['Security'],
    role: 'maintainer',
    query: { name: 'the file name of a body sent as is' },
    body: { multipart: { file: 'file' }, binary: true },
  },
} satisfies Record<string, OperationDoc>;

type SecurityCore = Pick<
  Core,
  'caps' | 'committer' | 'distributions' | 'keyring' | 'repository' | 'settings' | 'tokens' | 'gate' | 'review' | 'events' | 'advisories' | 'identities' | 'ecosystemOf'
>;

const MAX_FEED_BYTES = 512 * 1024 * 1024;

/** Reads a pushed feed file: the raw body (JSON or zip), or the `file` fields of a form. */
async function feedFiles(request: Request, name: string | undefined): Promise<Array<{ name: string; bytes: Uint8Array }>> {
  const type = request.headers.get('content-type') ?? '';
  const length = Number(request.headers.get('content-length') ?? 0);
  if (length > MAX_FEED_BYTES) throw new RepodError('too_large', `an advisory feed file is at most ${MAX_FEED_BYTES} bytes`, { status: 413 });
  if (type.startsWith('multipart/form-data')) {
    const form = await request.formData();
    const files: Array<{ name: string; bytes: Uint8Array }> = [];
    for (const value of form.getAll('file')) {
      if (typeof value === 'string') continue;
      files.push({ name: value.name || 'advisories.json', bytes: new Uint8Array(await value.arrayBuffer()) });
    }
    if (files.length === 0) throw new RepodError('invalid_request', 'send the feed as the body, or as one or more multipart "file" fields', { status: 400 });
    return files;
  }
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length === 0) throw new RepodError('invalid_request', 'the request has no body: send an OSV advisory (JSON), a JSON array of them, or a zip of them', { status: 400 });
  const zip = bytes[0] === 0x50 && bytes[1] === 0x4b;
  return [{ name: name || (zip ? 'advisories.zip' : 'advisories.json'), bytes }];
}

/** The security gate's API: the review queue and decisions, the vulnerability report, the advisory feed. */
export function securityRoutes(core: SecurityCore): Hono {
  const app = new Hono();

  app.get('/review-queue', describeRoute(docs.getReviewQueue), async (c) => {
    await requireRole(core, c, 'auditor');
    const items = await core.review.list({ distribution: c.req.query('distribution') || undefined });
    return c.json({
      total: items.length,
      items: items.map((i) => ({
        distribution: i.distribution,
        package: i.package,
        version: i.version,
        architecture: i.architecture,
        filename: i.filename,
        sha256: i.sha256,
        submitted: i.submitted,
        submitted_by: i.submittedBy,
        findings: i.steps.filter((s) => s.action === 'review' || s.action === 'warn').map(({ name, message, detail }) => ({ step: name, message, ...(detail ? { detail } : {}) })),
      })),
    });
  });

  app.post('/packages/:name/:version/decide', describeRoute(docs.postPackagesNameVersionDecide), async (c) => {
    const principal = await requireRole(core, c, 'maintainer');
    const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
    if (!body) throw new RepodError('invalid_request', 'send JSON {action, justification, expires_in_days?, distribution?}', { status: 400 });
    const result = await decide(
      core,
      {
        name: c.req.param('name'),
        version: c.req.param('version'),
        action: body.action,
        justification: body.justification,
        expiresInDays: body.expires_in_days,
        distribution: typeof body.distribution === 'string' && body.distribution ? body.distribution : undefined,
      },
      principal.subject,
    );
    return c.json(result);
  });

  app.get('/vulnerabilities', describeRoute(docs.getVulnerabilities), async (c) => {
    await requireRole(core, c, 'reader');
    const number = (v: string | undefined) => (v && /^\d+$/.test(v) ? Number(v) : undefined);
    const report = await vulnerabilityReport(core, {
      distribution: c.req.query('distribution') || undefined,
      severity: c.req.query('severity') || undefined,
      page: number(c.req.query('page')),
      perPage: number(c.req.query('per_page')),
    });
    return c.json(report);
  });

  app.get('/advisories', describeRoute(docs.getAdvisories), async (c) => {
    await requireRole(core, c, 'reader');
    const feed = await core.advisories.current();
    return c.json({ advisories: feed.size, ecosystems: feed.ecosystems(), version: feed.version() });
  });

  app.post('/advisories', describeRoute(docs.postAdvisories), async (c) => {
    const principal = await requireRole(core, c, 'maintainer');
    const files = await feedFiles(c.req.raw, c.req.query('name') || undefined);
    const before = await findingKeys(core, await core.advisories.current());
    let loaded = 0;
    const errors: Array<{ name: string; message: string }> = [];
    let version = '';
    for (const file of files) {
      const pushed = await core.advisories.push(file.name, file.bytes);
      loaded += pushed.loaded;
      errors.push(...pushed.errors);
      version = pushed.version;
    }
    if (loaded === 0 && errors.length) {
      throw new RepodError('invalid_advisories', `no advisory in the upload could be read: ${errors[0].name}: ${errors[0].message}`, { status: 422, details: { errors } });
    }
    // Published packages are matched again at once, so new findings are announced with the push.
    const fresh = await announceNewFindings(core, principal.subject, before);
    const newFindings = Object.values(fresh).reduce((n, list) => n + list.length, 0);
    return c.json({ status: 'loaded', loaded, errors, version, new_findings: newFindings, new_findings_by_distribution: fresh }, 201);
  });

  return app;
}

import { type Context, Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { routePath } from 'hono/route';
import { type Principal, type Role, roleAtLeast } from '../../auth/roles.ts';
import { joinKey, namePrefix } from '../../bucket/keys.ts';
import { layout } from '../../bucket/layout.ts';
import type { PackageRecord } from '../../bucket/package-record.ts';
import type { Revision } from '../../bucket/revision.ts';
import type { Distribution } from '../../config/distributions.ts';
import type { Core } from '../../core/core.ts';
import { ConflictError, NotFoundError, RepodError } from '../../errors.ts';
import { entryComponents } from '../../ingest/apt-component.ts';
import { discardStaged, type StagedPackage, stagePackage } from '../../ingest/stage.ts';
import { diffRevisions, listRevisions, summary } from '../../revisions/history.ts';
import { promote } from '../../revisions/promote.ts';
import { type BatchResult, publishBatch, removePackages, requireDistribution } from '../../revisions/publish.ts';
import { resolveRevision } from '../../revisions/resolve-revision.ts';
import { severityRank } from '../../security/advisories/severity.ts';
import { announceChange, announcePromotion, announceRollback } from '../../security/announce.ts';
import { readSignatureVerdict } from '../../signing/signature-verdict.ts';
import { getJson } from '../../storage/objects.ts';
import { SCRIPT, STYLESHEET } from '../../ui/assets.ts';
import type { Viewer } from '../../ui/layout.tsx';
import { formatPackageQuery, type PackageRow, parsePackageQuery, searchPackages, strongestSeverity } from '../../ui/package-search.ts';
import { comparePage } from '../../ui/pages/compare.tsx';
import { distributionPage } from '../../ui/pages/distribution.tsx';
import { messagePage } from '../../ui/pages/message.tsx';
import { type ActivityItem, type DistributionSummary, overviewPage } from '../../ui/pages/overview.tsx';
import { packagePage } from '../../ui/pages/package.tsx';
import { signInPage } from '../../ui/pages/sign-in.tsx';
import { uploadPage, uploadResultPage } from '../../ui/pages/upload.tsx';
import { csrfTokenOf, localPath, SESSION_COOKIE, SIGN_IN_COOKIE, sameToken } from '../../ui/session.ts';
import { signIn, waitUntilOf } from '../auth.ts';
import { addressOf } from '../client-address.ts';
import { boundaryOf, MultipartReader, readText } from '../multipart.ts';
import { baseUrl } from '../paths.ts';
import { clientSetupText } from './client-setup.ts';
import { uiAdminRoutes } from './ui-admin.ts';
import { uiImportRoutes } from './ui-import.ts';
import { uiSecurityRoutes } from './ui-security.ts';

/** What the UI's route files (ui-import.ts, ui-security.ts, ui-admin.ts) share with this one: the session and its checks. */
export interface UiGuards {
  viewerOf(c: Context): Promise<Viewer>;
  /** The viewer's principal when it has `role`; 401 signed out, 403 below it. */
  requireUiRole(c: Context, role: Role): Promise<Principal>;
  /** A form's CSRF field must be the session's token; checked before anything else of the action. */
  requireCsrf(c: Context, fields: Record<string, unknown>): Promise<void>;
}

/** Packages per page of the distribution page. */
const PAGE_SIZE = 50;

interface Session {
  principal: Principal | null;
  token: string | null;
  csrf: string | null;
}

/**
 * The web UI: server-rendered pages (src/ui) at `/` and `/ui/...`, usable without JavaScript.
 * The session cookie holds a sign-in's access token, verified by Tokens on every request exactly
 * like a bearer token; every action checks the viewer's role here on the server (the pages only
 * hide what a role cannot do) and a CSRF token tied to the session, then calls the same services
 * as the API (promote, removePackages, repository.restore, publishBatch). Writes are audited.
 */
export function uiRoutes(core: Core): Hono {
  const app = new Hono();
  const sessions = new WeakMap<Request, Session>();

  const sessionOf = async (c: Context): Promise<Session> => {
    const known = sessions.get(c.req.raw);
    if (known) return known;
    const token = getCookie(c, SESSION_COOKIE) ?? null;
    const principal = token ? await core.tokens.verify(token) : null;
    const session: Session = { principal, token: principal ? token : null, csrf: principal && token ? await csrfTokenOf(core.caps, token) : null };
    sessions.set(c.req.raw, session);
    return session;
  };
  const viewerOf = async (c: Context): Promise<Viewer> => {
    const s = await sessionOf(c);
    return { principal: s.principal, csrf: s.csrf };
  };
  const secure = (c: Context) => baseUrl(c.req.raw).startsWith('https:');

  /** The viewer's principal when it has `role`; 401 signed out, 403 below it. */
  const requireUiRole = async (c: Context, role: Role): Promise<Principal> => {
    const { principal } = await sessionOf(c);
    if (!principal) throw new RepodError('unauthorized', 'sign in first', { status: 401 });
    if (!roleAtLeast(principal.role, role)) throw new RepodError('forbidden', `this needs the ${role} role; ${principal.subject} has ${principal.role}`, { status: 403 });
    return principal;
  };
  /** A form's CSRF field must be the session's token; checked before anything else of the action. */
  const requireCsrf = async (c: Context, fields: Record<string, unknown>): Promise<void> => {
    const { csrf } = await sessionOf(c);
    if (!csrf || typeof fields.csrf !== 'string' || !sameToken(fields.csrf, csrf))
      throw new RepodError('csrf_mismatch', 'this form is stale or came from another site: reload the page and try again', { status: 403 });
  };
  /** The strongest finding of a package of `d` against the advisory feed as it is now (what GET /vulnerabilities reports). */
  const severityOf = async (d: Distribution) => {
    const feed = await core.advisories.current();
    const ecosystem = core.ecosystemOf(d);
    return async (row: PackageRow) => {
      const identity = ecosystem ? await core.identities.get(row.sha256) : null;
      return identity && ecosystem ? strongestSeverity(feed.findings(ecosystem, identity).map((f) => f.severity)) : null;
    };
  };
  /** Every advisory of the feed matching one package of `d` (what the vulnerability report lists for it). */
  const findingsOf = async (d: Distribution, sha256: string) => {
    const ecosystem = core.ecosystemOf(d);
    if (!ecosystem) return null;
    const identity = await core.identities.get(sha256);
    if (!identity) return [];
    const found = (await core.advisories.current()).findings(ecosystem, identity);
    return found.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.id.localeCompare(b.id));
  };
  const visible = async (c: Context, d: Distribution) => !d.private || (await sessionOf(c)).principal !== null;
  const distribution = async (c: Context): Promise<Distribution> => {
    const d = requireDistribution(core.distributions, c.req.param('dist'));
    if (!(await visible(c, d))) throw new RepodError('unauthorized', `distribution ${d.name} is private: sign in to see it`, { status: 401 });
    return d;
  };

  // Pages hold CSRF tokens and per-user views: never cached, never framed, scripts only from here.
  const pageHeaders = async (c: Context, next: () => Promise<void>) => {
    await next();
    if (c.req.path.startsWith('/ui/assets/')) return;
    c.header('cache-control', 'no-store');
    c.header(
      'content-security-policy',
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    );
    c.header('x-frame-options', 'DENY');
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'same-origin');
  };
  // Only the UI's own paths: this app is mounted at the root beside the API and the repositories.
  app.use('/', pageHeaders);
  app.use('/ui/*', pageHeaders);

  // Every UI write is in the audit log like the API's, with the session's principal.
  app.use('/ui/*', async (c, next) => {
    if (c.req.method !== 'POST') return next();
    let status = 500;
    try {
      await next();
      status = c.res.status;
    } finally {
      const s = sessions.get(c.req.raw);
      const actor = s?.principal ? { actor: s.principal.subject, role: s.principal.role } : { actor: 'anonymous' };
      if (c.req.path !== '/ui/sign-in') {
        const route = routePath(c);
        // What the action was about: a distribution and package, a user, a token, a key, a source or job.
        const target = ['dist', 'sha256', 'name', 'id', 'fingerprint']
          .map((p) => c.req.param(p))
          .filter(Boolean)
          .join('/');
        core.audit.record(
          { ...actor, action: `POST ${route && !route.endsWith('*') ? route : c.req.path}`, path: c.req.path, ...(target ? { target } : {}), status, address: addressOf(c) },
          { defer: waitUntilOf(c) },
        );
      }
    }
  });

  const guards: UiGuards = { viewerOf, requireUiRole, requireCsrf };

  app.onError(async (error, c) => {
    const status = error instanceof RepodError ? error.status : 500;
    if (!(error instanceof RepodError) || status >= 500) core.caps.log('ui request failed', { path: c.req.path, message: error.message });
    if (error instanceof RepodError && error.details?.retry_after !== undefined) c.header('retry-after', String(error.details.retry_after));
    const wantsJson = (c.req.header('accept') ?? '').includes('application/json');
    const message = status >= 500 && !(error instanceof RepodError) ? 'internal server error' : error.message;
    // The upload script shows a refused package's validation steps: they are in the details.
    const details = error instanceof RepodError && status < 500 ? (error.details ?? {}) : {};
    if (wantsJson) return c.json({ ...details, status: 'error', error: error instanceof RepodError ? error.code : 'internal_error', message }, status as 400);
    const title = status === 401 ? 'Sign in needed' : status === 403 ? 'Not allowed' : status === 404 ? 'Not found' : 'Something went wrong';
    return c.html(await messagePage(await viewerOf(c).catch(() => ({ principal: null, csrf: null })), { title, message, status }), status as 400);
  });

  app.get('/ui/assets/app.css', (c) => c.body(STYLESHEET, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=300' }));
  app.get('/ui/assets/app.js', (c) => c.body(SCRIPT, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=300' }));
  app.get('/ui', (c) => c.redirect('/', 302));
  app.get('/ui/', (c) => c.redirect('/', 302));

  // --- Sign-in and sign-out -------------------------------------------------------------------

  app.get('/ui/sign-in', async (c) => {
    let secret = getCookie(c, SIGN_IN_COOKIE);
    if (!secret || secret.length < 16) {
      secret = `${core.caps.randomId()}${core.caps.randomId()}`;
      setCookie(c, SIGN_IN_COOKIE, secret, { path: '/ui/sign-in', httpOnly: true, sameSite: 'Lax', secure: secure(c), maxAge: 3600 });
    }
    return c.html(await signInPage(await viewerOf(c), { csrf: await csrfTokenOf(core.caps, secret), next: localPath(c.req.query('next')) }));
  });

  app.post('/ui/sign-in', async (c) => {
    const fields = await c.req.parseBody();
    const secret = getCookie(c, SIGN_IN_COOKIE);
    if (!secret || typeof fields.csrf !== 'string' || !sameToken(fields.csrf, await csrfTokenOf(core.caps, secret)))
      throw new RepodError('csrf_mismatch', 'this sign-in form is stale or came from another site: reload the page and try again', { status: 403 });
    const username = typeof fields.username === 'string' ? fields.username.trim() : '';
    const password = typeof fields.password === 'string' ? fields.password : '';
    const next = localPath(typeof fields.next === 'string' ? fields.next : undefined);
    // The same guards as POST /api/v1/auth/token: attempts per address, lockout, audit of failures.
    const principal = username && password ? await signIn(core, c, username, password, { limitAttempts: true }) : null;
    if (!principal) {
      const page = await signInPage(await viewerOf(c), { csrf: fields.csrf, next, username, error: 'Invalid user name or password.' });
      return c.html(page, 401);
    }
    const session = await core.tokens.startSession(principal);
    setCookie(c, SESSION_COOKIE, session.token, { path: '/', httpOnly: true, sameSite: 'Lax', secure: secure(c), maxAge: session.expiresIn });
    setCookie(c, SIGN_IN_COOKIE, '', { path: '/ui/sign-in', maxAge: 0 });
    sessions.set(c.req.raw, { principal, token: session.token, csrf: null });
    core.audit.record(
      { actor: principal.subject, role: principal.role, action: 'POST /ui/sign-in', path: c.req.path, status: 303, address: addressOf(c) },
      { defer: waitUntilOf(c) },
    );
    return c.redirect(next, 303);
  });

  app.post('/ui/sign-out', async (c) => {
    const fields = await c.req.parseBody();
    await requireCsrf(c, fields);
    const { token } = await sessionOf(c);
    if (token) await core.tokens.logout(token);
    setCookie(c, SESSION_COOKIE, '', { path: '/', httpOnly: true, sameSite: 'Lax', secure: secure(c), maxAge: 0 });
    return c.redirect('/', 303);
  });

  app.route('/', uiImportRoutes(core, guards));
  app.route('/', uiSecurityRoutes(core, guards));
  app.route('/', uiAdminRoutes(core, guards));

  // --- Overview ---------------------------------------------------------------------------------

  app.get('/', async (c) => {
    const viewer = await viewerOf(c);
    const dists: DistributionSummary[] = [];
    const activity: ActivityItem[] = [];
    for (const d of core.distributions.all()) {
      if (!(await visible(c, d))) continue;
      const history = await listRevisions(core.repository, d.name, { limit: 3 });
      const current = history.revisions[0] ? await core.repository.revision(d.name, history.revisions[0].id) : null;
      const perArch: Record<string, number> = {};
      for (const chunk of current?.chunks ?? []) for (const [arch, n] of Object.entries(chunk.arches)) perArch[arch] = (perArch[arch] ?? 0) + n;
      dists.push({
        name: d.name,
        kind: d.kind,
        architectures: d.architectures,
        private: d.private === true,
        packageCount: current?.packageCount ?? 0,
        perArch,
        revision: current ? { id: current.id, number: current.number, created: current.created, author: current.author, message: current.message } : null,
      });
      for (const r of history.revisions) {
        activity.push({
          time: r.created,
          actor: r.author,
          what: `${d.name} revision ${r.number}: ${r.message} (+${r.added} −${r.removed})`,
          href: `/ui/distributions/${encodeURIComponent(d.name)}#revisions`,
        });
      }
    }
    activity.sort((a, b) => (a.time < b.time ? 1 : -1));
    let audit: ActivityItem[] | null = null;
    if (viewer.principal && roleAtLeast(viewer.principal.role, 'auditor')) {
      const since = new Date(core.caps.now().getTime() - 30 * 86_400_000).toISOString();
      const { events } = await core.audit.query({ since, limit: 10 });
      audit = events.map((e) => ({ time: e.time, actor: e.actor, what: `${e.action}${e.target ? ` (${e.target})` : ''}: ${e.status}` }));
    }
    return c.html(await overviewPage(viewer, { distributions: dists, activity: activity.slice(0, 10), audit }));
  });

  // --- Distribution -----------------------------------------------------------------------------

  app.get('/ui/distributions/:dist', async (c) => {
    const d = await distribution(c);
    const viewer = await viewerOf(c);
    const current = await core.repository.current(d.name);
    // udebs live in <component>/debian-installer entries: searched with their component.
    const components = d.kind === 'apt' ? d.components.flatMap(entryComponents) : [];
    const query = parsePackageQuery(c.req.query('q') ?? '');
    const after = c.req.query('after') || undefined;
    const page = current
      ? await searchPackages(core.repository, current, components, query, { after, limit: PAGE_SIZE, ...(query.severity ? { severityOf: await severityOf(d) } : {}) })
      : { rows: [], next: null, partial: false };
    const before = Number(c.req.query('before'));
    const history = await listRevisions(core.repository, d.name, { limit: 20, ...(Number.isInteger(before) && before > 0 ? { before } : {}) });
    const tags = (await core.repository.tags(d.name)).map((t) => ({ name: (t as typeof t & { name: string }).name, number: t.number, revision: t.revision, updated: t.updated }));
    const base = baseUrl(c.req.raw);
    // The set-up text GET /repos/<dist>/client-setup serves.
    const setup = clientSetupText(base, d);
    return c.html(
      await distributionPage(viewer, {
        dist: { name: d.name, kind: d.kind, architectures: d.architectures, components, private: d.private === true },
        current: current ? summary(current) : null,
        search: { query: formatPackageQuery(query), rows: page.rows, next: page.next, partial: page.partial, after },
        history,
        tags,
        base,
        setup,
        canMaintain: viewer.principal !== null && roleAtLeast(viewer.principal.role, 'maintainer') && !d.mirror,
      }),
    );
  });

  app.get('/ui/distributions/:dist/compare', async (c) => {
    const d = await distribution(c);
    const a = await resolveRevision(core, d.name, c.req.query('a') ?? '');
    const b = await resolveRevision(core, d.name, c.req.query('b') ?? '');
    return c.html(await comparePage(await viewerOf(c), { dist: d.name, from: summary(a), to: summary(b), diff: await diffRevisions(core.repository, a, b) }));
  });

  app.post('/ui/distributions/:dist/rollback', async (c) => {
    const fields = await c.req.parseBody();
    await requireCsrf(c, fields);
    const principal = await requireUiRole(c, 'maintainer');
    const d = requireDistribution(core.distributions, c.req.param('dist'));
    const target = await resolveRevision(core, d.name, String(fields.revision ?? ''));
    const revision = await core.repository.restore(d.name, target, { author: principal.subject, message: `rollback to revision ${target.number}` });
    announceRollback(core.events, d.name, revision, target, principal.subject);
    return c.redirect(`/ui/distributions/${encodeURIComponent(d.name)}#revisions`, 303);
  });

  // --- Package ----------------------------------------------------------------------------------

  /** The package with this sha256 in the distribution's current revision, found from its record's name (one or two chunks read). */
  const packageIn = async (d: Distribution, revision: Revision | null, sha256: string): Promise<{ row: PackageRow; record: PackageRecord }> => {
    const record = /^[0-9a-f]{64}$/.test(sha256) ? (await getJson<PackageRecord>(core.caps.store, layout.packageRecord(sha256)))?.value : null;
    const name = record
      ? record.kind === 'rpm'
        ? record.package.name
        : (record.kind === 'dsc' ? /^Source:\s*(\S+)/m : /^Package:\s*(\S+)/m).exec(record.control)?.[1]
      : undefined;
    if (record && name && revision) {
      const rows = await versionsIn(d, revision, name);
      const row = rows.find((r) => r.sha256 === sha256);
      if (row) return { row, record };
    }
    throw new NotFoundError(`${d.name} has no package with sha256 ${sha256}`, 'unknown_package');
  };
  const versionsIn = async (d: Distribution, revision: Revision, name: string): Promise<PackageRow[]> => {
    const components = d.kind === 'apt' ? d.components.flatMap(entryComponents) : [''];
    const rows: PackageRow[] = [];
    for (const component of components) {
      const prefix = namePrefix(d.kind === 'rpm' ? 'rpm' : 'apt', name, component);
      const found = await searchPackages(core.repository, revision, d.kind === 'apt' ? [component] : [], { name, words: [] }, { limit: 200 });
      rows.push(...found.rows.filter((r) => r.key.startsWith(prefix) || r.key.startsWith(joinKey(component, name, ''))));
    }
    return rows.filter((r) => r.name === name);
  };

  app.get('/ui/distributions/:dist/packages/:sha256', async (c) => {
    const d = await distribution(c);
    const viewer = await viewerOf(c);
    const { row, record } = await packageIn(d, await core.repository.current(d.name), c.req.param('sha256'));
    const signature: { status?: string; signers?: string[]; trusted?: boolean; checked?: string } | null = await readSignatureVerdict(core.caps.store, row.sha256, record);
    const versions: Array<{ dist: string; version: string; arch: string; sha256: string }> = [];
    for (const other of core.distributions.all()) {
      if (other.kind !== d.kind || !(await visible(c, other))) continue;
      const revision = await core.repository.current(other.name);
      if (revision) for (const r of await versionsIn(other, revision, row.name)) versions.push({ dist: other.name, version: r.version, arch: r.arch, sha256: r.sha256 });
    }
    const maintainer = viewer.principal !== null && roleAtLeast(viewer.principal.role, 'maintainer');
    const download =
      d.kind === 'rpm' ? `/repos/${d.name}/${row.arch === 'noarch' || row.arch === 'src' ? d.architectures[0] : row.arch}/Packages/${row.file}` : `/repos/${row.file}`;
    return c.html(
      await packagePage(viewer, {
        dist: { name: d.name, kind: d.kind },
        row,
        record,
        signature,
        versions,
        download,
        promoteTargets: maintainer
          ? core.distributions
              .all()
              .filter((o) => o.kind === d.kind && o.name !== d.name && !o.mirror)
              .map((o) => o.name)
          : null,
        canRemove: maintainer && !d.mirror,
        findings: await findingsOf(d, row.sha256),
      }),
    );
  });

  app.post('/ui/distributions/:dist/packages/:sha256/promote', async (c) => {
    const fields = await c.req.parseBody();
    await requireCsrf(c, fields);
    const principal = await requireUiRole(c, 'maintainer');
    const d = requireDistribution(core.distributions, c.req.param('dist'));
    const { row } = await packageIn(d, await core.repository.current(d.name), c.req.param('sha256'));
    const to = typeof fields.to === 'string' ? fields.to : '';
    const result = await promote(core, { package: row.name, from: d.name, to, version: row.version }, principal.subject);
    announcePromotion(core.events, result, d.name, principal.subject);
    return c.html(await messagePage(await viewerOf(c), { title: 'Promoted', message: outcome(result, `${row.name} ${row.version}`), status: 200 }));
  });

  app.post('/ui/distributions/:dist/packages/:sha256/remove', async (c) => {
    const fields = await c.req.parseBody();
    await requireCsrf(c, fields);
    const principal = await requireUiRole(c, 'maintainer');
    const d = requireDistribution(core.distributions, c.req.param('dist'));
    const { row } = await packageIn(d, await core.repository.current(d.name), c.req.param('sha256'));
    const result = await removePackages(core, d.name, [row.file.split('/').pop()!], { author: principal.subject });
    return c.html(await messagePage(await viewerOf(c), { title: 'Removed', message: outcome(result, `${row.name} ${row.version}`), status: 200 }));
  });

  // --- Upload -------------------------------------------------------------------------------------

  app.get('/ui/upload', async (c) => {
    await requireUiRole(c, 'uploader');
    const viewer = await viewerOf(c);
    const targets = core.distributions
      .all()
      .filter((d) => !d.mirror)
      .map((d) => d.name);
    return c.html(await uploadPage(viewer, { distributions: targets, selected: c.req.query('distribution') }));
  });

  /**
   * The upload form: `csrf` and `distribution` first (the page lists them before the files), then
   * one or more `file` parts, each streamed into the store as it arrives and published together as
   * one revision. The page's script sends one file per request and asks for JSON.
   */
  app.post('/ui/upload', async (c) => {
    const principal = await requireUiRole(c, 'uploader');
    const body = c.req.raw.body;
    const boundary = boundaryOf(c.req.header('content-type'));
    if (!body || !boundary) throw new RepodError('invalid_request', 'the upload form is multipart/form-data', { status: 400 });
    const fields: Record<string, string> = {};
    const staged: StagedPackage[] = [];
    try {
      const reader = new MultipartReader(body, boundary);
      for (let part = await reader.next(); part; part = await reader.next()) {
        if (part.filename === undefined && part.name !== 'file') {
          fields[part.name] = (await readText(part.body)).trim();
          continue;
        }
        // No byte of a file is stored before the form proved it came from this session.
        await requireCsrf(c, fields);
        if (part.name !== 'file' || part.filename === '') {
          await part.body.cancel();
          continue;
        }
        staged.push(await stagePackage(core.caps, part.body, { maxBytes: core.settings.maxUploadBytes }));
      }
      await requireCsrf(c, fields);
      if (staged.length === 0) throw new RepodError('missing_file', 'choose at least one package file', { status: 400 });
      const result = await publishBatch(core, fields.distribution, staged, { author: principal.subject });
      announceChange(core.events, result, principal.subject);
      const status = result.status === 'published' ? 201 : result.status === 'pending_review' ? 202 : 200;
      if ((c.req.header('accept') ?? '').includes('application/json')) return c.json(result, status);
      return c.html(await uploadResultPage(await viewerOf(c), result), status);
    } catch (error) {
      for (const s of staged) await discardStaged(core.caps, s);
      if (error instanceof ConflictError) throw new RepodError('duplicate', error.message, { status: 409 });
      throw error;
    }
  });

  return app;
}

function outcome(result: BatchResult, what: string): string {
  const revision = result.revision ? ` Revision ${result.revision.number} of ${result.distribution}.` : '';
  if (result.status === 'published') return `${what}: done.${revision}`;
  if (result.status === 'pending_review') return `${what} waits for review in ${result.distribution}.`;
  return `${what}: nothing changed in ${result.distribution}.${revision}`;
}

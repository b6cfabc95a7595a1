import { type Context, Hono } from 'hono';
import { roleAtLeast } from '../../auth/roles.ts';
import type { Core } from '../../core/core.ts';
import { decide } from '../../security/review/decide.ts';
import { vulnerabilityReport } from '../../security/vulnerability-report.ts';
import { messagePage } from '../../ui/pages/message.tsx';
import { securityPage } from '../../ui/pages/security.tsx';
import type { UiGuards } from './ui.ts';

type SecurityCore = Pick<
  Core,
  'caps' | 'committer' | 'distributions' | 'keyring' | 'repository' | 'settings' | 'tokens' | 'gate' | 'review' | 'events' | 'advisories' | 'identities' | 'ecosystemOf'
>;

/**
 * The UI's security view: the vulnerabilities of published packages (any signed-in role, like GET
 * /api/v1/security/vulnerabilities), the review queue (auditor and above) and the decision on a
 * held package (maintainer), through the same `decide` as the API.
 */
export function uiSecurityRoutes(core: SecurityCore, ui: UiGuards): Hono {
  const app = new Hono();

  app.get('/ui/security', async (c: Context) => {
    const principal = await ui.requireUiRole(c, 'reader');
    const distribution = c.req.query('distribution') || '';
    const severity = c.req.query('severity') || '';
    const page = /^[1-9]\d{0,5}$/.test(c.req.query('page') ?? '') ? Number(c.req.query('page')) : 1;
    const report = await vulnerabilityReport(core, { distribution: distribution || undefined, severity: severity || undefined, page, perPage: 50 });
    const queue = roleAtLeast(principal.role, 'auditor')
      ? (await core.review.list()).map((i) => ({
          distribution: i.distribution,
          package: i.package,
          version: i.version,
          architecture: i.architecture,
          filename: i.filename,
          sha256: i.sha256,
          submitted: i.submitted,
          submittedBy: i.submittedBy,
          findings: i.steps.filter((s) => s.action === 'review' || s.action === 'warn').map((s) => ({ step: s.name, message: s.message })),
        }))
      : null;
    return c.html(
      await securityPage(await ui.viewerOf(c), {
        distributions: core.distributions.all().map((d) => d.name),
        filter: { distribution, severity, page },
        report,
        queue,
        canDecide: roleAtLeast(principal.role, 'maintainer'),
      }),
    );
  });

  app.post('/ui/security/decide', async (c) => {
    const fields = await c.req.parseBody();
    await ui.requireCsrf(c, fields);
    const principal = await ui.requireUiRole(c, 'maintainer');
    const text = (name: string) => (typeof fields[name] === 'string' ? (fields[name] as string).trim() : '');
    const days = text('expires_in_days');
    const result = await decide(
      core,
      {
        name: text('name'),
        version: text('version'),
        action: text('action'),
        justification: text('justification'),
        ...(days ? { expiresInDays: days } : {}),
        ...(text('distribution') ? { distribution: text('distribution') } : {}),
      },
      principal.subject,
    );
    const revisions = result.published.filter((r) => r.revision).map((r) => `revision ${r.revision!.number} of ${r.distribution}`);
    const what = `${text('name')} ${text('version')}`;
    const message =
      result.action === 'accept_risk' || result.action === 'exception'
        ? `${what}: ${result.action.replace('_', ' ')} by ${principal.subject}; published${revisions.length ? ` as ${revisions.join(', ')}` : ''}.`
        : `${what}: ${result.action.replace('_', ' ')} by ${principal.subject}; quarantined, never published.`;
    return c.html(await messagePage(await ui.viewerOf(c), { title: 'Decided', message, status: 200 }));
  });

  return app;
}

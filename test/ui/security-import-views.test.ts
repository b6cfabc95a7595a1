/**
 * The UI's security and import views through the real app in process (createApp(core).request),
 * without JavaScript: the review queue and a reviewer's decision, the vulnerabilities summary,
 * `severity:` in the package search, the upload's JSON answer with its validation steps (what
 * the page's script shows per file); sources, a sync followed through the UI's event stream, the
 * catalog search and an import by name from a real upstream (apt-ftparchive, signed with gpg) on
 * 127.0.0.1. Forms are refused without their CSRF token, and actions below the role they need.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Hono } from 'hono';
import { createApp } from '../../src/http/app.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';
import { buildDeb } from '../helpers/debs.ts';
import { CVSS_CRITICAL, CVSS_HIGH, osvAdvisory } from '../helpers/osv.ts';
import { csrfOf, UiBrowser } from '../helpers/ui-browser.ts';
import { startUpstreamApt, type UpstreamApt } from '../helpers/upstream-apt.ts';

const ADMIN_TOKEN = 'ui-security-views-admin-token-0123456789';
const ADMIN_PASSWORD = 'ui security views password';
let app: Hono;
let dir: string;
let upstream: UpstreamApt;
let core: Awaited<ReturnType<typeof buildNodeCore>>['core'];
// Sign-ins are limited per client address (10 a minute): each test reuses these sessions.
let maintainer: UiBrowser;
let auditor: UiBrowser;
let uploader: UiBrowser;
let reader: UiBrowser;

/** Uploads through the UI form as the page's script does (one file, JSON answer). */
async function uiUpload(browser: UiBrowser, dist: string, spec: Parameters<typeof buildDeb>[0]): Promise<{ status: number; body: any }> {
  const form = new FormData();
  form.append('csrf', csrfOf(await browser.page('/ui/upload')));
  form.append('distribution', dist);
  form.append('file', new Blob([new Uint8Array(buildDeb(spec))]), `${spec.name}_${spec.version}_${spec.arch ?? 'amd64'}.deb`);
  const res = await browser.request('/ui/upload', { method: 'POST', body: form, headers: { accept: 'application/json' } });
  return { status: res.status, body: await res.json() };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'repod-ui-security-'));
  upstream = await startUpstreamApt({
    suite: 'bookworm',
    packages: [
      { name: 'up-lib', version: '1.0-1', arch: 'all', files: [{ path: 'usr/share/up-lib/VERSION', content: '1.0\n' }] },
      {
        name: 'up-app',
        version: '3.0-1',
        arch: 'all',
        depends: 'up-lib (>= 1.0)',
        description: 'an upstream application',
        files: [{ path: 'usr/share/up-app/README', content: 'app\n' }],
      },
    ],
  });
  ({ core } = await buildNodeCore(
    { REPOD_STORAGE: `file:${dir}`, REPOD_ADMIN_TOKEN: ADMIN_TOKEN, REPOD_ADMIN_PASSWORD: ADMIN_PASSWORD, REPOD_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1' },
    () => undefined,
  ));
  app = createApp(core);
  // bookworm is matched in Debian:12 (by source package); the default policy holds high findings for review and blocks critical ones.
  const feed = [
    osvAdvisory({ id: 'DSA-UI-HIGH', ecosystem: 'Debian:12', name: 'held-pkg', fixed: '2.0-1', cvss: CVSS_HIGH, aliases: ['CVE-2099-1111'] }),
    osvAdvisory({ id: 'DSA-UI-CRIT', ecosystem: 'Debian:12', name: 'evil-pkg', fixed: '2.0-1', cvss: CVSS_CRITICAL }),
  ];
  await core.advisories.push('ui-feed.json', new TextEncoder().encode(JSON.stringify(feed)));
  await core.users.create('max', 'maintainer password', 'maintainer');
  await core.users.create('aude', 'auditor password', 'auditor');
  await core.users.create('uma', 'uploader password', 'uploader');
  await core.users.create('rita', 'reader password', 'reader');
  maintainer = await new UiBrowser(app).signIn('max', 'maintainer password');
  auditor = await new UiBrowser(app).signIn('aude', 'auditor password');
  uploader = await new UiBrowser(app).signIn('uma', 'uploader password');
  reader = await new UiBrowser(app).signIn('rita', 'reader password');
});

after(async () => {
  await core?.audit.flush();
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('security views', () => {
  test("the upload's JSON answer carries each file's validation steps; a held package is in the review queue", async () => {
    const clean = await uiUpload(uploader, 'bookworm', { name: 'clean-pkg', version: '1.0-1' });
    assert.equal(clean.status, 201, JSON.stringify(clean.body));
    assert.equal(clean.body.revision.number, 1);
    const steps = clean.body.packages[0].validation.steps as Array<{ name: string; passed: boolean; message: string }>;
    assert.ok(steps.some((s) => s.name === 'format' && s.passed));
    assert.ok(steps.some((s) => s.name === 'cve'));

    const held = await uiUpload(uploader, 'bookworm', { name: 'held-pkg', version: '1.0-1' });
    assert.equal(held.status, 202, JSON.stringify(held.body));
    assert.equal(held.body.status, 'pending_review');
    assert.ok(held.body.packages[0].validation.steps.some((s: any) => s.name === 'cve' && !s.passed && /DSA-UI-HIGH/.test(s.message)));

    // A refused package: the error answer keeps the steps, so the page can show why.
    const blocked = await uiUpload(uploader, 'bookworm', { name: 'evil-pkg', version: '1.0-1' });
    assert.equal(blocked.status, 422, JSON.stringify(blocked.body));
    assert.equal(blocked.body.error, 'package_blocked');
    assert.ok(blocked.body.validation.steps.some((s: any) => s.name === 'cve' && !s.passed));
  });

  test('the security page: readers see the vulnerabilities summary only, auditors the queue, maintainers the decide form', async () => {
    const asReader = await reader.page('/ui/security');
    assert.match(asReader, /Vulnerabilities of published packages/);
    assert.doesNotMatch(asReader, /Review queue/);
    const asAuditor = await auditor.page('/ui/security');
    assert.match(asAuditor, /Review queue \(1\)/);
    assert.match(asAuditor, /held-pkg 1.0-1/);
    assert.match(asAuditor, /DSA-UI-HIGH/);
    assert.doesNotMatch(asAuditor, /action="\/ui\/security\/decide"/);
    const asMaintainer = await maintainer.page('/ui/security');
    assert.match(asMaintainer, /action="\/ui\/security\/decide"/);
    for (const [, id] of asMaintainer.matchAll(/<(?:input|select)[^>]* id="([^"]+)"/g)) assert.ok(asMaintainer.includes(`<label for="${id}">`), `label for ${id}`);
    assert.equal((await new UiBrowser(app).request('/ui/security')).status, 401);
  });

  test('decide: refused without CSRF and below maintainer; accept_risk publishes; the summary and severity: search then show it', async () => {
    const fields = { name: 'held-pkg', version: '1.0-1', distribution: 'bookworm', action: 'accept_risk', justification: 'not reachable here', expires_in_days: '30' };
    assert.equal((await maintainer.post('/ui/security/decide', fields)).status, 403);
    const auditorTry = await auditor.post('/ui/security/decide', { ...fields, csrf: csrfOf(await auditor.page('/ui/security')) });
    assert.equal(auditorTry.status, 403);
    assert.match(await auditorTry.text(), /needs the maintainer role; aude has auditor/);
    assert.equal((await core.review.list()).length, 1, 'still held');
    const page = await maintainer.page('/ui/security');
    const missing = await maintainer.post('/ui/security/decide', { ...fields, justification: '', csrf: csrfOf(page) });
    assert.equal(missing.status, 400);
    const decided = await maintainer.post('/ui/security/decide', { ...fields, csrf: csrfOf(page) });
    assert.equal(decided.status, 200);
    assert.match(await decided.text(), /held-pkg 1.0-1: accept risk by max; published as revision 2 of bookworm/);
    assert.equal((await core.review.list()).length, 0);

    const summary = await reader.page('/ui/security?distribution=bookworm');
    assert.match(summary, /<th scope="row"><a href="https:\/\/example.org\/advisories\/DSA-UI-HIGH">DSA-UI-HIGH<\/a>/);
    assert.match(summary, /CVE-2099-1111/);
    assert.match(summary, /href="\/ui\/distributions\/bookworm\/packages\/[0-9a-f]{64}">held-pkg 1.0-1</);
    assert.doesNotMatch(await reader.page('/ui/security?severity=critical'), /DSA-UI-HIGH/);

    const high = await reader.page('/ui/distributions/bookworm?q=severity:high');
    assert.match(high, />held-pkg</);
    assert.doesNotMatch(high, />clean-pkg</);
    assert.match(high, /<th scope="col">Severity<\/th>/);
    assert.match(high, />high<\/a><\/td>/);
    assert.match(high, /value="severity:high"/);
    assert.match(await reader.page('/ui/distributions/bookworm?q=severity:medium'), />held-pkg</, 'at least medium includes high');
    assert.match(await reader.page('/ui/distributions/bookworm?q=severity:critical'), /No packages match/);
    assert.match(await reader.page('/ui/distributions/bookworm?q=severity:high+name:clean'), /No packages match/);
    const plain = await reader.page('/ui/distributions/bookworm');
    assert.match(plain, />clean-pkg</);
    assert.doesNotMatch(plain, /<th scope="col">Severity<\/th>/);

    // The package page lists its findings; a clean package says none matches.
    const heldPath = /href="(\/ui\/distributions\/bookworm\/packages\/[0-9a-f]{64})">held-pkg 1.0-1</.exec(summary)![1]!;
    const heldPage = await reader.page(heldPath);
    assert.match(heldPage, /<h2 id="vulnerabilities">Vulnerabilities \(1\)<\/h2>/);
    assert.match(heldPage, /DSA-UI-HIGH<\/a>/);
    assert.match(heldPage, /class="severity-high">high/);
    const cleanPath = /href="(\/ui\/distributions\/bookworm\/packages\/[0-9a-f]{64})"[^>]*>clean-pkg</.exec(plain)![1]!;
    assert.match(await reader.page(cleanPath), /Vulnerabilities \(0\)[\s\S]*No advisory of the feed matches this package/);
  });
});

describe('import views', () => {
  let sourceId: number;

  test('a maintainer adds a source from the form; readers see it without the forms; CSRF and roles are enforced', async () => {
    const page = await maintainer.page('/ui/import');
    assert.match(page, /Add a source/);
    for (const [, id] of page.matchAll(/<(?:input|select|textarea)[^>]* id="([^"]+)"/g)) assert.ok(page.includes(`<label for="${id}">`), `label for ${id}`);
    const fields = { name: 'debian-like', kind: 'apt', url: upstream.url, suite: 'bookworm', components: 'main', architectures: 'amd64', key: upstream.publicKey };
    assert.equal((await maintainer.post('/ui/import/sources', fields)).status, 403);
    const uploaderTry = await uploader.post('/ui/import/sources', { ...fields, csrf: csrfOf(await uploader.page('/ui/import')) });
    assert.equal(uploaderTry.status, 403);
    assert.match(await uploaderTry.text(), /needs the maintainer role; uma has uploader/);
    assert.equal((await core.importSources.list()).length, 0);
    assert.equal((await maintainer.post('/ui/import/sources', { ...fields, csrf: csrfOf(page) })).status, 303);
    const [source] = await core.importSources.list();
    sourceId = source.id;
    assert.deepEqual([source.name, source.suite, source.components, source.architectures], ['debian-like', 'bookworm', ['main'], ['amd64']]);
    const asReader = await reader.page('/ui/import');
    assert.match(asReader, /<th scope="row">debian-like<\/th>/);
    assert.doesNotMatch(asReader, /Sync now|Add a source/);
  });

  test('sync from the UI: the job page, and its event stream to the end; then the catalog search and an import by name', async () => {
    const page = await maintainer.page('/ui/import');
    assert.equal((await reader.post(`/ui/import/sources/${sourceId}/sync`, { csrf: csrfOf(await reader.page('/ui/import')) })).status, 403);
    const started = await maintainer.post(`/ui/import/sources/${sourceId}/sync`, { csrf: csrfOf(page) });
    assert.equal(started.status, 303);
    const jobPath = started.headers.get('location')!;
    assert.match(jobPath, /^\/ui\/import\/jobs\/[^/]+$/);
    // The stream from the first event: every event, then `end` with the outcome.
    const stream = await reader.request(`${jobPath}/events?from=0`);
    assert.match(stream.headers.get('content-type')!, /text\/event-stream/);
    const text = await stream.text();
    const data = [...text.matchAll(/^data: (.+)$/gm)].map((m) => JSON.parse(m[1]));
    assert.deepEqual(data[0], { status: 'syncing', count: 0, message: 'Fetching index...' });
    assert.match(text, /event: end\ndata: \{"status":"done","count":2/);
    const jobPage = await reader.page(jobPath);
    assert.match(jobPage, /<strong id="job-status" role="status" class="good">done<\/strong>/);
    assert.match(jobPage, /data-job-events="\/ui\/import\/jobs\/[^"]+\/events\?from=\d+"/);

    const results = await uploader.page(`/ui/import?q=up-app&source_id=${sourceId}`);
    assert.match(results, /<th scope="row">up-app<\/th><td>3.0-1<\/td>/);
    assert.match(results, /Import up-app into/);
    assert.doesNotMatch(await reader.page('/ui/import?q=up-app'), /Import up-app into/, 'readers cannot import');
    const importFields = { source_id: String(sourceId), package: 'up-app', version: '3.0-1', distribution: 'jammy', with_dependencies: 'true' };
    assert.equal((await uploader.post('/ui/import/packages', importFields)).status, 403);
    const readerTry = await reader.post('/ui/import/packages', { ...importFields, csrf: csrfOf(await reader.page('/ui/import')) });
    assert.equal(readerTry.status, 403);
    const imported = await uploader.post('/ui/import/packages', { ...importFields, csrf: csrfOf(results) });
    assert.equal(imported.status, 201);
    const html = await imported.text();
    assert.match(html, /Import from debian-like into jammy/);
    assert.match(html, /Published as revision 1\./);
    assert.match(html, />up-app</);
    assert.match(html, />up-lib</, 'with its dependency');
    assert.match(await reader.page('/ui/distributions/jammy'), />up-lib</);
  });
});

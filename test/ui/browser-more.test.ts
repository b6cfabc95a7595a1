/**
 * The import, security and admin views, and the upload's live steps, in a real browser: headless
 * Chromium from Debian (/usr/bin/chromium) driven by playwright-core against the real server (npm
 * start's entry), a real upstream APT repository on 127.0.0.1 (apt-ftparchive, signed with gpg)
 * and OSV advisories read at start (REPOD_ADVISORIES). Screenshots of each view go to
 * test-artifacts/ui/ (gitignored). Skips, saying so, when chromium is not installed.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { buildDeb } from '../helpers/debs.ts';
import { CVSS_CRITICAL, CVSS_HIGH, writeAdvisories } from '../helpers/osv.ts';
import { REPO_ROOT } from '../helpers/paths.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';
import { startUpstreamApt, type UpstreamApt } from '../helpers/upstream-apt.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(REPO_ROOT, 'test-artifacts', 'ui');
const ADMIN_PASSWORD = 'browser-more admin password';
const skip = existsSync(CHROMIUM) ? false : `chromium is not installed (${CHROMIUM}): apt-get install chromium`;

let server: RunningServer;
let upstream: UpstreamApt;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let dir: string;

before(async () => {
  if (skip) return;
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'repod-ui-browser-more-'));
  const advisories = join(dir, 'advisories');
  await writeAdvisories(advisories, [
    { id: 'DSA-BR-HIGH', ecosystem: 'Debian:12', name: 'held-pkg', fixed: '2.0-1', cvss: CVSS_HIGH },
    { id: 'DSA-BR-CRIT', ecosystem: 'Debian:12', name: 'evil-pkg', fixed: '2.0-1', cvss: CVSS_CRITICAL },
  ]);
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
        files: [{ path: 'usr/share/up-app/README', content: 'a\n' }],
      },
    ],
  });
  server = await startServer({ REPOD_ADMIN_PASSWORD: ADMIN_PASSWORD, REPOD_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', REPOD_ADVISORIES: advisories });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  context = await browser.newContext();
  page = await context.newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function signIn(p: Page, username: string, password: string): Promise<void> {
  await p.goto(`${server.url}/ui/sign-in`);
  await p.getByLabel('User name').fill(username);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.waitForURL(`${server.url}/`);
}

const shot = (p: Page, name: string) => p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

test('import: add a source, watch its sync finish live, search the catalog, import a package with its dependency', { skip }, async () => {
  await page.getByRole('link', { name: 'Import', exact: true }).click();
  await page.getByText('Add a source').click();
  await page.getByLabel('Source name').fill('upstream-bookworm');
  await page.getByLabel('Kind').selectOption('apt');
  await page.getByLabel('Repository URL').fill(upstream.url);
  await page.getByLabel('Suite (APT)').fill('bookworm');
  await page.getByLabel('Upstream signing key', { exact: false }).fill(upstream.publicKey);
  await page.getByRole('button', { name: 'Add the source' }).click();
  await page.getByRole('row', { name: /upstream-bookworm/ }).waitFor();
  await shot(page, 'import');

  // The upstream answers its index slowly, so the job page opens while the sync runs and its
  // script follows the events to the end, with no reload.
  const release = readFileSync(upstream.distPath('InRelease'));
  upstream.override('/dists/bookworm/InRelease', (_req, res) => {
    setTimeout(() => res.writeHead(200, { 'content-length': String(release.length) }).end(release), 2500);
  });
  await page.getByRole('button', { name: 'Sync upstream-bookworm' }).click();
  await page.waitForURL(/\/ui\/import\/jobs\//);
  assert.equal(await page.locator('#job-status').textContent(), 'running');
  await page.evaluate(() => {
    (window as unknown as { notReloaded: boolean }).notReloaded = true;
  });
  await page.waitForFunction(() => document.getElementById('job-status')?.textContent === 'done', undefined, { timeout: 30_000 });
  assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, 'followed live, not reloaded');
  assert.equal(await page.locator('#job-count').textContent(), '2');
  assert.match(String(await page.locator('#job-events').textContent()), /done: 2 Index updated/);
  assert.equal(await page.getByRole('button', { name: 'Cancel the sync' }).count(), 0, 'nothing left to cancel');
  await shot(page, 'import-job');
  upstream.override('/dists/bookworm/InRelease', null);

  await page.getByRole('link', { name: 'Search the catalog of upstream-bookworm' }).click();
  await page.getByLabel('Search the catalog').fill('up-app');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.getByRole('row', { name: /up-app/ }).waitFor();
  await page.getByLabel('Import up-app into').selectOption('jammy');
  await page.getByLabel('with dependencies').check();
  await page.getByRole('button', { name: 'Import up-app 3.0-1' }).click();
  await page.getByRole('heading', { name: 'Import from upstream-bookworm into jammy' }).waitFor();
  assert.match(String(await page.getByRole('status').textContent()), /Published as revision 1\./);
  assert.match(String(await page.locator('main table').textContent()), /up-lib/);
  await shot(page, 'import-result');
});

test('drag and drop several files: per-file progress, each file’s validation steps, and the new revision', { skip }, async () => {
  await page.getByRole('link', { name: 'Upload' }).click();
  // The drop handler is the page's (deferred) script: wait until it has run.
  await page.waitForURL(/\/ui\/upload$/, { waitUntil: 'load' });
  await page.getByLabel('Distribution').selectOption('bookworm');
  const files = [
    { name: 'clean-pkg_1.0-1_amd64.deb', bytes: [...buildDeb({ name: 'clean-pkg', version: '1.0-1' })] },
    { name: 'held-pkg_1.0-1_amd64.deb', bytes: [...buildDeb({ name: 'held-pkg', version: '1.0-1' })] },
    { name: 'evil-pkg_1.0-1_amd64.deb', bytes: [...buildDeb({ name: 'evil-pkg', version: '1.0-1' })] },
  ];
  const transfer = await page.evaluateHandle((list) => {
    const data = new DataTransfer();
    for (const f of list) data.items.add(new File([new Uint8Array(f.bytes)], f.name, { type: 'application/vnd.debian.binary-package' }));
    return data;
  }, files);
  await page.locator('.drop').dispatchEvent('dragover', { dataTransfer: transfer });
  await page.locator('.drop').dispatchEvent('drop', { dataTransfer: transfer });
  assert.match(String(await page.locator('#upload-chosen').textContent()), /3 chosen/);
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.waitForFunction(() => /Done/.test(document.getElementById('upload-result')?.textContent ?? ''), undefined, { timeout: 30_000 });
  const items = page.locator('#upload-progress > li');
  assert.equal(await items.count(), 3);
  const byName = async (name: string) => {
    const item = items.filter({ hasText: name });
    return { status: String(await item.getByRole('status').textContent()), steps: await item.locator('ul.steps li').allTextContents() };
  };
  const clean = await byName('clean-pkg');
  assert.match(clean.status, /^published - revision \d+$/);
  assert.ok(
    clean.steps.some((s) => /^format: passed/.test(s)),
    clean.steps.join(' | '),
  );
  const held = await byName('held-pkg');
  assert.equal(held.status, 'pending_review');
  assert.ok(
    held.steps.some((s) => /^cve: failed - .*DSA-BR-HIGH/.test(s)),
    held.steps.join(' | '),
  );
  const evil = await byName('evil-pkg');
  assert.match(evil.status, /^refused: evil-pkg/);
  assert.ok(
    evil.steps.some((s) => /^cve: failed/.test(s)),
    evil.steps.join(' | '),
  );
  assert.equal(await page.locator('progress[aria-label="Upload of clean-pkg_1.0-1_amd64.deb"]').evaluate((b) => (b as HTMLProgressElement).value), 1);
  assert.match(String(await page.locator('#upload-result').textContent()), /New revision: Revision \d+ of bookworm/);
  await shot(page, 'upload-steps');
});

test('review queue: the held package is decided from the security page and published; the vulnerabilities summary lists it', { skip }, async () => {
  await page.getByRole('link', { name: 'Security' }).click();
  await page.getByRole('heading', { name: 'Review queue (1)' }).waitFor();
  await shot(page, 'security');
  await page.getByLabel('Decision on held-pkg').selectOption('accept_risk');
  await page.getByLabel('Justification for held-pkg').fill('only reachable from localhost');
  await page.getByRole('button', { name: 'Decide' }).click();
  assert.match(String(await page.getByRole('status').textContent()), /held-pkg 1.0-1: accept risk by admin; published as revision \d+ of bookworm/);
  await shot(page, 'decided');
  await page.getByRole('link', { name: 'Security' }).click();
  assert.match(String(await page.locator('#review ~ p').first().textContent()), /Nothing waits for review/);
  assert.match(String(await page.locator('main').textContent()), /DSA-BR-HIGH/);
  await shot(page, 'vulnerabilities');
  // severity: in the package search finds it.
  await page.goto(`${server.url}/ui/distributions/bookworm`);
  await page.getByLabel('Search packages').fill('severity:high');
  await page.getByRole('button', { name: 'Search' }).click();
  assert.deepEqual(await page.locator('#packages ~ table tbody th').allTextContents(), ['held-pkg']);
  await shot(page, 'severity-search');
});

test('admin: create a token and see it once, rotate the signing key and retire the old one; the audit log lists it all', { skip }, async () => {
  await page.getByRole('link', { name: 'Admin' }).click();
  await shot(page, 'admin');
  await page.getByLabel('Token name').fill('ci');
  await page.getByLabel('Token role').selectOption('uploader');
  await page.getByRole('button', { name: 'Create token' }).click();
  await page.getByRole('heading', { name: 'Token ci created' }).waitFor();
  const token = String(await page.locator('#new-token').textContent());
  assert.match(token, /\S{20,}/);
  assert.equal((await fetch(`${server.url}/api/v1/distributions`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  await shot(page, 'token-created');
  await page.getByRole('link', { name: 'Back to the API tokens' }).click();
  assert.ok(!(await page.content()).includes(token), 'shown once');
  await page.getByRole('row', { name: /ci uploader/ }).waitFor();

  const oldKey = String(await page.locator('#keys ~ table tbody th code').first().textContent());
  await page.getByRole('button', { name: 'Rotate: add a new key' }).click();
  await page.waitForURL(/#keys$/);
  assert.equal(await page.locator('#keys ~ table tbody tr').count(), 2);
  await page
    .getByRole('row', { name: new RegExp(oldKey) })
    .getByRole('button', { name: /^Retire key / })
    .click();
  await page.waitForURL(/#keys$/);
  assert.match(String(await page.getByRole('row', { name: new RegExp(oldKey) }).textContent()), /retired/);
  await shot(page, 'keys-rotated');

  await page.getByRole('link', { name: 'Audit log' }).first().click();
  const log = String(await page.locator('main table').textContent());
  for (const action of [
    'POST /ui/admin/tokens',
    'POST /ui/admin/keys/rotate',
    'POST /ui/admin/keys/:fingerprint/retire',
    'POST /ui/security/decide',
    'POST /ui/import/packages',
    'POST /ui/import/sources/:id/sync',
  ])
    assert.ok(log.includes(action), action);
  await shot(page, 'audit');
});

test('keyboard only: reach the admin page and create a token with Tab, typing and Enter, focus always visible', { skip }, async () => {
  await page.goto(`${server.url}/`);
  const focused = () => page.evaluate(() => ({ id: document.activeElement?.id ?? '', text: document.activeElement?.textContent ?? '' }));
  for (let i = 0; i < 40 && (await focused()).text !== 'Admin'; i++) await page.keyboard.press('Tab');
  assert.equal((await focused()).text, 'Admin');
  assert.notEqual(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle), 'none');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/ui\/admin$/);
  for (let i = 0; i < 80 && (await focused()).id !== 'token-name'; i++) await page.keyboard.press('Tab');
  assert.equal((await focused()).id, 'token-name');
  await page.keyboard.type('keyboard-token');
  await page.keyboard.press('Tab');
  assert.equal((await focused()).id, 'token-role');
  await page.keyboard.press('Tab');
  assert.equal((await focused()).id, 'token-days');
  await page.keyboard.type('7');
  await page.keyboard.press('Tab');
  assert.equal((await focused()).text, 'Create token');
  assert.notEqual(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle), 'none');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Token keyboard-token created' }).waitFor();
  assert.match(String(await page.getByRole('status').textContent()), /Role uploader, expires/);
  await shot(page, 'keyboard-token');
});

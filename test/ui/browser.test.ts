/**
 * The web UI in a real browser: headless Chromium from Debian (/usr/bin/chromium) driven by
 * playwright-core, against the real server (npm start's entry). Screenshots of each view go to
 * test-artifacts/ui/ (gitignored). Skips, saying so, when chromium is not installed.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { buildDeb } from '../helpers/debs.ts';
import { REPO_ROOT } from '../helpers/paths.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(REPO_ROOT, 'test-artifacts', 'ui');
const ADMIN_PASSWORD = 'browser admin password';
const skip = existsSync(CHROMIUM) ? false : `chromium is not installed (${CHROMIUM}): apt-get install chromium`;

let server: RunningServer;
let browser: Browser;
let dir: string;

before(async () => {
  if (skip) return;
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'repod-ui-browser-'));
  server = await startServer({ REPOD_ADMIN_PASSWORD: ADMIN_PASSWORD });
  const user = await fetch(`${server.url}/api/v1/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'rita', password: 'reader password', role: 'reader' }),
  });
  assert.ok(user.ok, await user.text());
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto(`${server.url}/ui/sign-in`);
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.url}/`);
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

test('sign in, upload two packages, search, open a package, compare revisions, promote and roll back', { skip }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD);
  assert.match(String(await page.locator('header').textContent()), /Signed in as admin/);
  await shot(page, 'overview');

  // Upload: two files, each sent by the page's script with its progress and outcome.
  const files = ['hello_1.0-1_amd64.deb', 'world_2.0-1_all.deb'].map((name) => {
    const [pkg, version, arch] = name.replace('.deb', '').split('_');
    const path = join(dir, name);
    writeFileSync(path, buildDeb({ name: pkg, version, arch, depends: 'libc6', files: [{ path: `usr/share/${pkg}/README`, content: pkg }] }));
    return path;
  });
  await page.getByRole('link', { name: 'Upload' }).click();
  await page.getByLabel('Distribution').selectOption('bookworm');
  await page.getByLabel('Package files (.rpm or .deb)').setInputFiles(files);
  await page.getByRole('button', { name: 'Upload' }).click();
  const statuses = page.locator('#upload-progress [role=status]');
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll('#upload-progress [role=status]')].every((s) => /revision/.test(s.textContent ?? '')) &&
      document.querySelectorAll('#upload-progress [role=status]').length === 2,
  );
  const texts = await statuses.allTextContents();
  assert.ok(
    texts.every((t) => /^published - revision [12]$/.test(t)),
    texts.join(', '),
  );
  await shot(page, 'upload');

  // A third upload without the script's help gives revision 3 (the form posts as it is).
  const form = new FormData();
  form.append('distribution', 'bookworm');
  form.append('file', new Blob([new Uint8Array(buildDeb({ name: 'hello', version: '1.1-1', depends: 'libc6' }))]), 'hello_1.1-1_amd64.deb');
  assert.equal((await fetch(`${server.url}/api/v1/upload`, { method: 'POST', body: form, headers: { authorization: `Bearer ${server.adminToken}` } })).status, 201);

  // Search, then open a package.
  await page.goto(`${server.url}/`);
  await page.getByRole('link', { name: 'bookworm', exact: true }).click();
  await page.getByLabel('Search packages').fill('name:hello version:1.1');
  await page.getByRole('button', { name: 'Search' }).click();
  const rows = page.locator('#packages ~ table tbody tr');
  assert.equal(await rows.count(), 1);
  await shot(page, 'distribution');
  await rows.first().getByRole('link', { name: 'hello' }).click();
  await page.getByRole('heading', { name: /hello 1.1-1/ }).waitFor();
  assert.match(String(await page.locator('dl.facts').textContent()), /SHA-256/);
  await shot(page, 'package');

  // Promote to jammy.
  await page.getByLabel('Promote to').selectOption('jammy');
  await page.getByRole('button', { name: 'Promote' }).click();
  assert.match(String(await page.getByRole('status').textContent()), /hello 1.1-1: done. Revision 1 of jammy/);

  // Compare revisions 1 and 3 of bookworm.
  await page.goto(`${server.url}/ui/distributions/bookworm`);
  await page.getByLabel('Compare from revision 1').check();
  await page.getByLabel('Compare to revision 3').check();
  await page.getByRole('button', { name: 'Compare the chosen revisions' }).click();
  await page.getByRole('heading', { name: /revision 1 → 3/ }).waitFor();
  assert.match(String(await page.locator('main').textContent()), /Added \(2\)/);
  await shot(page, 'compare');

  // Roll back to revision 2: a new revision 4 with revision 2's packages.
  await page.goto(`${server.url}/ui/distributions/bookworm`);
  await page.getByRole('button', { name: 'Roll back to 2' }).click();
  await page.waitForURL(/#revisions$/);
  assert.match(String(await page.locator('main > p').first().textContent()), /Revision 4, 2 packages/);
  await shot(page, 'rolled-back');
  await context.close();
});

test('a reader sees no actions and is denied them by the server', { skip }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'rita', 'reader password');
  await page.goto(`${server.url}/ui/distributions/bookworm`);
  assert.equal(await page.getByRole('button', { name: /Roll back/ }).count(), 0);
  await page.locator('#packages ~ table tbody tr').first().getByRole('link').click();
  assert.equal(await page.getByLabel('Promote to').count(), 0);
  // A forged form with the reader's own CSRF token: the server says no.
  const csrf = await page.locator('input[name=csrf]').first().inputValue();
  const answer = await page.evaluate(async (token) => {
    const res = await fetch(`${location.pathname}/promote`, { method: 'POST', body: new URLSearchParams({ csrf: token, to: 'jammy' }) });
    return { status: res.status, text: await res.text() };
  }, csrf);
  assert.equal(answer.status, 403);
  assert.match(answer.text, /needs the maintainer role; rita has reader/);
  await page.goto(`${server.url}/ui/upload`);
  assert.match(String(await page.getByRole('alert').textContent()), /needs the uploader role/);
  await shot(page, 'denied');
  await context.close();
});

test('keyboard only: skip link, then Tab and Enter through overview, distribution search and a package', { skip }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/`);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await page.keyboard.press('Enter');
  const focusedName = () => page.evaluate(() => document.activeElement?.textContent ?? '');
  for (let i = 0; i < 40 && (await focusedName()) !== 'bookworm'; i++) await page.keyboard.press('Tab');
  assert.equal(await focusedName(), 'bookworm');
  // Focus is visible: the focused link has an outline.
  assert.notEqual(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle), 'none');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/ui\/distributions\/bookworm$/);
  for (let i = 0; i < 40 && !(await page.evaluate(() => document.activeElement?.id === 'q')); i++) await page.keyboard.press('Tab');
  await page.keyboard.type('name:world');
  await page.keyboard.press('Enter');
  await page.waitForURL(/q=name%3Aworld/);
  for (let i = 0; i < 40 && (await focusedName()) !== 'world'; i++) await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: /world 2.0-1/ }).waitFor();
  await shot(page, 'keyboard-package');
  await context.close();
});

/**
 * The web UI through the real app in process (createApp(core).request): pages render without
 * JavaScript, sign-in sets an HttpOnly session cookie, every form is checked for its CSRF token,
 * and roles are enforced on the server whatever the page shows.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Hono } from 'hono';
import { createApp } from '../../src/http/app.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';
import { buildDeb } from '../helpers/debs.ts';

const ADMIN_TOKEN = 'ui-pages-admin-token-0123456789';
const ADMIN_PASSWORD = 'ui admin password 42';
let app: Hono;
let core: Awaited<ReturnType<typeof buildNodeCore>>['core'];

/** A browser's cookie jar, enough for one site. */
class Browser {
  cookies = new Map<string, string>();
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await app.request(path, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [k, v] = pair.split('=');
      if (/max-age=0/i.test(line)) this.cookies.delete(k);
      else this.cookies.set(k, v);
    }
    return res;
  }
  async post(path: string, fields: Record<string, string>): Promise<Response> {
    return this.request(path, { method: 'POST', body: new URLSearchParams(fields) });
  }
  async signIn(username: string, password: string): Promise<Response> {
    const form = await (await this.request('/ui/sign-in')).text();
    return this.post('/ui/sign-in', { csrf: csrfOf(form), username, password, next: '/' });
  }
}

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1];

async function upload(dist: string, spec: Parameters<typeof buildDeb>[0]): Promise<any> {
  const form = new FormData();
  form.append('distribution', dist);
  form.append('file', new Blob([new Uint8Array(buildDeb(spec))]), `${spec.name}_${spec.version}_${spec.arch ?? 'amd64'}.deb`);
  const res = await app.request('/api/v1/upload', { method: 'POST', body: form, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(res.status, 201, await res.clone().text());
  return res.json();
}

before(async () => {
  const storage = `file:${await mkdtemp(join(tmpdir(), 'repod-ui-'))}`;
  ({ core } = await buildNodeCore({ REPOD_STORAGE: storage, REPOD_ADMIN_TOKEN: ADMIN_TOKEN, REPOD_ADMIN_PASSWORD: ADMIN_PASSWORD }, () => undefined));
  app = createApp(core);
  await core.users.create('rita', 'reader password', 'reader');
  await core.users.create('max', 'maintainer password', 'maintainer');
  await upload('bookworm', { name: 'hello', version: '1.0-1', depends: 'libc6 (>= 2.36)', description: 'says hello', files: [{ path: 'usr/bin/hello', content: 'hi' }] });
  await upload('bookworm', { name: 'world', version: '2.0-1', arch: 'all' });
  await upload('bookworm', { name: 'hello', version: '1.1-1', depends: 'libc6 (>= 2.36)', files: [{ path: 'usr/bin/hello', content: 'hi again' }] });
});

after(async () => {
  await core.audit.flush();
});

test('the overview lists distributions with their revision and who published, with landmarks and a skip link', async () => {
  const res = await new Browser().request('/');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /text\/html/);
  assert.match(res.headers.get('content-security-policy')!, /script-src 'self'/);
  const html = await res.text();
  assert.match(html, /^<!doctype html>/);
  for (const landmark of ['<header class="site"', '<nav aria-label="Main"', '<main id="main"', 'class="skip" href="#main"']) assert.ok(html.includes(landmark), landmark);
  assert.match(html, /href="\/ui\/distributions\/bookworm">bookworm<\/a>/);
  assert.match(html, /rocky9/);
  assert.match(html, /by admin/);
  assert.match(html, /bookworm revision 3: upload hello_1.1-1_amd64/);
  assert.doesNotMatch(html, /\/ui\/upload/, 'no upload link when signed out');
  assert.doesNotMatch(html, /Audit log/);
  // The API is untouched by the UI's headers.
  const api = await app.request('/api/v1/distributions');
  assert.equal(api.headers.get('content-security-policy'), null);
  const css = await app.request('/ui/assets/app.css');
  assert.match(css.headers.get('content-type')!, /text\/css/);
  assert.match(await css.text(), /:focus-visible/);
  assert.match(await (await app.request('/ui/assets/app.js')).text(), /clipboard/);
});

test('sign-in: CSRF-checked, HttpOnly SameSite=Lax session cookie (Secure behind https), wrong password refused, sign-out ends the token', async () => {
  const browser = new Browser();
  const form = await (await browser.request('/ui/sign-in')).text();
  assert.match(form, /<label for="password">/);
  const forged = await browser.post('/ui/sign-in', { csrf: 'x'.repeat(64), username: 'admin', password: ADMIN_PASSWORD });
  assert.equal(forged.status, 403);
  assert.match(await forged.text(), /stale or came from another site/);
  const wrong = await browser.post('/ui/sign-in', { csrf: csrfOf(form), username: 'admin', password: 'nope nope' });
  assert.equal(wrong.status, 401);
  assert.match(await wrong.text(), /Invalid user name or password/);
  const ok = await browser.post('/ui/sign-in', { csrf: csrfOf(form), username: 'admin', password: ADMIN_PASSWORD, next: '//evil.example/' });
  assert.equal(ok.status, 303);
  assert.equal(ok.headers.get('location'), '/', 'never redirected off-site');
  const cookie = ok.headers.getSetCookie().find((l) => l.startsWith('repod_session='))!;
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Lax/);
  assert.doesNotMatch(cookie, /Secure/);
  const token = browser.cookies.get('repod_session')!;
  assert.deepEqual(await core.tokens.verify(token), { subject: 'admin', role: 'admin' });
  const home = await (await browser.request('/')).text();
  assert.match(home, /Signed in as <strong>admin<\/strong>/);
  assert.match(home, /Audit log/);
  // Sign-out without the form's token is refused; with it the token is revoked.
  assert.equal((await browser.post('/ui/sign-out', {})).status, 403);
  assert.equal((await browser.post('/ui/sign-out', { csrf: csrfOf(home) })).status, 303);
  assert.equal(await core.tokens.verify(token), null);

  const https = new Browser();
  const httpsForm = await (await https.request('/ui/sign-in', { headers: { 'x-forwarded-proto': 'https' } })).text();
  const secure = await https.request('/ui/sign-in', {
    method: 'POST',
    headers: { 'x-forwarded-proto': 'https' },
    body: new URLSearchParams({ csrf: csrfOf(httpsForm), username: 'rita', password: 'reader password' }),
  });
  assert.match(secure.headers.getSetCookie().find((l) => l.startsWith('repod_session='))!, /Secure/);
});

test('distribution page: structured search, paging links, revisions with compare, tags, pinned URLs and client set-up', async () => {
  const browser = new Browser();
  const html = await (await browser.request('/ui/distributions/bookworm')).text();
  assert.match(html, /Revision 3, 3 packages/);
  assert.match(html, /href="\/ui\/distributions\/bookworm\/packages\/[0-9a-f]{64}">hello</);
  assert.match(html, /Signed-By: \/etc\/apt\/keyrings\/repod-bookworm.asc/);
  assert.match(html, /\/revisions\/bookworm\/3</);
  assert.match(html, /name="a" value="2" checked/);
  assert.doesNotMatch(html, /Roll back to/, 'no rollback buttons when signed out');
  const byName = await (await browser.request('/ui/distributions/bookworm?q=name:wor')).text();
  assert.match(byName, />world</);
  assert.doesNotMatch(byName, />hello</);
  const byArch = await (await browser.request('/ui/distributions/bookworm?q=arch%3Aamd64')).text();
  assert.match(byArch, />hello</);
  assert.doesNotMatch(byArch, />world</);
  const byVersion = await (await browser.request('/ui/distributions/bookworm?q=version:2.')).text();
  assert.match(byVersion, />world</);
  assert.match(await (await browser.request('/ui/distributions/bookworm?q=nothing-like-this')).text(), /No packages match/);
  const compare = await (await browser.request('/ui/distributions/bookworm/compare?a=1&b=3')).text();
  assert.match(compare, /Added \(2\)/);
  // APT keeps both versions of hello: 1.1-1 is added beside 1.0-1.
  const next = await (await browser.request('/ui/distributions/bookworm/compare?a=2&b=3')).text();
  assert.match(next, /Added \(1\)/);
  assert.match(next, /<td>1.1-1<\/td>/);
  assert.equal((await browser.request('/ui/distributions/nowhere')).status, 404);
});

test('package page: facts, checksums, dependencies, files, versions across distributions, download; actions per role, enforced by the server', async () => {
  const reader = new Browser();
  await reader.signIn('rita', 'reader password');
  const list = await (await reader.request('/ui/distributions/bookworm?q=name:hello')).text();
  const path = /href="(\/ui\/distributions\/bookworm\/packages\/[0-9a-f]{64})">hello<\/a><\/th><td>1.1-1/.exec(list)![1];
  const sha256 = path.split('/').pop()!;
  const html = await (await reader.request(path)).text();
  assert.ok(html.includes(sha256));
  assert.match(html, /libc6 \(&gt;= 2.36\)/);
  assert.match(html, /usr\/bin\/hello/);
  assert.match(html, /href="\/repos\/pool\/main\/h\/hello\/hello_1.1-1_amd64.deb"/);
  assert.doesNotMatch(html, /Promote to/, 'a reader sees no promote form');
  const download = await app.request(/href="(\/repos\/pool[^"]+)"/.exec(html)![1]);
  assert.equal(download.status, 200);
  // The server refuses what the page hides: a reader's forged promote, with a valid CSRF token, is 403.
  const denied = await reader.post(`${path}/promote`, { csrf: csrfOf(html), to: 'jammy' });
  assert.equal(denied.status, 403);
  assert.match(await denied.text(), /needs the maintainer role; rita has reader/);

  const maintainer = new Browser();
  await maintainer.signIn('max', 'maintainer password');
  const page = await (await maintainer.request(path)).text();
  assert.match(page, /<label for="to">Promote to<\/label>/);
  assert.equal((await maintainer.post(`${path}/promote`, { csrf: 'wrong', to: 'jammy' })).status, 403);
  const promoted = await maintainer.post(`${path}/promote`, { csrf: csrfOf(page), to: 'jammy' });
  assert.equal(promoted.status, 200);
  assert.match(await promoted.text(), /hello 1.1-1: done. Revision 1 of jammy/);
  const again = await (await maintainer.request(path)).text();
  assert.match(again, /<th scope="row">jammy<\/th><td><a href="\/ui\/distributions\/jammy\/packages\/[0-9a-f]{64}">1.1-1<\/a>/);

  // Roll back bookworm to revision 2, from the distribution page's form.
  const distHtml = await (await maintainer.request('/ui/distributions/bookworm')).text();
  assert.match(distHtml, /Roll back to 2/);
  const rolled = await maintainer.post('/ui/distributions/bookworm/rollback', { csrf: csrfOf(distHtml), revision: '2' });
  assert.equal(rolled.status, 303);
  const current = await core.repository.current('bookworm');
  assert.equal(current!.number, 4);
  assert.ok(current!.restoredFrom);
  assert.equal((await reader.post('/ui/distributions/bookworm/rollback', { csrf: csrfOf(html), revision: '1' })).status, 403);
  // UI writes are audited with the session's principal.
  await core.audit.flush();
  const { events } = await core.audit.query({ action: 'POST /ui/distributions/:dist/rollback' });
  assert.deepEqual(events.map((e) => [e.actor, e.status]).sort(), [
    ['max', 303],
    ['rita', 403],
  ]);
});

test('upload without JavaScript: several files, one revision, for uploaders only', async () => {
  const reader = new Browser();
  await reader.signIn('rita', 'reader password');
  assert.equal((await reader.request('/ui/upload')).status, 403);
  const admin = new Browser();
  await admin.signIn('admin', ADMIN_PASSWORD);
  const page = await (await admin.request('/ui/upload')).text();
  const form = new FormData();
  form.append('csrf', csrfOf(page));
  form.append('distribution', 'noble');
  for (const name of ['one', 'two']) form.append('file', new Blob([new Uint8Array(buildDeb({ name, version: '1.0' }))]), `${name}_1.0_amd64.deb`);
  const res = await admin.request('/ui/upload', { method: 'POST', body: form });
  assert.equal(res.status, 201);
  const html = await res.text();
  assert.match(html, /Published as revision 1\./);
  assert.match(html, />one</);
  assert.match(html, />two</);
  const forged = new FormData();
  forged.append('csrf', 'forged');
  forged.append('distribution', 'noble');
  forged.append('file', new Blob([new Uint8Array(buildDeb({ name: 'three', version: '1.0' }))]), 'three_1.0_amd64.deb');
  assert.equal((await admin.request('/ui/upload', { method: 'POST', body: forged })).status, 403);
});

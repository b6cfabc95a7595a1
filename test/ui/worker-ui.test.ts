/**
 * The web UI is served by the same app on Workers: against `npm run start:worker` (workerd
 * through wrangler, R2 emulated on disk), the sign-in page, a sign-in that sets the session
 * cookie, the overview and the new views after it, a form action checked for its CSRF token,
 * and the stylesheet and script.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '../helpers/server.ts';

const ADMIN_PASSWORD = 'worker ui admin password';
const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1];

describe('the UI on the Worker (npm run start:worker)', () => {
  let server: RunningServer;
  const cookies = new Map<string, string>();
  const request = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (cookies.size) headers.set('cookie', [...cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(`${server.url}${path}`, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [k, v] = pair.split('=');
      if (/max-age=0/i.test(line)) cookies.delete(k);
      else cookies.set(k, v);
    }
    return res;
  };

  before(async () => {
    server = await startServer({ REPOD_ADMIN_PASSWORD: ADMIN_PASSWORD }, 'worker');
  });
  after(async () => {
    await server?.stop();
    if (server) await rm(server.storage.replace(/^file:/, ''), { recursive: true, force: true });
  });

  it('serves the sign-in page, signs in with a session cookie, and then the overview and the new views', async () => {
    const form = await request('/ui/sign-in');
    assert.equal(form.status, 200);
    assert.match(form.headers.get('content-security-policy')!, /script-src 'self'/);
    const formHtml = await form.text();
    assert.match(formHtml, /<label for="username">User name<\/label>/);
    const signedIn = await request('/ui/sign-in', {
      method: 'POST',
      body: new URLSearchParams({ csrf: csrfOf(formHtml), username: 'admin', password: ADMIN_PASSWORD, next: '/' }),
    });
    assert.equal(signedIn.status, 303, await signedIn.text());
    assert.match(signedIn.headers.getSetCookie().find((l) => l.startsWith('repod_session='))!, /HttpOnly/);

    const overview = await request('/');
    assert.equal(overview.status, 200);
    const html = await overview.text();
    assert.match(html, /Signed in as <strong>admin<\/strong>/);
    assert.match(html, /href="\/ui\/distributions\/bookworm">bookworm<\/a>/);
    for (const link of ['/ui/upload', '/ui/import', '/ui/security', '/ui/audit', '/ui/admin']) assert.ok(html.includes(`href="${link}"`), link);

    const adminPage = await request('/ui/admin');
    assert.equal(adminPage.status, 200);
    const adminHtml = await adminPage.text();
    assert.match(adminHtml, /<h2 id="keys">Signing keys<\/h2>/);
    // A form action on the Worker: CSRF checked, then a token shown once.
    assert.equal((await request('/ui/admin/tokens', { method: 'POST', body: new URLSearchParams({ name: 'wk', role: 'reader' }) })).status, 403);
    const created = await request('/ui/admin/tokens', { method: 'POST', body: new URLSearchParams({ csrf: csrfOf(adminHtml), name: 'wk', role: 'reader' }) });
    assert.equal(created.status, 201);
    const token = /<pre data-copy="the token" id="new-token">([^<]+)<\/pre>/.exec(await created.text())![1];
    assert.equal((await fetch(`${server.url}/api/v1/distributions`, { headers: { authorization: `Bearer ${token}` } })).status, 200);

    for (const path of ['/ui/security', '/ui/import', '/ui/audit', '/ui/distributions/rocky9?q=severity:high']) {
      const res = await request(path);
      assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
    }
  });

  it('serves the stylesheet and the script', async () => {
    const css = await fetch(`${server.url}/ui/assets/app.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type')!, /text\/css/);
    assert.match(await css.text(), /:focus-visible/);
    const js = await fetch(`${server.url}/ui/assets/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type')!, /text\/javascript/);
    const script = await js.text();
    assert.match(script, /XMLHttpRequest/);
    assert.match(script, /EventSource/);
  });
});

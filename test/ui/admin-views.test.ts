/**
 * The UI's administration views through the real app in process (createApp(core).request), without
 * JavaScript: users, API tokens shown once, signing key rotation and retirement, the audit log;
 * every form refused without its CSRF token, and every action refused by the server to a role
 * below admin even when the form is crafted with the viewer's own valid CSRF token.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Hono } from 'hono';
import { createApp } from '../../src/http/app.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';
import { csrfOf, UiBrowser } from '../helpers/ui-browser.ts';

const ADMIN_TOKEN = 'ui-admin-views-admin-token-0123456789';
const ADMIN_PASSWORD = 'ui admin views password';
let app: Hono;
let dir: string;
let core: Awaited<ReturnType<typeof buildNodeCore>>['core'];
// Sign-ins are limited per client address (10 a minute): each test reuses these sessions.
let admin: UiBrowser;
let maintainer: UiBrowser;
let auditor: UiBrowser;

const api = (path: string, token: string) => app.request(path, { headers: { authorization: `Bearer ${token}` } });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'repod-ui-admin-'));
  ({ core } = await buildNodeCore({ REPOD_STORAGE: `file:${dir}`, REPOD_ADMIN_TOKEN: ADMIN_TOKEN, REPOD_ADMIN_PASSWORD: ADMIN_PASSWORD }, () => undefined));
  app = createApp(core);
  await core.users.create('max', 'maintainer password', 'maintainer');
  await core.users.create('aude', 'auditor password', 'auditor');
  admin = await new UiBrowser(app).signIn('admin', ADMIN_PASSWORD);
  maintainer = await new UiBrowser(app).signIn('max', 'maintainer password');
  auditor = await new UiBrowser(app).signIn('aude', 'auditor password');
});

after(async () => {
  await core.audit.flush();
  await rm(dir, { recursive: true, force: true });
});

test('the admin page lists users, tokens and keys, with a labelled control for every action; the nav shows it to admins only', async () => {
  const home = await admin.page('/');
  assert.match(home, /href="\/ui\/admin">Admin</);
  assert.match(home, /href="\/ui\/audit">Audit log</);
  const html = await admin.page('/ui/admin');
  assert.match(html, /<h2 id="users">Users<\/h2>/);
  assert.match(html, /<th scope="row">max<\/th><td>maintainer<\/td>/);
  assert.match(html, /aria-label="Delete user aude"/);
  const fingerprint = (await core.keyring.list())[0].fingerprint;
  assert.ok(html.includes(fingerprint));
  assert.match(html, /Rotate: add a new key/);
  // Every input and select has a label naming it.
  for (const [, id] of html.matchAll(/<(?:input|select|textarea)[^>]* id="([^"]+)"/g)) assert.ok(html.includes(`<label for="${id}">`), `label for ${id}`);

  assert.doesNotMatch(await maintainer.page('/'), /href="\/ui\/admin"/);
  const denied = await maintainer.request('/ui/admin');
  assert.equal(denied.status, 403);
  assert.match(await denied.text(), /needs the admin role; max has maintainer/);
  assert.equal((await new UiBrowser(app).request('/ui/admin')).status, 401);
});

test('an API token is created from the form, shown once, works as a bearer token, and is revoked from the list', async () => {
  const page = await admin.page('/ui/admin');
  const created = await admin.post('/ui/admin/tokens', { csrf: csrfOf(page), name: 'ci-pipeline', role: 'uploader', expires_in_days: '30' });
  assert.equal(created.status, 201);
  const shown = await created.text();
  assert.match(shown, /Copy the token now: it is not shown again/);
  const token = /<pre data-copy="the token" id="new-token">([^<]+)<\/pre>/.exec(shown)![1];
  assert.deepEqual(await core.tokens.verify(token), { subject: 'token:ci-pipeline', role: 'uploader' });
  // Listed afterwards by name, never with its secret.
  const listed = await admin.page('/ui/admin');
  assert.match(listed, /<th scope="row">ci-pipeline<\/th><td>uploader<\/td>/);
  assert.ok(!listed.includes(token), 'the secret is never shown again');
  const id = /action="\/ui\/admin\/tokens\/([^/"]+)\/revoke"[\s\S]*?aria-label="Revoke token ci-pipeline"/.exec(listed)![1];
  assert.equal((await api('/api/v1/distributions', token)).status, 200);
  const revoked = await admin.post(`/ui/admin/tokens/${id}/revoke`, { csrf: csrfOf(listed) });
  assert.equal(revoked.status, 303);
  assert.equal(await core.tokens.verify(token), null);
  assert.doesNotMatch(await admin.page('/ui/admin'), /ci-pipeline/);
});

test('users are created and deleted from the form; the new user can sign in with the role given', async () => {
  const page = await admin.page('/ui/admin');
  assert.equal((await admin.post('/ui/admin/users', { csrf: csrfOf(page), username: 'uma', password: 'uploader password', role: 'uploader' })).status, 303);
  const uma = await new UiBrowser(app).signIn('uma', 'uploader password');
  assert.match(await uma.page('/'), /Signed in as <strong>uma<\/strong> <span class="muted">\(uploader\)/);
  assert.equal((await admin.post('/ui/admin/users', { csrf: csrfOf(page), username: 'bad', password: 'x', role: 'king' })).status, 400);
  assert.equal((await admin.post('/ui/admin/users/uma/delete', { csrf: csrfOf(page) })).status, 303);
  assert.ok(!(await core.users.list()).some((u) => u.username === 'uma'));
});

test('signing keys: rotate adds a key that signs beside the old one, retire stops the old one', async () => {
  const page = await admin.page('/ui/admin');
  const [old] = await core.keyring.list();
  assert.equal((await admin.post('/ui/admin/keys/rotate', { csrf: csrfOf(page), algorithm: 'ed25519' })).status, 303);
  const keys = await core.keyring.list();
  assert.equal(keys.length, 2);
  assert.ok(keys.every((k) => k.status === 'active'));
  const html = await admin.page('/ui/admin');
  const fresh = keys.find((k) => k.fingerprint !== old.fingerprint)!;
  assert.ok(html.includes(fresh.fingerprint));
  assert.equal((await admin.post(`/ui/admin/keys/${old.fingerprint}/retire`, { csrf: csrfOf(html) })).status, 303);
  assert.equal((await core.keyring.list()).find((k) => k.fingerprint === old.fingerprint)!.status, 'retired');
  const after = await admin.page('/ui/admin');
  assert.ok(after.includes(`/ui/admin/keys/${old.fingerprint}/activate`));
  assert.equal((await admin.post('/ui/admin/keys/rotate', { csrf: csrfOf(after), algorithm: 'dsa512' })).status, 400);
});

test('CSRF: every admin form without the session token, or with another session token, is refused before it acts', async () => {
  const other = await new UiBrowser(app).signIn('admin', ADMIN_PASSWORD);
  const otherToken = csrfOf(await other.page('/ui/admin'));
  const before = (await core.tokens.list()).length;
  for (const fields of [{}, { csrf: 'forged' }, { csrf: otherToken }] as Array<Record<string, string>>) {
    for (const path of ['/ui/admin/tokens', '/ui/admin/users', '/ui/admin/keys/rotate']) {
      const res = await admin.post(path, { ...fields, name: 'sneaky', username: 'sneaky', password: 'sneaky pw', role: 'admin' });
      assert.equal(res.status, 403, path);
      assert.match(await res.text(), /stale or came from another site/);
    }
  }
  assert.equal((await core.tokens.list()).length, before);
  assert.ok(!(await core.users.list()).some((u) => u.username === 'sneaky'));
});

test('roles: a maintainer crafting the admin forms with a valid CSRF token is refused by the server', async () => {
  const csrf = csrfOf(await maintainer.page('/'));
  const keys = (await core.keyring.list()).length;
  for (const [path, fields] of [
    ['/ui/admin/tokens', { name: 'escalate', role: 'admin' }],
    ['/ui/admin/users', { username: 'escalate', password: 'pw pw pw', role: 'admin' }],
    ['/ui/admin/keys/rotate', { algorithm: 'ed25519' }],
    [`/ui/admin/keys/${(await core.keyring.list())[0].fingerprint}/retire`, {}],
    ['/ui/admin/users/aude/delete', {}],
  ] as const) {
    const res = await maintainer.post(path, { csrf, ...fields });
    assert.equal(res.status, 403, path);
    assert.match(await res.text(), /needs the admin role; max has maintainer/);
  }
  assert.equal((await core.keyring.list()).length, keys);
  assert.ok((await core.users.list()).some((u) => u.username === 'aude'));
  assert.ok(!(await core.tokens.list()).some((t) => t.name === 'escalate'));
});

test('the audit log page lists the UI actions (auditor and above), filtered by actor and action', async () => {
  assert.match(await auditor.page('/'), /href="\/ui\/audit">Audit log</);
  const html = await auditor.page('/ui/audit?action=POST+%2Fui%2Fadmin');
  for (const action of ['POST /ui/admin/tokens', 'POST /ui/admin/users', 'POST /ui/admin/keys/rotate', 'POST /ui/admin/keys/:fingerprint/retire']) {
    assert.ok(html.includes(`<code>${action}</code>`), action);
  }
  assert.match(
    html,
    /<th scope="row">max<span class="muted"> \(maintainer\)<\/span><\/th><td><code>POST \/ui\/admin\/tokens<\/code><\/td><td>\/ui\/admin\/tokens<\/td><td class="bad">403/,
  );
  // The target of an action is what it was about: here the retired key.
  const retired = (await core.keyring.list()).find((k) => k.status === 'retired')!;
  assert.ok(html.includes(`<code>POST /ui/admin/keys/:fingerprint/retire</code></td><td>${retired.fingerprint}</td>`));
  const byMax = await auditor.page('/ui/audit?actor=max');
  assert.doesNotMatch(byMax, /<th scope="row">admin</);
  const reader = new UiBrowser(app);
  await core.users.create('rita', 'reader password', 'reader');
  await reader.signIn('rita', 'reader password');
  assert.equal((await reader.request('/ui/audit')).status, 403);
});

/**
 * Sign-in sessions: `POST /api/v1/auth/token` answers an access token that expires and a refresh
 * token; `POST /api/v1/auth/refresh` rotates both (the used refresh token is spent, and seeing it
 * again ends the session); `POST /api/v1/auth/logout` ends the session at once on this server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADMIN_PASSWORD, ADMIN_TOKEN, wiredApp } from './wired-app.ts';

type App = Awaited<ReturnType<typeof wiredApp>>['app'];

async function json(response: Response): Promise<Record<string, any>> {
  return (await response.json()) as Record<string, any>;
}

const post = (app: App, path: string, body: unknown, token?: string) =>
  app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
const whoCanRead = (app: App, token: string) => app.request(`/api/v1/packages/${'0'.repeat(64)}`, { headers: { authorization: `Bearer ${token}` } });

describe('sign-in sessions', () => {
  it('rotates on refresh: new tokens work, the old ones do not, and a reused refresh token ends the session', async () => {
    const { app } = await wiredApp();
    const first = await json(await post(app, '/api/v1/auth/token', { username: 'admin', password: ADMIN_PASSWORD }));
    assert.deepEqual(Object.keys(first).sort(), ['access_token', 'expires_in', 'refresh_expires_in', 'refresh_token', 'token_type']);
    assert.notEqual((await whoCanRead(app, first.access_token)).status, 401);

    const refreshed = await post(app, '/api/v1/auth/refresh', { refresh_token: first.refresh_token });
    assert.equal(refreshed.status, 200);
    const second = await json(refreshed);
    assert.notEqual(second.access_token, first.access_token);
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.equal(second.token_type, 'bearer');
    assert.notEqual((await whoCanRead(app, second.access_token)).status, 401);
    assert.equal((await whoCanRead(app, first.access_token)).status, 401, 'the rotated access token ended');

    const reused = await post(app, '/api/v1/auth/refresh', { refresh_token: first.refresh_token });
    assert.equal(reused.status, 401);
    assert.equal((await json(reused)).error, 'refresh_token_reused');
    assert.equal((await whoCanRead(app, second.access_token)).status, 401, 'reuse ends the session the stolen token led to');
    assert.equal((await post(app, '/api/v1/auth/refresh', { refresh_token: second.refresh_token })).status, 401);
  });

  it('refresh takes form fields too, and refuses garbage and missing tokens', async () => {
    const { app } = await wiredApp();
    const session = await json(await post(app, '/api/v1/auth/token', { username: 'admin', password: ADMIN_PASSWORD }));
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: session.refresh_token });
    assert.equal((await app.request('/api/v1/auth/refresh', { method: 'POST', body: form })).status, 200);
    assert.equal((await post(app, '/api/v1/auth/refresh', { refresh_token: 'rpr_nonsense' })).status, 401);
    assert.equal((await post(app, '/api/v1/auth/refresh', {})).status, 400);
  });

  it('logout ends the access token at once and its refresh token with it', async () => {
    const { app } = await wiredApp();
    const session = await json(await post(app, '/api/v1/auth/token', { username: 'admin', password: ADMIN_PASSWORD }));
    assert.notEqual((await whoCanRead(app, session.access_token)).status, 401, 'verified once: now in the 30 s cache');
    const out = await post(app, '/api/v1/auth/logout', {}, session.access_token);
    assert.equal(out.status, 200);
    assert.equal((await json(out)).status, 'logged_out');
    assert.equal((await whoCanRead(app, session.access_token)).status, 401, 'refused at once, cache or not');
    assert.equal((await post(app, '/api/v1/auth/refresh', { refresh_token: session.refresh_token })).status, 401);
    assert.equal((await post(app, '/api/v1/auth/logout', {}, session.access_token)).status, 401);
    assert.equal((await post(app, '/api/v1/auth/logout', {}, ADMIN_TOKEN)).status, 400, 'the configured admin token is not a session');
  });

  it('access tokens expire; a user removed since sign-in cannot refresh', async () => {
    const { app, core } = await wiredApp({ accessTtlSeconds: 1 });
    await core.users.create('bob', 'bob-password', 'uploader');
    const session = await json(await post(app, '/api/v1/auth/token', { username: 'bob', password: 'bob-password' }));
    assert.equal(session.expires_in, 1);
    assert.notEqual((await whoCanRead(app, session.access_token)).status, 401);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await whoCanRead(app, session.access_token)).status, 401, 'expired, even from the cache');
    await core.users.remove('bob');
    const refused = await post(app, '/api/v1/auth/refresh', { refresh_token: session.refresh_token });
    assert.equal(refused.status, 401);
  });

  it('an admin revoking a sign-in token by id also ends its refresh token', async () => {
    const { app, core } = await wiredApp();
    const session = await json(await post(app, '/api/v1/auth/token', { username: 'admin', password: ADMIN_PASSWORD }));
    const listed = await core.tokens.list();
    const mine = listed.find((t) => t.subject === 'admin' && t.expires);
    assert.ok(mine);
    assert.equal('refresh' in mine, false, 'the list does not show the refresh token hash');
    assert.equal((await app.request(`/api/v1/tokens/${mine.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status, 200);
    assert.equal((await post(app, '/api/v1/auth/refresh', { refresh_token: session.refresh_token })).status, 401);
  });
});

/**
 * The audit log over HTTP: every write under /api (and the upload paths) is recorded once it was
 * answered, with who, what, the status and the client address; failed sign-ins are recorded with
 * the user name they tried, private-repository ones too; reads are not recorded; the log is
 * readable by auditors and above, filtered and paged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent } from '../../src/security/audit-log.ts';
import { ADMIN_PASSWORD, ADMIN_TOKEN, wiredApp } from '../auth/wired-app.ts';

const FROM = { 'x-forwarded-for': '198.51.100.23' };

describe('audit log over HTTP', () => {
  it('records each write with actor, action, target, status and address; reads are not recorded; auditors and up read it', async () => {
    const { app, core } = await wiredApp({ trustProxy: true, lockout: { accountFailures: 2, lockSeconds: 60 } });
    const auditor = (await core.tokens.issue({ subject: 'compliance', role: 'auditor' })).token;
    const reader = (await core.tokens.issue({ subject: 'viewer', role: 'reader' })).token;
    await core.users.create('alice', 'alice-password', 'reader');
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, ...FROM };
    const signIn = (username: string, password: string) =>
      app.request('/api/v1/auth/token', { method: 'POST', headers: { 'content-type': 'application/json', ...FROM }, body: JSON.stringify({ username, password }) });

    assert.equal((await signIn('admin', ADMIN_PASSWORD)).status, 200);
    assert.equal((await signIn('mallory', 'guess1')).status, 401);
    assert.equal((await signIn('mallory', 'guess2')).status, 401);
    assert.equal((await signIn('mallory', 'guess3')).status, 429);
    assert.equal((await app.request('/api/v1/distributions/rocky9/rollback', { method: 'POST', headers: admin })).status >= 400, true);
    assert.equal((await app.request('/api/v1/upload?distribution=rocky9', { method: 'POST', headers: { authorization: `Bearer ${reader}`, ...FROM } })).status, 403);
    assert.equal((await app.request('/api/v1/tokens/0123456789abcdef', { method: 'DELETE', headers: admin })).status, 404);
    assert.equal((await app.request('/api/v1/upload', { method: 'POST', headers: { authorization: 'Bearer not-a-token', ...FROM } })).status, 401);
    // Reads are not writes.
    await app.request('/api/v1/tokens', { headers: admin });
    await app.request('/repos/gpg.key');
    // A wrong password on a private distribution is a failed sign-in too, though a GET.
    const basic = (password: string) => app.request('/private/secret/file', { headers: { authorization: `Basic ${btoa(`alice:${password}`)}`, ...FROM } });
    assert.equal((await basic('wrong')).status, 401);
    assert.equal((await basic('alice-password')).status, 200);
    await core.audit.flush();

    assert.equal((await app.request('/api/v1/audit')).status, 401);
    const forbidden = await app.request('/api/v1/audit', { headers: { authorization: `Bearer ${reader}` } });
    assert.equal(forbidden.status, 403, 'readers may not read the audit log');
    const answer = await app.request('/api/v1/audit?order=asc', { headers: { authorization: `Bearer ${auditor}` } });
    assert.equal(answer.status, 200);
    const { events } = (await answer.json()) as { events: AuditEvent[] };
    const seen = events.map((e) => [e.actor, e.role ?? '-', e.action, e.target ?? '-', e.status]);
    assert.deepEqual(seen, [
      ['admin', 'admin', 'POST /api/v1/auth/token', '-', 200],
      ['mallory', '-', 'POST /api/v1/auth/token', '-', 401],
      ['mallory', '-', 'POST /api/v1/auth/token', '-', 401],
      ['mallory', '-', 'POST /api/v1/auth/token', '-', 429],
      ['admin', 'admin', 'POST /api/v1/distributions/:dist/rollback', 'rocky9', seen[4][4]],
      ['viewer', 'reader', 'POST /api/v1/upload', 'rocky9', 403],
      ['admin', 'admin', 'DELETE /api/v1/tokens/:id', '0123456789abcdef', 404],
      ['anonymous', '-', 'POST /api/v1/upload', '-', 401],
      ['alice', '-', 'GET /private/secret/file', 'sign-in', 401],
    ]);
    for (const e of events) {
      assert.equal(e.address, '198.51.100.23');
      assert.ok(Date.parse(e.time) > Date.now() - 60_000);
    }
    assert.equal(events[4].path, '/api/v1/distributions/rocky9/rollback');

    const get = async (query: string) => {
      const r = await app.request(`/api/v1/audit?${query}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(r.status, 200, query);
      return (await r.json()) as { events: AuditEvent[]; next?: string };
    };
    assert.deepEqual(
      (await get('actor=mallory')).events.map((e) => e.status),
      [429, 401, 401],
    );
    assert.deepEqual(
      (await get(`action=${encodeURIComponent('DELETE ')}`)).events.map((e) => e.target),
      ['0123456789abcdef'],
    );
    assert.equal((await get(`since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).events.length, 0);
    const first = await get('limit=4');
    assert.equal(first.events.length, 4);
    assert.ok(first.next);
    const second = await get(`limit=4&cursor=${first.next}`);
    const third = await get(`limit=4&cursor=${second.next}`);
    assert.equal(third.next, undefined);
    assert.deepEqual(
      [...first.events, ...second.events, ...third.events].map((e) => e.id),
      events.map((e) => e.id).reverse(),
    );
    const bad = await app.request('/api/v1/audit?limit=abc', { headers: { authorization: `Bearer ${auditor}` } });
    assert.equal(bad.status, 400);
  });
});

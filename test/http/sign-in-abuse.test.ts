/**
 * What the issue saw: 30 wrong passwords for `admin` in a row all got a quick 401 and the right one
 * still worked. Now sign-in locks an account after 5 failures (429 with Retry-After, even for the
 * right password, until the lock ends), locks an address after many failures on any accounts,
 * takes at most 10 attempts a minute per address, and holds the lock across two servers sharing
 * one store. Lock durations are seconds here so the tests can wait for them to end.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { Hono } from 'hono';
import { clientAddress } from '../../src/http/client-address.ts';
import { ADMIN_PASSWORD, ADMIN_TOKEN, wiredApp } from '../auth/wired-app.ts';
import { REPO_ROOT } from '../helpers/paths.ts';

type App = Awaited<ReturnType<typeof wiredApp>>['app'];

function signIn(app: App, username: string, password: string, from = '203.0.113.7') {
  return app.request('/api/v1/auth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
    body: JSON.stringify({ username, password }),
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sign-in lockout and rate limit', () => {
  it('locks admin after 5 wrong passwords: 429 with Retry-After, the right password refused, then works once the lock ends', async () => {
    const { app, core } = await wiredApp({ trustProxy: true, lockout: { lockSeconds: 2, windowSeconds: 60 }, signInAttempts: 100 });
    const statuses: number[] = [];
    let firstLocked: Response | null = null;
    for (let i = 0; i < 30; i++) {
      const r = await signIn(app, 'admin', `guess-${i}`);
      statuses.push(r.status);
      if (r.status === 429 && !firstLocked) firstLocked = r;
    }
    assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
    assert.deepEqual(new Set(statuses.slice(5)), new Set([429]), `after 5 failures every attempt is refused: ${statuses}`);
    assert.ok(firstLocked);
    const retryAfter = Number(firstLocked.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 2, `Retry-After ${retryAfter}`);
    const body = (await firstLocked.json()) as Record<string, any>;
    assert.equal(body.error, 'account_locked');
    assert.match(body.message, /locked/);
    assert.equal(body.details.scope, 'account');

    const right = await signIn(app, 'admin', ADMIN_PASSWORD);
    assert.equal(right.status, 429, 'the right password is refused while locked');
    assert.ok(Number(right.headers.get('retry-after')) >= 1);

    await sleep(2100);
    const after = await signIn(app, 'admin', ADMIN_PASSWORD);
    assert.equal(after.status, 200, await after.clone().text());
    const tokens = (await after.json()) as Record<string, any>;
    assert.equal(tokens.token_type, 'bearer');
    assert.match(tokens.access_token, /^rpd_/);
    assert.match(tokens.refresh_token, /^rpr_/);
    assert.equal(tokens.expires_in, 24 * 3600);

    // The success forgot the failures: 4 more wrong ones do not lock yet.
    for (let i = 0; i < 4; i++) assert.equal((await signIn(app, 'admin', 'wrong')).status, 401);
    assert.equal((await signIn(app, 'admin', ADMIN_PASSWORD)).status, 200);
    await core.audit.flush();
  });

  it('locks an address after 20 failures on many accounts, for every account, while other addresses still sign in', async () => {
    const { app } = await wiredApp({ trustProxy: true, lockout: { lockSeconds: 60 }, signInAttempts: 1000 });
    for (let i = 0; i < 20; i++) assert.equal((await signIn(app, `user${i}`, 'wrong', '198.51.100.9')).status, 401);
    const locked = await signIn(app, 'admin', ADMIN_PASSWORD, '198.51.100.9');
    assert.equal(locked.status, 429);
    const body = (await locked.json()) as Record<string, any>;
    assert.equal(body.error, 'address_locked');
    assert.ok(Number(locked.headers.get('retry-after')) > 50);
    assert.equal((await signIn(app, 'admin', ADMIN_PASSWORD, '198.51.100.10')).status, 200, 'another address is not locked');
  });

  it('takes at most 10 sign-in attempts a minute from one address, right or wrong', async () => {
    const { app } = await wiredApp({ trustProxy: true });
    for (let i = 0; i < 10; i++) {
      const r = await signIn(app, 'admin', i % 2 ? ADMIN_PASSWORD : 'wrong', '192.0.2.44');
      assert.ok(r.status === 200 || r.status === 401, `attempt ${i + 1}: ${r.status}`);
    }
    const limited = await signIn(app, 'admin', ADMIN_PASSWORD, '192.0.2.44');
    assert.equal(limited.status, 429);
    assert.equal(((await limited.json()) as Record<string, any>).error, 'too_many_sign_ins');
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.equal((await signIn(app, 'admin', ADMIN_PASSWORD, '192.0.2.45')).status, 200, 'another address has its own budget');
  });

  it('without a trusted proxy, X-Forwarded-For does not give a guesser a fresh address', async () => {
    const { app } = await wiredApp({ signInAttempts: 3 });
    for (let i = 0; i < 3; i++) await signIn(app, 'admin', 'wrong', `10.0.0.${i}`);
    assert.equal((await signIn(app, 'admin', 'wrong', '10.0.0.99')).status, 429);
  });

  it('guards HTTP Basic on a private distribution with the same lockout, API tokens as passwords excepted', async () => {
    const { app, core } = await wiredApp({ trustProxy: true, lockout: { lockSeconds: 60 } });
    await core.users.create('alice', 'alice-password', 'reader');
    const get = (user: string, password: string) =>
      app.request('/private/secret/file', { headers: { authorization: `Basic ${btoa(`${user}:${password}`)}`, 'x-forwarded-for': '203.0.113.50' } });
    assert.equal((await get('alice', 'alice-password')).status, 200);
    for (let i = 0; i < 5; i++) {
      const r = await get('alice', `wrong-${i}`);
      assert.equal(r.status, 401);
      assert.match(r.headers.get('www-authenticate') ?? '', /Basic realm=/);
    }
    const locked = await get('alice', 'alice-password');
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers.get('retry-after')) > 50);
    const { token } = await core.tokens.issue({ subject: 'ci', role: 'reader' });
    assert.equal((await get('alice', token)).status, 200, 'an API token as the password is no password guess');
  });
});

describe('lockout across two servers on one store', () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) child.kill('SIGKILL');
  });

  async function start(storage: string): Promise<string> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/auth/wired-server.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ABUSE_STORAGE: storage },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /listening on (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(`http://127.0.0.1:${m[1]}`);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
    });
  }

  it('counts failures on both servers together and both refuse the locked account', async () => {
    const { storage } = await wiredApp();
    const servers = await Promise.all([start(storage), start(storage)]);
    const post = (url: string, password: string) =>
      fetch(`${url}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(servers[i % 2], `guess-${i}`)).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401]);
    for (const url of servers) {
      const r = await post(url, ADMIN_PASSWORD);
      assert.equal(r.status, 429, `${url} refuses the right password after 5 failures spread over two servers`);
      assert.ok(Number(r.headers.get('retry-after')) > 0);
    }
    // Both servers wrote their failed sign-ins to the one audit log, with the socket's address.
    let events: Array<{ actor: string; status: number; address: string }> = [];
    for (let i = 0; i < 50 && events.length < 7; i++) {
      const r = await fetch(`${servers[1]}/api/v1/audit?actor=admin`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      events = ((await r.json()) as { events: typeof events }).events;
      if (events.length < 7) await sleep(100);
    }
    assert.deepEqual(
      events.map((e) => e.status),
      [429, 429, 401, 401, 401, 401, 401],
    );
    assert.deepEqual(new Set(events.map((e) => e.address)), new Set(['127.0.0.1']));
  });
});

describe('client address', () => {
  const echo = (options: { trustProxy?: boolean }, env?: unknown) => {
    const app = new Hono();
    app.get('/', (c) => c.text(clientAddress(c, options)));
    return async (headers: Record<string, string>) => (await app.request('/', { headers }, env as never)).text();
  };

  it('takes the socket peer on Node, mapped IPv4 unmapped, and ignores headers a client can forge', async () => {
    const node = { incoming: { socket: { remoteAddress: '::ffff:192.0.2.8' } } };
    assert.equal(await echo({}, node)({ 'x-forwarded-for': '10.1.1.1', 'cf-connecting-ip': '10.2.2.2' }), '192.0.2.8');
  });

  it('takes the last X-Forwarded-For hop only behind a trusted proxy', async () => {
    const node = { incoming: { socket: { remoteAddress: '10.0.0.1' } } };
    assert.equal(await echo({ trustProxy: true }, node)({ 'x-forwarded-for': 'forged, 203.0.113.9' }), '203.0.113.9');
    assert.equal(await echo({ trustProxy: true }, node)({}), '10.0.0.1');
  });

  it('takes cf-connecting-ip on Workers, where there is no socket', async () => {
    assert.equal(await echo({}, { SOME_BINDING: {} })({ 'cf-connecting-ip': '2001:DB8::1' }), '2001:db8::1');
    assert.equal(await echo({})({}), 'unknown');
  });
});

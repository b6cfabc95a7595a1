/**
 * API budgets per principal and role: REPOD_RATE_LIMITS' syntax, the window arithmetic, and over
 * HTTP the X-RateLimit headers on every counted answer and 429 with Retry-After past the limit,
 * while what dnf and apt fetch from /repos is never counted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RATE_LIMITS, parseRateLimits, RateLimiter, WindowCounter } from '../../src/auth/rate-limit.ts';
import { RepodError } from '../../src/errors.ts';
import { ADMIN_TOKEN, wiredApp } from './wired-app.ts';

describe('REPOD_RATE_LIMITS', () => {
  it('overrides the named roles and keeps the defaults of the others', () => {
    assert.deepEqual(parseRateLimits(undefined), DEFAULT_RATE_LIMITS);
    assert.deepEqual(parseRateLimits(''), DEFAULT_RATE_LIMITS);
    const limits = parseRateLimits(' uploader=30, maintainer = 900,admin=50,reader=off ');
    assert.equal(limits.uploader, 30);
    assert.equal(limits.maintainer, 900);
    assert.equal(limits.admin, 50);
    assert.equal(limits.reader, Number.POSITIVE_INFINITY);
    assert.equal(limits.auditor, DEFAULT_RATE_LIMITS.auditor);
  });

  it('refuses what it cannot read, naming the item', () => {
    for (const bad of ['uploader', 'root=5', 'uploader=-1', 'uploader=ten', 'uploader=5;maintainer=6']) {
      assert.throws(
        () => parseRateLimits(bad),
        (e: unknown) => e instanceof RepodError && e.code === 'invalid_setting' && e.message.includes('REPOD_RATE_LIMITS'),
        bad,
      );
    }
  });
});

describe('RateLimiter', () => {
  it('counts a fixed window per principal and role, and starts again when it ends', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter({ limits: { uploader: 3 }, windowMs: 60_000 }, () => now);
    const taken = [1, 2, 3, 4].map(() => limiter.take('ci', 'uploader'));
    assert.deepEqual(
      taken.map((d) => [d.allowed, d.remaining]),
      [
        [true, 2],
        [true, 1],
        [true, 0],
        [false, 0],
      ],
    );
    assert.equal(taken[3].resetSeconds, 60);
    assert.equal(limiter.take('other', 'uploader').allowed, true, 'each principal has its own budget');
    now += 45_000;
    assert.equal(limiter.take('ci', 'uploader').resetSeconds, 15);
    now += 15_000;
    assert.deepEqual(limiter.take('ci', 'uploader'), { allowed: true, limit: 3, remaining: 2, resetSeconds: 60 });
    assert.equal(limiter.take('ci', 'admin').allowed, true, 'a role without a limit is never refused');
  });

  it('forgets ended windows so a stream of new keys does not grow without bound', () => {
    let now = 0;
    const counter = new WindowCounter(1000, () => now);
    for (let i = 0; i < 10_000; i++) counter.take(`k${i}`, 1);
    now += 1000;
    for (let i = 0; i < 10; i++) counter.take(`n${i}`, 1);
    assert.ok((counter as unknown as { windows: Map<string, unknown> }).windows.size <= 11);
  });
});

describe('API rate limit over HTTP', () => {
  it('an uploader gets X-RateLimit headers on each answer and 429 with Retry-After past its limit; /repos is not limited', async () => {
    const { app, core } = await wiredApp({ rateLimits: 'uploader=3' });
    const { token } = await core.tokens.issue({ subject: 'ci', role: 'uploader' });
    const upload = () => app.request('/api/v1/upload', { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    for (let i = 0; i < 3; i++) {
      const r = await upload();
      assert.equal(r.status, 400, 'counted, then refused for its missing file');
      assert.equal(r.headers.get('x-ratelimit-limit'), '3');
      assert.equal(r.headers.get('x-ratelimit-remaining'), String(2 - i));
      assert.ok(Number(r.headers.get('x-ratelimit-reset')) >= 59);
    }
    const limited = await upload();
    assert.equal(limited.status, 429);
    const body = (await limited.json()) as Record<string, any>;
    assert.equal(body.error, 'rate_limited');
    assert.match(body.message, /ci made more than 3/);
    assert.equal(limited.headers.get('x-ratelimit-remaining'), '0');
    assert.ok(Number(limited.headers.get('retry-after')) >= 59);
    // A limited uploader still reads the repositories like any dnf or apt client.
    for (let i = 0; i < 5; i++) {
      const key = await app.request('/repos/gpg.key', { headers: { authorization: `Bearer ${token}` } });
      assert.equal(key.status, 200);
      assert.equal(key.headers.get('x-ratelimit-limit'), null);
    }
    // Admins are not limited by default: no budget to announce.
    const admin = await app.request('/api/v1/upload', { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(admin.status, 400);
    assert.equal(admin.headers.get('x-ratelimit-limit'), null);
    await core.audit.flush();
  });

  it('limits per role: a maintainer keeps its own, larger budget', async () => {
    const { app, core } = await wiredApp({ rateLimits: 'uploader=1,maintainer=5' });
    const uploader = (await core.tokens.issue({ subject: 'ci', role: 'uploader' })).token;
    const maintainer = (await core.tokens.issue({ subject: 'release', role: 'maintainer' })).token;
    const read = (token: string) => app.request(`/api/v1/packages/${'0'.repeat(64)}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await read(uploader)).status, 404);
    assert.equal((await read(uploader)).status, 429);
    for (let i = 0; i < 5; i++) assert.equal((await read(maintainer)).headers.get('x-ratelimit-limit'), '5');
    assert.equal((await read(maintainer)).status, 429);
  });
});

/**
 * Outgoing webhooks through their HTTP routes (app.request, admin tokens on a memory store) and a
 * real receiver on 127.0.0.1 that checks each delivery's HMAC with the webhook's secret.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import { Tokens } from '../../src/auth/tokens.ts';
import { handleError } from '../../src/http/errors.ts';
import { webhookRoutes } from '../../src/http/routes/webhooks.ts';
import { parseAllowList } from '../../src/outbound/address-policy.ts';
import { OutboundClient } from '../../src/outbound/outbound-client.ts';
import { nodeOutboundTransport } from '../../src/runtime/node-outbound.ts';
import { webCapabilities } from '../../src/runtime/web-capabilities.ts';
import { Webhooks } from '../../src/security/webhooks/webhooks.ts';
import { MemoryStore } from '../../src/storage/memory.ts';

const ADMIN = 'webhooks-test-admin-token';
const RETRY_BASE_MS = 150;

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

let receiver: Server;
let base: string;
const received: Received[] = [];
const flakyAnswers: number[] = [];

let tokens: Tokens;
let webhooks: Webhooks;
let app: Hono;
let strictApp: Hono;
let strictWebhooks: Webhooks;
let readerToken: string;

function mount(webhooksService: Webhooks): Hono {
  const hono = new Hono();
  hono.onError((error, c) => handleError(error, c, () => undefined));
  hono.route('/api/v1/webhooks', webhookRoutes({ tokens, webhooks: webhooksService }));
  return hono;
}

async function call(target: Hono, method: string, path: string, body?: unknown, token: string | null = ADMIN) {
  const response = await target.request(`/api/v1/webhooks${path === '/' ? '' : path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as any };
}

const hits = (path: string) => received.filter((r) => r.path === path);

function verify(r: Received, secret: string): void {
  const expected = `sha256=${createHmac('sha256', secret).update(r.body).digest('hex')}`;
  assert.equal(r.headers['x-repod-signature-256'], expected, 'the signature is the HMAC of the exact body');
  assert.equal(r.headers['content-type'], 'application/json');
  const payload = JSON.parse(r.body);
  assert.equal(r.headers['x-repod-delivery'], payload.id);
  assert.equal(r.headers['x-repod-event'], payload.event);
}

describe('webhooks', () => {
  before(async () => {
    receiver = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(parts).toString(), at: Date.now() });
        if (req.url === '/flaky') res.writeHead(flakyAnswers.shift() ?? 200);
        else if (req.url === '/down') res.writeHead(500);
        else res.writeHead(204);
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

    const caps = webCapabilities(new MemoryStore(), () => undefined);
    tokens = new Tokens(caps);
    await tokens.configure({ adminToken: ADMIN });
    readerToken = (await tokens.issue({ subject: 'token:reader', role: 'reader' })).token;
    webhooks = new Webhooks(caps, new OutboundClient(nodeOutboundTransport, { allow: parseAllowList('127.0.0.1') }), { retryBaseMs: RETRY_BASE_MS, maxAttempts: 5 });
    app = mount(webhooks);
    // The same store under a server that has no allow list: 127.0.0.1 is refused there.
    strictWebhooks = new Webhooks(caps, new OutboundClient(nodeOutboundTransport, { allow: parseAllowList(undefined) }), { retryBaseMs: RETRY_BASE_MS });
    strictApp = mount(strictWebhooks);
  });
  after(async () => {
    await webhooks.idle();
    await strictWebhooks.idle();
    receiver.closeAllConnections();
    receiver.close();
  });

  it('needs the admin role', async () => {
    assert.equal((await call(app, 'GET', '/', undefined, null)).status, 401);
    assert.equal((await call(app, 'GET', '/', undefined, readerToken)).status, 403);
    assert.equal((await call(app, 'POST', '/', { url: `${base}/a`, events: ['*'], secret: 's' }, readerToken)).status, 403);
  });

  it('refuses a private URL without the allow list, and bad subscriptions, with a 400 naming the problem', async () => {
    const privateUrl = await call(strictApp, 'POST', '/', { url: `${base}/hook`, events: ['published'], secret: 'x' });
    assert.equal(privateUrl.status, 400, privateUrl.text);
    assert.equal(privateUrl.body.error, 'outbound_refused');
    assert.match(privateUrl.body.message, /127\.0\.0\.1.*not a public address/);
    for (const [body, fragment] of [
      [{ url: 'http://169.254.169.254/latest/meta-data/', events: ['*'], secret: 'x' }, '169.254.169.254'],
      [{ url: 'file:///etc/passwd', events: ['*'], secret: 'x' }, 'file:'],
      [{ url: `${base}/hook`, events: ['published', 'exploded'], secret: 'x' }, 'exploded'],
      [{ url: `${base}/hook`, events: [], secret: 'x' }, 'events'],
      [{ url: `${base}/hook`, events: ['*'], secret: '' }, 'secret'],
      [{ url: `${base}/hook`, events: ['*'] }, 'secret'],
    ] as const) {
      const result = await call(app, 'POST', '/', body);
      assert.equal(result.status, 400, `${JSON.stringify(body)}: ${result.text}`);
      assert.ok(result.body.message.includes(fragment), `${result.body.message} names ${fragment}`);
    }
    assert.deepEqual((await call(app, 'GET', '/')).body.webhooks, [], 'nothing was stored');
  });

  it('delivers signed events to the webhooks subscribed to them, and never shows a secret', async () => {
    const created: any[] = [];
    for (const [path, events, secret] of [
      ['/published', ['published'], 'secret-of-published-hook'],
      ['/all', ['*'], 'secret-of-the-catch-all'],
      ['/rejected', ['rejected', 'rejected'], 'secret-of-rejected-hook'],
    ] as const) {
      const result = await call(app, 'POST', '/', { url: `${base}${path}`, events, secret });
      assert.equal(result.status, 201, result.text);
      assert.ok(!result.text.includes(secret));
      assert.equal(result.body.url, `${base}${path}`);
      created.push({ ...result.body, secret });
    }
    assert.deepEqual(created[2].events, ['rejected']);
    const listed = await call(app, 'GET', '/');
    // Listed by creation time; hooks made within one millisecond have no order between them.
    assert.deepEqual(listed.body.webhooks.map((h: any) => h.id).sort(), created.map((h) => h.id).sort());
    for (const h of created) {
      assert.ok(!listed.text.includes(h.secret));
      const one = await call(app, 'GET', `/${h.id}`);
      assert.equal(one.status, 200);
      assert.ok(!one.text.includes(h.secret) && !('secret' in one.body));
    }

    received.length = 0;
    const started = Date.now();
    assert.equal(webhooks.emit({ type: 'published', distribution: 'rocky9', actor: 'ci', data: { revision: 7 } }), undefined);
    assert.ok(Date.now() - started < 50, 'emit returns at once');
    webhooks.emit({ type: 'promoted', data: { from: 'a', to: 'b' } });
    await webhooks.idle();

    assert.equal(hits('/published').length, 1);
    assert.equal(hits('/all').length, 2);
    assert.equal(hits('/rejected').length, 0);
    const published = hits('/published')[0];
    verify(published, created[0].secret);
    const payload = JSON.parse(published.body);
    assert.equal(payload.event, 'published');
    assert.deepEqual(payload.data, { distribution: 'rocky9', actor: 'ci', revision: 7 });
    assert.ok(!Number.isNaN(Date.parse(payload.time)));
    for (const r of hits('/all')) verify(r, created[1].secret);
    assert.deepEqual(
      hits('/all')
        .map((r) => r.headers['x-repod-event'])
        .sort(),
      ['promoted', 'published'],
    );
    // A signature made with another hook's secret does not verify.
    assert.throws(() => verify(published, created[1].secret));

    const log = await call(app, 'GET', `/${created[1].id}/deliveries`);
    assert.equal(log.body.deliveries.length, 2);
    for (const d of log.body.deliveries) {
      assert.equal(d.state, 'delivered');
      assert.equal(d.attempts.length, 1);
      assert.equal(d.attempts[0].status, 204);
    }
    for (const h of created) assert.equal((await call(app, 'DELETE', `/${h.id}`)).status, 200);
  });

  it('retries a failing receiver with growing delays and records every attempt', async () => {
    const hook = (await call(app, 'POST', '/', { url: `${base}/flaky`, events: ['rolled_back'], secret: 'flaky-secret' })).body;
    received.length = 0;
    flakyAnswers.push(500, 500, 200);
    webhooks.emit({ type: 'rolled_back', distribution: 'noble', data: { to: 3 } });
    await webhooks.idle();

    const tries = hits('/flaky');
    assert.equal(tries.length, 3);
    assert.equal(new Set(tries.map((t) => t.body)).size, 1, 'every attempt sends the same body');
    for (const t of tries) verify(t, 'flaky-secret');
    const firstGap = tries[1].at - tries[0].at;
    const secondGap = tries[2].at - tries[1].at;
    assert.ok(firstGap >= RETRY_BASE_MS && secondGap >= 2 * RETRY_BASE_MS && secondGap > firstGap, `gaps ${firstGap} ms then ${secondGap} ms`);

    const log = await call(app, 'GET', `/${hook.id}/deliveries`);
    assert.equal(log.status, 200);
    assert.equal(log.body.deliveries.length, 1);
    const delivery = log.body.deliveries[0];
    assert.equal(delivery.state, 'delivered');
    assert.equal(delivery.id, tries[0].headers['x-repod-delivery']);
    assert.deepEqual(
      delivery.attempts.map((a: any) => [a.attempt, a.status, a.waitedMs]),
      [
        [1, 500, 0],
        [2, 500, RETRY_BASE_MS],
        [3, 200, 2 * RETRY_BASE_MS],
      ],
    );
    for (const a of delivery.attempts) assert.ok(typeof a.durationMs === 'number' && a.durationMs >= 0);
    assert.ok(Date.parse(delivery.attempts[2].time) - Date.parse(delivery.attempts[1].time) > Date.parse(delivery.attempts[1].time) - Date.parse(delivery.attempts[0].time));
    await call(app, 'DELETE', `/${hook.id}`);
  });

  it('reads the webhooks once per second of events, not once per event; its own changes at once', async () => {
    const store = new MemoryStore();
    let lists = 0;
    const list = store.list.bind(store);
    store.list = (prefix) => {
      if (prefix === 'security/webhooks/hooks/') lists++;
      return list(prefix);
    };
    const counted = new Webhooks(
      webCapabilities(store, () => undefined),
      new OutboundClient(nodeOutboundTransport, { allow: parseAllowList('127.0.0.0/8') }),
      {
        hooksTtlMs: 60_000,
      },
    );
    const hook = await counted.create({ url: `${base}/ok`, events: ['decided'], secret: 's' });
    for (let i = 0; i < 20; i++) counted.emit({ type: 'published', data: {} });
    await counted.idle();
    assert.equal(lists, 1, 'twenty events, one read of the webhooks');
    await counted.remove(hook.id);
    counted.emit({ type: 'published', data: {} });
    await counted.idle();
    assert.equal(lists, 2, 'a removal is seen by the next event');
  });

  it('gives up after the last attempt', async () => {
    const quick = new Webhooks(
      webCapabilities(new MemoryStore(), () => undefined),
      new OutboundClient(nodeOutboundTransport, { allow: parseAllowList('127.0.0.0/8') }),
      {
        retryBaseMs: 10,
        maxAttempts: 3,
      },
    );
    const hook = await quick.create({ url: `${base}/down`, events: ['new_findings'], secret: 's' });
    received.length = 0;
    quick.emit({ type: 'new_findings', data: {} });
    await quick.idle();
    assert.equal(hits('/down').length, 3);
    const [delivery] = (await quick.deliveries(hook.id))!;
    assert.equal(delivery.state, 'failed');
    assert.deepEqual(
      delivery.attempts.map((a) => a.status),
      [500, 500, 500],
    );
  });

  it('deleting a webhook stops its deliveries, retries included', async () => {
    const hook = (await call(app, 'POST', '/', { url: `${base}/down`, events: ['decided'], secret: 'down-secret' })).body;
    received.length = 0;
    webhooks.emit({ type: 'decided', data: { decision: 'accept_risk' } });
    while (hits('/down').length === 0) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await call(app, 'DELETE', `/${hook.id}`)).status, 200);
    await webhooks.idle();
    assert.equal(hits('/down').length, 1, 'no retry after the deletion');
    webhooks.emit({ type: 'decided', data: {} });
    await webhooks.idle();
    assert.equal(hits('/down').length, 1, 'no new delivery');
    assert.equal((await call(app, 'GET', `/${hook.id}`)).status, 404);
    assert.equal((await call(app, 'GET', `/${hook.id}/deliveries`)).status, 404);
    assert.equal((await call(app, 'DELETE', `/${hook.id}`)).status, 404);
  });

  it('checks the URL again at each delivery', async () => {
    const hook = (await call(app, 'POST', '/', { url: `${base}/published`, events: ['pending_review'], secret: 'x' })).body;
    received.length = 0;
    // Another server of the fleet, without 127.0.0.1 in its allow list, refuses to deliver there.
    strictWebhooks.emit({ type: 'pending_review', data: {} });
    await strictWebhooks.idle();
    assert.equal(received.length, 0);
    const [delivery] = (await call(strictApp, 'GET', `/${hook.id}/deliveries`)).body.deliveries;
    assert.equal(delivery.state, 'refused');
    assert.equal(delivery.attempts.length, 1, 'a refusal is not retried');
    assert.match(delivery.attempts[0].error, /127\.0\.0\.1.*not a public address/);
    await call(app, 'DELETE', `/${hook.id}`);
  });
});

/**
 * The SSRF guard against real HTTP servers on 127.0.0.1, through the Node transport (which checks
 * DNS answers at connect time) and the web fetch transport (literal addresses only, for Workers).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { RepodError } from '../../src/errors.ts';
import { parseAllowList } from '../../src/outbound/address-policy.ts';
import { fetchTransport } from '../../src/outbound/fetch-transport.ts';
import { OutboundClient, OutboundRefusedError, type OutboundTransport } from '../../src/outbound/outbound-client.ts';
import { nodeOutboundTransport } from '../../src/runtime/node-outbound.ts';

let server: Server;
let port: number;
const hits: string[] = [];

function handle(req: IncomingMessage, res: ServerResponse): void {
  hits.push(req.url ?? '');
  const url = new URL(req.url ?? '/', 'http://x');
  switch (url.pathname) {
    case '/hello':
      res.end('hello');
      return;
    case '/echo': {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ method: req.method, headers: req.headers, body: Buffer.concat(parts).toString() }));
      });
      return;
    }
    case '/redirect':
      res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('to')! });
      res.end();
      return;
    case '/loop':
      res.writeHead(302, { location: '/loop' });
      res.end();
      return;
    case '/endless': {
      const chunk = Buffer.alloc(64 * 1024, 120);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
      return;
    }
    case '/declared-large':
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      res.write('x');
      return;
    case '/silent':
      return; // never answers
    case '/stall':
      res.writeHead(200);
      res.write('start');
      return; // and never ends
    default:
      res.writeHead(404);
      res.end();
  }
}

const client = (allow: string | undefined, transport: OutboundTransport = nodeOutboundTransport, extra: Partial<ConstructorParameters<typeof OutboundClient>[1]> = {}) =>
  new OutboundClient(transport, { allow: parseAllowList(allow), ...extra });

async function refused(promise: Promise<unknown>, ...fragments: string[]): Promise<OutboundRefusedError> {
  const error = await promise.then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof OutboundRefusedError, `expected OutboundRefusedError, got ${String(error)}`);
  assert.equal(error.code, 'outbound_refused');
  assert.equal(error.status, 400);
  for (const f of fragments) assert.ok(error.message.includes(f), `${JSON.stringify(error.message)} names ${f}`);
  return error;
}

async function failsWith(promise: Promise<unknown>, code: string): Promise<RepodError> {
  const error = await promise.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof RepodError, String(error));
  assert.equal(error.code, code, error.message);
  return error;
}

describe('outbound client', () => {
  before(async () => {
    server = createServer(handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('refuses a loopback address unless the allow list names it', async () => {
    hits.length = 0;
    await refused(client(undefined).fetch(`http://127.0.0.1:${port}/hello`), '127.0.0.1', 'not a public address', 'REPOD_OUTBOUND_ALLOWED_HOSTS');
    await refused(client('10.0.0.0/8').fetch(`http://127.0.0.1:${port}/hello`), '127.0.0.1');
    assert.deepEqual(hits, [], 'nothing reached the server');
    for (const allow of ['127.0.0.1', '127.0.0.0/8', ' 192.168.0.0/16 ,127.0.0.0/8']) {
      const response = await client(allow).fetch(`http://127.0.0.1:${port}/hello`);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), 'hello', allow);
    }
  });

  it('refuses a name whose DNS answer is private, checked at connect time', async () => {
    hits.length = 0;
    await refused(client(undefined).fetch(`http://localhost:${port}/hello`), 'localhost', 'resolves to 127.0.0.1');
    assert.deepEqual(hits, []);
    // The same name, once listed by name or by its address, is fetched.
    for (const allow of ['localhost', '127.0.0.0/8']) assert.equal(await (await client(allow).fetch(`http://localhost:${port}/hello`)).text(), 'hello');
  });

  it('refuses schemes other than http and https, and relative URLs', async () => {
    for (const url of ['file:///etc/passwd', 'ftp://example.com/x', 'gopher://127.0.0.1:70/', 'data:text/plain,hi']) {
      await refused(client('127.0.0.0/8').fetch(url), 'is not http or https');
    }
    await refused(client(undefined).fetch('/relative'), 'not an absolute URL');
  });

  it('refuses literal private addresses in every spelling before connecting', async () => {
    for (const url of [
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://0x7f000001/',
      'http://2130706433/',
      'http://0177.0.0.1/',
      'http://169.254.169.254/latest/meta-data/',
      'http://0.0.0.0/',
      'http://[fd00::1]/',
    ]) {
      await refused(client(undefined).fetch(url), 'not a public address');
    }
  });

  it('follows redirects, checking each hop', async () => {
    const base = `http://localhost:${port}`;
    const ok = await client('localhost').fetch(`${base}/redirect?to=${encodeURIComponent('/hello')}`);
    assert.equal(await ok.text(), 'hello');
    assert.equal(ok.url, `${base}/hello`);
    assert.equal(ok.redirected, true);

    // From a host allowed by name to addresses that are not allowed: refused, never fetched.
    hits.length = 0;
    for (const to of [`http://127.0.0.1:${port}/hello`, 'http://169.254.169.254/latest/meta-data/', `http://[::1]:${port}/hello`]) {
      const error = await refused(client('localhost').fetch(`${base}/redirect?to=${encodeURIComponent(to)}`), 'redirected to by', 'not a public address');
      assert.ok(error.message.startsWith('outbound request to '), error.message);
    }
    await refused(client('localhost').fetch(`${base}/redirect?to=${encodeURIComponent('file:///etc/passwd')}`), 'file:');
    assert.deepEqual(
      hits.filter((h) => h.startsWith('/hello')),
      [],
    );

    await failsWith(client('localhost', nodeOutboundTransport, { maxRedirects: 3 }).fetch(`${base}/loop`), 'outbound_redirects');
  });

  it('a 303 continues as a GET; credentials do not follow a redirect to another origin', async () => {
    const base = `http://localhost:${port}`;
    const see = await client('localhost').fetch(`${base}/redirect?status=303&to=/echo`, { method: 'POST', body: new TextEncoder().encode('payload') });
    assert.equal(((await see.json()) as any).method, 'GET');
    const kept = await client('localhost').fetch(`${base}/redirect?status=307&to=/echo`, {
      method: 'POST',
      body: new TextEncoder().encode('payload'),
      headers: { authorization: 'Bearer x' },
    });
    const echoed = (await kept.json()) as any;
    assert.equal(echoed.method, 'POST');
    assert.equal(echoed.body, 'payload');
    assert.equal(echoed.headers.authorization, 'Bearer x', 'same origin keeps it');
    assert.equal(echoed.headers['user-agent'], 'repod');
    const crossed = await client('localhost,127.0.0.1').fetch(`${base}/redirect?to=${encodeURIComponent(`http://127.0.0.1:${port}/echo`)}`, {
      headers: { authorization: 'Bearer x' },
    });
    assert.equal(((await crossed.json()) as any).headers.authorization, undefined);
    const userinfo = await client('127.0.0.1').fetch(`http://user:p%40ss@127.0.0.1:${port}/echo`);
    assert.equal(((await userinfo.json()) as any).headers.authorization, `Basic ${btoa('user:p@ss')}`);
  });

  it('an endless body errors its stream at the size limit', async () => {
    const response = await client('127.0.0.1', nodeOutboundTransport, { maxBytes: 1024 * 1024 }).fetch(`http://127.0.0.1:${port}/endless`);
    assert.equal(response.status, 200);
    let read = 0;
    const error = await (async () => {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) read += chunk.byteLength;
    })().then(
      () => assert.fail('the body ended'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RepodError && error.code === 'outbound_too_large', String(error));
    assert.ok(read <= 1024 * 1024, `read ${read} bytes`);
    // A declared length over the limit is refused before reading.
    await failsWith(client('127.0.0.1', nodeOutboundTransport, { maxBytes: 1024 }).fetch(`http://127.0.0.1:${port}/declared-large`), 'outbound_too_large');
    await failsWith(client('127.0.0.1').fetch(`http://127.0.0.1:${port}/declared-large`, { maxBytes: 1024 }), 'outbound_too_large');
  });

  it('a server that never answers hits the timeout', async () => {
    const started = Date.now();
    const error = await failsWith(client('127.0.0.1', nodeOutboundTransport, { timeoutMs: 300 }).fetch(`http://127.0.0.1:${port}/silent`), 'outbound_timeout');
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    assert.ok(error.message.includes(`127.0.0.1:${port}`), error.message);
    // A body that stops flowing hits the body deadline.
    const stalled = await client('127.0.0.1', nodeOutboundTransport, { bodyTimeoutMs: 300 }).fetch(`http://127.0.0.1:${port}/stall`);
    await failsWith(stalled.text(), 'outbound_timeout');
  });

  it('a refused connection is an error naming the host', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failsWith(client('127.0.0.1').fetch(`http://127.0.0.1:${closedPort}/`), 'outbound_failed');
    assert.ok(error.message.includes(`127.0.0.1:${closedPort}`));
  });

  it('the fetch transport (Workers) checks literal addresses and loopback names', async () => {
    hits.length = 0;
    await refused(client(undefined, fetchTransport).fetch(`http://127.0.0.1:${port}/hello`), '127.0.0.1');
    await refused(client(undefined, fetchTransport).fetch(`http://localhost:${port}/hello`), 'localhost');
    assert.deepEqual(hits, []);
    assert.equal(await (await client('127.0.0.0/8', fetchTransport).fetch(`http://127.0.0.1:${port}/hello`)).text(), 'hello');
    // redirect: 'manual' hands each hop to the client, which re-checks it.
    await refused(client('localhost', fetchTransport).fetch(`http://localhost:${port}/redirect?to=${encodeURIComponent(`http://127.0.0.1:${port}/hello`)}`), 'redirected to by');
    const big = await client('127.0.0.1', fetchTransport, { maxBytes: 256 * 1024 }).fetch(`http://127.0.0.1:${port}/endless`);
    await failsWith(big.arrayBuffer(), 'outbound_too_large');
    await failsWith(client('127.0.0.1', fetchTransport, { timeoutMs: 300 }).fetch(`http://127.0.0.1:${port}/silent`), 'outbound_timeout');
  });
});

/**
 * The CLI's pieces without a server: the streamed multipart body (read back by the server's own
 * streaming parser), the progress bar, tables, argument handling and help.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiClient } from '../../src/cli/http-client.ts';
import { COMMANDS, cli } from '../../src/cli/main.ts';
import { multipartBody } from '../../src/cli/multipart.ts';
import { describeValue, type Io, table } from '../../src/cli/output.ts';
import { Progress } from '../../src/cli/progress.ts';
import { boundaryOf, MultipartReader, readText } from '../../src/http/multipart.ts';

function fakeIo(env: Record<string, string> = {}): Io & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: { write: (t: string) => (io.out += t) },
    stderr: { write: (t: string) => (io.err += t), isTTY: false },
    env,
    readStdin: async () => '',
  };
  return io;
}

describe('cli: streamed multipart body', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repod-cli-unit-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('is read back part by part by the server parser, with the announced length', async () => {
    const a = new Uint8Array(700_000).map((_, i) => (i * 7) & 255);
    // Bytes that look like a delimiter inside a file must not end the part.
    const b = new TextEncoder().encode('x\r\n--not-the-boundary\r\n\r\n--');
    const c = new Uint8Array(3000).map((_, i) => (i * 13) & 255);
    await writeFile(join(dir, 'a.rpm'), a);
    await writeFile(join(dir, 'b"odd.deb'), b);
    const started: string[] = [];
    let counted = 0;
    const mp = multipartBody(
      [
        { name: 'message', value: 'héllo, build 42' },
        { name: 'remove', value: 'x-1-1.noarch' },
        { name: 'remove', value: '' },
        { name: 'file', file: { path: join(dir, 'a.rpm'), filename: 'a.rpm', size: a.length } },
        { name: 'file', file: { path: join(dir, 'b"odd.deb'), filename: 'b"odd.deb', size: b.length } },
        // In memory (the bench's uploads): the same framing, no file read.
        { name: 'file', file: { bytes: c, filename: 'c.deb', contentType: 'application/vnd.debian.binary-package' } },
      ],
      { chunkSize: 65536, onFile: (p) => started.push(p.file.filename), onBytes: (n) => (counted += n) },
    );
    const chunks: Uint8Array[] = [];
    for await (const c of mp.body as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
    const whole = Buffer.concat(chunks);
    assert.equal(whole.length, mp.length, 'Content-Length matches the body');
    assert.equal(counted, a.length + b.length + c.length);
    assert.deepEqual(started, ['a.rpm', 'b"odd.deb', 'c.deb']);
    assert.ok(Math.max(...chunks.map((c) => c.length)) <= 65536, 'files go out in bounded chunks');

    const reader = new MultipartReader(new Blob([whole]).stream(), boundaryOf(mp.contentType)!);
    const parts: Array<{ name: string; filename?: string; sha?: string; text?: string }> = [];
    for (let part = await reader.next(); part; part = await reader.next()) {
      if (part.filename !== undefined) {
        const h = createHash('sha256');
        for await (const c of part.body as unknown as AsyncIterable<Uint8Array>) h.update(c);
        parts.push({ name: part.name, filename: part.filename, sha: h.digest('hex') });
      } else parts.push({ name: part.name, text: await readText(part.body) });
    }
    const sha = (x: Uint8Array) => createHash('sha256').update(x).digest('hex');
    assert.deepEqual(parts, [
      { name: 'message', text: 'héllo, build 42' },
      { name: 'remove', text: 'x-1-1.noarch' },
      { name: 'remove', text: '' },
      { name: 'file', filename: 'a.rpm', sha: sha(a) },
      { name: 'file', filename: 'b%22odd.deb', sha: sha(b) },
      { name: 'file', filename: 'c.deb', sha: sha(c) },
    ]);
  });

  it('fails clearly when a file changes size while it is sent', async () => {
    await writeFile(join(dir, 'c.rpm'), new Uint8Array(1000));
    const mp = multipartBody([{ name: 'file', file: { path: join(dir, 'c.rpm'), filename: 'c.rpm', size: 2000 } }]);
    await assert.rejects(async () => {
      for await (const _ of mp.body as unknown as AsyncIterable<Uint8Array>);
    }, /changed size/);
  });
});

describe('cli: output', () => {
  it('draws a progress bar that fits the terminal and erases itself', () => {
    let written = '';
    let now = 0;
    const p = new Progress({ write: (t) => (written += t), columns: 80 }, 4 * 1024 * 1024, { now: () => now });
    p.setLabel('hello-2.0-1.x86_64.rpm');
    now = 1000;
    p.add(2 * 1024 * 1024);
    assert.match(p.render(), /^\[##########\.{10}\]  50%  2\.0 MiB\/4\.0 MiB  2\.0 MiB\/s  hello/);
    assert.ok(p.render().length <= 79);
    const narrow = new Progress({ write: () => undefined, columns: 40 }, 10);
    narrow.setLabel('a-very-long-file-name-that-does-not-fit.rpm');
    assert.ok(narrow.render().length <= 39 && narrow.render().endsWith('…'));
    p.add(2 * 1024 * 1024);
    assert.match(written, /100%/);
    p.finish();
    assert.ok(written.endsWith('\r\x1b[2K'));
  });

  it('renders tables and unknown answers', () => {
    assert.deepEqual(
      table(
        ['A', 'BB'],
        [
          ['x', 1],
          [null, 'long value'],
        ],
      ),
      ['A  BB', 'x  1', '-  long value'],
    );
    const lines = describeValue({ deleted: 3, dryRun: true, objects: [{ key: 'a', size: 1 }], empty: [] });
    assert.deepEqual(lines, ['deleted: 3', 'dryRun: true', 'objects: (1)', '  KEY  SIZE', '  a    1', 'empty: none']);
  });

  it('keeps a URL path prefix', () => {
    assert.equal(
      new ApiClient('https://h.example/repod', undefined).url('/api/v1/distributions', { limit: 5, before: undefined }).href,
      'https://h.example/repod/api/v1/distributions?limit=5',
    );
    assert.throws(() => new ApiClient('ftp://x', undefined), /only http and https/);
  });
});

describe('cli: arguments and help', () => {
  it('documents every command', async () => {
    const io = fakeIo();
    assert.equal(await cli(['--help'], io), 0);
    for (const c of COMMANDS) assert.match(io.out, new RegExp(`\\n  ${c.name} +\\S`), c.name);
    for (const c of COMMANDS) {
      const one = fakeIo();
      assert.equal(await cli([c.name, '--help'], one), 0);
      assert.match(one.out, new RegExp(`^repod ${c.name} — `));
      assert.match(one.out, /Usage:\n  repod /);
      if (c.api.length) assert.match(one.out, /HTTP API:\n  (GET|POST|PUT|DELETE) \/api\/v1\//);
      else assert.match(one.out, /Works on the store directly/);
      for (const name of Object.keys(c.options)) assert.ok(one.out.includes(`--${name}`), `${c.name} --help names --${name}`);
      assert.equal(one.err, '');
    }
    const viaHelp = fakeIo();
    assert.equal(await cli(['help', 'push'], viaHelp), 0);
    assert.match(viaHelp.out, /^repod push/);
  });

  it('answers usage errors with exit 2, before any request', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['frobnicate'], /unknown command "frobnicate"/],
      [['push', 'x.rpm'], /--dist is required/],
      [['push', '--dist', 'rocky9'], /name at least one FILE/],
      [['push', '--dist', 'rocky9', '--single', 'a.rpm', 'b.rpm'], /--single sends exactly one FILE/],
      [['push', '--dist', 'rocky9', '--bogus', 'a.rpm'], /unknown option '?--bogus/],
      [['revisions', '--dist', 'rocky9', '--limit', 'ten'], /--limit takes an integer/],
      [['show', '--dist', 'rocky9'], /missing the revision/],
      [['diff', '--dist', 'rocky9', '1'], /missing two revisions/],
      [['tag', '--dist', 'rocky9', '--list', '--delete', 'x'], /exclude each other/],
      [['token'], /name an action/],
      [['token', 'create', '--role', 'admin'], /--name is required/],
      [['login', '--username', 'admin'], /--password or --password-stdin is required/],
      [['distributions', '--url', 'not a url'], /invalid server URL/],
      [[], /Usage:/],
    ];
    for (const [args, message] of cases) {
      const io = fakeIo({ REPOD_URL: 'http://127.0.0.1:9' });
      assert.equal(await cli(args, io), 2, `${args.join(' ')}: ${io.err}`);
      assert.match(io.err, message, args.join(' '));
      assert.equal(io.out, '');
    }
  });

  it('names the server it cannot reach (exit 1)', async () => {
    const { createServer } = await import('node:net');
    const probe = createServer();
    const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)));
    await new Promise((resolve) => probe.close(resolve));
    const io = fakeIo({ REPOD_URL: `http://127.0.0.1:${port}` });
    assert.equal(await cli(['distributions'], io), 1);
    assert.match(io.err, /^repod: cannot reach http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });
});

describe('cli: requests and rendering against a stub server', () => {
  it('gc sends {dry_run, keep} and summarizes the report', async () => {
    const { createServer } = await import('node:http');
    const seen: Array<{ method?: string; url?: string; auth?: string; body: string }> = [];
    const stub = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            dryRun: true,
            kept: { revisions: 3, chunks: 7, packages: 2 },
            deleted: { revisions: 2, chunks: 0, packages: 1 },
            bytesFreed: 3 * 1024 * 1024,
            keys: Array.from({ length: 25 }, (_, i) => `k/${i}`),
            keysTruncated: false,
            repointed: 0,
            warnings: ['tag x names a missing revision'],
          }),
        );
      });
    });
    const port = await new Promise<number>((resolve) => stub.listen(0, '127.0.0.1', () => resolve((stub.address() as { port: number }).port)));
    try {
      const io = fakeIo({ REPOD_URL: `http://127.0.0.1:${port}/`, REPOD_TOKEN: 'tkn' });
      assert.equal(await cli(['gc', '--dry-run', '--keep', '3'], io), 0, io.err);
      assert.deepEqual(seen[0], { method: 'POST', url: '/api/v1/gc', auth: 'Bearer tkn', body: JSON.stringify({ dry_run: true, keep: 3 }) });
      const lines = io.out.split('\n');
      assert.equal(lines[0], 'gc (dry run, nothing deleted): 3 objects would be deleted, 3.0 MiB would be freed');
      assert.equal(lines[1], '  kept: 3 revisions, 7 chunks, 2 packages');
      assert.equal(lines[2], '  would delete: 2 revisions, 1 packages');
      assert.equal(lines[3], '  warning: tag x names a missing revision');
      assert.equal(lines[4], '  keys that would go:');
      assert.equal(lines[5], '    k/0');
      assert.equal(lines[25], '    (5 more; --json lists them)');
      const json = fakeIo({ REPOD_URL: `http://127.0.0.1:${port}`, REPOD_TOKEN: 'tkn' });
      assert.equal(await cli(['gc', '--json'], json), 0);
      assert.equal(JSON.parse(json.out).keys.length, 25);
      assert.equal(seen[1].body, JSON.stringify({ dry_run: false }));
    } finally {
      stub.close();
    }
  });

  it("an answer that is not the server's JSON (a proxy page) still gives a clear error", async () => {
    const { createServer } = await import('node:http');
    const stub = createServer((_req, res) => {
      res.statusCode = 502;
      res.setHeader('content-type', 'text/html');
      res.end('<html>bad gateway</html>');
    });
    const port = await new Promise<number>((resolve) => stub.listen(0, '127.0.0.1', () => resolve((stub.address() as { port: number }).port)));
    try {
      const io = fakeIo({ REPOD_URL: `http://127.0.0.1:${port}` });
      assert.equal(await cli(['distributions'], io), 1);
      assert.equal(io.err, 'repod: GET /api/v1/distributions answered 502 Bad Gateway: <html>bad gateway</html> (http_502)\n');
    } finally {
      stub.close();
    }
  });
});

describe('ApiClient and rate limits', () => {
  /** A server answering the given statuses in turn (429s with Retry-After: 0), counting requests. */
  async function scripted(answers: Array<{ status: number; error?: string }>): Promise<{ url: string; count: () => number; close: () => void }> {
    const { createServer } = await import('node:http');
    let n = 0;
    const server = createServer((_req, res) => {
      const a = answers[Math.min(n++, answers.length - 1)];
      res.writeHead(a.status, { 'content-type': 'application/json', ...(a.status === 429 ? { 'retry-after': '0' } : {}) });
      res.end(JSON.stringify(a.error ? { status: 'error', error: a.error, message: a.error } : { ok: true }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    return { url: `http://127.0.0.1:${port}`, count: () => n, close: () => server.close() };
  }

  it('sends a rate-limited request again after its Retry-After', async () => {
    const s = await scripted([{ status: 429, error: 'rate_limited' }, { status: 429, error: 'rate_limited' }, { status: 200 }]);
    try {
      assert.deepEqual(await new ApiClient(s.url, 't').get('/api/v1/distributions'), { ok: true });
      assert.equal(s.count(), 3);
    } finally {
      s.close();
    }
  });

  it('does not retry a locked account, and gives up on endless rate limits', async () => {
    const locked = await scripted([{ status: 429, error: 'account_locked' }]);
    try {
      await assert.rejects(new ApiClient(locked.url, 't').post('/api/v1/auth/token', {}), /account_locked/);
      assert.equal(locked.count(), 1);
    } finally {
      locked.close();
    }
    const endless = await scripted([{ status: 429, error: 'rate_limited' }]);
    try {
      await assert.rejects(new ApiClient(endless.url, 't').get('/x'), (e: Error & { retryAfterSeconds?: number }) => e.retryAfterSeconds === 0);
      assert.equal(endless.count(), 5);
    } finally {
      endless.close();
    }
  });
});

describe('ApiClient: an upload refused before its body arrived', () => {
  /**
   * What a server does to an upload with a bad token, at its worst timing: it answers 401 as soon as
   * it has the headers and closes while the body is still coming. Closing a socket with unread data
   * resets the connection, and Linux then drops what the socket had not sent yet, the answer
   * included: the client gets a reset and no answer (seen under load with the real server, whose
   * answer may still be queued; a raw socket that resets without answering makes it certain). The
   * client must still report the server's reason, not a broken pipe.
   */
  async function refusingServer(probeStatus: number): Promise<{ url: string; probes: () => number; close: () => void }> {
    const { createServer } = await import('node:net');
    let probes = 0;
    const server = createServer((socket) => {
      let head = '';
      socket.on('data', (chunk) => {
        if (head.includes('\r\n\r\n')) return;
        head += chunk.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        const body = JSON.stringify({ status: 'error', error: 'unauthorized', message: 'invalid or expired token' });
        const answer = (status: number) => `HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`;
        if (head.startsWith('GET /api/v1/uploads/')) {
          probes++;
          socket.end(probeStatus === 401 ? answer(401) : 'HTTP/1.1 404 X\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}');
          return;
        }
        socket.resetAndDestroy();
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    return { url: `http://127.0.0.1:${port}`, probes: () => probes, close: () => server.close() };
  }

  const bigBody = () => {
    let sent = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 64 << 20) return controller.close();
        sent += 1 << 20;
        controller.enqueue(new Uint8Array(1 << 20));
      },
    });
  };

  it("reports the server's refusal, asked again without the body", async () => {
    const s = await refusingServer(401);
    try {
      await assert.rejects(new ApiClient(s.url, 'bad').request('POST', '/api/v1/upload', { body: bigBody() }), (e: Error & { status?: number; code?: string }) => {
        assert.equal(e.name, 'ApiError');
        assert.equal(e.status, 401);
        assert.equal(e.message, 'invalid or expired token');
        return true;
      });
      assert.equal(s.probes(), 1);
    } finally {
      s.close();
    }
  });

  it('reports the broken connection when the token may upload after all', async () => {
    const s = await refusingServer(404);
    try {
      await assert.rejects(new ApiClient(s.url, 'good').request('POST', '/api/v1/upload', { body: bigBody() }), /cannot reach/);
      assert.equal(s.probes(), 1);
    } finally {
      s.close();
    }
  });
});

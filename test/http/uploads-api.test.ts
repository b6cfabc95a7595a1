/**
 * Uploads in parts (POST /api/v1/uploads) on real stores: the file store, where parts go through
 * repod's own part URLs, and a real S3 server (Ceph RGW), where they go straight to the store by
 * presigned URLs. Completion answers exactly what the one-request upload answers; every refusal is
 * a 4xx JSON error and leaves the published revision as it was.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Hono } from 'hono';
import type { Core } from '../../src/core/core.ts';
import { createApp } from '../../src/http/app.ts';
import { uploadKeys } from '../../src/ingest/upload-session.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';
import { selfBuiltLookup } from '../helpers/packages.ts';
import { type Rgw, rgwSkipReason, startRgw } from '../helpers/rgw.ts';
import { buildLargeRpm, buildRpms } from '../helpers/rpmbuild.ts';

const fixture = await selfBuiltLookup(['hello-2.0-1.x86_64.rpm', 'animaniacs-0.1-1.noarch.rpm', 'Archer-3.4.5-6.x86_64.rpm', 'hello_2.10-3_amd64.deb']);

const TOKEN = 'uploads-api-test-token';
const PART = 2048;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

type Answer = { status: number; body: Record<string, any> };

/** A client of one app: JSON in and out, the admin's bearer token unless told otherwise. */
function clientOf(app: Hono) {
  return async (method: string, path: string, options: { json?: unknown; body?: BodyInit; token?: string | null; headers?: Record<string, string> } = {}): Promise<Answer> => {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? TOKEN : options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body = options.body;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const init: RequestInit = { method, headers, body };
    if (body instanceof ReadableStream) (init as any).duplex = 'half';
    const response = await app.request(path, init);
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
}

async function keysUnder(core: Core, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const e of core.caps.store.list(prefix)) keys.push(e.key);
  return keys;
}

function assertError(answer: Answer, status: number, code: string) {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.equal(answer.body.status, 'error', JSON.stringify(answer.body));
  assert.equal(answer.body.error, code, JSON.stringify(answer.body));
  assert.ok(typeof answer.body.message === 'string' && answer.body.message.length > 10, 'the message names the problem');
}

describe('uploads in parts on the file store (repod part URLs)', () => {
  let dataDir: string;
  let core: Core;
  let app: Hono;
  let api: ReturnType<typeof clientOf>;
  const put = (url: string, body: BodyInit, headers: Record<string, string> = {}) => api('PUT', url, { body, token: null, headers });

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'repod-uploads-api-'));
    ({ core } = await buildNodeCore({ REPOD_STORAGE: `file:${dataDir}`, REPOD_ADMIN_TOKEN: TOKEN, REPOD_UPLOAD_PART_BYTES: String(PART) }, () => undefined));
    app = createApp(core);
    api = clientOf(app);
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Creates a session for `bytes` and PUTs every part, last first (order does not matter). */
  async function sendInParts(bytes: Uint8Array, fields: Record<string, unknown>): Promise<Record<string, any>> {
    const created = await api('POST', '/api/v1/uploads', { json: { filename: 'package.rpm', size: bytes.length, ...fields } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    for (const part of [...created.body.parts].reverse()) {
      const start = (part.number - 1) * created.body.part_size;
      const r = await put(part.url, bytes.slice(start, start + part.size));
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    return created.body;
  }

  it('publishes a package sent in parts, answering what the one-request upload answers', async () => {
    const bytes = await readFile(fixture('hello-2.0-1.x86_64.rpm'));
    const created = await api('POST', '/api/v1/uploads', { json: { filename: 'hello-2.0-1.x86_64.rpm', size: bytes.length, distribution: 'rocky9', sha256: sha256(bytes) } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const session = created.body;
    const count = Math.ceil(bytes.length / PART);
    assert.ok(count >= 3, `${bytes.length} bytes make ${count} parts`);
    assert.equal(session.part_size, PART);
    assert.equal(session.part_urls, 'repod');
    assert.deepEqual(
      session.parts.map((p: any) => [p.number, p.size, p.method]),
      Array.from({ length: count }, (_, i) => [i + 1, i < count - 1 ? PART : bytes.length - (count - 1) * PART, 'PUT']),
    );
    for (const p of session.parts) assert.match(p.url, new RegExp(`^http://localhost/api/v1/uploads/${session.id}/parts/${p.number}\\?token=[A-Za-z0-9_-]+$`));
    assert.equal(session.complete_url, `http://localhost/api/v1/uploads/${session.id}/complete`);
    assert.equal(session.abort_url, `http://localhost/api/v1/uploads/${session.id}`);
    const hours = (Date.parse(session.expires_at) - Date.now()) / 3_600_000;
    assert.ok(hours > 23.9 && hours <= 24, `expires in ${hours} h`);

    // Part 1 arrives (streamed, no Content-Length); the status says what is still missing.
    const first = await put(
      session.parts[0].url,
      new ReadableStream({
        start(c) {
          c.enqueue(bytes.subarray(0, 100));
          c.enqueue(bytes.subarray(100, PART));
          c.close();
        },
      }),
    );
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual([first.body.status, first.body.number, first.body.size], ['received', 1, PART]);
    const status = await api('GET', `/api/v1/uploads/${session.id}`);
    assert.equal(status.status, 200);
    assert.deepEqual(
      status.body.missing,
      Array.from({ length: count - 1 }, (_, i) => i + 2),
    );
    assert.equal(status.body.received_bytes, PART);
    assert.equal(status.body.parts[0].received, true);
    assert.equal(status.body.parts[0].url, undefined, 'a received part gets no URL again');
    assert.equal(status.body.parts[1].url, session.parts[1].url, 'a missing part keeps its URL (a client can resume)');

    for (const p of session.parts.slice(1)) {
      const start = (p.number - 1) * PART;
      const r = await put(p.url, bytes.slice(start, start + p.size));
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const keys = await keysUnder(core, uploadKeys.prefix(session.id));
    assert.equal(keys.length, count + 1, 'the parts and the session are objects under uploads/<id>/');

    const completed = await api('POST', `/api/v1/uploads/${session.id}/complete`);
    assert.equal(completed.status, 201, JSON.stringify(completed.body));
    assert.deepEqual(await keysUnder(core, 'uploads/'), [], 'parts and session are deleted after completion');
    assert.equal((await api('GET', `/api/v1/uploads/${session.id}`)).status, 404);

    // The same package through the one-request upload, into another distribution: the same answer.
    const form = new FormData();
    form.append('file', new Blob([bytes]), 'hello.rpm');
    form.append('distribution', 'almalinux9');
    const response = await app.request('/api/v1/upload', { method: 'POST', body: form, headers: { authorization: `Bearer ${TOKEN}` } });
    const single = (await response.json()) as Record<string, any>;
    assert.equal(response.status, 201);
    // The gate's step messages name the distribution and its ecosystem, and step times vary.
    const normalized = (b: Record<string, any>) =>
      JSON.parse(
        JSON.stringify({ ...b, revision: { ...b.revision, id: 'R' } })
          .replaceAll(b.distribution, 'D')
          .replaceAll(/(AlmaLinux|Rocky Linux):9/g, 'E')
          .replaceAll(/"ms":\d+/g, '"ms":0'),
      );
    assert.deepEqual(normalized(completed.body), normalized(single));
    assert.equal(completed.body.sha256, sha256(bytes));
    assert.equal(completed.body.size, bytes.length);
    assert.equal(completed.body.distribution, 'rocky9');

    const download = await app.request(`/repos/rocky9/x86_64/Packages/${completed.body.filename}`);
    assert.equal(download.status, 200);
    assert.equal(sha256(new Uint8Array(await download.arrayBuffer())), sha256(bytes));
  });

  it('refuses bad announcements before anything is stored', async () => {
    assertError(await api('POST', '/api/v1/uploads', { json: { filename: 'a.rpm', size: 10_000, distribution: 'nope' } }), 404, 'unknown_distribution');
    assertError(await api('POST', '/api/v1/uploads', { json: { filename: 'a.rpm', size: 10_000 } }), 400, 'missing_distribution');
    assertError(await api('POST', '/api/v1/uploads', { json: { filename: 'a.rpm', size: 9 * 1024 ** 3, distribution: 'rocky9' } }), 413, 'too_large');
    assertError(await api('POST', '/api/v1/uploads', { json: { filename: 'a.rpm', size: -1, distribution: 'rocky9' } }), 400, 'invalid_request');
    assertError(await api('POST', '/api/v1/uploads', { json: { filename: 'a.rpm', size: 10, distribution: 'rocky9', part_size: 200 * 1024 ** 2 } }), 400, 'invalid_request');
    assertError(await api('POST', '/api/v1/uploads', { json: { filename: 'a.rpm', size: 100 * 1024 ** 2, distribution: 'rocky9', part_size: 1024 } }), 400, 'too_many_parts');
    assertError(await api('POST', '/api/v1/uploads', { json: { size: 10, distribution: 'rocky9' } }), 400, 'invalid_request');
    assertError(await api('POST', '/api/v1/uploads', { json: { filename: 'a.rpm', size: 10, distribution: 'rocky9', sha256: 'abc' } }), 400, 'invalid_request');
    assertError(await api('POST', '/api/v1/uploads', { json: { filename: 'a.deb', size: 10, distribution: 'bookworm', component: 'nope' } }), 422, 'unknown_component');
    assertError(await api('POST', '/api/v1/uploads', { json: { filename: 'a.rpm', size: 10, distribution: 'rocky9' }, token: null }), 401, 'unauthorized');
    assertError(await api('POST', '/api/v1/uploads', { json: { filename: 'a.rpm', size: 10, distribution: 'rocky9' }, token: 'not-a-token' }), 401, 'unauthorized');
    assert.deepEqual(await keysUnder(core, 'uploads/'), []);
  });

  it('refuses a part with a wrong token, of a wrong size or number; completion names missing and wrong-sized parts', async () => {
    const bytes = await readFile(fixture('animaniacs-0.1-1.noarch.rpm'));
    const created = await api('POST', '/api/v1/uploads', { json: { filename: 'animaniacs.rpm', size: bytes.length, distribution: 'rocky9' } });
    assert.equal(created.status, 201);
    const { id, parts } = created.body;
    assert.ok(parts.length >= 3, `${parts.length} parts`);
    const slice = (n: number) => bytes.slice((n - 1) * PART, (n - 1) * PART + parts[n - 1].size);
    const url = new URL(parts[0].url);

    url.searchParams.set('token', 'x'.repeat(22));
    assertError(await put(url.href, slice(1)), 403, 'invalid_upload_token');
    url.searchParams.delete('token');
    assertError(await put(url.href, slice(1)), 403, 'invalid_upload_token');
    assertError(await put(parts[0].url.replace(id, 'A'.repeat(22)), slice(1)), 404, 'unknown_upload');
    assertError(await put(parts[0].url.replace('/parts/1?', `/parts/${parts.length + 1}?`), slice(1)), 404, 'unknown_part');
    assertError(await put(parts[0].url, slice(1).subarray(1)), 400, 'wrong_part_size');
    const tooLong = new Uint8Array(PART + 1);
    assertError(
      await put(
        parts[0].url,
        new ReadableStream({
          start(c) {
            c.enqueue(tooLong);
            c.close();
          },
        }),
      ),
      400,
      'wrong_part_size',
    );
    assert.deepEqual(await keysUnder(core, uploadKeys.prefix(id)), [uploadKeys.session(id)], 'no refused part was stored');

    for (let n = 2; n <= parts.length; n++) assert.equal((await put(parts[n - 1].url, slice(n))).status, 200);
    const missing = await api('POST', `/api/v1/uploads/${id}/complete`);
    assertError(missing, 409, 'missing_parts');
    assert.deepEqual(missing.body.details.missing, [1]);
    assert.match(missing.body.message, /part 1 of/);

    // A part of the wrong size in the store (as a presigned PUT could leave it).
    await core.caps.store.put(uploadKeys.part(id, 1), slice(1).subarray(0, 10));
    const wrong = await api('POST', `/api/v1/uploads/${id}/complete`);
    assertError(wrong, 400, 'wrong_part_size');
    assert.deepEqual(wrong.body.details.wrong_size, [{ number: 1, expected: PART, actual: 10 }]);

    // Both refusals kept the parts: sending part 1 again completes the upload.
    assert.equal((await put(parts[0].url, slice(1))).status, 200);
    const done = await api('POST', `/api/v1/uploads/${id}/complete`);
    assert.equal(done.status, 201, JSON.stringify(done.body));
    assert.equal(done.body.package, 'animaniacs');
    assertError(await api('POST', `/api/v1/uploads/${id}/complete`), 404, 'unknown_upload');
    assertError(await put(parts[0].url, slice(1)), 404, 'unknown_upload');
    assert.deepEqual(await keysUnder(core, 'uploads/'), []);
  });

  it('aborts: the session and its parts are deleted', async () => {
    const bytes = await readFile(fixture('Archer-3.4.5-6.x86_64.rpm'));
    const created = await api('POST', '/api/v1/uploads', { json: { filename: 'archer.rpm', size: bytes.length, distribution: 'rocky9' } });
    const { id, parts } = created.body;
    assert.equal((await put(parts[0].url, bytes.slice(0, PART))).status, 200);
    const aborted = await api('DELETE', `/api/v1/uploads/${id}`);
    assert.equal(aborted.status, 200, JSON.stringify(aborted.body));
    assert.deepEqual(aborted.body, { status: 'aborted', id, deleted_parts: 1 });
    assert.deepEqual(await keysUnder(core, 'uploads/'), []);
    assertError(await api('GET', `/api/v1/uploads/${id}`), 404, 'unknown_upload');
    assertError(await api('POST', `/api/v1/uploads/${id}/complete`), 404, 'unknown_upload');
    assertError(await put(parts[1].url, bytes.slice(PART, 2 * PART)), 404, 'unknown_upload');
  });

  it('refuses a corrupt package or another sha256 than announced: nothing published, the upload is gone', async () => {
    const before = { revision: (await core.repository.currentRef('rocky9', true)).ref?.revision, pool: await keysUnder(core, 'pool/') };
    assert.ok(before.revision, 'rocky9 has a revision from the tests before');
    const hello = await readFile(fixture('hello-2.0-1.x86_64.rpm'));
    const bad = new Uint8Array(hello);
    // The main header's index count (after the lead and the signature header) set absurdly high.
    const view = new DataView(bad.buffer);
    const sigCount = view.getUint32(96 + 8);
    const sigData = view.getUint32(96 + 12);
    view.setUint32(96 + 16 + sigCount * 16 + sigData + ((8 - ((sigCount * 16 + sigData) % 8)) % 8) + 8, 0x7fffffff);
    const corrupt = await sendInParts(bad, { distribution: 'rocky9' });
    const refused = await api('POST', `/api/v1/uploads/${corrupt.id}/complete`);
    assertError(refused, 422, 'invalid_package');

    const archer = await readFile(fixture('Archer-3.4.5-6.x86_64.rpm'));
    const mismatch = await sendInParts(archer, { distribution: 'rocky9', sha256: sha256(hello) });
    const refused2 = await api('POST', `/api/v1/uploads/${mismatch.id}/complete`);
    assertError(refused2, 422, 'sha256_mismatch');
    assert.equal(refused2.body.details.actual, sha256(archer));

    assert.equal((await core.repository.currentRef('rocky9', true)).ref?.revision, before.revision, 'the current revision is unchanged');
    assert.deepEqual(await keysUnder(core, 'pool/'), before.pool, 'nothing new in the pool');
    assert.deepEqual(await keysUnder(core, 'uploads/'), [], 'a package read whole and refused leaves no parts behind');
    assertError(await api('GET', `/api/v1/uploads/${corrupt.id}`), 404, 'unknown_upload');
  });

  it('answers the same bytes again (200 unchanged) and a duplicate (409 "duplicate") as the one-request upload does', async () => {
    const bytes = await readFile(fixture('hello-2.0-1.x86_64.rpm'));
    const again = await sendInParts(bytes, { distribution: 'rocky9' });
    const unchanged = await api('POST', `/api/v1/uploads/${again.id}/complete`);
    assert.equal(unchanged.status, 200, JSON.stringify(unchanged.body));
    assert.equal(unchanged.body.status, 'unchanged');

    const dir = await mkdtemp(join(tmpdir(), 'repod-uploads-dup-'));
    try {
      const [rebuilt] = await buildRpms([{ name: 'hello', version: '2.0', release: '1', arch: 'x86_64', files: [{ path: '/usr/share/hello-rebuilt/x' }] }], dir);
      const other = await readFile(rebuilt);
      const before = (await core.repository.currentRef('rocky9', true)).ref?.revision;
      const dup = await api('POST', `/api/v1/uploads/${(await sendInParts(other, { distribution: 'rocky9' })).id}/complete`);
      assert.equal(dup.status, 409, JSON.stringify(dup.body));
      assert.equal(dup.body.status, 'duplicate');
      assert.equal((await core.repository.currentRef('rocky9', true)).ref?.revision, before);
      const replaced = await api('POST', `/api/v1/uploads/${(await sendInParts(other, { distribution: 'rocky9', replace: true })).id}/complete`);
      assert.equal(replaced.status, 201, JSON.stringify(replaced.body));
      assert.equal(replaced.body.sha256, sha256(other));
      assert.deepEqual(await keysUnder(core, 'uploads/'), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('expires sessions; gc deletes expired ones (dry run lists them) and keeps live ones', async () => {
    // A second server on the same store whose sessions last one second.
    const { core: shortCore } = await buildNodeCore(
      { REPOD_STORAGE: `file:${dataDir}`, REPOD_ADMIN_TOKEN: TOKEN, REPOD_UPLOAD_PART_BYTES: String(PART), REPOD_UPLOAD_EXPIRY_SECONDS: '1' },
      () => undefined,
    );
    const shortApi = clientOf(createApp(shortCore));
    const bytes = await readFile(fixture('hello-2.0-1.x86_64.rpm'));
    const doomed = await shortApi('POST', '/api/v1/uploads', { json: { filename: 'hello.rpm', size: bytes.length, distribution: 'rocky9' } });
    assert.equal(doomed.status, 201);
    assert.equal((await put(doomed.body.parts[0].url, bytes.slice(0, PART))).status, 200);
    const live = await api('POST', '/api/v1/uploads', { json: { filename: 'hello.rpm', size: bytes.length, distribution: 'rocky9' } });
    assert.equal((await put(live.body.parts[0].url, bytes.slice(0, PART))).status, 200);
    // A part whose session is gone (completed or aborted while a presigned PUT was under way).
    await core.caps.store.put(uploadKeys.part('O'.repeat(22), 1), new Uint8Array(5));
    await new Promise((r) => setTimeout(r, 1100));

    assertError(await put(doomed.body.parts[1].url, bytes.slice(PART, 2 * PART)), 410, 'upload_expired');
    assertError(await api('POST', `/api/v1/uploads/${doomed.body.id}/complete`), 410, 'upload_expired');

    const doomedKeys = [uploadKeys.part(doomed.body.id, 1), uploadKeys.session(doomed.body.id)];
    const dry = await api('POST', '/api/v1/gc', { json: { dry_run: true, grace_seconds: 0 } });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    const listed = (dry.body.keys as string[]).filter((k) => k.startsWith('uploads/')).sort();
    assert.deepEqual(listed, [...doomedKeys, uploadKeys.part('O'.repeat(22), 1)].sort());
    assert.equal(dry.body.deleted.uploads, 3);

    const gc = await api('POST', '/api/v1/gc', { json: { dry_run: false, grace_seconds: 0 } });
    assert.equal(gc.status, 200, JSON.stringify(gc.body));
    assert.equal(gc.body.deleted.uploads, 3);
    assert.deepEqual(await keysUnder(core, 'uploads/'), [uploadKeys.part(live.body.id, 1), uploadKeys.session(live.body.id)]);
    assertError(await api('GET', `/api/v1/uploads/${doomed.body.id}`), 404, 'unknown_upload');
    const status = await api('GET', `/api/v1/uploads/${live.body.id}`);
    assert.equal(status.status, 200);
    assert.equal(status.body.parts[0].received, true);
    assert.equal((await api('DELETE', `/api/v1/uploads/${live.body.id}`)).status, 200);
  });

  it('an upload belongs to its creator (or an admin)', async () => {
    const issued = await api('POST', '/api/v1/tokens', { json: { name: 'ci', role: 'uploader' } });
    const other = await api('POST', '/api/v1/tokens', { json: { name: 'other', role: 'uploader' } });
    const reader = await api('POST', '/api/v1/tokens', { json: { name: 'reader', role: 'reader' } });
    const created = await api('POST', '/api/v1/uploads', { json: { filename: 'a.rpm', size: 10, distribution: 'rocky9' }, token: issued.body.token });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assertError(await api('GET', `/api/v1/uploads/${created.body.id}`, { token: other.body.token }), 403, 'forbidden');
    assertError(await api('POST', `/api/v1/uploads/${created.body.id}/complete`, { token: other.body.token }), 403, 'forbidden');
    assertError(await api('POST', '/api/v1/uploads', { json: { filename: 'a.rpm', size: 10, distribution: 'rocky9' }, token: reader.body.token }), 403, 'forbidden');
    assert.equal((await api('GET', `/api/v1/uploads/${created.body.id}`, { token: issued.body.token })).status, 200);
    assert.equal((await api('DELETE', `/api/v1/uploads/${created.body.id}`)).status, 200, 'an admin may abort it');
  });

  it('a package of more than 100 MiB in parts of 40 MiB', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'repod-uploads-big-'));
    try {
      const rpm = await buildLargeRpm(dir, 'repod-parts-big', 110);
      const size = (await stat(rpm)).size;
      const partSize = 40 * 1024 * 1024;
      const created = await api('POST', '/api/v1/uploads', { json: { filename: 'big.rpm', size, distribution: 'fedora', part_size: partSize } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.parts.length, 3);
      const hash = createHash('sha256');
      const handle = await open(rpm);
      try {
        for (const p of created.body.parts) {
          const chunk = new Uint8Array(p.size);
          await handle.read(chunk, 0, p.size, (p.number - 1) * partSize);
          hash.update(chunk);
          const r = await put(p.url, chunk);
          assert.equal(r.status, 200, JSON.stringify(r.body));
        }
      } finally {
        await handle.close();
      }
      const done = await api('POST', `/api/v1/uploads/${created.body.id}/complete`);
      assert.equal(done.status, 201, JSON.stringify(done.body));
      assert.equal(done.body.size, size);
      assert.equal(done.body.sha256, hash.digest('hex'));
      const head = await app.request(`/repos/fedora/x86_64/Packages/${done.body.filename}`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(Number(head.headers.get('content-length')), size);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('uploads in parts on S3 (Ceph RGW): parts go straight to the store', { skip: rgwSkipReason() }, () => {
  let rgw: Rgw;
  let core: Core;
  let app: Hono;
  let api: ReturnType<typeof clientOf>;

  before(async () => {
    rgw = await startRgw();
    ({ core } = await buildNodeCore({ ...rgw.env, REPOD_STORAGE: `s3://${rgw.bucket}/repod`, REPOD_ADMIN_TOKEN: TOKEN, REPOD_UPLOAD_PART_BYTES: String(PART) }, () => undefined));
    app = createApp(core);
    api = clientOf(app);
  });
  after(async () => {
    await rgw?.stop();
  });

  it('presigns each part to RGW, and the completed package is served', async () => {
    const bytes = await readFile(fixture('hello-2.0-1.x86_64.rpm'));
    const created = await api('POST', '/api/v1/uploads', { json: { filename: 'hello.rpm', size: bytes.length, distribution: 'rocky9', sha256: sha256(bytes) } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.part_urls, 'store');
    assert.ok(created.body.parts.length >= 3, JSON.stringify(created.body));
    for (const p of created.body.parts) {
      const url = new URL(p.url);
      assert.equal(url.host, new URL(rgw.endpoint).host, 'the part URL is the store, not repod');
      assert.ok(url.searchParams.has('X-Amz-Signature'), `${url} is presigned`);
      const start = (p.number - 1) * PART;
      const response = await fetch(p.url, { method: 'PUT', body: bytes.slice(start, start + p.size) });
      assert.equal(response.status, 200, await response.text());
    }
    // A tampered signature is refused by the store itself.
    const forged = new URL(created.body.parts[0].url);
    forged.searchParams.set('X-Amz-Signature', '0'.repeat(64));
    assert.equal((await fetch(forged, { method: 'PUT', body: new Uint8Array(PART) })).status, 403);

    const status = await api('GET', `/api/v1/uploads/${created.body.id}`);
    assert.deepEqual(status.body.missing, []);
    const done = await api('POST', `/api/v1/uploads/${created.body.id}/complete`);
    assert.equal(done.status, 201, JSON.stringify(done.body));
    assert.equal(done.body.sha256, sha256(bytes));
    assert.deepEqual(await keysUnder(core, 'uploads/'), []);

    const download = await app.request(`/repos/rocky9/x86_64/Packages/${done.body.filename}`);
    assert.equal(download.status, 302);
    const fetched = await fetch(download.headers.get('location')!);
    assert.equal(fetched.status, 200);
    assert.equal(sha256(new Uint8Array(await fetched.arrayBuffer())), sha256(bytes));
  });
});

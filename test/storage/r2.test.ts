/**
 * The r2 driver where it runs: inside workerd, on its local R2, through the test Worker in
 * r2-worker/ (bundled by wrangler, run on Miniflare). The contract suite drives it over HTTP (http-store.ts),
 * so concurrent writes in its race tests really race inside workerd.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runWorker } from '../../scripts/worker-runner.ts';
import { PreconditionFailedError, RepodError, StorageError } from '../../src/errors.ts';
import { REPO_ROOT } from '../helpers/paths.ts';
import { blobStoreContract, generated, getText, listKeys, readAll, rejectsWith, streamOf, text } from './contract.ts';
import { HttpStore } from './http-store.ts';

const MiB = 1024 * 1024;
const WORKER_DIR = join(REPO_ROOT, 'test/storage/r2-worker');
const WORKERD = join(REPO_ROOT, 'node_modules/.bin/workerd');

/** false when workerd runs here; otherwise why the tests are skipped. */
function workerdSkipReason(): string | false {
  const run = spawnSync(WORKERD, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (run.error) return `workerd cannot run: ${run.error.message}`;
  if (run.status !== 0) return `workerd --version failed: ${(run.stderr || run.stdout).trim()}`;
  return false;
}

const skip = workerdSkipReason();
if (skip) console.log(`# SKIP r2 tests in workerd: ${skip}`);

interface Worker {
  url: string;
  stop(): Promise<void>;
}

/** The test Worker under workerd (scripts/worker-runner.ts: wrangler's bundle on Miniflare, R2 in a temporary directory). */
async function startWorker(vars: Record<string, string>): Promise<Worker> {
  const persist = mkdtempSync(join(tmpdir(), 'repod-r2-contract-'));
  const removeDir = () => rmSync(persist, { recursive: true, force: true });
  process.once('exit', removeDir);
  const worker = await runWorker({ config: join(WORKER_DIR, 'wrangler.toml'), vars, persist }).catch((error) => {
    removeDir();
    throw error;
  });
  return {
    url: worker.url.origin,
    stop: async () => {
      await worker.stop();
      process.off('exit', removeDir);
      removeDir();
    },
  };
}

const PRESIGN = {
  PRESIGN_ENDPOINT: 'https://account.r2.cloudflarestorage.com',
  PRESIGN_BUCKET: 'packages',
  PRESIGN_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  PRESIGN_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

let worker: Worker | undefined;
let starting: Promise<Worker> | undefined;
/** One Worker for the whole file (started on first use, stopped at the end). */
const workerUp = () => (starting ??= startWorker(PRESIGN).then((w) => (worker = w)));
after(async () => {
  await worker?.stop();
});

let started = 0;
blobStoreContract(
  'r2 (workerd)',
  async () => {
    started = Date.now();
    return { store: await HttpStore.connect((await workerUp()).url) };
  },
  // Memory is workerd's, not this process's; the large object still streams through both ways
  // (the contract puts it without a size: the multipart path).
  { boundedMemory: false, etagPerWrite: false, largeSize: 32 * MiB, skip },
);

describe('r2 driver in workerd', { skip }, () => {
  let url: string;
  let store: HttpStore;
  /** A store whose parts (and so its buffer for unknown sizes) are R2's minimum, 5 MiB. */
  let small: HttpStore;
  let n = 0;
  const p = () => `r${++n}-${Date.now().toString(36)}/`;
  const raw = async (prefix: string, key?: string) => {
    const query = new URLSearchParams({ prefix, ...(key ? { key } : {}) });
    return (await (await fetch(`${url}/raw?${query}`, { signal: AbortSignal.timeout(30_000) })).json()) as {
      objects: { key: string; size: number }[];
      object?: { key: string; size: number; contentType?: string } | null;
    };
  };

  before(async () => {
    if (started) console.log(`# r2 contract suite in workerd took ${((Date.now() - started) / 1000).toFixed(1)} s (worker start included)`);
    url = (await workerUp()).url;
    store = await HttpStore.connect(url);
    small = await HttpStore.connect(url, { partSize: String(5 * MiB) });
  });

  it('streams a body of declared size through one put', async () => {
    const key = `${p()}sized.bin`;
    const size = 32 * MiB + 7;
    const { stream, sha256 } = generated(size, 3);
    const { etag } = await store.put(key, stream, { size, contentType: 'application/x-rpm' });
    assert.doesNotMatch(etag, /-\d+$/, 'one put, not a multipart upload');
    const object = await store.get(key);
    assert.ok(object);
    assert.equal(object.size, size);
    const hash = createHash('sha256');
    for await (const chunk of object.body as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
    assert.equal(hash.digest('hex'), sha256);
    assert.equal((await raw(key, key)).object?.contentType, 'application/x-rpm');
  });

  it('a stream of unknown size over one part is a multipart upload of equal parts', async () => {
    const key = `${p()}unsized.bin`;
    const { stream, sha256 } = generated(12 * MiB + 3, 4);
    const { etag } = await small.put(key, stream, { contentType: 'text/x-test' });
    assert.match(etag, /-3$/, 'three parts of 5 MiB, 5 MiB and 2 MiB');
    assert.equal((await small.head(key))?.etag, etag);
    const object = await small.get(key);
    assert.equal(
      createHash('sha256')
        .update(await readAll(object!.body))
        .digest('hex'),
      sha256,
    );
    assert.equal((await raw(key, key)).object?.contentType, 'text/x-test');
  });

  it('stores nothing when a sized body turns out longer only after the declared bytes, or fails after them', async () => {
    const prefix = p();
    // R2 commits once it has the declared bytes: the driver must hold the last chunk back.
    await rejectsWith(store.put(`${prefix}long`, streamOf(text('abcde'), text('fg')), { size: 5 }), StorageError);
    assert.equal(await store.head(`${prefix}long`), null);
    const failure = new RepodError('invalid_package', 'late failure', { status: 422 });
    let step = 0;
    const failing = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (step++ === 0) controller.enqueue(text('abcde'));
        else {
          await new Promise((r) => setTimeout(r, 200));
          controller.error(failure);
        }
      },
    });
    assert.equal(await rejectsWith(store.put(`${prefix}late`, failing, { size: 5 }), RepodError), failure);
    assert.equal(await store.head(`${prefix}late`), null);
    // and the same without a declared size, over the multipart path
    const { stream } = generated(12 * MiB, 5);
    const reader = stream.getReader();
    let sent = 0;
    const cut = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await reader.read();
        if (next.done || (sent += next.value.byteLength) > 11 * MiB) controller.error(failure);
        else controller.enqueue(next.value);
      },
    });
    await rejectsWith(small.put(`${prefix}cut`, cut), RepodError);
    assert.equal(await small.head(`${prefix}cut`), null);
  });

  it('race: create-only puts of long streams of unknown size (staged) have exactly one winner', async () => {
    const key = `${p()}staged-once`;
    const bodies = Array.from({ length: 4 }, (_, i) => generated(6 * MiB, 10 + i));
    const results = await Promise.allSettled(bodies.map((b) => small.put(key, b.stream, { ifNoneMatch: '*' })));
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    assert.equal(winners.length, 1, `winners: ${winners}`);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof PreconditionFailedError, `loser got ${r.reason}`);
    const object = await small.get(key);
    assert.equal(
      createHash('sha256')
        .update(await readAll(object!.body))
        .digest('hex'),
      bodies[winners[0]].sha256,
    );
    assert.equal(object!.etag, (results[winners[0]] as PromiseFulfilledResult<{ etag: string }>).value.etag);
    // a condition broken before the upload is refused without staging anything
    await rejectsWith(small.put(key, generated(6 * MiB, 20).stream, { ifNoneMatch: '*' }), PreconditionFailedError);
  });

  it('race: compare-and-swap puts of long streams of unknown size (staged) have exactly one winner', async () => {
    const key = `${p()}staged-cas`;
    const base = await small.put(key, text('base'));
    const bodies = Array.from({ length: 3 }, (_, i) => generated(6 * MiB, 30 + i));
    const results = await Promise.allSettled(bodies.map((b) => small.put(key, b.stream, { ifMatch: base.etag })));
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    assert.equal(winners.length, 1, `winners: ${winners}`);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof PreconditionFailedError, `loser got ${r.reason}`);
    const object = await small.get(key);
    assert.equal(
      createHash('sha256')
        .update(await readAll(object!.body))
        .digest('hex'),
      bodies[winners[0]].sha256,
    );
    await rejectsWith(small.put(`${key}-missing`, generated(6 * MiB, 40).stream, { ifMatch: base.etag }), PreconditionFailedError);
    assert.equal(await small.head(`${key}-missing`), null);
    // staged uploads are deleted once copied, win or lose, and never listed
    assert.deepEqual(
      (await raw('')).objects.filter((o) => o.key.includes('.repod-upload/')),
      [],
    );
  });

  it('race: create-only and compare-and-swap puts of sized streams have exactly one winner', async () => {
    const key = `${p()}sized-race`;
    const once = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.put(key, streamOf(text(`writer ${i}`)), { ifNoneMatch: '*', size: `writer ${i}`.length })));
    assert.equal(once.filter((r) => r.status === 'fulfilled').length, 1);
    const current = (await store.head(key))!;
    const cas = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.put(key, streamOf(text(`swap ${i}`)), { ifMatch: current.etag, size: `swap ${i}`.length })));
    const winners = cas.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    assert.equal(winners.length, 1, `winners: ${winners}`);
    for (const r of cas) if (r.status === 'rejected') assert.ok(r.reason instanceof PreconditionFailedError, `loser got ${r.reason}`);
    assert.equal(await getText(store, key), `swap ${winners[0]}`);
  });

  it('keys live under the prefix; move keeps the content type', async () => {
    const root = `root-${Date.now().toString(36)}/deep`;
    const prefixed = await HttpStore.connect(url, { root });
    await prefixed.put('a/b', text('x'), { contentType: 'application/vnd.debian.binary-package' });
    assert.deepEqual(
      (await raw(`${root}/`)).objects.map((o) => o.key),
      [`${root}/a/b`],
    );
    await prefixed.move('a/b', 'c');
    assert.deepEqual(await listKeys(prefixed, ''), ['c']);
    assert.deepEqual(
      (await raw(`${root}/`)).objects.map((o) => o.key),
      [`${root}/c`],
    );
    assert.equal((await raw(`${root}/`, `${root}/c`)).object?.contentType, 'application/vnd.debian.binary-package');
    assert.equal(await getText(prefixed, 'c'), 'x');
  });

  it('presigns only with a presigner: R2 S3 URLs signed inside workerd', async () => {
    assert.equal(store.capabilities.presign, false);
    assert.equal(store.presign, undefined);
    const signing = await HttpStore.connect(url, { presign: '1', root: 'pre' });
    assert.equal(signing.capabilities.presign, true);
    const get = new URL(await signing.presign!('pool/a b.rpm', { expiresInSeconds: 300, filename: 'a b.rpm', contentType: 'application/x-rpm' }));
    assert.equal(get.origin, PRESIGN.PRESIGN_ENDPOINT);
    assert.equal(get.pathname, '/packages/pre/pool/a%20b.rpm');
    assert.equal(get.searchParams.get('X-Amz-Expires'), '300');
    assert.match(get.searchParams.get('X-Amz-Credential') ?? '', /^AKIDEXAMPLE\/\d{8}\/auto\/s3\/aws4_request$/);
    assert.match(get.searchParams.get('X-Amz-Signature') ?? '', /^[0-9a-f]{64}$/);
    assert.equal(get.searchParams.get('response-content-disposition'), 'attachment; filename="a b.rpm"');
    const put = new URL(await signing.presign!('pool/a b.rpm', { expiresInSeconds: 60, method: 'PUT' }));
    assert.equal(put.searchParams.get('response-content-disposition'), null);
    assert.notEqual(put.searchParams.get('X-Amz-Signature'), get.searchParams.get('X-Amz-Signature'));
  });
});

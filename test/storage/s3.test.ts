import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { PreconditionFailedError, StorageError } from '../../src/errors.ts';
import { contentDisposition } from '../../src/storage/common.ts';
import { openStore } from '../../src/storage/open-store.ts';
import { probeConditionalWrites } from '../../src/storage/probe.ts';
import { S3Store } from '../../src/storage/s3.ts';
import { type Rgw, rgwSkipReason, startRgw } from '../helpers/rgw.ts';
import { blobStoreContract, generated, getText, listKeys, readAll, rejectsWith, streamOf, text } from './contract.ts';

const skip = rgwSkipReason();
if (skip) console.log(`# SKIP s3 tests on RGW: ${skip}`);

let rgw: Rgw | undefined;
let starting: Promise<Rgw> | undefined;
/** One gateway for the whole file (started on first use, stopped at the end). */
const gateway = () => (starting ??= startRgw().then((r) => (rgw = r)));
after(async () => {
  await rgw?.stop();
});

function storeFor(r: Rgw, bucket: string, extra: Partial<ConstructorParameters<typeof S3Store>[0]> = {}): S3Store {
  return new S3Store({
    bucket,
    endpoint: r.endpoint,
    region: r.region,
    credentials: { accessKeyId: r.accessKey, secretAccessKey: r.secretKey },
    forcePathStyle: true,
    ...extra,
  });
}

blobStoreContract(
  's3 on RGW',
  async () => {
    const r = await gateway();
    const bucket = await r.createBucket();
    const store = await openStore(`s3://${bucket}/some/prefix`, r.env);
    return { store };
  },
  // 160 MiB: the fetch stack holds a constant ~30-45 MiB during a multipart upload (parts in flight
  // and their copies), so the object must be well above that for "not proportional" to show.
  { boundedMemory: true, etagPerWrite: false, skip, largeSize: 160 * 1024 * 1024 },
);

describe('s3 driver on RGW', { skip }, () => {
  let r: Rgw;
  let store: S3Store;
  before(async () => {
    r = await gateway();
    store = storeFor(r, await r.createBucket(), { prefix: 'p' });
  });

  it('a presigned URL is fetchable with plain fetch(); an altered signature is refused', async () => {
    await store.put('pool/hello-1.0.rpm', text('rpm bytes'), { contentType: 'application/x-rpm' });
    const url = await store.presign('pool/hello-1.0.rpm', { expiresInSeconds: 60, filename: 'hello-1.0-1.x86_64.rpm', contentType: 'application/x-rpm' });
    assert.match(url, /X-Amz-Signature=/);
    const ok = await fetch(url);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'rpm bytes');
    assert.equal(ok.headers.get('content-disposition'), 'attachment; filename="hello-1.0-1.x86_64.rpm"');
    assert.equal(ok.headers.get('content-type'), 'application/x-rpm');

    const ranged = await fetch(url, { headers: { range: 'bytes=4-' } });
    assert.equal(ranged.status, 206);
    assert.equal(await ranged.text(), 'bytes');

    const u = new URL(url);
    const sig = u.searchParams.get('X-Amz-Signature')!;
    u.searchParams.set('X-Amz-Signature', (sig[0] === '0' ? '1' : '0') + sig.slice(1));
    const altered = await fetch(u);
    assert.equal(altered.status, 403);
    await altered.arrayBuffer();
    const other = new URL(url);
    other.pathname = other.pathname.replace('hello-1.0.rpm', 'other.rpm');
    const moved = await fetch(other);
    assert.equal(moved.status, 403, 'the signature covers the key');
    await moved.arrayBuffer();
  });

  it('keys live under the prefix; If-Match is sent without quotes (RGW)', async () => {
    await store.put('a/b', text('x'));
    const raw = await r.client().send(new HeadObjectCommand({ Bucket: store.bucket, Key: 'p/a/b' }));
    assert.equal(raw.ContentLength, 1);
    assert.match(raw.ETag ?? '', /^".*"$/, 'RGW answers a quoted etag');
    const { etag } = await store.put('a/b', text('y'), { ifMatch: raw.ETag });
    assert.ok(!etag.includes('"'));
    assert.deepEqual(await listKeys(store, ''), ['a/b', 'pool/hello-1.0.rpm']);
    const root = storeFor(r, store.bucket);
    assert.deepEqual(await listKeys(root, ''), ['p/a/b', 'p/pool/hello-1.0.rpm']);
  });

  it('refuses a conditional put of a stream over maxConditionalBuffer, buffers a small one', async () => {
    const small = storeFor(r, store.bucket, { prefix: 'cond', maxConditionalBuffer: 1024 });
    const big = new Uint8Array(4096).fill(7);
    for (const size of [undefined, 4096]) {
      const error = await rejectsWith(small.put('big', streamOf(big.subarray(0, 2048), big.subarray(2048)), { ifNoneMatch: '*', size }), StorageError);
      assert.match(error.message, /multipart/);
    }
    assert.equal(await small.head('big'), null);
    await small.put('big', big, { ifNoneMatch: '*' });
    assert.equal((await small.head('big'))?.size, 4096);
    await small.put('tiny', streamOf(text('abc')), { ifNoneMatch: '*' });
    await rejectsWith(small.put('tiny', streamOf(text('abc')), { ifNoneMatch: '*' }), PreconditionFailedError);
  });

  it('moves objects over the CopyObject limit with UploadPartCopy', async () => {
    const MiB = 1024 * 1024;
    const small = storeFor(r, store.bucket, { prefix: 'copy', maxCopyObjectSize: 6 * MiB, copyPartSize: 5 * MiB });
    const { stream, sha256 } = generated(12 * MiB + 3, 5);
    await small.put('src', stream, { size: 12 * MiB + 3, contentType: 'application/x-rpm' });
    await small.move('src', 'dst/moved');
    assert.equal(await small.head('src'), null);
    const object = await small.get('dst/moved');
    assert.ok(object);
    assert.equal(object.size, 12 * MiB + 3);
    assert.equal(
      createHash('sha256')
        .update(await readAll(object.body))
        .digest('hex'),
      sha256,
    );
    assert.match(object.etag, /-3$/, 'a 3-part multipart etag');
  });

  it('multipart put of a stream of unknown size', async () => {
    const MiB = 1024 * 1024;
    const mp = storeFor(r, store.bucket, { prefix: 'mp', partSize: 5 * MiB });
    const { stream, sha256 } = generated(11 * MiB, 9);
    const { etag } = await mp.put('obj', stream);
    assert.match(etag, /-3$/);
    const object = await mp.get('obj');
    assert.equal(
      createHash('sha256')
        .update(await readAll(object!.body))
        .digest('hex'),
      sha256,
    );
  });

  it('probeConditionalWrites is true on RGW', async () => {
    assert.equal(await probeConditionalWrites(store), true);
  });
});

/** A stub S3 client: each command goes to `handler` (by command name). */
function stubStore(handler: (name: string, input: Record<string, unknown>) => unknown): S3Store {
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => handler(command.constructor.name, command.input),
  } as unknown as S3Client;
  return new S3Store({ bucket: 'b', client, conditionalRetries: 2 });
}

const httpError = (status: number, name = 'Error') => Object.assign(new Error(`HTTP ${status}`), { name, $metadata: { httpStatusCode: status } });
const notFound = () => httpError(404, 'NotFound');

describe('s3 driver: reconciling ambiguous conditional puts (stub client)', () => {
  it('a 500 with another writer now holding the key is a lost race', async () => {
    const store = stubStore((name) => {
      if (name === 'PutObjectCommand') throw httpError(500, 'InternalError');
      if (name === 'HeadObjectCommand') return { ETag: '"other"', ContentLength: 1, Metadata: { 'repod-write': 'someone-else' } };
    });
    await rejectsWith(store.put('k', text('x'), { ifNoneMatch: '*' }), PreconditionFailedError);
  });

  it('a 500 whose write actually landed (our nonce) is a success', async () => {
    let nonce = '';
    const store = stubStore((name, input) => {
      if (name === 'PutObjectCommand') {
        nonce = (input.Metadata as Record<string, string>)['repod-write'];
        throw httpError(500, 'InternalError');
      }
      if (name === 'HeadObjectCommand') return { ETag: '"mine"', ContentLength: 1, Metadata: { 'repod-write': nonce } };
    });
    assert.deepEqual(await store.put('k', text('x'), { ifMatch: 'old' }), { etag: 'mine' });
  });

  it('a 412 for our own earlier attempt (SDK retry after a lost response) is a success', async () => {
    let nonce = '';
    const store = stubStore((name, input) => {
      if (name === 'PutObjectCommand') {
        nonce = (input.Metadata as Record<string, string>)['repod-write'];
        throw httpError(412, 'PreconditionFailed');
      }
      if (name === 'HeadObjectCommand') return { ETag: '"mine"', ContentLength: 1, Metadata: { 'repod-write': nonce } };
    });
    assert.deepEqual(await store.put('k', text('x'), { ifNoneMatch: '*' }), { etag: 'mine' });
  });

  it('a 500 while the condition still holds is retried, then a StorageError', async () => {
    let puts = 0;
    const store = stubStore((name) => {
      if (name === 'PutObjectCommand') {
        puts++;
        throw httpError(500, 'InternalError');
      }
      if (name === 'HeadObjectCommand') throw notFound();
    });
    await rejectsWith(store.put('k', text('x'), { ifNoneMatch: '*' }), StorageError);
    assert.equal(puts, 3, 'one try and two retries');

    let attempts = 0;
    const flaky = stubStore((name) => {
      if (name === 'PutObjectCommand') {
        if (++attempts === 1) throw httpError(503, 'SlowDown');
        return { ETag: '"new"' };
      }
      if (name === 'HeadObjectCommand') return { ETag: '"cur"', ContentLength: 1, Metadata: {} };
    });
    assert.deepEqual(await flaky.put('k', text('x'), { ifMatch: '"cur"' }), { etag: 'new' });
  });

  it('a plain 412 is PreconditionFailedError; an unconditional 500 is StorageError', async () => {
    const store = stubStore((name) => {
      if (name === 'PutObjectCommand') throw httpError(412, 'PreconditionFailed');
      if (name === 'HeadObjectCommand') return { ETag: '"x"', ContentLength: 1, Metadata: {} };
    });
    await rejectsWith(store.put('k', text('x'), { ifMatch: 'y' }), PreconditionFailedError);
    const failing = stubStore(() => {
      throw httpError(500, 'InternalError');
    });
    const error = await rejectsWith(failing.put('k', text('x')), StorageError);
    assert.match(error.message, /\[storage\] \[s3\] put k .*HTTP 500/);
    assert.ok(error.cause);
  });

  it('builds Content-Disposition for any filename', () => {
    assert.equal(contentDisposition('a.rpm'), 'attachment; filename="a.rpm"');
    assert.equal(contentDisposition('pkg_1.0~rc1+b1_amd64.deb'), 'attachment; filename="pkg_1.0~rc1+b1_amd64.deb"');
    assert.equal(contentDisposition('bälle "x".rpm'), `attachment; filename="b_lle _x_.rpm"; filename*=UTF-8''b%C3%A4lle%20%22x%22.rpm`);
  });
});

describe('s3 driver: ranges when the store ignores Range (stub client)', () => {
  it('cuts the range out of a whole-object answer', async () => {
    const store = stubStore((name) => {
      if (name === 'GetObjectCommand') return { ETag: '"e"', ContentLength: 10, Body: streamOf(text('01234'), text('56789')) };
    });
    const object = await store.get('k', { range: { start: 3, end: 6 } });
    assert.deepEqual(object?.range, { start: 3, end: 6 });
    assert.equal(new TextDecoder().decode(await readAll(object!.body)), '3456');
    assert.equal(await getText(store, 'k'), '0123456789');
  });
});

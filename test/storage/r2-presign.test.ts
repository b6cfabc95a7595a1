/**
 * r2Presigner: URLs for R2's S3 API, checked against a real S3 server (Ceph RGW) that must accept
 * them as signed and refuse them once expired or altered; and r2Store's presign capability.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { PresignOptions } from '../../src/storage/blob-store.ts';
import { contentDisposition, InvalidKeyError } from '../../src/storage/common.ts';
import { type R2BucketLike, r2Store } from '../../src/storage/r2.ts';
import { type Presigner, r2Presigner } from '../../src/storage/r2-presign.ts';
import { type Rgw, rgwSkipReason, startRgw } from '../helpers/rgw.ts';
import { rejectsWith, text } from './contract.ts';

const skip = rgwSkipReason();
if (skip) console.log(`# SKIP r2 presigner tests on RGW: ${skip}`);

/** A response's body is always read: an unread one keeps its connection busy. */
async function fetchText(url: string | URL, init?: RequestInit): Promise<{ status: number; body: string; headers: Headers }> {
  const response = await fetch(url, init);
  return { status: response.status, body: await response.text(), headers: response.headers };
}

describe('r2Presigner on RGW', { skip }, () => {
  let rgw: Rgw;
  let bucket: string;
  let presign: Presigner;
  const configFor = (extra: Partial<Parameters<typeof r2Presigner>[0]> = {}) => ({
    endpoint: rgw.endpoint,
    bucket,
    accessKeyId: rgw.accessKey,
    secretAccessKey: rgw.secretKey,
    region: rgw.region,
    ...extra,
  });

  before(async () => {
    rgw = await startRgw();
    bucket = await rgw.createBucket();
    presign = r2Presigner(configFor());
  });
  after(async () => {
    await rgw?.stop();
  });

  it('a presigned GET answers the bytes, with the requested Content-Disposition and Content-Type', async () => {
    const key = 'pool/h/hello 1.0+b1~rc1 (ü).rpm';
    await rgw.client().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: text('rpm bytes'), ContentType: 'application/octet-stream' }));
    const url = await presign(key, { expiresInSeconds: 60, filename: 'hello-1.0 (ü).rpm', contentType: 'application/x-rpm' });
    assert.match(url, /X-Amz-Signature=[0-9a-f]{64}/);
    assert.doesNotMatch(url, /\+/, 'spaces are %20 in the query, not +');
    const ok = await fetchText(url);
    assert.equal(ok.status, 200, ok.body);
    assert.equal(ok.body, 'rpm bytes');
    assert.equal(ok.headers.get('content-disposition'), contentDisposition('hello-1.0 (ü).rpm'));
    assert.equal(ok.headers.get('content-type'), 'application/x-rpm');
    const plain = await fetchText(await presign(key, { expiresInSeconds: 60 }));
    assert.equal(plain.status, 200);
    assert.equal(plain.headers.get('content-type'), 'application/octet-stream');
    assert.equal(plain.headers.get('content-disposition'), null);
  });

  it('a presigned PUT uploads the bytes, which read back; it is not a GET', async () => {
    const url = await presign('uploads/part-1', { expiresInSeconds: 60, method: 'PUT' });
    const put = await fetchText(url, { method: 'PUT', body: text('uploaded through a presigned URL') });
    assert.equal(put.status, 200, put.body);
    const out = await rgw.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'uploads/part-1' }));
    assert.equal(await out.Body?.transformToString(), 'uploaded through a presigned URL');
    assert.equal((await fetchText(url)).status, 403, 'the method is signed');
  });

  it('prefix: keys are signed under it', async () => {
    await rgw.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'some/prefix/a', Body: text('under the prefix') }));
    const prefixed = r2Presigner(configFor({ prefix: '/some/prefix/' }));
    const url = await prefixed('a', { expiresInSeconds: 60 });
    assert.equal(new URL(url).pathname, `/${bucket}/some/prefix/a`);
    assert.equal((await fetchText(url)).body, 'under the prefix');
  });

  it('an expired URL is refused', async () => {
    await rgw.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'old', Body: text('x') }));
    const anHourAgo = r2Presigner(configFor({ now: () => new Date(Date.now() - 3600_000) }));
    const expired = await fetchText(await anHourAgo('old', { expiresInSeconds: 60 }));
    assert.equal(expired.status, 403, expired.body);
    const stillValid = await fetchText(await anHourAgo('old', { expiresInSeconds: 7200 }));
    assert.equal(stillValid.status, 200, 'the same clock with a longer expiry: the refusal was the expiry');
  });

  it('a tampered signature, key, expiry or header choice is refused', async () => {
    await rgw.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'pool/x.rpm', Body: text('x') }));
    const url = await presign('pool/x.rpm', { expiresInSeconds: 60, filename: 'x.rpm' });
    assert.equal((await fetchText(url)).status, 200);
    const tamper = (change: (u: URL) => void) => {
      const u = new URL(url);
      change(u);
      return u;
    };
    const signature = new URL(url).searchParams.get('X-Amz-Signature')!;
    for (const [what, u] of [
      ['signature', tamper((u) => u.searchParams.set('X-Amz-Signature', (signature[0] === '0' ? '1' : '0') + signature.slice(1)))],
      ['key', tamper((u) => (u.pathname = u.pathname.replace('x.rpm', 'y.rpm')))],
      ['expiry', tamper((u) => u.searchParams.set('X-Amz-Expires', '3600'))],
      ['disposition', tamper((u) => u.searchParams.set('response-content-disposition', 'inline'))],
    ] as const) {
      const answer = await fetchText(u);
      assert.equal(answer.status, 403, `altered ${what}: ${answer.status} ${answer.body.slice(0, 200)}`);
    }
    const wrongSecret = r2Presigner(configFor({ secretAccessKey: 'not-the-secret' }));
    assert.equal((await fetchText(await wrongSecret('pool/x.rpm', { expiresInSeconds: 60 }))).status, 403);
  });
});

describe('r2Presigner and r2Store.presign (no server)', () => {
  const presigner = r2Presigner({
    endpoint: 'https://acct.r2.cloudflarestorage.com/',
    bucket: 'packages',
    accessKeyId: 'AKID',
    secretAccessKey: 'secret',
    now: () => new Date('2026-01-02T03:04:05Z'),
  });
  const bucket = {} as R2BucketLike; // presign never touches the binding

  it('signs path-style URLs for R2 (region auto), deterministically for one clock', async () => {
    const url = new URL(await presigner('a/b c.deb', { expiresInSeconds: 900 }));
    assert.equal(url.origin + url.pathname, 'https://acct.r2.cloudflarestorage.com/packages/a/b%20c.deb');
    assert.equal(url.searchParams.get('X-Amz-Credential'), 'AKID/20260102/auto/s3/aws4_request');
    assert.equal(url.searchParams.get('X-Amz-Date'), '20260102T030405Z');
    assert.equal(url.searchParams.get('X-Amz-Expires'), '900');
    assert.equal(url.searchParams.get('X-Amz-SignedHeaders'), 'host');
    assert.equal(await presigner('a/b c.deb', { expiresInSeconds: 900 }), url.toString());
    await rejectsWith(presigner('a/../b', { expiresInSeconds: 60 }), InvalidKeyError);
    for (const expiresInSeconds of [0, 1.5, 8 * 24 * 3600]) await rejectsWith(presigner('a', { expiresInSeconds }), RangeError);
  });

  it('r2Store presigns only with a presigner, and hands it the key under its prefix', async () => {
    const plain = r2Store(bucket);
    assert.equal(plain.capabilities.presign, false);
    assert.equal(plain.presign, undefined);
    assert.equal(plain.capabilities.conditionalWrites, true);

    const seen: [string, PresignOptions][] = [];
    const recording: Presigner = async (key, options) => {
      seen.push([key, options]);
      return presigner(key, options);
    };
    const store = r2Store(bucket, { presigner: recording, prefix: 'repo/' });
    assert.equal(store.driver, 'r2');
    assert.equal(store.capabilities.presign, true);
    const url = await store.presign!('pool/x.rpm', { expiresInSeconds: 60, method: 'PUT' });
    assert.deepEqual(seen, [['repo/pool/x.rpm', { expiresInSeconds: 60, method: 'PUT' }]]);
    assert.equal(new URL(url).pathname, '/packages/repo/pool/x.rpm');
    await rejectsWith(store.presign!('/abs', { expiresInSeconds: 60 }), InvalidKeyError);
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { StorageError } from '../../src/errors.ts';
import type { BlobStore, PutOptions } from '../../src/storage/blob-store.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { DEFAULT_STORAGE, openStore, parseStoreSpec } from '../../src/storage/open-store.ts';
import { probeConditionalWrites, probeConditionalWritesDetailed } from '../../src/storage/probe.ts';
import { S3Store } from '../../src/storage/s3.ts';
import { rejectsWith } from './util.ts';

describe('openStore / parseStoreSpec', () => {
  it('parses file:, memory: and s3:// specs', () => {
    assert.equal(DEFAULT_STORAGE, 'file:./data');
    assert.deepEqual(parseStoreSpec('file:./data'), { driver: 'file', root: './data' });
    assert.deepEqual(parseStoreSpec('file:/var/lib/repod'), { driver: 'file', root: '/var/lib/repod' });
    assert.deepEqual(parseStoreSpec('file:///var/lib/repod%20x'), { driver: 'file', root: '/var/lib/repod x' });
    assert.deepEqual(parseStoreSpec(''), { driver: 'file', root: './data' });
    assert.deepEqual(parseStoreSpec('memory:'), { driver: 'memory' });
    const s3 = parseStoreSpec('s3://my-bucket/repos/prod/', {
      REPOD_S3_ENDPOINT: 'http://ceph:7480',
      AWS_ACCESS_KEY_ID: 'ak',
      AWS_SECRET_ACCESS_KEY: 'sk',
      AWS_REGION: 'eu-west-1',
    });
    assert.deepEqual(s3, {
      driver: 's3',
      options: {
        bucket: 'my-bucket',
        prefix: 'repos/prod',
        endpoint: 'http://ceph:7480',
        region: 'eu-west-1',
        credentials: { accessKeyId: 'ak', secretAccessKey: 'sk', sessionToken: undefined },
        forcePathStyle: true,
        presignEndpoint: undefined,
      },
    });
    const aws = parseStoreSpec('s3://bucket', {});
    assert.ok(aws.driver === 's3');
    assert.equal(aws.options.forcePathStyle, false, 'virtual-host style on AWS');
    assert.equal(aws.options.region, 'us-east-1');
    assert.equal(aws.options.credentials, undefined, 'the SDK default chain');
    const forced = parseStoreSpec('s3://bucket/p', { REPOD_S3_ENDPOINT: 'http://x', REPOD_S3_FORCE_PATH_STYLE: 'false' });
    assert.ok(forced.driver === 's3' && forced.options.forcePathStyle === false);
  });

  it('refuses anything else with a clear message', () => {
    for (const [spec, message] of [
      ['./data', /no scheme \(for a directory write file:\.\/data\)/],
      ['http://x', /unsupported scheme "http:"/],
      ['r2:bucket', /unsupported scheme "r2:"/],
      ['s3://', /not a valid bucket name/],
      ['s3://UPPER/x', /not a valid bucket name/],
      ['file:', /missing directory/],
    ] as const) {
      assert.throws(
        () => parseStoreSpec(spec),
        (e: unknown) => e instanceof StorageError && message.test(e.message) && /expected file:DIR, s3:\/\/bucket\/prefix or memory:/.test(e.message),
      );
    }
    assert.throws(() => parseStoreSpec('s3://bkt', { AWS_ACCESS_KEY_ID: 'only' }), /both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    assert.throws(() => parseStoreSpec('s3://bkt', { REPOD_S3_FORCE_PATH_STYLE: 'maybe' }), /expected true or false/);
  });

  it('opens each driver', async () => {
    assert.ok((await openStore('memory:', {})) instanceof MemoryStore);
    const dir = await mkdtemp(join(tmpdir(), 'repod-open-'));
    try {
      const file = await openStore(`file:${dir}/data`, {});
      assert.equal(file.driver, 'file');
      assert.deepEqual(file.capabilities, { conditionalWrites: true, presign: false });
      await file.put('a', new Uint8Array([1]));
      assert.equal((await file.head('a'))?.size, 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const s3 = await openStore('s3://bucket/pre/fix', { REPOD_S3_ENDPOINT: 'http://127.0.0.1:1', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' });
    assert.ok(s3 instanceof S3Store);
    assert.equal(s3.prefix, 'pre/fix/');
    assert.deepEqual(s3.capabilities, { conditionalWrites: true, presign: true });
  });
});

/** A store that ignores conditions (like an S3 gateway without conditional writes). */
class IgnoresConditions extends MemoryStore {
  override put(key: string, body: Uint8Array | ReadableStream<Uint8Array>, options: PutOptions = {}) {
    return super.put(key, body, { contentType: options.contentType });
  }
}

describe('probeConditionalWrites', () => {
  it('is true on a store that enforces conditions and leaves nothing behind', async () => {
    const store = new MemoryStore();
    assert.equal(await probeConditionalWrites(store), true);
    const keys = [];
    for await (const e of store.list('')) keys.push(e.key);
    assert.deepEqual(keys, []);
  });

  it('is false on a store that ignores them, with the reason', async () => {
    const result = await probeConditionalWritesDetailed(new IgnoresConditions());
    assert.equal(result.ok, false);
    assert.match(result.reason!, /second create-only put/);
  });

  it('throws when the store cannot write at all', async () => {
    const broken = new MemoryStore() as BlobStore;
    broken.put = async () => {
      throw new StorageError('memory', 'disk on fire');
    };
    await rejectsWith(probeConditionalWrites(broken), StorageError);
  });
});

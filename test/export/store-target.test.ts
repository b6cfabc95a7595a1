/**
 * The copied `latest/` of a bucket export (StoreTarget.switchLatest), on the memory store (no
 * server-side copy there: the get + put fallback): files are made visible content-addressed first
 * and InRelease last, files already there are not copied again, the pointer names the revision,
 * and files neither the new nor the previous revision lists go only after the pointer moved.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { latestPointerPath, StoreTarget } from '../../src/export/store-target.ts';
import type { BlobStore, PutOptions } from '../../src/storage/blob-store.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { getJson, readAllBytes } from '../../src/storage/objects.ts';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const SHA_C = 'c'.repeat(64);
const text = (s: string) => new TextEncoder().encode(s);

/** A memory store that records the order of writes and deletes. */
function recording(): { store: BlobStore; events: string[] } {
  const inner = new MemoryStore();
  const events: string[] = [];
  const store: BlobStore = Object.create(inner);
  store.put = (key: string, body: Uint8Array | ReadableStream<Uint8Array>, options?: PutOptions) => {
    events.push(`put ${key}`);
    return inner.put(key, body, options);
  };
  store.delete = (key: string) => {
    events.push(`delete ${key}`);
    return inner.delete(key);
  };
  return { store, events };
}

async function tree(store: BlobStore, root: string, files: Record<string, string>): Promise<void> {
  for (const [path, body] of Object.entries(files)) await store.put(`${root}${path}`, text(body));
}

async function readText(store: BlobStore, key: string): Promise<string> {
  return new TextDecoder().decode(await readAllBytes((await store.get(key))!.body));
}

async function listing(store: BlobStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key.slice(prefix.length));
  return out;
}

describe('StoreTarget: latest/ as a tree of copies', () => {
  it('moves latest file by file, entry points last, keeps one generation back, and deletes older files after the pointer', async () => {
    const { store, events } = recording();
    const target = new StoreTarget('memory:', store);
    assert.equal(await target.latest('bookworm'), null);
    await tree(store, 'bookworm/1/', {
      [`dists/bookworm/main/binary-amd64/by-hash/SHA256/${SHA_A}`]: 'packages a',
      'dists/bookworm/main/binary-amd64/Packages.xz': 'packages a',
      'dists/bookworm/Release': 'release 1',
      'dists/bookworm/Release.gpg': 'sig 1',
      'dists/bookworm/InRelease': 'inrelease 1',
      'pool/main/o/old/old_1_all.deb': 'old deb',
      'gpg.key': 'key',
    });
    const first = await target.switchLatest('bookworm', '1');
    assert.deepEqual(first, { copied: 7, unchanged: 0, deleted: 0 });
    assert.equal(await target.latest('bookworm'), '1');

    await tree(store, 'bookworm/2/', {
      [`dists/bookworm/main/binary-amd64/by-hash/SHA256/${SHA_B}`]: 'packages b',
      'dists/bookworm/main/binary-amd64/Packages.xz': 'packages b',
      'dists/bookworm/Release': 'release 2',
      'dists/bookworm/Release.gpg': 'sig 2',
      'dists/bookworm/InRelease': 'inrelease 2',
      'pool/main/n/new/new_1_all.deb': 'new deb',
      'gpg.key': 'key',
    });
    events.length = 0;
    const second = await target.switchLatest('bookworm', '2');
    // The memory store's etags change on every write, so gpg.key (not content-addressed) is copied
    // again; on S3 its etag is the MD5 of its bytes and it would not be.
    assert.deepEqual(second, { copied: 7, unchanged: 0, deleted: 0 });
    const writes = events.filter((e) => e.startsWith('put ')).map((e) => e.slice(4));
    const at = (path: string) => writes.indexOf(`bookworm/latest/${path}`);
    for (const named of [`dists/bookworm/main/binary-amd64/by-hash/SHA256/${SHA_B}`, 'pool/main/n/new/new_1_all.deb', 'dists/bookworm/main/binary-amd64/Packages.xz']) {
      assert.ok(at(named) >= 0 && at(named) < at('dists/bookworm/Release.gpg'), `${named} before the signature: ${writes}`);
    }
    assert.ok(at('dists/bookworm/Release.gpg') < at('dists/bookworm/Release'));
    assert.ok(at('dists/bookworm/Release') < at('dists/bookworm/InRelease'));
    assert.ok(at('dists/bookworm/InRelease') < writes.indexOf(latestPointerPath('bookworm')), 'the pointer moves after every file');
    assert.equal(writes.at(-1), latestPointerPath('bookworm'));
    // Revision 1's files stay for readers mid-way through it.
    assert.ok((await listing(store, 'bookworm/latest/')).includes(`dists/bookworm/main/binary-amd64/by-hash/SHA256/${SHA_A}`));
    assert.equal(await readText(store, 'bookworm/latest/dists/bookworm/InRelease'), 'inrelease 2');
    const pointer = (await getJson<{ revision: string; previous: string | null }>(store, latestPointerPath('bookworm')))!.value;
    assert.deepEqual({ revision: pointer.revision, previous: pointer.previous }, { revision: '2', previous: '1' });

    await tree(store, 'bookworm/3/', {
      [`dists/bookworm/main/binary-amd64/by-hash/SHA256/${SHA_C}`]: 'packages c',
      'dists/bookworm/main/binary-amd64/Packages.xz': 'packages c',
      'dists/bookworm/Release': 'release 3',
      'dists/bookworm/Release.gpg': 'sig 3',
      'dists/bookworm/InRelease': 'inrelease 3',
      'pool/main/n/new/new_1_all.deb': 'new deb',
      'gpg.key': 'key',
    });
    events.length = 0;
    const third = await target.switchLatest('bookworm', '3');
    // The package is content-addressed: there with its size, not copied. Only revision 1's own
    // files go (by-hash A, the old package); revision 2's stay one more round.
    assert.deepEqual(third, { copied: 6, unchanged: 1, deleted: 2 });
    const pointerAt = events.indexOf(`put ${latestPointerPath('bookworm')}`);
    assert.ok(
      events.slice(0, pointerAt).every((e) => e.startsWith('put ')),
      'nothing deleted before the pointer moved',
    );
    const latest = await listing(store, 'bookworm/latest/');
    assert.ok(!latest.includes(`dists/bookworm/main/binary-amd64/by-hash/SHA256/${SHA_A}`));
    assert.ok(!latest.includes('pool/main/o/old/old_1_all.deb'));
    assert.ok(latest.includes(`dists/bookworm/main/binary-amd64/by-hash/SHA256/${SHA_B}`));
    assert.equal(await target.latest('bookworm'), '3');
  });

  it('finishes a switch stopped halfway: the pointer still names the previous revision until then', async () => {
    const store = new MemoryStore();
    const target = new StoreTarget('memory:', store);
    await tree(store, 'rocky9/1/', { 'x86_64/repodata/repomd.xml': 'repomd 1', [`x86_64/repodata/${SHA_A}-primary.xml.gz`]: 'primary 1' });
    await target.switchLatest('rocky9', '1');
    await tree(store, 'rocky9/2/', { 'x86_64/repodata/repomd.xml': 'repomd 2', [`x86_64/repodata/${SHA_B}-primary.xml.gz`]: 'primary 2' });
    // As if a run died after copying the content-addressed file: latest/ is a mix, the pointer says 1.
    await store.put(`rocky9/latest/x86_64/repodata/${SHA_B}-primary.xml.gz`, text('primary 2'));
    assert.equal(await target.latest('rocky9'), '1');
    const resumed = await target.switchLatest('rocky9', '2');
    assert.deepEqual(resumed, { copied: 1, unchanged: 1, deleted: 0 });
    assert.equal(await target.latest('rocky9'), '2');
  });
});

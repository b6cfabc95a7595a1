import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { joinKey } from '../../src/bucket/keys.ts';
import { layout } from '../../src/bucket/layout.ts';
import { listSignedCopies, recordSignedCopy, type SignedCopy } from '../../src/signing/signed-copies.ts';
import { openFileStore } from '../../src/storage/file.ts';
import { memoryStore } from '../../src/storage/memory.ts';
import { putJson } from '../../src/storage/objects.ts';

const hex = (c: string) => c.repeat(64);
const copy = (key: string, sha: string, recorded: string, keyIds: string[] = []): SignedCopy => ({
  format: 1,
  sha256: hex(sha),
  key,
  identity: `${hex('a')}.${hex('b')}`,
  keyIds,
  verified: [],
  recorded,
});

/** Every directory under `dir`, relative to it. */
async function directories(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isDirectory()).map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(dir.length + 1));
}

describe('signed copies index', () => {
  const roots: string[] = [];
  after(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

  it('lists every copy of one NEVRA and nothing of its neighbours', async () => {
    const store = memoryStore();
    const key = joinKey('tool', 'x86_64', '1.0', '1.el9');
    await recordSignedCopy(store, copy(key, '1', '2026-01-01T00:00:00Z', ['AAAAAAAAAAAAAAAA']));
    await recordSignedCopy(store, copy(key, '2', '2026-01-02T00:00:00Z', ['BBBBBBBBBBBBBBBB']));
    // Neighbours whose keys share a beginning with it, field by field.
    await recordSignedCopy(store, copy(joinKey('tool', 'x86_64', '1.0', '1.el9.1'), '3', '2026-01-01T00:00:00Z'));
    await recordSignedCopy(store, copy(joinKey('tool', 'x86_64', '1.0.1', '1.el9'), '4', '2026-01-01T00:00:00Z'));
    await recordSignedCopy(store, copy(joinKey('tool-devel', 'x86_64', '1.0', '1.el9'), '5', '2026-01-01T00:00:00Z'));
    await recordSignedCopy(store, copy(joinKey('tool', 'x86_64', '1.0,1', 'el9'), '6', '2026-01-01T00:00:00Z'));
    const listed = await listSignedCopies(store, key);
    assert.deepEqual(
      listed.map((c) => c.sha256),
      [hex('1'), hex('2')],
    );
    // The same copy again keeps its first record.
    await recordSignedCopy(store, copy(key, '1', '2026-02-01T00:00:00Z', ['CCCCCCCCCCCCCCCC']));
    assert.deepEqual((await listSignedCopies(store, key))[0].keyIds, ['AAAAAAAAAAAAAAAA']);
    assert.equal((await listSignedCopies(store, joinKey('tool', 'x86_64', '1.0,1', 'el9'))).length, 1, 'a comma in a field is not a separator');
  });

  it('makes one directory per package name in a file store, not one per NEVRA field', async () => {
    const root = await mkdtemp(join(tmpdir(), 'repod-copies-'));
    roots.push(root);
    const store = await openFileStore(root);
    for (let i = 0; i < 5; i++) await recordSignedCopy(store, copy(joinKey('lib', 'x86_64', `1.${i}`, '1'), String(i), '2026-01-01T00:00:00Z'));
    await recordSignedCopy(store, copy(joinKey('other', 'noarch', '2', '1'), '9', '2026-01-01T00:00:00Z'));
    const dirs = (await directories(join(root, 'packages'))).sort();
    assert.deepEqual(dirs, ['copies', join('copies', 'lib'), join('copies', 'other')]);
    assert.equal((await listSignedCopies(store, joinKey('lib', 'x86_64', '1.3', '1')))[0].sha256, hex('3'));
  });

  it('names a copy whose version and release are very long by a digest, within 255 bytes', async () => {
    const root = await mkdtemp(join(tmpdir(), 'repod-copies-'));
    roots.push(root);
    const store = await openFileStore(root);
    const key = joinKey('long', 'x86_64', `1.${'9'.repeat(150)}`, `1.${'r'.repeat(100)}`);
    await recordSignedCopy(store, copy(key, 'e', '2026-01-01T00:00:00Z'));
    const name = layout
      .signedCopy(key, { sha256: hex('e') })
      .split('/')
      .pop()!;
    assert.ok(name.length <= 255, name);
    assert.match(name, /^~[0-9a-f]{64},e{64}\.json$/);
    assert.deepEqual(
      (await listSignedCopies(store, key)).map((c) => c.sha256),
      [hex('e')],
    );
  });

  it('still reads the copies of stores written in the older, nested form, and counts a copy in both forms once', async () => {
    const store = memoryStore();
    const key = joinKey('old', 'x86_64', '3.1', '2');
    const legacy = copy(key, '7', '2025-06-01T00:00:00Z', ['DDDDDDDDDDDDDDDD']);
    await putJson(store, `${layout.legacySignedCopies(key)}${legacy.identity}/${legacy.sha256}.json`, legacy);
    assert.equal(layout.legacySignedCopies(key), 'packages/copies/old/x86_64/3.1/2/');
    await recordSignedCopy(store, copy(key, '8', '2026-01-01T00:00:00Z'));
    assert.deepEqual(
      (await listSignedCopies(store, key)).map((c) => c.sha256),
      [hex('7'), hex('8')],
    );
    await recordSignedCopy(store, legacy);
    assert.equal((await listSignedCopies(store, key)).length, 2);
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { layout } from '../../src/bucket/layout.ts';
import type { RpmPackageRecord } from '../../src/bucket/package-record.ts';
import type { Capabilities } from '../../src/capabilities.ts';
import { commitRpm } from '../../src/ingest/commit.ts';
import { rpmEntry } from '../../src/ingest/rpm-entry.ts';
import { type StagedRpm, stagePackage } from '../../src/ingest/stage.ts';
import { nodeCapabilities } from '../../src/runtime/node-core.ts';
import type { BlobStore } from '../../src/storage/blob-store.ts';
import { openFileStore } from '../../src/storage/file.ts';
import { bytesStream, getBytes, getJson, putJson } from '../../src/storage/objects.ts';
import { selfBuiltLookup } from '../helpers/packages.ts';

const fixture = await selfBuiltLookup(['hello-2.0-1.x86_64.rpm']);

/** Capabilities on one store whose clock says `seconds` (file times are whole seconds). */
function capsAt(store: BlobStore, seconds: number): Capabilities {
  return { ...nodeCapabilities(store, () => undefined), now: () => new Date(seconds * 1000) };
}

async function stage(caps: Capabilities, bytes: Uint8Array): Promise<StagedRpm> {
  return (await stagePackage(caps, bytesStream(bytes), { maxBytes: 1 << 30 })) as StagedRpm;
}

describe("commitRpm: the pool object and the record; the entry is the stored record's", () => {
  let root: string;
  let bytes: Uint8Array;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'repod-commit-'));
    bytes = new Uint8Array(await readFile(fixture('hello-2.0-1.x86_64.rpm')));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('a first ingest stores the bytes and its own record, and no fragment object (nothing reads one)', async () => {
    const store = await openFileStore(join(root, 'first'));
    const caps = capsAt(store, 1_700_000_000);
    const staged = await stage(caps, bytes);
    const { record, entry } = await commitRpm(caps, staged);
    assert.equal(record.facts.fileTime, 1_700_000_000);
    assert.deepEqual(await getJson(store, layout.packageRecord(staged.sha256)).then((o) => o?.value), record);
    assert.deepEqual(entry, rpmEntry(record.package, record.facts));
    assert.deepEqual(await getBytes(store, layout.pool(staged.sha256)), bytes);
    assert.equal(await store.head(layout.fragment(staged.sha256)), null);
    assert.equal(await store.head(staged.tempKey), null, 'the staged upload is gone');
  });

  it('an ingest whose record lost answers with the stored record and its entry', async () => {
    // An earlier ingest stored the record and stopped (killed) before anything else.
    const store = await openFileStore(join(root, 'lost-record'));
    const earlier = capsAt(store, 1_600_000_000);
    const staged = await stage(earlier, bytes);
    const stored: RpmPackageRecord = {
      format: 1,
      kind: 'rpm',
      facts: { sha256: staged.sha256, size: staged.size, fileTime: 1_600_000_000, fileName: 'hello-2.0-1.x86_64.rpm' },
      package: staged.parsed.pkg,
    };
    await putJson(store, layout.packageRecord(staged.sha256), stored, { ifNoneMatch: '*' });
    const { record, entry } = await commitRpm(capsAt(store, 1_700_000_000), staged);
    assert.equal(record.facts.fileTime, 1_600_000_000, 'the stored record stands');
    assert.deepEqual(entry, rpmEntry(stored.package, stored.facts));
    assert.deepEqual(await getBytes(store, layout.pool(staged.sha256)), bytes);
  });

  it('concurrent ingests of the same bytes at different times all answer with the one stored record', async () => {
    for (let round = 0; round < 12; round++) {
      const store = await openFileStore(join(root, `race-${round}`));
      const staged = await Promise.all([0, 1, 2, 3].map((i) => stage(capsAt(store, 1_700_000_000 + i), bytes)));
      const results = await Promise.all(staged.map((s, i) => commitRpm(capsAt(store, 1_700_000_000 + i), s)));
      const stored = (await getJson<RpmPackageRecord>(store, layout.packageRecord(staged[0].sha256)))!.value;
      for (const r of results) assert.deepEqual(r.entry, rpmEntry(stored.package, stored.facts), `round ${round}`);
    }
  });
});

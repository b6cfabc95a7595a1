import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { layout } from '../../src/bucket/layout.ts';
import type { RpmPackageRecord } from '../../src/bucket/package-record.ts';
import { encodeSegmented } from '../../src/bucket/segmented.ts';
import type { Capabilities } from '../../src/capabilities.ts';
import { commitRpm } from '../../src/ingest/commit.ts';
import { RPM_STREAMS, rpmEntry } from '../../src/ingest/rpm-entry.ts';
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

/** The fragment the stored record makes: what the stored fragment must hold. */
async function expectedFragment(store: BlobStore, sha256: string): Promise<Uint8Array> {
  const record = (await getJson<RpmPackageRecord>(store, layout.packageRecord(sha256)))!.value;
  const entry = rpmEntry(record.package, record.facts);
  return encodeSegmented({ format: 1, kind: 'rpm', streams: RPM_STREAMS.map((s) => s.name), entry: entry.entry }, entry.segments);
}

describe('commitRpm: the record and the fragment are written side by side and always agree', () => {
  let root: string;
  let bytes: Uint8Array;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'repod-commit-'));
    bytes = new Uint8Array(await readFile(fixture('hello-2.0-1.x86_64.rpm')));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('a first ingest writes both from its own record', async () => {
    const store = await openFileStore(join(root, 'first'));
    const caps = capsAt(store, 1_700_000_000);
    const staged = await stage(caps, bytes);
    const { record } = await commitRpm(caps, staged);
    assert.equal(record.facts.fileTime, 1_700_000_000);
    assert.deepEqual(await getBytes(store, layout.fragment(staged.sha256)), await expectedFragment(store, staged.sha256));
  });

  it('an ingest whose record lost and whose fragment won writes the fragment again from the stored record', async () => {
    // An earlier ingest stored the record and stopped (killed) before its fragment.
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
    assert.deepEqual(await getBytes(store, layout.fragment(staged.sha256)), await expectedFragment(store, staged.sha256));
  });

  it('an ingest of bytes that have both writes neither again', async () => {
    const store = await openFileStore(join(root, 'again'));
    const first = await stage(capsAt(store, 1_700_000_000), bytes);
    await commitRpm(capsAt(store, 1_700_000_000), first);
    const before = await store.head(layout.fragment(first.sha256));
    const again = await stage(capsAt(store, 1_700_000_100), bytes);
    const { record } = await commitRpm(capsAt(store, 1_700_000_100), again);
    assert.equal(record.facts.fileTime, 1_700_000_000);
    assert.equal((await store.head(layout.fragment(first.sha256)))?.etag, before?.etag, 'the fragment was not rewritten');
  });

  it('concurrent ingests of the same bytes at different times leave a fragment that says what the record says', async () => {
    for (let round = 0; round < 12; round++) {
      const store = await openFileStore(join(root, `race-${round}`));
      const staged = await Promise.all([0, 1, 2, 3].map((i) => stage(capsAt(store, 1_700_000_000 + i), bytes)));
      const results = await Promise.all(staged.map((s, i) => commitRpm(capsAt(store, 1_700_000_000 + i), s)));
      const fileTimes = new Set(results.map((r) => r.record.facts.fileTime));
      assert.equal(fileTimes.size, 1, 'every ingest answers with the one stored record');
      assert.deepEqual(await getBytes(store, layout.fragment(staged[0].sha256)), await expectedFragment(store, staged[0].sha256), `round ${round}`);
    }
  });
});

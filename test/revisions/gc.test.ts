/**
 * Garbage collection on real objects: real packages published, removed and re-published into a
 * file store, views rendered through the app, then retention applied. GC must delete exactly what
 * no kept revision, tag or in-flight publish reaches, and every kept revision must serve the same
 * bytes afterwards.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { decodeChunk } from '../../src/bucket/chunk.ts';
import { layout } from '../../src/bucket/layout.ts';
import type { RpmPackageRecord } from '../../src/bucket/package-record.ts';
import type { ByHashPointer, RenderManifest } from '../../src/bucket/render-manifest.ts';
import type { Ref, Revision } from '../../src/bucket/revision.ts';
import type { RpmDistribution } from '../../src/config/distributions.ts';
import type { Core } from '../../src/core/core.ts';
import { createApp } from '../../src/http/app.ts';
import { APT_STREAMS } from '../../src/ingest/apt-entry.ts';
import { commitDeb, commitRpm, putFragment } from '../../src/ingest/commit.ts';
import { RPM_STREAMS, rpmEntry } from '../../src/ingest/rpm-entry.ts';
import { type StagedDeb, type StagedRpm, stagePackage } from '../../src/ingest/stage.ts';
import { replaceComps } from '../../src/revisions/compose-documents.ts';
import { collectGarbage, type GcReport } from '../../src/revisions/gc.ts';
import { publishBatch, removePackages } from '../../src/revisions/publish.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';
import type { BlobStore } from '../../src/storage/blob-store.ts';
import { bytesStream, getBytes, getJson, putJson } from '../../src/storage/objects.ts';
import { utf8 } from '../../src/util/bytes.ts';
import { selfBuiltLookup } from '../helpers/packages.ts';

// Self-built packages under the names the test talks about (helpers/packages.ts).
const fixture = await selfBuiltLookup([
  'hello-2.0-1.x86_64.rpm',
  'animaniacs-0.1-1.noarch.rpm',
  'balicek-utf8-1.1.1-1.x86_64.rpm',
  'rpm-scriptlets-1.0-1.noarch.rpm',
  'crypto-policies-20210617-1.gitc776d3e.el8.noarch.rpm',
  'yum-cron-3.4.3-8.fc16.noarch.rpm',
  'yum-cron-3.4.3-9.fc16.noarch.rpm',
  'Archer-3.4.5-6.x86_64.rpm',
  'complex-package-2.3.4-5.el8.x86_64.rpm',
  'hello_2.10-3_amd64.deb',
  'hostname_3.23+nmu1_amd64.deb',
  'sensible-utils_0.0.17+nmu1_all.deb',
  'toilet_0.3-1.4build1_amd64.deb',
  'libcap2_2.66-4+deb12u3+b1_amd64.deb',
]);

import { buildManyRpms } from '../helpers/rpmbuild.ts';

const HOUR = 3600_000;
/** "Later": every object written so far is older than the grace period. */
const later = () => new Date(Date.now() + 2 * HOUR);

async function newCore(): Promise<{ core: Core; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'repod-gc-'));
  const { core } = await buildNodeCore({ REPOD_STORAGE: `file:${dir}`, REPOD_ADMIN_TOKEN: 't' }, () => undefined);
  return { core, dir };
}

async function stage(core: Core, path: string) {
  return stagePackage(core.caps, bytesStream(new Uint8Array(await readFile(path))), { maxBytes: 1 << 30 });
}

async function publish(core: Core, dist: string, paths: string[]): Promise<string> {
  const result = await publishBatch(core, dist, await Promise.all(paths.map((p) => stage(core, p))), { author: 'test' });
  assert.equal(result.status, 'published');
  return result.revision!.id;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
type Get = (path: string) => Promise<Response>;

async function body(get: Get, path: string): Promise<Uint8Array> {
  const response = await get(path);
  assert.equal(response.status, 200, `GET ${path}: ${response.status} ${response.status === 200 ? '' : await response.text()}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * Everything an RPM client of one arch repository reads: repomd.xml, its signature, every file it
 * lists (checked against its checksum) and every package primary.xml lists (checked against its
 * sha256). Returns path → sha256 of the bytes served.
 */
async function rpmSnapshot(get: Get, base: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const repomd = await body(get, `${base}/repodata/repomd.xml`);
  out.set(`${base}/repodata/repomd.xml`, sha256(repomd));
  out.set(`${base}/repodata/repomd.xml.asc`, sha256(await body(get, `${base}/repodata/repomd.xml.asc`)));
  const text = new TextDecoder().decode(repomd);
  let primary: Uint8Array | null = null;
  for (const m of text.matchAll(/<data type="([^"]+)">[\s\S]*?<checksum type="sha256">([0-9a-f]+)<\/checksum>[\s\S]*?<location href="([^"]+)"/g)) {
    const [, type, checksum, href] = m;
    const bytes = await body(get, `${base}/${href}`);
    assert.equal(sha256(bytes), checksum, `${base}/${href} matches repomd.xml`);
    out.set(`${base}/${href}`, checksum);
    if (type === 'primary') primary = bytes;
  }
  assert.ok(primary, `${base}: repomd.xml lists primary`);
  const xml = new TextDecoder().decode(gunzipSync(primary));
  for (const m of xml.matchAll(/<package type="rpm">[\s\S]*?<checksum type="sha256" pkgid="YES">([0-9a-f]+)<\/checksum>[\s\S]*?<location href="([^"]+)"/g)) {
    const [, checksum, href] = m;
    const bytes = await body(get, `${base}/${href}`);
    assert.equal(sha256(bytes), checksum, `${base}/${href} matches primary.xml`);
    out.set(`${base}/${href}`, checksum);
  }
  return out;
}

/** The same for an APT distribution: InRelease, every file it lists (also by hash), every package of every Packages file. */
async function aptSnapshot(get: Get, base: string, codename: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const inRelease = await body(get, `${base}/dists/${codename}/InRelease`);
  out.set(`${base}/dists/${codename}/InRelease`, sha256(inRelease));
  const text = new TextDecoder().decode(inRelease).replaceAll('\r\n', '\n');
  const section = /^SHA256:\n((?: .+\n)+)/m.exec(text);
  assert.ok(section, 'InRelease has a SHA256 section');
  for (const line of section[1].trimEnd().split('\n')) {
    const [checksum, , path] = line.trim().split(/\s+/);
    const bytes = await body(get, `${base}/dists/${codename}/${path}`);
    assert.equal(sha256(bytes), checksum, `${path} matches InRelease`);
    out.set(`${base}/dists/${codename}/${path}`, checksum);
    const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : '';
    const byHash = `${base}/dists/${codename}/${dir}by-hash/SHA256/${checksum}`;
    assert.equal(sha256(await body(get, byHash)), checksum, `${byHash}`);
    if (/\/Packages$/.test(path)) {
      for (const stanza of new TextDecoder()
        .decode(bytes)
        .split('\n\n')
        .filter((s) => s.trim())) {
        const filename = /^Filename: (.+)$/m.exec(stanza)![1];
        const want = /^SHA256: (.+)$/m.exec(stanza)![1];
        assert.equal(sha256(await body(get, `${base}/${filename}`)), want, filename);
        out.set(`${base}/${filename}`, want);
      }
    }
  }
  return out;
}

/** Every key of the store with its size. */
async function storeKeys(store: BlobStore): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const e of store.list('')) out.set(e.key, e.size);
  return out;
}

/**
 * What GC must delete, computed independently and plainly (whole chunks decoded, every object
 * read): the keys under the collected prefixes that no kept revision (chain, tags, revisions
 * numbered above the current one) reaches.
 */
async function expectedGarbage(store: BlobStore, keepLast: number): Promise<Set<string>> {
  const keys = [...(await storeKeys(store)).keys()];
  const kept = new Map<string, Set<string>>();
  const chunks = new Set<string>();
  const packages = new Set<string>();
  const poolPaths = new Set<string>();
  const keepRevision = async (dist: string, id: string): Promise<Revision | null> => {
    const r = (await getJson<Revision>(store, layout.revision(dist, id)))?.value ?? null;
    if (!r) return null;
    (kept.get(dist) ?? kept.set(dist, new Set()).get(dist)!).add(id);
    for (const c of r.chunks) {
      chunks.add(c.id);
      for (const e of decodeChunk((await getBytes(store, layout.chunk(c.id)))!).entries) {
        packages.add(e.id);
        if (e.component) poolPaths.add(e.file);
      }
    }
    return r;
  };
  const dists = new Set(keys.map((k) => /^dists\/([^/]+)\//.exec(k)?.[1]).filter((d): d is string => !!d));
  for (const dist of dists) {
    let current: Ref | null = null;
    for (const k of keys.filter((k) => k.startsWith(`dists/${dist}/refs/`))) {
      const ref = (await getJson<Ref>(store, k))!.value;
      if (k.endsWith('/current.json')) current = ref;
      else await keepRevision(dist, ref.revision);
    }
    if (!current) throw new Error('every distribution in these tests has a current ref');
    let id: string | null = current.revision;
    for (let i = 0; id && i < keepLast; i++) id = (await keepRevision(dist, id))?.parent ?? null;
    for (const k of keys) {
      const m = new RegExp(`^dists/${dist}/revisions/((\\d+)-.+)\\.json$`).exec(k);
      if (m && Number(m[2]) > current.number) await keepRevision(dist, m[1]);
    }
  }
  const objects = new Set<string>();
  const pointers = new Set<string>();
  for (const k of keys) {
    const m = /^renders\/([^/]+)\/([^/]+)\//.exec(k);
    if (!m || m[2] === 'by-hash' || !kept.get(m[1])?.has(m[2])) continue;
    const manifest = (await getJson<RenderManifest>(store, k))!.value;
    for (const f of manifest.files) {
      pointers.add(layout.renderByHash(m[1], f.checksums.sha256!));
      for (const s of f.segments) if ('object' in s) objects.add(s.object);
    }
  }
  const garbage = new Set<string>();
  for (const k of keys) {
    let m: RegExpExecArray | null;
    let gone = false;
    // A revision's summary lives and dies with it.
    if ((m = /^dists\/([^/]+)\/(?:revisions|summaries)\/(.+)\.json$/.exec(k))) gone = !kept.get(m[1])?.has(m[2]);
    // A chunk's derived parts (chunks/<aa>/<id>.xz.seg) live and die with it.
    else if ((m = /^chunks\/..\/([0-9a-f]{64})(?:\.[a-z]+)?\.seg$/.exec(k))) gone = !chunks.has(m[1]);
    else if ((m = /^(?:pool\/sha256|packages|fragments)\/..\/([0-9a-f]{64})/.exec(k))) gone = !packages.has(m[1]);
    else if ((m = /^apt-pool\/(.+)\.json$/.exec(k))) gone = !poolPaths.has(m[1]) && !packages.has((await getJson<{ sha256: string }>(store, k))!.value.sha256);
    else if ((m = /^renders\/([^/]+)\/by-hash\//.exec(k))) gone = !pointers.has(k) && !kept.get(m[1])?.has((await getJson<ByHashPointer>(store, k))!.value.revision);
    else if ((m = /^renders\/([^/]+)\/([^/]+)\//.exec(k))) gone = !kept.get(m[1])?.has(m[2]);
    else if (k.startsWith('metadata/')) gone = !objects.has(k);
    else if (k.startsWith('uploads/')) gone = true;
    if (gone) garbage.add(k);
  }
  return garbage;
}

const stripped = (r: GcReport) => ({ kept: r.kept, deleted: r.deleted, bytesFreed: r.bytesFreed, repointed: r.repointed });

describe('garbage collection and retention', () => {
  let core: Core;
  let dir: string;
  let get: Get;
  /** Serve from a fresh server on the same store: no cache of the one that published. */
  const restart = async () => {
    const app = createApp((await buildNodeCore({ REPOD_STORAGE: `file:${dir}`, REPOD_ADMIN_TOKEN: 't' }, () => undefined)).core);
    get = async (path) => app.request(path);
  };
  const rocky: string[] = [];
  const bookworm: string[] = [];
  /** Snapshots of every revision's views, taken before any collection. */
  const views = new Map<string, Map<string, string>>();
  const rpmViews = async (id: string) =>
    new Map([...(await rpmSnapshot(get, `/revisions/rocky9/${id}/x86_64`)), ...(await rpmSnapshot(get, `/revisions/rocky9/${id}/hashed/x86_64`))]);
  const aptViews = (id: string) => aptSnapshot(get, `/revisions/bookworm/${id}`, 'bookworm');
  let emptyArm64: string;

  before(async () => {
    ({ core, dir } = await newCore());
    const app = createApp(core);
    get = async (path) => app.request(path);
    const afterPublish = async (kind: 'rpm' | 'apt', id: string) => {
      // Render the views the way clients would (current and pinned), so renders, sqlite objects and by-hash pointers exist.
      if (kind === 'rpm') {
        await rpmSnapshot(get, '/repos/rocky9/x86_64');
        views.set(id, await rpmViews(id));
      } else {
        await aptSnapshot(get, '/repos', 'bookworm');
        views.set(id, await aptViews(id));
      }
    };
    for (const step of [
      () => publish(core, 'rocky9', [fixture('hello-2.0-1.x86_64.rpm')]),
      () => publish(core, 'rocky9', [fixture('animaniacs-0.1-1.noarch.rpm')]),
      async () => (await removePackages(core, 'rocky9', ['hello-2.0-1.x86_64.rpm'], { author: 'test' })).revision!.id,
      () => publish(core, 'rocky9', [fixture('balicek-utf8-1.1.1-1.x86_64.rpm')]),
      () => publish(core, 'rocky9', [fixture('rpm-scriptlets-1.0-1.noarch.rpm')]),
      () => publish(core, 'rocky9', [fixture('crypto-policies-20210617-1.gitc776d3e.el8.noarch.rpm')]),
      () => publish(core, 'rocky9', [fixture('yum-cron-3.4.3-8.fc16.noarch.rpm')]),
    ]) {
      const id = await step();
      rocky.push(id);
      await afterPublish('rpm', id);
    }
    for (const deb of ['hello_2.10-3_amd64.deb', 'hostname_3.23+nmu1_amd64.deb', 'sensible-utils_0.0.17+nmu1_all.deb', 'toilet_0.3-1.4build1_amd64.deb']) {
      const id = await publish(core, 'bookworm', [fixture(deb)]);
      bookworm.push(id);
      await afterPublish('apt', id);
    }
    // The empty arm64 index of the first two APT revisions: its by-hash pointer names the first.
    let firstKey = '';
    for await (const e of core.caps.store.list(`renders/bookworm/${bookworm[0]}/`)) firstKey = e.key;
    const first = (await getJson<RenderManifest>(core.caps.store, firstKey))!.value;
    emptyArm64 = first.files.find((f) => f.path === 'main/binary-arm64/Packages.gz')!.checksums.sha256!;
    assert.equal((await getJson<ByHashPointer>(core.caps.store, layout.renderByHash('bookworm', emptyArm64)))!.value.revision, bookworm[0]);
  });

  it('dry run deletes nothing, then GC deletes exactly the unreachable objects and every kept revision serves the same bytes', async () => {
    const store = core.caps.store;
    // A tag on the revision that still had hello: hello stays as long as the tag does.
    await core.repository.setTag('rocky9', 'ga', (await core.repository.revision('rocky9', rocky[1]))!);
    // Orphans: an abandoned upload, a package committed by a publish that never moved the ref (RPM and APT),
    // a revision that lost a race (numbered like the current one) and one still in flight (numbered above it).
    await stage(core, fixture('Archer-3.4.5-6.x86_64.rpm'));
    const orphanRpm = (await stage(core, fixture('yum-cron-3.4.3-9.fc16.noarch.rpm'))) as StagedRpm;
    await commitRpm(core.caps, orphanRpm);
    const orphanDeb = (await stage(core, fixture('libcap2_2.66-4+deb12u3+b1_amd64.deb'))) as StagedDeb;
    const deb = await commitDeb(core.caps, orphanDeb, 'main');
    // The per-package fragments earlier versions wrote (nothing reads them): collected with their package.
    const rpmRecord = (await getJson<RpmPackageRecord>(store, layout.packageRecord(orphanRpm.sha256)))!.value;
    await putFragment(core.caps, layout.fragment(orphanRpm.sha256), 'rpm', RPM_STREAMS, rpmEntry(rpmRecord.package, rpmRecord.facts));
    await putFragment(core.caps, layout.aptFragment(orphanDeb.sha256, 'main'), 'apt', APT_STREAMS, deb.entry);
    const current = (await core.repository.current('rocky9'))!;
    await putJson(store, layout.revision('rocky9', `${String(current.number).padStart(6, '0')}-lostrace`), {
      ...current,
      id: `${String(current.number).padStart(6, '0')}-lostrace`,
    });
    const inflight = `${String(current.number + 1).padStart(6, '0')}-inflight`;
    await putJson(store, layout.revision('rocky9', inflight), { ...current, id: inflight, number: current.number + 1, parent: current.id });

    const expected = await expectedGarbage(store, 3);
    const before = await storeKeys(store);
    const dry = await collectGarbage(store, { dryRun: true, keepLast: 3, graceSeconds: 3600, now: later(), keysLimit: 100_000 });
    assert.deepEqual(await storeKeys(store), before, 'a dry run changes nothing');
    assert.deepEqual([...dry.keys!].sort(), [...expected].sort(), 'the dry run lists exactly the unreachable keys');
    assert.equal(
      dry.bytesFreed,
      [...expected].reduce((n, k) => n + before.get(k)!, 0),
    );

    // What must go, spelled out.
    const gone = (k: string) => expected.has(k);
    assert.ok(gone(layout.revision('rocky9', rocky[0])) && gone(layout.revision('rocky9', rocky[2])) && gone(layout.revision('rocky9', rocky[3])), 'revisions past retention');
    assert.ok(!gone(layout.revision('rocky9', rocky[1])), 'the tagged revision stays');
    assert.ok(gone(layout.revision('rocky9', `${String(current.number).padStart(6, '0')}-lostrace`)) && !gone(layout.revision('rocky9', inflight)));
    assert.ok(gone(layout.pool(orphanRpm.sha256)) && gone(layout.packageRecord(orphanRpm.sha256)) && gone(layout.fragment(orphanRpm.sha256)));
    assert.ok(gone(layout.pool(orphanDeb.sha256)) && gone(layout.aptFragment(orphanDeb.sha256, 'main')));
    assert.ok(
      [...expected].some((k) => k.startsWith('apt-pool/pool/main/libc/libcap2/')),
      'the orphan APT pool claim',
    );
    assert.ok([...expected].some((k) => k.startsWith('uploads/')));
    assert.ok([...expected].some((k) => k.startsWith(`renders/rocky9/${rocky[0]}/`)) && [...expected].some((k) => k.startsWith('metadata/')));
    const hello = sha256(await readFile(fixture('hello-2.0-1.x86_64.rpm')));
    assert.ok(!gone(layout.pool(hello)), 'hello stays while the tag names a revision holding it');
    assert.ok(!gone(layout.renderByHash('bookworm', emptyArm64)), 'a pointer a kept render needs stays');
    assert.ok(dry.repointed >= 1, 'pointers naming collected renders are counted');

    const real = await collectGarbage(store, { dryRun: false, keepLast: 3, graceSeconds: 3600, now: later() });
    assert.deepEqual(stripped(real), stripped(dry), 'the real run does what the dry run said');
    assert.equal(real.keys, undefined);
    const after = await storeKeys(store);
    for (const k of expected) assert.ok(!after.has(k), `${k} deleted`);
    for (const k of before.keys()) if (!expected.has(k)) assert.ok(after.has(k), `${k} kept`);
    assert.deepEqual(real.kept, { revisions: 3 + 1 + 1 + 3 + 0, chunks: real.kept.chunks, packages: real.kept.packages });

    // Every kept revision serves exactly what it served before; collected ones are gone.
    await restart();
    for (const id of [rocky[1], ...rocky.slice(-3)]) assert.deepEqual(await rpmViews(id), views.get(id), `rocky9 revision ${id}`);
    for (const id of bookworm.slice(-3)) assert.deepEqual(await aptViews(id), views.get(id), `bookworm revision ${id}`);
    assert.equal((await get(`/revisions/rocky9/${rocky[0]}/x86_64/repodata/repomd.xml`)).status, 404);
    assert.equal((await get(`/tags/rocky9/ga/x86_64/Packages/hello-2.0-1.x86_64.rpm`)).status, 200);
    // A client holding revision 2's InRelease still finds the empty arm64 index by hash, though the render that first produced it is gone.
    assert.equal((await getJson<ByHashPointer>(store, layout.renderByHash('bookworm', emptyArm64)))!.value.revision, bookworm[1]);
    assert.equal((await get(`/repos/dists/bookworm/main/binary-arm64/by-hash/SHA256/${emptyArm64}`)).status, 200);
    await rpmSnapshot(get, '/repos/rocky9/x86_64');
    await aptSnapshot(get, '/repos', 'bookworm');

    // Idempotent: nothing more to do.
    const again = await collectGarbage(store, { dryRun: false, keepLast: 3, graceSeconds: 3600, now: later() });
    assert.equal(
      Object.values(again.deleted).reduce((a, b) => a + b, 0),
      0,
    );
    assert.equal(again.repointed, 0);

    // Without the tag (and once the in-flight orphan is outnumbered), hello and revision 2 go.
    await core.repository.deleteTag('rocky9', 'ga');
    const next = await publish(core, 'rocky9', [fixture('complex-package-2.3.4-5.el8.x86_64.rpm')]);
    const expected2 = await expectedGarbage(store, 3);
    assert.ok(expected2.has(layout.pool(hello)) && expected2.has(layout.revision('rocky9', rocky[1])) && expected2.has(layout.revision('rocky9', inflight)));
    const third = await collectGarbage(store, { dryRun: false, keepLast: 3, graceSeconds: 3600, now: later() });
    const left = await storeKeys(store);
    await restart();
    for (const k of expected2) assert.ok(!left.has(k), `${k} deleted`);
    assert.equal(
      Object.values(third.deleted).reduce((a, b) => a + b, 0),
      expected2.size,
    );
    for (const id of rocky.slice(-2)) assert.deepEqual(await rpmViews(id), views.get(id), `rocky9 revision ${id}`);
    await rpmViews(next);
  });

  it('the grace period protects young objects: orphans survive until they are older than it', async () => {
    const { core } = await newCore();
    const store = core.caps.store;
    await publish(core, 'rocky9', [fixture('hello-2.0-1.x86_64.rpm')]);
    await publish(core, 'rocky9', [fixture('animaniacs-0.1-1.noarch.rpm')]);
    await stage(core, fixture('Archer-3.4.5-6.x86_64.rpm'));
    await commitRpm(core.caps, (await stage(core, fixture('balicek-utf8-1.1.1-1.x86_64.rpm'))) as StagedRpm);
    const before = await storeKeys(store);
    const young = await collectGarbage(store, { dryRun: false, keepLast: 1, graceSeconds: 3600 });
    assert.equal(
      Object.values(young.deleted).reduce((a, b) => a + b, 0),
      0,
      'nothing is older than an hour',
    );
    assert.deepEqual(await storeKeys(store), before);
    const expected = await expectedGarbage(store, 1);
    assert.ok(expected.size >= 6, 'the first revision, its chunk, the upload and the committed orphan (pool, record, fragment)');
    const old = await collectGarbage(store, { dryRun: false, keepLast: 1, graceSeconds: 3600, now: later() });
    assert.equal(
      Object.values(old.deleted).reduce((a, b) => a + b, 0),
      expected.size,
    );
    const after = await storeKeys(store);
    for (const k of expected) assert.ok(!after.has(k));
    // An object written after the collection started is never taken, whatever `now` says.
    const future = await collectGarbage(store, { dryRun: true, keepLast: 1, graceSeconds: 0, now: new Date(Date.now() + 1000 * HOUR) });
    assert.equal(future.keys!.length, 0);
  });
});

describe('garbage collection of mirror origins', () => {
  it('keeps where a listed package downloads from and collects the origins no kept revision lists', async () => {
    const { core } = await newCore();
    const store = core.caps.store;
    await publish(core, 'rocky9', [fixture('hello-2.0-1.x86_64.rpm')]);
    const listed = sha256(new Uint8Array(await readFile(fixture('hello-2.0-1.x86_64.rpm'))));
    const gone = 'f'.repeat(64);
    for (const sha of [listed, gone]) await putJson(store, layout.mirrorOrigin(sha), { format: 1, sourceId: 1, url: `http://upstream.example/${sha}.rpm`, size: 1 });
    const report = await collectGarbage(store, { dryRun: false, keepLast: 1, graceSeconds: 3600, now: later() });
    assert.equal(report.deleted.mirrorOrigins, 1);
    assert.ok(await store.head(layout.mirrorOrigin(listed)), 'the current revision lists it');
    assert.equal(await store.head(layout.mirrorOrigin(gone)), null);
  });
});

describe('garbage collection of compose documents', () => {
  it('keeps the comps of every kept revision and collects one no kept revision names', async () => {
    const { core } = await newCore();
    const store = core.caps.store;
    const dist = core.distributions.get('rocky9') as RpmDistribution;
    const comps = (id: string) =>
      utf8(
        `<?xml version="1.0" encoding="UTF-8"?>\n<comps>\n  <group>\n    <id>${id}</id>\n    <name>${id}</name>\n    <packagelist>\n      <packagereq type="default">hello</packagereq>\n    </packagelist>\n  </group>\n</comps>\n`,
      );
    await publish(core, 'rocky9', [fixture('hello-2.0-1.x86_64.rpm')]);
    const first = await replaceComps(core, dist, comps('first'), 'gc-test');
    const second = await replaceComps(core, dist, comps('second'), 'gc-test');
    const firstKey = layout.composeDocument(first.document!.id);
    const secondKey = layout.composeDocument(second.document!.id);
    assert.notEqual(firstKey, secondKey);
    const kept = await collectGarbage(store, { dryRun: false, keepLast: 3, graceSeconds: 3600, now: later() });
    assert.equal(kept.deleted.documents, 0, 'both comps belong to kept revisions');
    assert.ok(await store.head(firstKey));
    const collected = await collectGarbage(store, { dryRun: false, keepLast: 1, graceSeconds: 3600, now: later() });
    assert.equal(collected.deleted.documents, 1);
    assert.equal(await store.head(firstKey), null, 'only an old revision named the first comps');
    assert.ok(await store.head(secondKey), 'the current revision keeps its comps');
  });
});

/** A store that runs `hook` once, the first time a listing of `prefix` starts. */
function hooked(store: BlobStore, prefix: string, hook: () => Promise<void>): BlobStore {
  let fired = false;
  return {
    driver: store.driver,
    capabilities: store.capabilities,
    get: (key, options) => store.get(key, options),
    head: (key) => store.head(key),
    put: (key, b, options) => store.put(key, b, options),
    delete: (key) => store.delete(key),
    move: (from, to) => store.move(from, to),
    async *list(p: string) {
      if (p === prefix && !fired) {
        fired = true;
        await hook();
      }
      yield* store.list(p);
    },
  };
}

describe('garbage collection reads the refs again before deleting', () => {
  it('a rollback and a tag to revisions past retention, landing after the mark, keep what they need', async () => {
    const { core, dir } = await newCore();
    const ids: string[] = [];
    ids.push(await publish(core, 'rocky9', [fixture('hello-2.0-1.x86_64.rpm')]));
    ids.push(await publish(core, 'rocky9', [fixture('animaniacs-0.1-1.noarch.rpm')]));
    ids.push((await removePackages(core, 'rocky9', ['hello-2.0-1.x86_64.rpm'], { author: 'test' })).revision!.id);
    ids.push(await publish(core, 'rocky9', [fixture('balicek-utf8-1.1.1-1.x86_64.rpm')]));
    ids.push(await publish(core, 'rocky9', [fixture('rpm-scriptlets-1.0-1.noarch.rpm')]));
    const hello = sha256(await readFile(fixture('hello-2.0-1.x86_64.rpm')));
    assert.ok((await expectedGarbage(core.caps.store, 2)).has(layout.pool(hello)), 'at the mark, hello is garbage');
    let restored = '';
    // Marking is done when the sweep lists its first prefix: then the refs move.
    const store = hooked(core.caps.store, 'renders/', async () => {
      restored = (await core.repository.restore('rocky9', (await core.repository.revision('rocky9', ids[0]))!, { author: 'test', message: 'roll back' })).id;
      await core.repository.setTag('rocky9', 'old', (await core.repository.revision('rocky9', ids[1]))!);
    });
    const report = await collectGarbage(store, { dryRun: false, keepLast: 2, graceSeconds: 3600, now: later() });
    assert.ok(restored);
    const keys = await storeKeys(core.caps.store);
    assert.ok(keys.has(layout.pool(hello)), 'the rolled-back revision keeps hello');
    assert.ok(keys.has(layout.revision('rocky9', ids[0])) === false, 'the rollback target itself is not a root');
    assert.ok(keys.has(layout.revision('rocky9', ids[1])), 'the tagged revision stays');
    assert.ok(!keys.has(layout.revision('rocky9', ids[2])), 'the rest of the history goes');
    // Marks only grow during a run: what the first read of the refs kept stays until the next run.
    assert.ok(keys.has(layout.revision('rocky9', ids[3])));
    assert.equal(report.deleted.revisions, 2);
    await collectGarbage(core.caps.store, { dryRun: false, keepLast: 2, graceSeconds: 3600, now: later() });
    assert.ok(!(await core.caps.store.head(layout.revision('rocky9', ids[3]))));
    assert.deepEqual(await expectedGarbage(core.caps.store, 2), new Set(), 'nothing reachable was deleted, nothing unreachable is left');
    const app = createApp((await buildNodeCore({ REPOD_STORAGE: `file:${dir}`, REPOD_ADMIN_TOKEN: 't' }, () => undefined)).core);
    const get: Get = async (path) => app.request(path);
    const current = await rpmSnapshot(get, '/repos/rocky9/x86_64');
    assert.ok([...current.keys()].some((k) => k.endsWith('/Packages/hello-2.0-1.x86_64.rpm')));
    await rpmSnapshot(get, '/tags/rocky9/old/x86_64');
    await rpmSnapshot(get, `/revisions/rocky9/${ids[4]}/hashed/x86_64`);
  });
});

describe('garbage collection during concurrent publishes', () => {
  let rpms: string[];
  before(async () => {
    rpms = await buildManyRpms(12, await mkdtemp(join(tmpdir(), 'repod-gc-race-')), { prefix: 'gcrace', arch: 'noarch', perSpec: 12 });
  });

  it('GC with no grace period, concurrent with 10 interleaved publishes, never breaks a revision that becomes current', async (t) => {
    const { core } = await newCore();
    const store = core.caps.store;
    const app = createApp(core);
    const get: Get = async (path) => app.request(path);
    // History to collect.
    await publish(core, 'fedora', [rpms[10]]);
    await publish(core, 'fedora', [rpms[11]]);
    await removePackages(core, 'fedora', ['gcrace-00010-1.0-1.noarch.rpm'], { author: 'test' });

    const currents = new Set<string>();
    /** The current revision with every chunk and package it names. */
    const checkCurrent = async () => {
      const { ref } = await core.repository.currentRef('fedora', true);
      const revision = (await getJson<Revision>(store, layout.revision('fedora', ref!.revision)))?.value;
      assert.ok(revision, `current revision ${ref!.revision} exists`);
      for (const c of revision.chunks) {
        const bytes = await getBytes(store, layout.chunk(c.id));
        assert.ok(bytes, `chunk ${c.id} of current revision ${revision.id} exists`);
        for (const e of decodeChunk(bytes).entries) assert.ok(await store.head(layout.pool(e.id)), `package ${e.label} of ${revision.id} exists`);
      }
      currents.add(revision.id);
    };
    // Every ref move is checked the moment it is seen, while GC and the other publishes go on.
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        await checkCurrent();
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const reports: GcReport[] = [];
    const revisionsMade = new Set<number>();
    let overlapping = 0;
    // Each round: a collection starts, then publishes start one after another while it marks,
    // lists and deletes (some land before its sweep, some during, some after it).
    for (const round of [rpms.slice(0, 5), rpms.slice(5, 10)]) {
      let gcEnded = 0;
      const gc = collectGarbage(store, { dryRun: false, keepLast: 2, graceSeconds: 0 }).finally(() => (gcEnded = performance.now()));
      const landed: number[] = [];
      const publishes = round.map(async (path, i) => {
        await new Promise((r) => setTimeout(r, 1 + i * 7));
        const result = await publishBatch(core, 'fedora', [await stage(core, path)], { author: `writer-${i}` });
        revisionsMade.add(result.revision!.number);
        landed.push(performance.now());
        return result;
      });
      const results = await Promise.allSettled([gc, ...publishes]);
      overlapping += landed.filter((t) => t < gcEnded).length;
      const failures = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
      assert.deepEqual(failures, [], 'GC and every publish succeed');
      reports.push((results[0] as PromiseFulfilledResult<GcReport>).value);
      await checkCurrent();
    }
    watching = false;
    await watcher;
    assert.ok(
      reports.every((r) => r.deleted.revisions + r.deleted.chunks > 0),
      'each collection deleted history past retention',
    );
    assert.ok(overlapping > 0, 'publishes landed while a collection was running');
    t.diagnostic(`${overlapping} of 10 publishes landed while a collection ran`);
    assert.ok(currents.size >= 4, `${currents.size} current revisions checked`);
    const final = (await core.repository.current('fedora'))!;
    assert.equal(final.packageCount, 11);
    // Publishes that overlap join one revision (group commit): one revision per group, none lost.
    assert.equal(final.number, 3 + revisionsMade.size);
    await rpmSnapshot(get, '/repos/fedora/x86_64');
    await rpmSnapshot(get, '/hashed/fedora/x86_64');
    // And what is left is exactly what retention keeps, plus garbage made after the last collection started.
    const clean = await collectGarbage(store, { dryRun: false, keepLast: 2, graceSeconds: 0 });
    assert.ok(clean.kept.revisions >= 2);
    assert.deepEqual(await expectedGarbage(store, 2), new Set());
    await rpmSnapshot(get, '/repos/fedora/x86_64');
  });
});

/**
 * Crash safety: the real server is killed with SIGKILL while packages are being pushed to it, and
 * restarted on the same storage, three times. Every time, the last published revision must be
 * intact and served (repomd.xml / InRelease, every file they list, every package with its sha256)
 * and nothing any revision references may be missing. Then garbage collection (no grace period)
 * removes what the crashes left behind (uploads never committed, packages committed by a publish
 * that never moved its ref, revision objects and chunks of such publishes), and the repository
 * serves exactly the same bytes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { decodeChunk } from '../../src/bucket/chunk.ts';
import { layout } from '../../src/bucket/layout.ts';
import type { RenderManifest } from '../../src/bucket/render-manifest.ts';
import type { Ref, Revision } from '../../src/bucket/revision.ts';
import { collectGarbage } from '../../src/revisions/gc.ts';
import type { BlobStore } from '../../src/storage/blob-store.ts';
import { getBytes, getJson } from '../../src/storage/objects.ts';
import { openStore } from '../../src/storage/open-store.ts';
import { benchmarkSpecs, writeDebs } from '../helpers/debs.ts';
import { pseudoRandomBytes } from '../helpers/prng.ts';
import { buildManyRpms } from '../helpers/rpmbuild.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
type Get = (path: string) => Promise<Response>;

async function body(get: Get, path: string): Promise<Uint8Array> {
  const response = await get(path);
  assert.equal(response.status, 200, `GET ${path}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** repomd.xml, its signature, every file it lists and every package primary.xml lists, each checked against its checksum. */
async function rpmSnapshot(get: Get, base: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const repomd = await body(get, `${base}/repodata/repomd.xml`);
  out.set(`${base}/repodata/repomd.xml`, sha256(repomd));
  out.set(`${base}/repodata/repomd.xml.asc`, sha256(await body(get, `${base}/repodata/repomd.xml.asc`)));
  let primary: Uint8Array | null = null;
  for (const m of new TextDecoder().decode(repomd).matchAll(/<data type="([^"]+)">[\s\S]*?<checksum type="sha256">([0-9a-f]+)<\/checksum>[\s\S]*?<location href="([^"]+)"/g)) {
    const bytes = await body(get, `${base}/${m[3]}`);
    assert.equal(sha256(bytes), m[2], `${base}/${m[3]} matches repomd.xml`);
    out.set(`${base}/${m[3]}`, m[2]);
    if (m[1] === 'primary') primary = bytes;
  }
  assert.ok(primary);
  for (const m of new TextDecoder().decode(gunzipSync(primary)).matchAll(/<checksum type="sha256" pkgid="YES">([0-9a-f]+)<\/checksum>[\s\S]*?<location href="([^"]+)"/g)) {
    assert.equal(sha256(await body(get, `${base}/${m[2]}`)), m[1], `${base}/${m[2]} matches primary.xml`);
    out.set(`${base}/${m[2]}`, m[1]);
  }
  return out;
}

/** InRelease, every file it lists (and by hash), every package every Packages file lists. */
async function aptSnapshot(get: Get, codename: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const inRelease = await body(get, `/repos/dists/${codename}/InRelease`);
  out.set('InRelease', sha256(inRelease));
  const section = /^SHA256:\n((?: .+\n)+)/m.exec(new TextDecoder().decode(inRelease).replaceAll('\r\n', '\n'));
  assert.ok(section);
  for (const line of section[1].trimEnd().split('\n')) {
    const [checksum, , path] = line.trim().split(/\s+/);
    const bytes = await body(get, `/repos/dists/${codename}/${path}`);
    assert.equal(sha256(bytes), checksum, `${path} matches InRelease`);
    out.set(path, checksum);
    const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : '';
    assert.equal(sha256(await body(get, `/repos/dists/${codename}/${dir}by-hash/SHA256/${checksum}`)), checksum);
    if (!path.endsWith('/Packages')) continue;
    for (const stanza of new TextDecoder()
      .decode(bytes)
      .split('\n\n')
      .filter((s) => s.trim())) {
      const filename = /^Filename: (.+)$/m.exec(stanza)![1];
      assert.equal(sha256(await body(get, `/repos/${filename}`)), /^SHA256: (.+)$/m.exec(stanza)![1], filename);
      out.set(filename, /^SHA256: (.+)$/m.exec(stanza)![1]);
    }
  }
  return out;
}

/** Repod's upload call (multipart file + distribution), failing instead of hanging when the server is gone. */
async function uploadFile(server: RunningServer, distribution: string, path: string): Promise<{ status: number; body: any }> {
  const form = new FormData();
  form.append('file', new Blob([await readFile(path)]), basename(path));
  form.append('distribution', distribution);
  const response = await fetch(`${server.url}/api/v1/upload`, {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${server.adminToken}` },
    signal: AbortSignal.timeout(60_000),
  });
  return { status: response.status, body: await response.json() };
}

async function keysOf(store: BlobStore, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.list(prefix)) out.push(e.key);
  return out;
}

/**
 * Walks every distribution's whole history from its refs and checks that everything it names
 * exists (revisions, chunks, pool blobs, package records, APT pool claims, render segments).
 * Returns the objects no ref reaches: what crashes left behind.
 */
async function audit(store: BlobStore): Promise<{ orphans: string[]; revisions: number }> {
  const keys = await keysOf(store);
  const revisions = new Set<string>();
  const chunks = new Set<string>();
  const packages = new Set<string>();
  const claims = new Set<string>();
  for (const refKey of keys.filter((k) => /^dists\/[^/]+\/refs\/.+\.json$/.test(k))) {
    const dist = refKey.split('/')[1];
    const ref = (await getJson<Ref>(store, refKey))!.value;
    for (let id: string | null = ref.revision; id; ) {
      if (revisions.has(`${dist}/${id}`)) break;
      const revision: Revision | undefined = (await getJson<Revision>(store, layout.revision(dist, id)))?.value;
      assert.ok(revision, `revision ${dist}/${id} (reached from ${refKey}) exists`);
      revisions.add(`${dist}/${id}`);
      for (const c of revision.chunks) {
        if (chunks.has(c.id)) continue;
        const bytes = await getBytes(store, layout.chunk(c.id));
        assert.ok(bytes, `chunk ${c.id} of ${dist}/${id} exists`);
        chunks.add(c.id);
        for (const e of decodeChunk(bytes).entries) {
          packages.add(e.id);
          if (e.component) claims.add(layout.aptPoolPath(e.file));
        }
      }
      id = revision.parent;
    }
  }
  for (const id of packages) {
    assert.ok(await store.head(layout.pool(id)), `pool blob ${id} exists`);
    assert.ok(await store.head(layout.packageRecord(id)), `package record ${id} exists`);
  }
  for (const k of claims) assert.ok(await store.head(k), `${k} exists`);
  for (const k of keys.filter((k) => /^renders\/[^/]+\/[^/]+\/.+\.json$/.test(k) && !k.includes('/by-hash/'))) {
    const manifest = (await getJson<RenderManifest>(store, k))!.value;
    if (!revisions.has(`${manifest.distribution}/${manifest.revision}`)) continue;
    for (const f of manifest.files) {
      for (const s of f.segments) {
        if ('chunk' in s) assert.ok(chunks.has(s.chunk) || (await store.head(layout.chunk(s.chunk))), `chunk ${s.chunk} of ${k} exists`);
        if ('chunk' in s && s.part) assert.ok(await store.head(layout.chunkPart(s.chunk, s.part)), `${s.part} part of chunk ${s.chunk} (${k}) exists`);
        if ('object' in s) assert.ok(await store.head(s.object), `${s.object} of ${k} exists`);
      }
    }
  }
  const orphans = keys.filter((k) => {
    let m: RegExpExecArray | null;
    if ((m = /^dists\/([^/]+)\/revisions\/(.+)\.json$/.exec(k))) return !revisions.has(`${m[1]}/${m[2]}`);
    // A chunk's derived parts (<id>.xz.seg) are orphans exactly when their chunk is.
    if ((m = /^chunks\/..\/([0-9a-f]{64})(?:\.[a-z]+)?\.seg$/.exec(k))) return !chunks.has(m[1]);
    if ((m = /^(?:pool\/sha256|packages|fragments)\/..\/([0-9a-f]{64})/.exec(k))) return !packages.has(m[1]);
    if (k.startsWith('apt-pool/')) return !claims.has(k);
    return k.startsWith('uploads/');
  });
  return { orphans, revisions: revisions.size };
}

describe('crash safety', () => {
  it('kill -9 mid-push, restart: the last revision is intact and served; GC then removes the leftovers and nothing changes for clients', { timeout: 300_000 }, async (t) => {
    const work = await mkdtemp(join(tmpdir(), 'repod-crash-'));
    const rpms = await buildManyRpms(150, join(work, 'rpms'), { prefix: 'crash', arch: 'noarch', perSpec: 150 });
    // Debs with some payload: uploads take long enough to be cut off in every phase.
    const debs = writeDebs(
      join(work, 'debs'),
      benchmarkSpecs(150, { prefix: 'crashdeb' }).map((spec, i) => ({
        ...spec,
        files: [...spec.files!, { path: `usr/share/${spec.name}/data.bin`, content: pseudoRandomBytes(256 << 10, i + 1) }],
      })),
    );
    const storage = `file:${join(work, 'data')}`;
    let server: RunningServer = await startServer({ REPOD_STORAGE: storage });
    // Whatever fails below, no server outlives the test (a live child would keep the runner waiting).
    t.after(() => server.stop('SIGKILL'));
    const files = { rocky9: rpms, bookworm: debs };
    const next = { rocky9: 0, bookworm: 0 };
    const acked: Record<string, number> = {};
    const get: Get = (path) => fetch(`${server.url}${path}`);
    const views = async () =>
      new Map([...(await rpmSnapshot(get, '/repos/rocky9/x86_64')), ...(await rpmSnapshot(get, '/hashed/rocky9/x86_64')), ...(await aptSnapshot(get, 'bookworm'))]);
    let killedMidUpload = 0;

    for (let cycle = 0; cycle < 3; cycle++) {
      let pushing = true;
      const inFlight = new Set<string>();
      const push = async (dist: 'rocky9' | 'bookworm') => {
        while (pushing && next[dist] < files[dist].length) {
          const path = files[dist][next[dist]++];
          inFlight.add(path);
          try {
            const response = await uploadFile(server, dist, path);
            assert.equal(response.status, 201, JSON.stringify(response.body));
            acked[dist] = response.body.revision.number;
          } catch (error) {
            if (pushing) throw error;
            return; // the server died under this upload
          } finally {
            inFlight.delete(path);
          }
        }
      };
      // Three pushers (two RPM, one APT) race on two distributions.
      const ackedBefore = { ...acked };
      const pushers = [push('rocky9'), push('rocky9'), push('bookworm')];
      // Each cycle first sees one acknowledged upload per distribution (on a loaded machine the
      // first publish into a fresh store can take longer than the random delay), then is cut off.
      const deadline = Date.now() + 60_000;
      while ((acked.rocky9 === ackedBefore.rocky9 || acked.bookworm === ackedBefore.bookworm) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 400));
      killedMidUpload += inFlight.size;
      pushing = false;
      await server.stop('SIGKILL');
      await Promise.all(pushers);

      server = await startServer({ REPOD_STORAGE: storage, REPOD_ADMIN_TOKEN: server.adminToken });
      const store = await openStore(storage);
      for (const dist of ['rocky9', 'bookworm']) {
        const ref = (await getJson<Ref>(store, layout.ref(dist)))?.value;
        assert.ok(ref, `${dist} has a current revision after crash ${cycle + 1}`);
        // A publish cut off after its ref moved counts too: the ref is at least the last acknowledged revision.
        assert.ok(ref.number >= (acked[dist] ?? 0), `${dist}: revision ${ref.number} >= acknowledged ${acked[dist]}`);
      }
      await audit(store);
      await views();
    }
    t.diagnostic(`uploads cut off by the kills: ${killedMidUpload}; acknowledged revisions ${JSON.stringify(acked)}`);

    // One more publish each, so a revision object left by a publish killed between writing it and
    // moving the ref (numbered above the current one, which GC keeps: it could still win) is outnumbered.
    for (const dist of ['rocky9', 'bookworm'] as const) {
      const response = await uploadFile(server, dist, files[dist][next[dist]++]);
      assert.equal(response.status, 201);
    }
    const store = await openStore(storage);
    const before = await audit(store);
    const served = await views();
    t.diagnostic(`leftovers before GC: ${before.orphans.length} (${[...new Set(before.orphans.map((k) => k.split('/')[0]))].join(', ')})`);

    const report = await collectGarbage(store, { dryRun: false, keepLast: 1000, graceSeconds: 0 });
    t.diagnostic(`GC: ${JSON.stringify(report.deleted)}, ${report.bytesFreed} bytes`);
    const afterGc = await audit(store);
    assert.deepEqual(afterGc.orphans, [], 'GC removed every leftover');
    assert.equal(afterGc.revisions, before.revisions, 'and no revision of the history');
    assert.equal(Object.values(report.deleted).reduce((a, b) => a + b, 0) >= before.orphans.length, true);
    assert.deepEqual(await keysOf(store, 'uploads/'), []);

    // A fresh server (no caches) serves exactly the same bytes.
    await server.stop();
    server = await startServer({ REPOD_STORAGE: storage, REPOD_ADMIN_TOKEN: server.adminToken });
    try {
      assert.deepEqual(await views(), served);
    } finally {
      await server.stop();
    }
  });
});

/**
 * kill -9 in the middle of group commits: a real server takes uploads from 8 concurrent clients
 * (so publishes carry groups) and is killed at a random moment, twice. After each restart the
 * store's current revision is served whole, every acknowledged upload is in it, and an upload
 * that was never answered is either fully in (listed and downloadable with its sha256) or absent.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { layout } from '../../src/bucket/layout.ts';
import type { Ref, Revision } from '../../src/bucket/revision.ts';
import { getJson } from '../../src/storage/objects.ts';
import { openStore } from '../../src/storage/open-store.ts';
import { buildManyRpms } from '../helpers/rpmbuild.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function upload(server: RunningServer, path: string): Promise<{ status: number; body: any }> {
  const form = new FormData();
  form.append('file', new Blob([await readFile(path)]), basename(path));
  form.append('distribution', 'rocky9');
  const response = await fetch(`${server.url}/api/v1/upload`, {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${server.adminToken}` },
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, body: await response.json() };
}

/** File name -> sha256 of every package the served primary.xml lists, each downloaded and checked. */
async function served(server: RunningServer): Promise<Map<string, string>> {
  const get = async (path: string) => {
    const response = await fetch(`${server.url}/repos/rocky9/x86_64/${path}`);
    assert.equal(response.status, 200, path);
    return new Uint8Array(await response.arrayBuffer());
  };
  const repomd = new TextDecoder().decode(await get('repodata/repomd.xml'));
  const m = /<data type="primary">[\s\S]*?<checksum type="sha256">([0-9a-f]+)<\/checksum>[\s\S]*?<location href="([^"]+)"/.exec(repomd)!;
  const primary = await get(m[2]);
  assert.equal(sha256(primary), m[1]);
  const out = new Map<string, string>();
  for (const p of new TextDecoder()
    .decode(gunzipSync(primary))
    .matchAll(/<checksum type="sha256" pkgid="YES">([0-9a-f]+)<\/checksum>[\s\S]*?<location href="Packages\/([^"]+)"/g)) {
    assert.equal(sha256(await get(`Packages/${p[2]}`)), p[1], `${p[2]} downloads with its sha256`);
    out.set(p[2], p[1]);
  }
  return out;
}

describe('group commit crash safety', () => {
  it('kill -9 mid-group: the stored revision is served, every acknowledged upload is in it, the rest all in or absent', { timeout: 120_000 }, async (t) => {
    const work = await mkdtemp(join(tmpdir(), 'repod-group-crash-'));
    const rpms = await buildManyRpms(120, join(work, 'rpms'), { prefix: 'gcrash', arch: 'noarch', perSpec: 120 });
    const bytes = new Map(await Promise.all(rpms.map(async (p) => [basename(p), sha256(await readFile(p))] as const)));
    const storage = `file:${join(work, 'data')}`;
    let server = await startServer({ REPOD_STORAGE: storage });
    t.after(() => server.stop('SIGKILL'));
    const acked = new Set<string>();
    const unanswered = new Set<string>();
    let next = 0;
    let groups = 0;

    for (let cycle = 0; cycle < 2; cycle++) {
      let pushing = true;
      const client = async () => {
        while (pushing && next < rpms.length) {
          const path = rpms[next++];
          try {
            const response = await upload(server, path);
            assert.equal(response.status, 201, JSON.stringify(response.body));
            acked.add(basename(path));
          } catch (error) {
            if (pushing) throw error;
            unanswered.add(basename(path)); // the server died under this upload
            return;
          }
        }
      };
      const clients = Array.from({ length: 8 }, client);
      // Killed once this cycle has an acknowledged upload (a loaded machine may take longer than
      // the random delay to publish the first one), at a random moment of the groups after it.
      const before = acked.size;
      for (const deadline = Date.now() + 60_000; acked.size === before && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 500));
      pushing = false;
      await server.stop('SIGKILL');
      await Promise.all(clients);

      server = await startServer({ REPOD_STORAGE: storage, REPOD_ADMIN_TOKEN: server.adminToken });
      const store = await openStore(storage);
      const ref = (await getJson<Ref>(store, layout.ref('rocky9')))?.value;
      assert.ok(ref, 'rocky9 has a current revision');
      const revision = (await getJson<Revision>(store, layout.revision('rocky9', ref.revision)))!.value;
      const listed = await served(server);
      assert.equal(listed.size, revision.packageCount, 'the stored current revision is what is served');
      for (const file of acked) assert.equal(listed.get(file), bytes.get(file), `acknowledged ${file} is published`);
      for (const file of unanswered) if (listed.has(file)) assert.equal(listed.get(file), bytes.get(file), `${file} is fully in`);
      for (const file of listed.keys()) assert.ok(acked.has(file) || unanswered.has(file), `${file} was uploaded`);
      for (let r: Revision | null = revision; r; r = r.parent ? ((await getJson<Revision>(store, layout.revision('rocky9', r.parent)))?.value ?? null) : null) {
        if (r.parts) groups++;
      }
    }
    t.diagnostic(`acknowledged ${acked.size}, cut off ${unanswered.size}, grouped revisions seen ${groups}`);
    assert.ok(acked.size > 0);
  });
});

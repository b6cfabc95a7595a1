/**
 * A render's manifest and its files' by-hash pointers are written side by side (render-cache.ts):
 * a manifest stored without some of its pointers (a crash between the two writes) gets them from
 * the next process that loads it, before that process serves it; and a pointer already there
 * keeps the first render that produced its bytes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { layout } from '../../src/bucket/layout.ts';
import type { ByHashPointer, RenderManifest } from '../../src/bucket/render-manifest.ts';
import { Renderer } from '../../src/render/render-cache.ts';
import { nodeCapabilities } from '../../src/runtime/node-core.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { getJson } from '../../src/storage/objects.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function manifestOf(revision: string, contents: string[]): RenderManifest {
  return {
    format: 1,
    distribution: 'd',
    revision,
    view: 'rpm/x86_64',
    created: '2026-01-01T00:00:00.000Z',
    documents: { 'repodata/repomd.xml': `<repomd revision="${revision}"/>` },
    files: contents.map((c, i) => ({ path: `repodata/${sha(c)}-f${i}.xml.gz`, type: `f${i}`, size: c.length, checksums: { sha256: sha(c) }, segments: [{ data: '' }] })),
  };
}

describe('render pointers', () => {
  it('a render stores its manifest and every pointer; a manifest found without its pointers gets them before it is served', async () => {
    const store = new MemoryStore();
    const caps = nodeCapabilities(store, () => {});
    const manifest = manifestOf('r1', ['primary bytes', 'filelists bytes', 'other bytes']);
    const first = await new Renderer(caps).view('d', 'r1', 'rpm/x86_64', 'k', async () => manifest);
    assert.deepEqual(first, manifest);
    const key = layout.render('d', 'r1', 'rpm/x86_64@k');
    assert.ok(await store.head(key), 'the manifest is stored');
    for (const f of manifest.files)
      assert.deepEqual((await getJson<ByHashPointer>(store, layout.renderByHash('d', f.checksums.sha256!)))?.value, { revision: 'r1', view: 'rpm/x86_64' });

    // As after a crash between the two writes: the manifest is durable, two pointers are not.
    await store.delete(layout.renderByHash('d', manifest.files[0].checksums.sha256!));
    await store.delete(layout.renderByHash('d', manifest.files[2].checksums.sha256!));
    const loaded = await new Renderer(caps).view('d', 'r1', 'rpm/x86_64', 'k', async () => assert.fail('a stored render is not built again'));
    assert.deepEqual(loaded, manifest);
    for (const f of manifest.files) assert.equal((await new Renderer(caps).pointer('d', f.checksums.sha256!))?.revision, 'r1', `${f.path} is findable by hash again`);

    // A later revision with one file of the same bytes: the pointer keeps the first render.
    const next = manifestOf('r2', ['primary bytes 2', 'filelists bytes', 'other bytes 2']);
    await new Renderer(caps).view('d', 'r2', 'rpm/x86_64', 'k', async () => next);
    assert.equal((await new Renderer(caps).pointer('d', sha('filelists bytes')))?.revision, 'r1');
    assert.equal((await new Renderer(caps).pointer('d', sha('primary bytes 2')))?.revision, 'r2');
  });

  it('two processes rendering one revision at once both serve the render stored first, with its pointers', async () => {
    const store = new MemoryStore();
    const caps = nodeCapabilities(store, () => {});
    const a = manifestOf('r1', ['same primary', 'same other']);
    // The second render differs in a document (a signature made at another time).
    const b = { ...manifestOf('r1', ['same primary', 'same other']), documents: { 'repodata/repomd.xml': '<repomd b/>' } };
    const [fromA, fromB] = await Promise.all([
      new Renderer(caps).view('d', 'r1', 'rpm/x86_64', 'k', async () => a),
      new Renderer(caps).view('d', 'r1', 'rpm/x86_64', 'k', async () => b),
    ]);
    assert.deepEqual(fromA, fromB, 'both serve one render');
    const stored = (await getJson<RenderManifest>(store, layout.render('d', 'r1', 'rpm/x86_64@k')))!.value;
    assert.deepEqual(fromA, stored);
    for (const f of stored.files) assert.ok(await store.head(layout.renderByHash('d', f.checksums.sha256!)));
  });
});

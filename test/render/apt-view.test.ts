/**
 * APT renders resume hashing after the chunks the previous render of a file already hashed: the
 * result must equal a render from scratch, and a publish into a large distribution must read only
 * the chunks it rewrote.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { EntryWithSegments } from '../../src/bucket/chunk.ts';
import type { RenderManifest } from '../../src/bucket/render-manifest.ts';
import type { Revision } from '../../src/bucket/revision.ts';
import type { AptDistribution } from '../../src/config/distributions.ts';
import type { Core } from '../../src/core/core.ts';
import { APT_STREAMS } from '../../src/ingest/apt-entry.ts';
import { fileOrder, renderAptView } from '../../src/render/apt-view.ts';
import { HashCarry } from '../../src/render/index-file.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';

const enc = new TextEncoder();

function entry(name: string, arch: 'amd64' | 'arm64' | 'all'): EntryWithSegments {
  const id = createHash('sha256').update(`${name}/${arch}`).digest('hex');
  const stanza = enc.encode(`Package: ${name}\nVersion: 1.0\nArchitecture: ${arch}\nFilename: pool/main/${name[0]}/${name}/${name}_1.0_${arch}.deb\nSHA256: ${id}\n\n`);
  const contents = enc.encode(`usr/share/doc/${name}/copyright\tmisc/${name}\n`);
  const segments = [stanza, stanza, contents];
  return {
    entry: {
      key: ['main', name, arch, '1.0'].join('\u0000'),
      id,
      arch,
      file: `pool/main/${name[0]}/${name}/${name}_1.0_${arch}.deb`,
      label: `${name}_1.0_${arch}`,
      component: 'main',
      rawLengths: segments.map((s) => s.length),
    },
    segments,
  };
}

async function publish(core: Core, items: EntryWithSegments[]): Promise<Revision> {
  const result = await core.repository.publish('bookworm', 'apt', APT_STREAMS, () => ({ add: items, remove: [] }), { author: 'test', message: 'test' });
  return result.revision!;
}

async function fileBytes(core: Core, manifest: RenderManifest, path: string): Promise<Uint8Array> {
  const file = manifest.files.find((f) => f.path === path)!;
  return new Uint8Array(await new Response(core.renderer.stream(file)).arrayBuffer());
}

/** Renders with a count of the chunks read. */
async function render(core: Core, revision: Revision, carry: HashCarry): Promise<{ manifest: RenderManifest; reads: number }> {
  const dist = core.distributions.get('bookworm') as AptDistribution;
  let reads = 0;
  const repository = Object.create(core.repository) as typeof core.repository;
  repository.chunkBytes = (id: string) => {
    reads++;
    return core.repository.chunkBytes(id);
  };
  const manifest = await renderAptView({ caps: core.caps, repository, signer: await core.keyring.signer(), carry }, dist, revision);
  return { manifest, reads };
}

describe('APT render', () => {
  it('resumes hashing after unchanged chunks and equals a render from scratch', async () => {
    const { core } = await buildNodeCore({ REPOD_STORAGE: 'memory:' }, () => undefined);
    const names = Array.from({ length: 6000 }, (_, i) => `pkg${String(i).padStart(5, '0')}`);
    const first = await publish(
      core,
      names.map((n, i) => entry(n, i % 5 === 0 ? 'all' : i % 2 ? 'amd64' : 'arm64')),
    );
    assert.ok(first.chunks.length >= 8, `${first.chunks.length} chunks`);

    const carry = new HashCarry();
    const r1 = await render(core, first, carry);
    assert.equal(r1.reads, first.chunks.length, 'a first render reads every chunk');

    // One more package in the middle of the key space, then one more into the same chunk.
    const second = await publish(core, [entry('pkg02999a', 'amd64')]);
    const rewritten = second.chunks.filter((c) => !first.chunks.some((f) => f.id === c.id));
    assert.equal(rewritten.length, 1);
    assert.equal(fileOrder(second.chunks).at(-1)!.id, rewritten[0].id, 'the rewritten chunk is laid out last');
    const r2 = await render(core, second, carry);
    const replaced = first.chunks.findIndex((c) => !second.chunks.some((s) => s.id === c.id));
    assert.equal(r2.reads, first.chunks.length - replaced, 'resumes at the replaced chunk: reads the chunks after it and the new one');
    const third = await publish(core, [entry('pkg02999b', 'all')]);
    const r3 = await render(core, third, carry);
    assert.equal(r3.reads, 1, 'the hot chunk is last: one chunk read');

    for (const [revision, resumed] of [
      [second, r2.manifest],
      [third, r3.manifest],
    ] as const) {
      const scratch = (await render(core, revision, new HashCarry())).manifest;
      assert.deepEqual(resumed.files, scratch.files, 'same files, sizes, hashes and segments as from scratch');
      assert.equal(resumed.documents.Release, scratch.documents.Release);
      for (const f of resumed.files) {
        const bytes = await fileBytes(core, resumed, f.path);
        assert.equal(bytes.length, f.size, f.path);
        assert.equal(createHash('sha256').update(bytes).digest('hex'), f.checksums.sha256, `${f.path}: listed SHA256 is the served bytes'`);
      }
    }
    const packages = new TextDecoder().decode(await fileBytes(core, r3.manifest, 'main/binary-amd64/Packages'));
    assert.ok(packages.includes('Package: pkg02999a\n') && packages.includes('Package: pkg02999b\n'));
    assert.equal(packages.split('\n\n').filter(Boolean).length, 2400 + 1200 + 2, 'amd64 and all, once each');
  });
});

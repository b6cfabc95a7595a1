import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { type Candidate, stagedCandidate } from '../../src/ingest/pipeline.ts';
import { signaturePolicy } from '../../src/ingest/signature-policy.ts';
import { stagePackage } from '../../src/ingest/stage.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';
import type { BlobStore } from '../../src/storage/blob-store.ts';
import { bytesStream } from '../../src/storage/objects.ts';
import { selfBuiltLookup } from '../helpers/packages.ts';

const fixture = await selfBuiltLookup(['hello-2.0-1.x86_64.rpm']);

describe('signature step', () => {
  it('reads the trusted keys once per change, however many times the change runs it', async () => {
    const { core } = await buildNodeCore({ REPOD_STORAGE: 'memory:', REPOD_ADMIN_TOKEN: 'x'.repeat(32) }, () => undefined);
    let listings = 0;
    const inner = core.caps.store;
    const store: BlobStore = Object.assign(Object.create(inner), {
      list(prefix: string, options?: unknown) {
        if (prefix.startsWith('keys/trusted')) listings++;
        return (inner.list as (p: string, o?: unknown) => AsyncIterable<unknown>).call(inner, prefix, options);
      },
    });
    const services = { caps: { ...core.caps, store }, keyring: core.keyring, maxUploadBytes: 1 << 30 };
    const dist = core.distributions.all().find((d) => d.kind === 'rpm')!;
    const bytes = new Uint8Array(await readFile(fixture('hello-2.0-1.x86_64.rpm')));
    const candidate = async (): Promise<Candidate> => stagedCandidate(await stagePackage(core.caps, bytesStream(bytes), { maxBytes: 1 << 30 }), '');

    // A scan runs the steps of its one change package by package.
    const step = signaturePolicy(services);
    let afterFirst = 0;
    for (let i = 0; i < 5; i++) {
      const c = await candidate();
      await step({ dist, component: '' }, [c], { author: 'test' });
      assert.ok(c.signature, 'the package was judged');
      if (i === 0) afterFirst = listings;
    }
    assert.ok(afterFirst > 0);
    assert.equal(listings, afterFirst, 'the keys of one change are read for its first package only');
    // The next change reads their state again: a key trusted or revoked in between counts.
    await signaturePolicy(services)({ dist, component: '' }, [await candidate()], { author: 'test' });
    assert.ok(listings > afterFirst);
  });

  it('indexes signed copies unless told the packages never reach the pool', async () => {
    const { core } = await buildNodeCore({ REPOD_STORAGE: 'memory:', REPOD_ADMIN_TOKEN: 'x'.repeat(32) }, () => undefined);
    const dist = core.distributions.all().find((d) => d.kind === 'rpm')!;
    const services = { caps: core.caps, keyring: core.keyring, maxUploadBytes: 1 << 30 };
    const signed = new Uint8Array(await readFile(fixture('hello-2.0-1.x86_64.rpm')));
    const copies = async () => {
      const keys: string[] = [];
      for await (const e of core.caps.store.list('packages/copies/')) keys.push(e.key);
      return keys;
    };
    const staged = async () => stagedCandidate(await stagePackage(core.caps, bytesStream(signed), { maxBytes: 1 << 30 }), '');
    await signaturePolicy(services, { indexCopies: false })({ dist, component: '' }, [await staged()], { author: 'test' });
    assert.deepEqual(await copies(), []);
    await signaturePolicy(services)({ dist, component: '' }, [await staged()], { author: 'test' });
    assert.equal((await copies()).length, 1);
  });
});

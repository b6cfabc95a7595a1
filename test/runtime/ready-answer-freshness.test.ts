/**
 * Ready answers checked in the same tick (src/runtime/node.ts): while the distributions, the ref
 * and the signer's key set need no read, a ready answer is sent without waiting for anything, and
 * a revalidation that names its etag gets the app's 304 from it too. What must not change: every
 * request sees the state of at most REPOD_REF_TTL_MS ago (a publish through another server is
 * seen within the TTL, and the old answer never again after it), and within the TTL serving does
 * not read the store.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCore } from '../../src/core/create-core.ts';
import { nodeCapabilities } from '../../src/runtime/node-core.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { writeDebs } from '../helpers/debs.ts';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';

const REPOMD = '/repos/rocky9/x86_64/repodata/repomd.xml';
const INRELEASE = '/repos/dists/jammy/InRelease';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the checks a fast path makes without waiting (peek methods)', () => {
  it('answer what the reads would, and undefined when a read is due', async () => {
    const TTL = 300;
    const { core } = await createCore(
      nodeCapabilities(new MemoryStore(), () => undefined),
      {
        storeName: 'memory:',
        adminToken: 'peek-admin-token-0123456789',
        securityGate: false,
        refTtlMs: TTL,
      },
    );
    // The distributions: fresh right after they were read, due after the TTL, fresh after a refresh.
    assert.equal(core.distributionStore.peekDistributions(), core.distributions);
    await sleep(TTL + 50);
    assert.equal(core.distributionStore.peekDistributions(), undefined, 'a re-read is due');
    await core.distributions.refresh();
    assert.equal(core.distributionStore.peekDistributions(), core.distributions);

    // The ref: unknown before a read, the cached one within the TTL, due after it.
    assert.equal(core.repository.peekRef('rocky9'), undefined);
    const read = await core.repository.currentRef('rocky9');
    assert.deepEqual(core.repository.peekRef('rocky9'), read);
    await sleep(TTL + 50);
    assert.equal(core.repository.peekRef('rocky9'), undefined, 'a read is due');
    await core.repository.currentRef('rocky9');
    assert.ok(core.repository.peekRef('rocky9'));

    // The signer: the one `signer` made, per distribution; a change of the ring makes it unknown
    // until `signer` has read the ring and made the new set's signer.
    const rocky = core.distributions.get('rocky9')!;
    const signer = await core.keyring.signer(rocky);
    assert.equal(core.keyring.peekSigner(rocky), signer);
    assert.equal(core.keyring.peekSigner(rocky), signer, 'found again without resolving the keys');
    await core.keyring.generate('ed25519');
    assert.equal(core.keyring.peekSigner(rocky), undefined, 'the ring changed: a read is due');
    const rotated = await core.keyring.signer(rocky);
    assert.notEqual(rotated.keysetId, signer.keysetId);
    assert.equal(core.keyring.peekSigner(rocky), rotated);
    // A distribution naming a key the ring does not hold: `signer` throws, the peek only says "ask".
    assert.equal(core.keyring.peekSigner({ name: 'other', signing: { keys: ['no-such-key'] } }), undefined);
  });
});

describe('ready answers on the Node server, checked in the same tick', () => {
  const TTL_MS = 1500;
  let dir: string;
  let one: RunningServer;
  let two: RunningServer;
  let quiet: RunningServer;
  let rpms: string[];
  let debs: string[];

  const get = async (server: RunningServer, path: string, headers: Record<string, string> = {}, method = 'GET') => {
    const response = await fetch(`${server.url}${path}`, { headers, method });
    return { response, text: await response.text() };
  };
  const metrics = async (server: RunningServer) => parsePrometheusText(await (await fetch(`${server.url}/metrics`)).text());

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repod-ready-fresh-'));
    rpms = await buildRpms(
      ['one', 'two'].map((name) => ({ name: `fresh-${name}`, version: '1.0', arch: 'noarch', autoReqProv: false, files: [{ path: `/usr/share/fresh/${name}`, content: name }] })),
      dir,
    );
    debs = writeDebs(dir, [
      { name: 'fresh-one', version: '1.0-1', arch: 'all' },
      { name: 'fresh-two', version: '1.0-1', arch: 'all' },
    ]);
    // Scheduled import syncs read the store on their own: off, so the store reads counted are the requests'.
    const env = { REPOD_REF_TTL_MS: String(TTL_MS), REPOD_IMPORT_SCHEDULER: '0' };
    one = await startServer(env);
    two = await startServer({ ...env, REPOD_STORAGE: one.storage });
    quiet = await startServer({ REPOD_REF_TTL_MS: '60000', REPOD_IMPORT_SCHEDULER: '0' });
    for (const server of [one, quiet]) {
      assert.equal((await uploadFile(server, 'rocky9', rpms[0]!)).status, 201);
      assert.equal((await uploadFile(server, 'jammy', debs[0]!)).status, 201);
    }
  });
  after(async () => {
    await Promise.all([one?.stop(), two?.stop(), quiet?.stop()]);
    await rm(dir, { recursive: true, force: true });
    for (const server of [one, quiet]) if (server?.storage.startsWith('file:')) await rm(server.storage.slice('file:'.length), { recursive: true, force: true });
  });

  it('sees a publish through another server within REPOD_REF_TTL_MS, and never the old answer after it', { timeout: 60_000 }, async () => {
    const old = new Map<string, string>();
    for (const path of [REPOMD, INRELEASE]) {
      await get(two, path);
      const warm = await get(two, path);
      assert.equal(warm.response.status, 200);
      old.set(path, warm.text);
    }
    const readyBefore = sampleValue(await metrics(two), 'repod_http_ready_answers_total');
    assert.equal((await uploadFile(one, 'rocky9', rpms[1]!)).status, 201);
    assert.equal((await uploadFile(one, 'jammy', debs[1]!)).status, 201);
    const published = Date.now();
    assert.notEqual((await get(one, REPOMD)).text, old.get(REPOMD), 'the publishing server has the new revision');

    const firstNew = new Map<string, number>();
    let requests = 0;
    // Until both are new, then as long again: the old answer must not come back.
    while (firstNew.size < 2 || Date.now() - published < 2 * TTL_MS + 500) {
      assert.ok(Date.now() - published < TTL_MS + 5000, `still the old answers ${Date.now() - published} ms after the publish`);
      for (const path of [REPOMD, INRELEASE]) {
        const { response, text } = await get(two, path);
        requests++;
        assert.equal(response.status, 200);
        if (text === old.get(path)) {
          assert.ok(!firstNew.has(path), `${path}: the old answer again after the new one`);
        } else if (!firstNew.has(path)) firstNew.set(path, Date.now() - published);
      }
    }
    for (const [path, ms] of firstNew) assert.ok(ms <= TTL_MS + 1000, `${path}: new after ${ms} ms (TTL ${TTL_MS} ms)`);
    // Nearly all of them were ready answers (the app answers the first of each revision).
    const ready = sampleValue(await metrics(two), 'repod_http_ready_answers_total') - readyBefore;
    assert.ok(ready >= requests - 4, `${ready} of ${requests} answered ready`);
  });

  it('answers warm GETs, HEADs and matching revalidations without reading the store, the 304s as the app answers them', async () => {
    const server = quiet;
    const storeOps = (m: Awaited<ReturnType<typeof metrics>>) => sampleValue(m, 'repod_store_operations_total');
    // A server reads the store on its own for a moment after it starts (background jobs): wait
    // until that is over, so what is counted below is the requests' doing.
    let settled = storeOps(await metrics(server));
    for (let last = -1; settled !== last; ) {
      last = settled;
      await sleep(700);
      settled = storeOps(await metrics(server));
    }
    const first = await get(server, REPOMD);
    const etag = first.response.headers.get('etag')!;
    assert.ok(etag);
    const inRelease = await get(server, INRELEASE);
    const inReleaseEtag = inRelease.response.headers.get('etag')!;
    // The app's 304 (a query string keeps a request away from ready answers) and a ready one.
    const appAnswer = await get(server, `${REPOMD}?via=app`, { 'if-none-match': etag });
    assert.equal(appAnswer.response.status, 304);
    await get(server, REPOMD);
    const readyAnswer = await get(server, REPOMD, { 'if-none-match': etag });
    assert.equal(readyAnswer.response.status, 304);
    const headers = (h: Headers) => [...h].filter(([name]) => name !== 'x-request-id' && name !== 'date');
    assert.deepEqual(headers(readyAnswer.response.headers), headers(appAnswer.response.headers), 'the same headers as the app');
    assert.ok(readyAnswer.response.headers.get('x-request-id'));
    assert.equal(readyAnswer.text, '');

    const before = await metrics(server);
    const asked: Array<[string, Record<string, string>, string, number]> = [
      [REPOMD, {}, 'GET', 200],
      [REPOMD, {}, 'HEAD', 200],
      [REPOMD, { 'if-none-match': etag }, 'GET', 304],
      [REPOMD, { 'if-none-match': `"other", W/${etag}` }, 'HEAD', 304],
      [REPOMD, { 'if-none-match': '"another-revision"' }, 'GET', 200],
      [INRELEASE, { 'if-none-match': inReleaseEtag }, 'GET', 304],
      [INRELEASE, {}, 'GET', 200],
    ];
    const N = 40;
    for (let round = 0; round < N; round++) {
      await Promise.all(
        asked.map(async ([path, headers, method, status]) => {
          const { response, text } = await get(server, path, headers, method);
          assert.equal(response.status, status, `${method} ${path} ${JSON.stringify(headers)}`);
          if (status === 200 && method === 'GET') assert.equal(text, path === REPOMD ? first.text : inRelease.text);
        }),
      );
    }
    const afterwards = await metrics(server);
    assert.equal(storeOps(afterwards) - storeOps(before), 0, 'no store operation while nothing is due');
    assert.equal(sampleValue(afterwards, 'repod_http_ready_answers_total') - sampleValue(before, 'repod_http_ready_answers_total'), N * asked.length, 'every one a ready answer');
    assert.equal(
      sampleValue(afterwards, 'repod_http_requests_total', { status: '304', route: '/repos/:dist/:arch/repodata/:name' }) -
        sampleValue(before, 'repod_http_requests_total', { status: '304', route: '/repos/:dist/:arch/repodata/:name' }),
      2 * N,
      'the 304s counted as such',
    );
  });
});

/**
 * Group commit through the API: uploads that arrive while a publish is in flight join one revision,
 * each answered with its own verdict and a revision that contains its package, and the history
 * keeps every author. The group is made deterministic by holding the distribution's publish in
 * flight (a change that waits) until every request has queued behind it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createApp } from '../../src/http/app.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';
import { buildManyRpms } from '../helpers/rpmbuild.ts';

const N = 8;
let rpms: string[];
let rebuilt: string;

before(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'repod-group-'));
  rpms = await buildManyRpms(N, join(dir, 'a'), { prefix: 'grp', arch: 'noarch', perSpec: N, sourceDateEpoch: 1700000000 });
  // The same name-version-release with other bytes (another build time).
  [rebuilt] = await buildManyRpms(1, join(dir, 'b'), { prefix: 'grp', arch: 'noarch', perSpec: 1, sourceDateEpoch: 1700009999 });
});

describe('group commit (upload API)', () => {
  it('concurrent uploads join one revision; a bad change gets its own error while the rest publish', async () => {
    const { core } = await buildNodeCore({ REPOD_STORAGE: `file:${await mkdtemp(join(tmpdir(), 'repod-group-store-'))}`, REPOD_ADMIN_TOKEN: 'admin-t' }, () => undefined);
    const app = createApp(core);
    const tokens = await Promise.all(rpms.map(async (_, i) => (await core.tokens.issue({ subject: `builder-${i}`, role: 'uploader' })).token));
    const upload = async (path: string, token: string) => {
      const form = new FormData();
      form.append('file', new Blob([await readFile(path)]), basename(path));
      form.append('distribution', 'rocky9');
      const response = await app.request('/api/v1/upload', { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
      return { status: response.status, body: (await response.json()) as any };
    };

    // Hold a publish of rocky9 in flight: everything below queues behind it and forms one group.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const dist = core.distributions.get('rocky9')!;
    const holder = core.committer.submit('rocky9', {
      dist,
      resolve: async () => {
        await gate;
        return { add: [], remove: [] };
      },
      meta: { author: 'test', message: 'hold' },
    });
    const uploads = rpms.map((path, i) => upload(path, tokens[i]));
    const duplicate = upload(rebuilt, 'admin-t');
    const missing = app.request('/api/v1/distributions/rocky9/packages/nothere-1.0-1.noarch.rpm', { method: 'DELETE', headers: { authorization: 'Bearer admin-t' } });
    for (let waited = 0; core.committer.waiting('rocky9') < N + 2; waited += 10) {
      assert.ok(waited < 30_000, `only ${core.committer.waiting('rocky9')} changes queued`);
      await new Promise((r) => setTimeout(r, 10));
    }
    release();
    await holder;
    const results = await Promise.all(uploads);
    const dup = await duplicate;
    const gone = await missing;

    // The same NEVRA twice in one group: the one applied first publishes, the other gets today's 409.
    const first = results[0];
    const twins = [first, dup];
    assert.deepEqual(twins.map((r) => r.status).sort(), [201, 409], JSON.stringify(twins.map((r) => r.body)));
    const refused = twins.find((r) => r.status === 409)!;
    assert.equal(refused.body.error, 'duplicate_package');
    assert.equal(refused.body.status, 'duplicate');
    assert.equal(gone.status, 404);
    assert.equal(((await gone.json()) as any).error, 'package_not_found');
    for (const r of results.slice(1)) assert.equal(r.status, 201, JSON.stringify(r.body));

    // One revision for the whole group (fewer than the N + 2 changes), named in every answer.
    const published = twins.filter((r) => r.status === 201).concat(results.slice(1));
    const history = (await (await app.request('/api/v1/distributions/rocky9/revisions', { headers: { authorization: 'Bearer admin-t' } })).json()) as any;
    assert.equal(history.revisions.length, 1, JSON.stringify(history));
    const [revision] = history.revisions;
    assert.equal(revision.packageCount, N);
    for (const r of published) assert.equal(r.body.revision.id, revision.id);
    const detail = (await (await app.request(`/api/v1/distributions/rocky9/revisions/${revision.id}`)).json()) as any;
    const inRevision = new Set(detail.packages.map((p: any) => p.sha256));
    for (const r of published) assert.ok(inRevision.has(r.body.sha256), `${r.body.filename} is in the revision it was told`);

    // Who changed what: every author and message, in the order applied.
    const authors = revision.parts.map((p: any) => p.author);
    const expected = rpms.map((_, i) => `builder-${i}`);
    if (dup.status === 201) expected[0] = 'admin';
    assert.deepEqual([...authors].sort(), [...expected].sort());
    assert.ok(revision.parts.every((p: any) => p.added === 1 && /^upload grp-/.test(p.message)));
    assert.equal(detail.parts.length, N);
    for (const author of expected) assert.ok(revision.author.includes(author));

    // And the metadata dnf reads lists every package.
    const repomd = await (await app.request('/repos/rocky9/x86_64/repodata/repomd.xml')).text();
    const href = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)![1];
    const primary = gunzipSync(new Uint8Array(await (await app.request(`/repos/rocky9/x86_64/${href}`)).arrayBuffer())).toString();
    for (const r of published) assert.ok(primary.includes(`<location href="Packages/${r.body.filename}"/>`), r.body.filename);
    assert.equal(primary.match(/<package /g)?.length, N);
  });
});

/**
 * History commands through the real bin: revisions (paged), show, diff, rollback and tags, each
 * against the server's endpoint. A test whose endpoint the server lacks is skipped, saying so.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { selfBuiltAll } from '../helpers/packages.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';
import { hasRoute, repod } from './run-cli.ts';

const [HELLO, ANIMANIACS, ARCHER] = await selfBuiltAll(['hello-2.0-1.x86_64.rpm', 'animaniacs-0.1-1.noarch.rpm', 'Archer-3.4.5-6.x86_64.rpm']);

describe('repod history commands (real bin, real server)', () => {
  let server: RunningServer;
  let env: Record<string, string>;
  const revs: Array<{ id: string; number: number }> = [];
  const missing = async (method: string, path: string) => ((await hasRoute(server.url, method, path)) ? false : `the server has no ${method} ${path} yet`);

  before(async () => {
    server = await startServer();
    env = { REPOD_URL: server.url, REPOD_TOKEN: server.adminToken };
    // Three revisions: {hello, animaniacs}; +Archer -animaniacs; -hello.
    for (const args of [
      [HELLO, ANIMANIACS],
      ['-m', 'second', '--remove', 'animaniacs-0.1-1.noarch', ARCHER],
    ]) {
      const r = await repod(['push', '--dist', 'rocky9', '--json', ...args], { env });
      assert.equal(r.code, 0, r.stderr);
      revs.push(r.json().revision);
    }
    const r = await repod(['remove', '--dist', 'rocky9', '--json', 'hello-2.0-1.x86_64.rpm'], { env });
    assert.equal(r.code, 0, r.stderr);
    revs.push(r.json().revision);
  });
  after(async () => {
    await server?.stop();
    if (server?.storage.startsWith('file:')) await rm(server.storage.slice(5), { recursive: true, force: true });
  });

  it('revisions: newest first, paged with --limit/--before', async (t) => {
    const skip = await missing('GET', '/api/v1/distributions/rocky9/revisions');
    if (skip) return t.skip(skip);
    const all = await repod(['revisions', '--dist', 'rocky9', '--json'], { env });
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(
      all.json().revisions.map((r: any) => r.number),
      [3, 2, 1],
    );
    assert.equal(all.json().next, null);
    const page = await repod(['revisions', '--dist', 'rocky9', '--limit', '2', '--json'], { env });
    assert.deepEqual(
      page.json().revisions.map((r: any) => r.id),
      [revs[2].id, revs[1].id],
    );
    const next = page.json().next;
    assert.equal(typeof next, 'number');
    const rest = await repod(['revisions', '--dist', 'rocky9', '--limit', '2', '--before', String(next), '--json'], { env });
    assert.deepEqual(
      rest.json().revisions.map((r: any) => r.number),
      [1],
    );

    const human = await repod(['revisions', '--dist', 'rocky9', '--limit', '2'], { env });
    assert.equal(human.code, 0, human.stderr);
    const lines = human.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^# +ID +CREATED +AUTHOR +PACKAGES +CHANGE +MESSAGE$/);
    assert.match(lines[1], new RegExp(`^3 +${revs[2].id} +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ +admin +1 +\\+0 -1 `));
    assert.match(lines[2], new RegExp(`^2 +${revs[1].id} .* +2 +\\+1 -1 +second$`));
    assert.equal(lines[3], `(more: repod revisions --dist rocky9 --limit 2 --before ${next})`);
  });

  it('show: one revision by number or id', async (t) => {
    const skip = await missing('GET', '/api/v1/distributions/rocky9/revisions/1');
    if (skip) return t.skip(skip);
    const byNumber = await repod(['show', '--dist', 'rocky9', '2', '--json'], { env });
    assert.equal(byNumber.code, 0, byNumber.stderr);
    const doc = byNumber.json();
    assert.equal(doc.id, revs[1].id);
    assert.equal(doc.parent, revs[0].id);
    assert.deepEqual(doc.packages.map((p: any) => p.file).sort(), ['Archer-3.4.5-6.x86_64.rpm', 'hello-2.0-1.x86_64.rpm']);
    const byId = await repod(['show', '--dist', 'rocky9', revs[1].id, '--json'], { env });
    assert.deepEqual(byId.json(), doc);

    const human = await repod(['show', '--dist', 'rocky9', '2'], { env });
    assert.match(human.stdout, new RegExp(`^revision 2 of rocky9\\n  id: +${revs[1].id}\\n  parent: +${revs[0].id}\\n`));
    assert.match(human.stdout, /^  message: +second$/m);
    assert.match(human.stdout, /^changes:\n  \+ Archer-2:3\.4\.5-6\.x86_64\n  - animaniacs-0\.1-1\.noarch\n/m);
    assert.match(human.stdout, /^2 packages:\n  PACKAGE +ARCH +FILE +SHA256\n/m);

    const unknown = await repod(['show', '--dist', 'rocky9', '99'], { env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^repod: .*99.* \(unknown_revision\)\n$/);
  });

  it('diff: added, removed, upgraded', async (t) => {
    const skip = await missing('GET', '/api/v1/distributions/rocky9/revisions/1/diff/2');
    if (skip) return t.skip(skip);
    const r = await repod(['diff', '--dist', 'rocky9', '1', '3', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const d = r.json();
    assert.deepEqual(
      d.added.map((x: any) => x.name),
      ['Archer'],
    );
    assert.deepEqual(d.removed.map((x: any) => x.name).sort(), ['animaniacs', 'hello']);
    const human = await repod(['diff', '--dist', 'rocky9', '1', '3'], { env });
    assert.match(human.stdout, /^\+ Archer\.x86_64 \S+$/m);
    assert.match(human.stdout, /^- hello\.x86_64 2\.0-1$/m);
    assert.match(human.stdout, /^\(1 added, 2 removed, 0 upgraded, 0 downgraded\)$/m);
    const same = await repod(['diff', '--dist', 'rocky9', '2', revs[1].id], { env });
    assert.equal(same.stdout, 'rocky9: no difference between 2 and ' + revs[1].id + '\n');
  });

  it('tag: set, list, move, delete', async (t) => {
    const skip = await missing('GET', '/api/v1/distributions/rocky9/tags');
    if (skip) return t.skip(skip);
    const set = await repod(['tag', '--dist', 'rocky9', 'stable', '1'], { env });
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, `rocky9: tag stable -> revision 1 (${revs[0].id})\n`);
    const move = await repod(['tag', '--dist', 'rocky9', 'stable', revs[1].id, '--json'], { env });
    assert.equal(move.json().number, 2);
    const listed = await repod(['tag', '--dist', 'rocky9', '--list', '--json'], { env });
    assert.deepEqual(
      listed.json().tags.map((x: any) => [x.name, x.number, x.revision]),
      [['stable', 2, revs[1].id]],
    );
    const human = await repod(['tag', '--dist', 'rocky9', '-l'], { env });
    assert.match(human.stdout, new RegExp(`^TAG +REVISION +ID +UPDATED\\nstable +2 +${revs[1].id} +\\d{4}-`));
    // The tag serves the pinned revision (2) to clients, not the current one (3).
    const text = async (path: string) => {
      const response = await fetch(`${server.url}${path}`);
      assert.equal(response.status, 200, `GET ${path}`);
      return response.text();
    };
    const pinned = await text('/tags/rocky9/stable/x86_64/repodata/repomd.xml');
    assert.equal(pinned, await text(`/revisions/rocky9/${revs[1].id}/x86_64/repodata/repomd.xml`));
    assert.notEqual(pinned, await text('/repos/rocky9/x86_64/repodata/repomd.xml'));
    const primaryHref = /href="(repodata\/[^"]+-primary\.xml\.gz)"/.exec(pinned)?.[1];
    assert.ok(primaryHref, 'the pinned repomd names its primary');
    const primary = gunzipSync(Buffer.from(await (await fetch(`${server.url}/tags/rocky9/stable/x86_64/${primaryHref}`)).arrayBuffer())).toString();
    assert.match(primary, /<name>hello<\/name>/, 'revision 2 still has hello');
    assert.match(primary, /<name>Archer<\/name>/);
    const del = await repod(['tag', '--dist', 'rocky9', '--delete', 'stable'], { env });
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout, 'rocky9: deleted tag stable\n');
    const again = await repod(['tag', '--dist', 'rocky9', '--delete', 'stable'], { env });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /\(unknown_tag\)\n$/);
    const none = await repod(['tag', '--dist', 'rocky9', '--list'], { env });
    assert.equal(none.stdout, 'rocky9: no tags\n');
  });

  it('rollback: a new revision with the old content (runs last)', async (t) => {
    const skip = await missing('POST', '/api/v1/distributions/rocky9/rollback');
    if (skip) return t.skip(skip);
    const r = await repod(['rollback', '--dist', 'rocky9', '1', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const doc = r.json();
    assert.equal(doc.revision.number, 4);
    assert.equal(doc.restored, revs[0].id);
    const show = await repod(['show', '--dist', 'rocky9', '4', '--json'], { env });
    assert.deepEqual(
      show
        .json()
        .packages.map((p: any) => p.file)
        .sort(),
      ['animaniacs-0.1-1.noarch.rpm', 'hello-2.0-1.x86_64.rpm'],
    );
    const human = await repod(['rollback', '--dist', 'rocky9', revs[1].id], { env });
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`^rocky9: restored ${revs[1].id} as revision 5 \\(\\S+\\)\\n$`));
    const bad = await repod(['rollback', '--dist', 'rocky9', '77'], { env });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /\(unknown_revision\)\n$/);
  });
});

/**
 * Release-engineering and admin commands through the real bin: promote, migrate, API tokens and
 * gc. A test whose endpoint the server lacks is skipped, saying so.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { selfBuiltAll } from '../helpers/packages.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';
import { hasRoute, repod } from './run-cli.ts';

const [HELLO, ANIMANIACS, ARCHER] = await selfBuiltAll(['hello-2.0-1.x86_64.rpm', 'animaniacs-0.1-1.noarch.rpm', 'Archer-3.4.5-6.x86_64.rpm']);

describe('repod admin commands (real bin, real server)', () => {
  let server: RunningServer;
  let env: Record<string, string>;
  const missing = async (method: string, path: string) => ((await hasRoute(server.url, method, path)) ? false : `the server has no ${method} ${path} yet`);

  before(async () => {
    server = await startServer();
    env = { REPOD_URL: server.url, REPOD_TOKEN: server.adminToken };
    const r = await repod(['push', '--dist', 'centos-stream9', '--json', HELLO, ANIMANIACS], { env });
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await server?.stop();
    if (server?.storage.startsWith('file:')) await rm(server.storage.slice(5), { recursive: true, force: true });
  });

  it('promote copies one package, same bytes', async (t) => {
    const skip = await missing('POST', '/api/v1/distributions/promote');
    if (skip) return t.skip(skip);
    const r = await repod(['promote', 'hello', '--from', 'centos-stream9', '--to', 'almalinux9', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const doc = r.json();
    assert.equal(doc.status, 'published');
    assert.equal(doc.revision.number, 1);
    assert.deepEqual(
      doc.packages.map((p: any) => p.filename),
      ['hello-2.0-1.x86_64.rpm'],
    );
    const again = await repod(['promote', 'hello', '--from', 'centos-stream9', '--to', 'almalinux9', '--version', '2.0-1'], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^promoted hello centos-stream9 -> almalinux9: unchanged, already there \(current: revision 1 /);
    const none = await repod(['promote', 'nonexistent', '--from', 'centos-stream9', '--to', 'almalinux9'], { env });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^repod: .* \(\w+\)\n$/);
    const usage = await repod(['promote', 'hello', '--to', 'almalinux9'], { env });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--from is required/);
  });

  it('migrate copies every package as one revision', async (t) => {
    const skip = await missing('POST', '/api/v1/distributions/migrate');
    if (skip) return t.skip(skip);
    const r = await repod(['migrate', '--from', 'centos-stream9', '--to', 'almalinux8'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^migrated centos-stream9 -> almalinux8: revision 1 \(\S+\)\n/);
    assert.match(r.stdout, /^  published: animaniacs 0\.1-1 noarch$/m);
    assert.match(r.stdout, /^  published: hello 2\.0-1 x86_64$/m);
    const kinds = await repod(['migrate', '--from', 'centos-stream9', '--to', 'bookworm'], { env });
    assert.equal(kinds.code, 1);
    assert.match(kinds.stderr, /\(incompatible_distributions\)\n$/);
  });

  it('token create/list/revoke, and the tokens work with their roles', async (t) => {
    const skip = await missing('GET', '/api/v1/tokens');
    if (skip) return t.skip(skip);
    const created = await repod(['token', 'create', '--name', 'ci-bot', '--role', 'uploader', '--expires-in', '3600'], { env });
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^\S{20,}$/, 'only the token on stdout');
    assert.match(created.stderr, /^created token \S+ "ci-bot" \(role uploader, expires \d{4}-.*\)\nstore it now: it is shown only this once\n$/);
    const reader = await repod(['token', 'create', '--name', 'viewer', '--role', 'reader', '--json'], { env });
    const readerDoc = reader.json();
    assert.equal(readerDoc.role, 'reader');
    assert.equal(readerDoc.expires, undefined);

    const listed = await repod(['token', 'list', '--json'], { env });
    const byName = Object.fromEntries(listed.json().tokens.map((x: any) => [x.name, x]));
    assert.equal(byName['ci-bot'].role, 'uploader');
    assert.ok(byName['ci-bot'].expires);
    assert.ok(!JSON.stringify(listed.json()).includes(token), 'listing never shows a token');
    const human = await repod(['token', 'list'], { env });
    assert.match(human.stdout, /^ID +NAME +ROLE +CREATED +EXPIRES$/m);
    assert.match(human.stdout, new RegExp(`^${readerDoc.id} +viewer +reader +\\d{4}-\\S+ \\S+ +never$`, 'm'));

    // The uploader may push; the reader may not.
    const push = await repod(['push', '--dist', 'rocky8', '--json', ARCHER], { env: { ...env, REPOD_TOKEN: token } });
    assert.equal(push.code, 0, push.stderr);
    const refused = await repod(['push', '--dist', 'rocky8', ARCHER], { env: { ...env, REPOD_TOKEN: readerDoc.token } });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^repod: .*uploader.* \(forbidden\)\n$/);
    const notAdmin = await repod(['token', 'list'], { env: { ...env, REPOD_TOKEN: token } });
    assert.equal(notAdmin.code, 1);
    assert.match(notAdmin.stderr, /\(forbidden\)\n$/);

    const revoked = await repod(['token', 'revoke', byName['ci-bot'].id], { env });
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout, `revoked token ${byName['ci-bot'].id}\n`);
    const gone = await repod(['token', 'revoke', byName['ci-bot'].id], { env });
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /\(unknown_token\)\n$/);
    const badRole = await repod(['token', 'create', '--name', 'x', '--role', 'overlord'], { env });
    assert.equal(badRole.code, 1);
    assert.match(badRole.stderr, /\(invalid_request\)\n$/);
  });

  it('gc --dry-run reports, gc collects', async (t) => {
    const skip = await missing('POST', '/api/v1/gc');
    if (skip) return t.skip(skip);
    const dry = await repod(['gc', '--dry-run', '--keep', '1', '--json'], { env });
    assert.equal(dry.code, 0, dry.stderr);
    const report = dry.json();
    assert.equal(typeof report, 'object');
    if ('dryRun' in report) assert.equal(report.dryRun, true);
    const human = await repod(['gc', '--dry-run'], { env });
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^gc \(dry run, nothing deleted\): \d+ objects would be deleted, .* would be freed\n/);
    const real = await repod(['gc', '--keep', '1'], { env });
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /^gc: \d+ objects deleted, \S+ \S+ freed\n/);
    // Everything current is still served after a collection.
    const repomd = await fetch(`${server.url}/repos/centos-stream9/x86_64/repodata/repomd.xml`);
    assert.equal(repomd.status, 200);
  });
});

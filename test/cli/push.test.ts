/**
 * The real `repod` bin against a real server: pushing builds (RPM and DEB) as one revision each,
 * what dnf/apt then see, removals, login, and how errors reach the user.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { selfBuilt, selfBuiltAll } from '../helpers/packages.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';
import { repod } from './run-cli.ts';

const RPMS = await selfBuiltAll(['hello-2.0-1.x86_64.rpm', 'animaniacs-0.1-1.noarch.rpm', 'Archer-3.4.5-6.x86_64.rpm']);
const DEB = await selfBuilt('hello_2.10-3_amd64.deb');
const PASSWORD = 'cli-test-password';

describe('repod push and friends (real bin, real server)', () => {
  let server: RunningServer;
  let env: Record<string, string>;
  const current = async (dist: string) => {
    const r = await repod(['distributions', '--json'], { env });
    return (r.json().distributions as any[]).find((d) => d.name === dist).revision as { id: string; number: number } | null;
  };
  const primaryNames = async () => {
    const repomd = await (await fetch(`${server.url}/repos/rocky9/x86_64/repodata/repomd.xml`)).text();
    const href = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)?.[1];
    assert.ok(href, repomd);
    const primary = gunzipSync(Buffer.from(await (await fetch(`${server.url}/repos/rocky9/x86_64/${href}`)).arrayBuffer())).toString();
    return [...primary.matchAll(/<name>([^<]+)<\/name>/g)].map((m) => m[1]).sort();
  };

  before(async () => {
    server = await startServer({ REPOD_ADMIN_PASSWORD: PASSWORD });
    env = { REPOD_URL: server.url, REPOD_TOKEN: server.adminToken };
  });
  after(async () => {
    await server?.stop();
    if (server?.storage.startsWith('file:')) await rm(server.storage.slice(5), { recursive: true, force: true });
  });

  it('--help documents the commands', async () => {
    const top = await repod(['--help']);
    assert.equal(top.code, 0);
    for (const c of ['push', 'revisions', 'show', 'diff', 'rollback', 'tag', 'promote', 'migrate', 'gc', 'token', 'login', 'distributions', 'remove', 'import']) {
      assert.match(top.stdout, new RegExp(`^  ${c} `, 'm'));
    }
    assert.match(top.stdout, /REPOD_URL/);
    assert.match(top.stdout, /REPOD_TOKEN/);
    const push = await repod(['push', '--help']);
    assert.equal(push.code, 0);
    assert.match(push.stdout, /--dist <name>/);
    assert.match(push.stdout, /--replace-names/);
    assert.match(push.stdout, /POST \/api\/v1\/distributions\/<dist>\/builds/);
  });

  it('pushes three RPMs as one revision, and dnf metadata names them', async () => {
    assert.equal(await current('rocky9'), null);
    const r = await repod(['push', '--dist', 'rocky9', '--message', 'build 1', '--json', ...RPMS], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'no progress bar or notes with --json');
    const doc = r.json();
    assert.equal(doc.status, 'published');
    assert.equal(doc.distribution, 'rocky9');
    assert.equal(doc.revision.number, 1);
    assert.deepEqual(doc.packages.map((p: any) => `${p.package} ${p.status}`).sort(), ['Archer published', 'animaniacs published', 'hello published']);
    const now = await current('rocky9');
    assert.deepEqual(now && { id: now.id, number: now.number }, doc.revision, 'exactly one new revision');
    assert.deepEqual(await primaryNames(), ['Archer', 'animaniacs', 'hello']);
    const history = await repod(['revisions', '--dist', 'rocky9', '--json'], { env });
    assert.equal(history.code, 0, history.stderr);
    assert.equal(history.json().revisions.length, 1);
    assert.equal(history.json().revisions[0].message, 'build 1');
  });

  it('pushes a .deb into bookworm, served to apt', async () => {
    const r = await repod(['push', '--dist', 'bookworm', '--component', 'main', '--json', DEB], { env });
    assert.equal(r.code, 0, r.stderr);
    const doc = r.json();
    assert.equal(doc.packages[0].package, 'hello');
    assert.equal(doc.packages[0].architecture, 'amd64');
    const packages = await (await fetch(`${server.url}/repos/dists/bookworm/main/binary-amd64/Packages`)).text();
    assert.match(packages, /^Package: hello$/m);
    assert.match(packages, /^Version: 2\.10-3$/m);
  });

  it('prints a human summary and, when asked, a progress bar on stderr', async () => {
    const again = await repod(['push', '--dist', 'rocky9', '--progress', ...RPMS], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^rocky9: unchanged, already published/);
    assert.match(again.stdout, /STATUS +PACKAGE +VERSION +ARCH +SIZE +FILE/);
    assert.match(again.stdout, /unchanged +hello +2\.0-1 +x86_64/);
    assert.match(again.stderr, /\[#{20}\] 100%/);
    assert.match(again.stderr, /\(3\/3\) Archer-3\.4\.5-6/);
    assert.ok(again.stderr.endsWith('\r\x1b[2K'), 'the bar is erased at the end');
    const quiet = await repod(['push', '--dist', 'rocky9', RPMS[0]], { env });
    assert.equal(quiet.stderr, '', 'no bar when stderr is not a terminal');
  });

  it('--single uses the Repod-compatible upload endpoint', async () => {
    const r = await repod(['push', '--dist', 'fedora', '--single', '--json', RPMS[1]], { env });
    assert.equal(r.code, 0, r.stderr);
    const doc = r.json();
    assert.equal(doc.package, 'animaniacs');
    assert.equal(doc.distribution, 'fedora');
    assert.equal(doc.revision.number, 1);
    const human = await repod(['push', '--dist', 'fedora', '--single', RPMS[1]], { env });
    assert.match(human.stdout, /^fedora: unchanged/);
  });

  it('removes packages as one revision, and pushes with removals', async () => {
    const before = (await current('rocky9'))!.number;
    const r = await repod(['remove', '--dist', 'rocky9', 'Archer-3.4.5-6.x86_64', `/some/dir/animaniacs-0.1-1.noarch.rpm`], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^rocky9: revision ${before + 1} \\(\\S+\\) \\(2 packages removed\\)`));
    assert.match(r.stdout, /- Archer-2:3\.4\.5-6\.x86_64/);
    assert.deepEqual(await primaryNames(), ['hello']);
    const both = await repod(['push', '--dist', 'rocky9', '--remove', 'hello-2.0-1.x86_64', '--json', RPMS[2]], { env });
    assert.equal(both.code, 0, both.stderr);
    assert.equal(both.json().revision.number, before + 2);
    assert.deepEqual(
      both.json().removed.map((x: any) => x.filename),
      ['hello-2.0-1.x86_64.rpm'],
    );
    assert.deepEqual(await primaryNames(), ['Archer']);
  });

  it('--replace-names drops the current packages of those names in the same revision', async () => {
    const first = await repod(['push', '--dist', 'almalinux8', '--json', RPMS[0], RPMS[1]], { env });
    assert.equal(first.code, 0, first.stderr);
    const r = await repod(['push', '--dist', 'almalinux8', '--replace-names', 'hello,animaniacs', '--json', await selfBuilt('hello-1.0-1.src.rpm')], { env });
    assert.equal(r.code, 0, r.stderr);
    const doc = r.json();
    assert.equal(doc.revision.number, first.json().revision.number + 1);
    assert.deepEqual(
      doc.packages.map((p: any) => p.filename),
      ['hello-1.0-1.src.rpm'],
    );
    assert.deepEqual(doc.removed.map((x: any) => x.filename).sort(), ['animaniacs-0.1-1.noarch.rpm', 'hello-2.0-1.x86_64.rpm']);
  });

  it('reports server errors as "repod: <message> (<code>)", exit 1', async () => {
    const before = await current('rocky9');
    const badToken = await repod(['push', '--dist', 'rocky9', ...RPMS], { env: { ...env, REPOD_TOKEN: 'wrong-token' } });
    assert.equal(badToken.code, 1);
    assert.equal(badToken.stdout, '');
    assert.equal(badToken.stderr, 'repod: invalid or expired token (unauthorized)\n');

    const noToken = await repod(['push', '--dist', 'rocky9', RPMS[0]], { env: { REPOD_URL: server.url } });
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /^repod: authentication required.* \(unauthorized\)\nrepod: hint: pass --token or set REPOD_TOKEN/);

    const flagWins = await repod(['distributions', '--token', server.adminToken, '--url', server.url, '--json'], { env: { REPOD_URL: 'http://127.0.0.1:1', REPOD_TOKEN: 'x' } });
    assert.equal(flagWins.code, 0, flagWins.stderr);

    const unknown = await repod(['push', '--dist', 'nosuchdist', RPMS[0]], { env });
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, 'repod: unknown distribution "nosuchdist" (unknown_distribution)\n');

    const unknownJson = await repod(['push', '--dist', 'nosuchdist', '--json', RPMS[0]], { env });
    assert.equal(unknownJson.code, 1);
    assert.equal(unknownJson.json().error, 'unknown_distribution', 'with --json the error document is on stdout too');

    const wrongKind = await repod(['push', '--dist', 'rocky9', DEB], { env });
    assert.equal(wrongKind.code, 1);
    assert.match(wrongKind.stderr, /^repod: distribution rocky9 is an RPM distribution .* \(wrong_package_type\)\n$/);

    const missing = await repod(['push', '--dist', 'rocky9', RPMS[0], '/nonexistent/dir/missing-1-1.x86_64.rpm'], { env });
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'repod: no such file: /nonexistent/dir/missing-1-1.x86_64.rpm\n');

    // A directory is walked for packages (test/cli/bulk-push.test.ts); one without any is an error.
    const empty = await mkdtemp(join(tmpdir(), 'repod-cli-empty-'));
    const dir = await repod(['push', '--dist', 'rocky9', empty], { env });
    await rm(empty, { recursive: true, force: true });
    assert.equal(dir.code, 1);
    assert.equal(dir.stderr, `repod: no .rpm or .deb file under ${empty}\n`);

    const usage = await repod(['push', RPMS[0]], { env });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^repod: --dist is required\nUsage:\n  repod push /);

    assert.deepEqual(await current('rocky9'), before, 'no refused command changed anything');
  });

  it('logs in with a password (flag or stdin) and the token works', async () => {
    const a = await repod(['login', '--username', 'admin', '--password', PASSWORD], { env: { REPOD_URL: server.url } });
    assert.equal(a.code, 0, a.stderr);
    const token = a.stdout.trim();
    assert.match(token, /^\S{20,}$/, 'the token alone on stdout');
    assert.match(a.stderr, /expires in \d+ s/);
    const b = await repod(['login', '-u', 'admin', '--password-stdin', '--json'], { env: { REPOD_URL: server.url }, input: `${PASSWORD}\n` });
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.json().token_type, 'bearer');
    const use = await repod(['push', '--dist', 'almalinux9', '--json', RPMS[0]], { env: { REPOD_URL: server.url, REPOD_TOKEN: token } });
    assert.equal(use.code, 0, use.stderr);
    const wrong = await repod(['login', '-u', 'admin', '-p', 'nope'], { env: { REPOD_URL: server.url } });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^repod: .* \(invalid_credentials\)\n$/);
  });

  it('lists distributions', async () => {
    const r = await repod(['distributions'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^NAME +KIND +ARCHITECTURES +COMPONENTS +REVISION +ID +UPDATED$/m);
    assert.match(r.stdout, /^bookworm +apt +amd64,arm64 +main +1 +\S+ +\d{4}-\d\d-\d\d /m);
    assert.match(r.stdout, /^rocky8 +rpm +x86_64 +- +- +- +-$/m);
  });
});

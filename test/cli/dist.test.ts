/**
 * `repod dist create | edit | delete | list` through the real bin against a real server.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { patchFromSets } from '../../src/cli/commands/dist.ts';
import { selfBuilt } from '../helpers/packages.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';
import { repod } from './run-cli.ts';

const HELLO = await selfBuilt('hello-2.0-1.x86_64.rpm');

describe('repod dist (real bin, real server)', () => {
  let server: RunningServer;
  let dir: string;
  let env: Record<string, string>;

  before(async () => {
    server = await startServer();
    dir = await mkdtemp(join(tmpdir(), 'repod-cli-dist-'));
    env = { REPOD_URL: server.url, REPOD_TOKEN: server.adminToken };
  });
  after(async () => {
    await server?.stop();
    if (server?.storage.startsWith('file:')) await rm(server.storage.slice(5), { recursive: true, force: true });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('--set builds one merge patch (JSON values, dotted keys, null removes)', () => {
    assert.deepEqual(patchFromSets(['architectures=["x86_64","aarch64"]', 'sqlite=true', 'signing.keys=["a"]', 'security.policy.x=y', 'debuginfo=null', 'label=My label']), {
      architectures: ['x86_64', 'aarch64'],
      sqlite: true,
      signing: { keys: ['a'] },
      security: { policy: { x: 'y' } },
      debuginfo: null,
      label: 'My label',
    });
    assert.throws(() => patchFromSets(['novalue']), /key=value/);
  });

  it('create, list, edit (--set and a file), delete', async () => {
    const file = join(dir, 'alma10.json');
    await writeFile(file, JSON.stringify({ name: 'alma10', kind: 'rpm', architectures: ['x86_64'] }));
    const created = await repod(['dist', 'create', file], { env });
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, 'created distribution alma10 (rpm, architectures x86_64)\n');

    const listed = await repod(['dist', 'list'], { env });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^alma10\s+rpm\s+x86_64\s+-?\s*default/m);

    const set = await repod(['dist', 'edit', 'alma10', '--set', 'architectures=["x86_64","aarch64"]', '--set', 'sqlite=true', '--json'], { env });
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(set.json().architectures, ['x86_64', 'aarch64']);
    assert.equal(set.json().sqlite, true);
    assert.equal((await fetch(`${server.url}/repos/alma10/aarch64/repodata/repomd.xml`)).status, 200);

    const patch = join(dir, 'patch.json');
    await writeFile(patch, JSON.stringify({ sqlite: null, debuginfo: 'inline' }));
    const edited = await repod(['dist', 'edit', 'alma10', patch, '--json'], { env });
    assert.equal(edited.code, 0, edited.stderr);
    assert.equal(edited.json().sqlite, undefined);
    assert.equal(edited.json().debuginfo, 'inline');

    const push = await repod(['push', '--dist', 'alma10', HELLO], { env });
    assert.equal(push.code, 0, push.stderr);
    const refused = await repod(['dist', 'delete', 'alma10'], { env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /\(distribution_has_revisions\)\n$/);
    const deleted = await repod(['dist', 'delete', 'alma10', '--force'], { env });
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, 'retired distribution alma10 (its revisions are kept)\n');
    assert.equal((await fetch(`${server.url}/repos/alma10/x86_64/repodata/repomd.xml`)).status, 404);
    const after = await repod(['dist', 'list', '--json'], { env });
    assert.ok(!after.json().distributions.some((d: any) => d.name === 'alma10'));
    assert.ok(after.json().retired.some((d: any) => d.name === 'alma10'));
  });

  it('errors: an invalid entry (422), an immutable field, no admin role, usage', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ name: 'bad1', kind: 'rpm', architectures: [] }));
    const invalid = await repod(['dist', 'create', bad], { env });
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /architectures.*\(invalid_distribution\)\n$/);
    const rename = await repod(['dist', 'edit', 'rocky9', '--set', 'name=rocky10'], { env });
    assert.equal(rename.code, 1);
    assert.match(rename.stderr, /name cannot change/);
    const reader = await repod(['token', 'create', '--name', 'ro', '--role', 'maintainer'], { env });
    const denied = await repod(['dist', 'delete', 'rocky9'], { env: { REPOD_URL: server.url, REPOD_TOKEN: reader.stdout.trim() } });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /\(forbidden\)|403/);
    assert.equal((await repod(['dist', 'edit', 'rocky9'], { env })).code, 2);
    assert.equal((await repod(['dist', 'frobnicate'], { env })).code, 2);
    const missing = await repod(['dist', 'create', join(dir, 'nope.json')], { env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read/);
  });
});

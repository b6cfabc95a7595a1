/**
 * `repod comps|modules|updateinfo push` (and remove) against a running server: each publishes a
 * revision, prints the warnings, and a bad document exits non-zero with the server's message.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '../helpers/server.ts';
import { repod } from './run-cli.ts';

const COMPS = `<?xml version="1.0" encoding="UTF-8"?>
<comps>
  <group>
    <id>cli-group</id>
    <name>CLI group</name>
    <packagelist><packagereq type="mandatory">absent-pkg</packagereq></packagelist>
  </group>
</comps>
`;
const MODULES = `---
document: modulemd
version: 2
data:
  name: climod
  stream: "1"
  version: 1
  context: abcdef01
  arch: x86_64
  summary: s
  description: d
  license:
    module: [MIT]
...
`;
const UPDATEINFO = `<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="x@example.com" status="final" type="bugfix" version="1">
    <id>CLI-1</id>
    <title>t</title>
  </update>
</updates>
`;

describe('repod comps|modules|updateinfo', () => {
  let server: RunningServer;
  let dir: string;
  const cli = (args: string[]) => repod(args, { env: { REPOD_URL: server.url, REPOD_TOKEN: server.adminToken } });

  before(async () => {
    server = await startServer();
    dir = await mkdtemp(join(tmpdir(), 'repod-cli-compose-'));
    await writeFile(join(dir, 'comps.xml'), COMPS);
    await writeFile(join(dir, 'modules.yaml'), MODULES);
    await writeFile(join(dir, 'updateinfo.xml'), UPDATEINFO);
    await writeFile(join(dir, 'bad.xml'), '<comps><group></comps>');
  });
  after(async () => {
    await server?.stop();
  });

  it('push publishes each document as a revision and prints warnings', async () => {
    const comps = await cli(['comps', 'push', '--dist', 'rocky9', join(dir, 'comps.xml')]);
    assert.equal(comps.code, 0, comps.stderr);
    assert.match(comps.stdout, /rocky9: comps \(groups\) published as revision 1/);
    assert.match(comps.stderr, /warning: .*absent-pkg/);
    const modules = await cli(['--json', 'modules', 'push', '--dist', 'rocky9', join(dir, 'modules.yaml')]);
    assert.equal(modules.code, 0, modules.stderr);
    assert.deepEqual(modules.json().streams, ['climod:1:1:abcdef01:x86_64']);
    const updateinfo = await cli(['updateinfo', 'push', '--dist', 'rocky9', join(dir, 'updateinfo.xml')]);
    assert.equal(updateinfo.code, 0, updateinfo.stderr);
    assert.match(updateinfo.stdout, /revision 3/);
    const removed = await cli(['updateinfo', 'remove', '--dist', 'rocky9', 'CLI-1']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /revision 4/);
    const repomd = await (await fetch(`${server.url}/repos/rocky9/x86_64/repodata/repomd.xml`)).text();
    assert.match(repomd, /type="group_gz"/);
    assert.match(repomd, /type="modules"/);
    assert.doesNotMatch(repomd, /type="updateinfo"/);
  });

  it('a malformed document exits non-zero with the reason', async () => {
    const bad = await cli(['comps', 'push', '--dist', 'rocky9', join(dir, 'bad.xml')]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /not well-formed/);
    const usage = await cli(['comps', 'send', '--dist', 'rocky9']);
    assert.equal(usage.code, 2);
  });
});

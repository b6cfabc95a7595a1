import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import { parseRpm } from '../../src/formats/rpm/index.ts';
import { buildManyRpms, buildRpms, renderSpec, subpackageNames } from './rpmbuild.ts';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'repod-rpmbuild-test-'));
  dirs.push(dir);
  return dir;
}

test('renderSpec: tags, dependency qualifiers, file kinds, changelog newest first', () => {
  const spec = renderSpec({
    name: 'demo',
    epoch: 1,
    arch: 'noarch',
    requiresPre: ['/bin/sh'],
    recommends: ['x >= 1'],
    files: [
      { path: '/etc/demo.conf', kind: 'config' },
      { path: '/var/log/demo', kind: 'ghost' },
      { path: '/usr/bin/demo', mode: '0755' },
    ],
    changelog: [
      { time: 1000000000, author: 'Old <o@example.com>', text: '- old' },
      { time: 1600000000, author: 'New <n@example.com>', text: '- new' },
    ],
  });
  assert.match(spec, /^Epoch: 1$/m);
  assert.match(spec, /^BuildArch: noarch$/m);
  assert.match(spec, /^Requires\(pre\): \/bin\/sh$/m);
  assert.match(spec, /^Recommends: x >= 1$/m);
  assert.match(spec, /^%config\(noreplace\) "\/etc\/demo.conf"$/m);
  assert.match(spec, /^%ghost "\/var\/log\/demo"$/m);
  assert.match(spec, /^%attr\(0755,root,root\) "\/usr\/bin\/demo"$/m);
  assert.ok(spec.indexOf('New <n@example.com>') < spec.indexOf('Old <o@example.com>'));
  assert.match(spec, /^\* Sun Sep 13 12:26:40 UTC 2020 New/m);
});

test('subpackages are named predictably', () => {
  assert.deepEqual(subpackageNames({ name: 'p', subpackages: 3 }), ['p-sub1', 'p-sub2', 'p-sub3']);
  assert.deepEqual(subpackageNames({ name: 'p', subpackages: 12 }).slice(0, 2), ['p-sub01', 'p-sub02']);
  assert.deepEqual(subpackageNames({ name: 'p', subpackages: [{ name: 'libp' }] }), ['libp']);
});

test('buildRpms builds main and subpackages that parse back with what was asked for', async () => {
  const out = await tempDir();
  const files = await buildRpms(
    [
      {
        name: 'helper-demo',
        version: '2.1',
        release: '3',
        epoch: 4,
        requires: ['foo >= 1.0'],
        requiresPre: ['bar'],
        files: [
          { path: '/usr/bin/helper-demo', mode: '0755' },
          { path: '/usr/share/helper-demo', kind: 'dir' },
          { path: '/var/log/helper-demo.log', kind: 'ghost' },
        ],
        changelog: [{ time: 1700000000, author: 'Dev <dev@example.com> - 2.1-3', text: '- built' }],
        subpackages: 2,
      },
      { name: 'helper-noarch', arch: 'noarch', sourceDateEpoch: 1234567890 },
    ],
    out,
  );
  assert.deepEqual(
    files.map((f) => basename(f)),
    ['helper-demo-2.1-3.x86_64.rpm', 'helper-demo-sub1-2.1-3.x86_64.rpm', 'helper-demo-sub2-2.1-3.x86_64.rpm', 'helper-noarch-1.0-1.noarch.rpm'],
  );
  const { pkg } = parseRpm(new Uint8Array(await readFile(files[0])));
  assert.equal(pkg.epoch, '4');
  assert.deepEqual(
    pkg.files.map((f) => f.path + ':' + f.type),
    ['/usr/bin/helper-demo:file', '/usr/share/helper-demo:dir', '/var/log/helper-demo.log:ghost'],
  );
  assert.ok(pkg.requires.some((d) => d.name === 'foo' && d.flags === 'GE' && d.version === '1.0'));
  assert.ok(pkg.requires.some((d) => d.name === 'bar' && d.pre));
  assert.deepEqual(pkg.changelogs, [{ author: 'Dev <dev@example.com> - 2.1-3', date: 1700000000, text: '- built' }]);
  const noarch = parseRpm(new Uint8Array(await readFile(files[3]))).pkg;
  assert.equal(noarch.arch, 'noarch');
  assert.equal(noarch.buildTime, 1234567890);
});

test('buildManyRpms builds N distinct packages across several specs', async () => {
  const out = await tempDir();
  const files = await buildManyRpms(5, out, { prefix: 'many', perSpec: 2 });
  assert.deepEqual(
    files.map((f) => basename(f)),
    [0, 1, 2, 3, 4].map((i) => `many-0000${i}-1.0-1.x86_64.rpm`),
  );
  const { pkg } = parseRpm(new Uint8Array(await readFile(files[4])));
  assert.equal(pkg.name, 'many-00004');
  assert.ok(pkg.files.some((f) => f.path === '/usr/bin/many-00004'));
});

/**
 * The dependencies step's capability model, on real packages: RPMs built with rpmbuild, .debs
 * written with the debs helper, the third-party corpus; Debian relation satisfaction checked
 * against `dpkg --compare-versions`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseDeb } from '../../src/formats/deb/reader.ts';
import { parseRpm } from '../../src/formats/rpm/reader.ts';
import { debCapabilities } from '../../src/security/dependencies/deb-capabilities.ts';
import { debGroupRequirement, parseDebRelations } from '../../src/security/dependencies/deb-relations.ts';
import type { PackageCapabilities } from '../../src/security/dependencies/model.ts';
import { ProvidesIndex } from '../../src/security/dependencies/provides-index.ts';
import { rpmCapabilities } from '../../src/security/dependencies/rpm-capabilities.ts';
import { parseRichDependency } from '../../src/security/dependencies/rpm-rich.ts';
import { debMatches, debRelationHolds, rpmMatches } from '../../src/security/dependencies/version-match.ts';
import { corpusFiles, needsCorpus } from '../helpers/corpus.ts';
import { buildDeb } from '../helpers/debs.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';

async function rpmCaps(path: string): Promise<PackageCapabilities> {
  return rpmCapabilities(parseRpm(new Uint8Array(await readFile(path))).pkg);
}

async function debCaps(bytes: Uint8Array): Promise<PackageCapabilities> {
  return debCapabilities((await parseDeb(bytes)).control);
}

describe('RPM capabilities (rpmbuild)', () => {
  let dir: string;
  const byName = new Map<string, PackageCapabilities>();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repod-deps-rpm-'));
    const paths = await buildRpms(
      [
        {
          name: 'consumer',
          version: '1.0',
          release: '1',
          arch: 'noarch',
          requires: ['libthing >= 2.0', '/usr/bin/thing-tool', 'no-such-package-anywhere', '(libthing or libother)', '(missing-a or missing-b)', '(libthing if never-there)'],
          files: [{ path: '/usr/share/consumer/data' }],
          scripts: { post: 'true' },
        },
        { name: 'libthing', version: '2.1', release: '3', epoch: 1, arch: 'noarch', provides: ['thing-api = 5'], files: [{ path: '/usr/bin/thing-tool', mode: '0755' }] },
        { name: 'libthing-old', version: '1.0', release: '1', arch: 'noarch', provides: ['libthing = 1.5'], files: [{ path: '/usr/share/libthing-old/x' }] },
      ],
      dir,
    );
    for (const p of paths) {
      const caps = await rpmCaps(p);
      byName.set(caps.name, caps);
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads versioned, file, unknown and rich requires as written, without rpmlib()', () => {
    const consumer = byName.get('consumer')!;
    const texts = consumer.requires.map((r) => r.text);
    assert.ok(texts.includes('libthing >= 2.0'), texts.join(', '));
    assert.ok(texts.includes('/usr/bin/thing-tool'));
    assert.ok(texts.includes('no-such-package-anywhere'));
    assert.ok(texts.includes('(libthing or libother)'));
    assert.ok(texts.includes('/bin/sh'), 'the %post interpreter is a file dependency');
    assert.ok(!texts.some((t) => t.startsWith('rpmlib(')));
    const versioned = consumer.requires.find((r) => r.text === 'libthing >= 2.0')!.requirement;
    assert.deepEqual(versioned, { kind: 'name', name: 'libthing', relation: '>=', version: '0:2.0' });
    assert.deepEqual(consumer.requires.find((r) => r.text === '/usr/bin/thing-tool')!.requirement, { kind: 'file', path: '/usr/bin/thing-tool' });
    assert.equal(consumer.requires.find((r) => r.text === '(libthing or libother)')!.requirement.kind, 'or');
    assert.equal(consumer.notes.length, 1, 'the if-dependency is noted as unchecked');
    assert.match(consumer.notes[0]!, /'if'/);
  });

  it('provides the package itself with its epoch, and explicit provides with versions', () => {
    const lib = byName.get('libthing')!;
    assert.ok(lib.provides.some((c) => c.name === 'libthing' && c.relation === '=' && c.version === '1:2.1-3'));
    assert.ok(lib.provides.some((c) => c.name === 'thing-api' && c.version?.startsWith('0:5')));
    assert.ok(lib.files.includes('/usr/bin/thing-tool'));
  });

  it('an index of the three says which requires are missing', () => {
    const index = new ProvidesIndex();
    for (const c of byName.values()) index.add(c);
    const missing = index.check(byName.get('consumer')!).map((u) => u.requirement);
    // /bin/sh is not in this tiny distribution either: a base source would provide it.
    assert.deepEqual(missing.sort(), ['(missing-a or missing-b)', '/bin/sh', 'no-such-package-anywhere']);
  });

  it('a versioned require is not satisfied by an older provider', () => {
    const index = new ProvidesIndex();
    index.add(byName.get('libthing-old')!);
    index.add(byName.get('consumer')!);
    const missing = index.check(byName.get('consumer')!).map((u) => u.requirement);
    assert.ok(missing.includes('libthing >= 2.0'), 'libthing = 1.5 does not satisfy >= 2.0');
    assert.ok(missing.includes('/usr/bin/thing-tool'));
    assert.ok(!missing.includes('(libthing or libother)'), 'an unversioned require takes any version');
  });
});

describe('RPM rich dependencies', () => {
  it('parses and/or/with/without, nested, with names holding parentheses', () => {
    assert.deepEqual(parseRichDependency('(libfoo.so.1()(64bit) or bar >= 2)'), {
      kind: 'or',
      of: [
        { kind: 'name', name: 'libfoo.so.1()(64bit)' },
        { kind: 'name', name: 'bar', relation: '>=', version: '2' },
      ],
    });
    const nested = parseRichDependency('(a and (b or c) and /usr/bin/d)');
    assert.equal(nested.kind, 'and');
    assert.deepEqual(parseRichDependency('(a with b)'), {
      kind: 'with',
      of: [
        { kind: 'name', name: 'a' },
        { kind: 'name', name: 'b' },
      ],
    });
    assert.equal(parseRichDependency('(a without b)').kind, 'without');
    assert.equal(parseRichDependency('(a if b else c)').kind, 'unchecked');
    assert.equal(parseRichDependency('(a unless b)').kind, 'unchecked');
    assert.equal(parseRichDependency('(a and b or c)').kind, 'invalid');
    assert.equal(parseRichDependency('(a or').kind, 'invalid');
    assert.equal(parseRichDependency('(a >= )').kind, 'invalid');
  });
});

describe('RPM version ranges (rpmdsCompare)', () => {
  const cases: Array<[string, string, string, string, boolean]> = [
    // require rel, require version, provide rel, provide version, overlap
    ['>=', '0:2.0', '=', '1:1.0-1', true], // epoch wins
    ['>=', '1:2.0', '=', '0:3.0-1', false],
    ['=', '0:1.0', '=', '0:1.0-7', true], // no release in the require: any release
    ['=', '0:1.0-2', '=', '0:1.0-1', false],
    ['<', '0:1.0', '=', '0:1.0-1', false],
    ['<=', '0:1.0', '=', '0:1.0-1', true],
    ['>', '0:1.0~rc1', '=', '0:1.0-1', true],
    ['>=', '0:2', '>=', '0:1', true], // two open ranges always overlap
    ['<', '0:1', '>', '0:2', false],
  ];
  for (const [rr, rv, pr, pv, expected] of cases) {
    it(`${rr} ${rv} vs provide ${pr} ${pv}: ${expected}`, () => {
      assert.equal(rpmMatches({ relation: rr as never, version: rv }, { name: 'x', relation: pr as never, version: pv }), expected);
    });
  }
  it('an unversioned provide satisfies a versioned require, and the other way round', () => {
    assert.equal(rpmMatches({ relation: '>=', version: '0:9' }, { name: 'x' }), true);
    assert.equal(rpmMatches({}, { name: 'x', relation: '=', version: '0:1' }), true);
  });
});

describe('.deb capabilities', () => {
  it('reads Depends and Pre-Depends with alternatives, versions and arch qualifiers; Provides with versions; not Recommends', async () => {
    const caps = await debCaps(
      buildDeb({
        name: 'app',
        version: '1:2.0-1',
        depends: 'libc6 (>= 2.36), mail-transport-agent | postfix (>> 3.0~),\n python3:any, libfoo1 (= 1.2-3)',
        preDepends: 'dpkg (>= 1.15)',
        provides: 'app-api (= 7), httpd',
        fields: [
          ['Recommends', 'never-required'],
          ['Suggests', 'also-never'],
          ['Multi-Arch', 'foreign'],
        ],
      }),
    );
    assert.deepEqual(
      caps.requires.map((r) => r.text),
      ['dpkg (>= 1.15)', 'libc6 (>= 2.36)', 'mail-transport-agent | postfix (>> 3.0~)', 'python3:any', 'libfoo1 (= 1.2-3)'],
    );
    assert.deepEqual(caps.requires[2]!.requirement, {
      kind: 'or',
      of: [
        { kind: 'name', name: 'mail-transport-agent' },
        { kind: 'name', name: 'postfix', relation: '>', version: '3.0~' },
      ],
    });
    assert.deepEqual(caps.requires[3]!.requirement, { kind: 'name', name: 'python3', arch: 'any' });
    assert.deepEqual(caps.provides, [{ name: 'app', relation: '=', version: '1:2.0-1' }, { name: 'app-api', relation: '=', version: '7' }, { name: 'httpd' }]);
    assert.equal(caps.multiArch, 'foreign');
  });

  it('resolves alternatives, versioned and unversioned provides, and architectures as apt would', async () => {
    const pkgs = await Promise.all(
      [
        buildDeb({ name: 'app', version: '1.0', depends: 'mta | postfix (>= 3), web-api (>= 2), httpd, libz1, tool, helper:any', arch: 'amd64' }),
        buildDeb({ name: 'postfix', version: '3.7-1', arch: 'amd64' }),
        buildDeb({ name: 'webserver', version: '1.0', arch: 'amd64', provides: 'web-api (= 2.5), httpd' }),
        buildDeb({ name: 'libz1', version: '1.2', arch: 'arm64' }), // wrong architecture
        buildDeb({ name: 'tool', version: '1.0', arch: 'arm64', fields: [['Multi-Arch', 'foreign']] }), // foreign: any architecture
        buildDeb({ name: 'helper', version: '1.0', arch: 'arm64', fields: [['Multi-Arch', 'allowed']] }),
      ].map(debCaps),
    );
    const index = new ProvidesIndex();
    for (const p of pkgs) index.add(p);
    assert.deepEqual(
      index.check(pkgs[0]!).map((u) => u.requirement),
      ['libz1'],
    );
    // An unversioned provide never satisfies a versioned dependency (Policy §7.5).
    const strict = await debCaps(buildDeb({ name: 'strict', version: '1', depends: 'httpd (>= 1)' }));
    assert.deepEqual(
      index.check(strict).map((u) => u.requirement),
      ['httpd (>= 1)'],
    );
  });

  it('keeps malformed groups as unsatisfiable, never throws', () => {
    const groups = parseDebRelations('good, bad (>= ), (x), ok [amd64] <!nocheck>, ,trail,');
    assert.deepEqual(
      groups.map((g) => [g.text, g.error === undefined]),
      [
        ['good', true],
        ['bad (>= )', false],
        ['(x)', false],
        ['ok [amd64] <!nocheck>', true],
        ['trail', true],
      ],
    );
    assert.equal(debGroupRequirement(groups[1]!).kind, 'invalid');
  });
});

describe('Debian relations against dpkg --compare-versions', () => {
  const table: Array<[string, '<' | '<=' | '=' | '>=' | '>', string]> = [];
  const versions = ['1.0', '1.0-1', '1.0-1.1', '1:0.9', '1.0~rc1', '1.0+b1', '1.0a', '1.00', '2.0~', '0:1.0', '1.0-0ubuntu1', '7.0.0~~', '3.0.0-1+deb12u1'];
  const ops = ['<', '<=', '=', '>=', '>'] as const;
  for (let i = 0; i < versions.length; i++) for (let j = 0; j < versions.length; j++) table.push([versions[i]!, ops[(i + j) % ops.length]!, versions[j]!]);
  const dpkgOp = { '<': 'lt', '<=': 'le', '=': 'eq', '>=': 'ge', '>': 'gt' } as const;
  it(`${table.length} cases agree with dpkg`, () => {
    for (const [a, op, b] of table) {
      let expected: boolean;
      try {
        execFileSync('dpkg', ['--compare-versions', a, dpkgOp[op], b], { timeout: 5000, stdio: 'ignore' });
        expected = true;
      } catch (error) {
        if ((error as { status?: number }).status !== 1) throw error;
        expected = false;
      }
      assert.equal(debRelationHolds(a, op, b), expected, `${a} ${op} ${b}`);
      // The same through a provide: a package at version a, a dependency "(op b)".
      assert.equal(debMatches({ relation: op, version: b }, { name: 'p', relation: '=', version: a }), expected, `provide ${a} for (${op} ${b})`);
    }
  });
});

describe('the fixtures corpus', { skip: needsCorpus() }, () => {
  it('every package parses into capabilities without throwing', async () => {
    const files = corpusFiles((n) => /\.(rpm|deb|udeb|ddeb)(-v3)?$/.test(n) && !n.includes('corrupted') && !n.endsWith('.src.rpm') && !n.endsWith('.nosrc.rpm'));
    assert.ok(files.length > 10, `${files.length} packages`);
    let parsed = 0;
    for (const file of files) {
      const bytes = new Uint8Array(await readFile(file));
      let caps: PackageCapabilities;
      if (/\.rpm(-v3)?$/.test(file)) {
        let pkg: ReturnType<typeof parseRpm>['pkg'];
        try {
          pkg = parseRpm(bytes).pkg;
        } catch {
          continue; // not a package repod accepts (the format's own tests cover these)
        }
        caps = rpmCapabilities(pkg);
      } else {
        caps = debCapabilities((await parseDeb(bytes, { files: false })).control);
      }
      parsed++;
      assert.ok(
        caps.provides.some((c) => c.name === caps.name),
        `${basename(file)} provides itself`,
      );
      for (const r of caps.requires) assert.notEqual(r.requirement.kind, 'invalid', `${basename(file)}: ${r.text}`);
      new ProvidesIndex().check(caps);
    }
    assert.ok(parsed > 10);
  });
});

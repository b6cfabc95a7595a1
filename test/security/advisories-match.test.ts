/**
 * Matching packages against the feed: OSV range evaluation under rpm and dpkg version order
 * (introduced 0, fixed, last_affected, limit, explicit versions, epochs, tildes), Debian and
 * Ubuntu matched by source package and source version, replacement by `modified`, and the
 * feed's version digest.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AdvisoryFeed, type PackageIdentity } from '../../src/security/advisories/feed.ts';
import { type OsvAdvisory, type OsvEvent, parseOsvAdvisory } from '../../src/security/advisories/osv.ts';
import { compareDpkgVersions, compareRpmVersions, sourceRpmName } from '../../src/security/advisories/version-order.ts';

function adv(id: string, ecosystem: string, name: string, events: OsvEvent[] | null, extra: Record<string, unknown> = {}, versions?: string[]): OsvAdvisory {
  return parseOsvAdvisory(
    {
      id,
      modified: '2024-05-01T10:00:00Z',
      summary: `${id} in ${name}`,
      affected: [{ package: { ecosystem, name }, ...(events ? { ranges: [{ type: 'ECOSYSTEM', events }] } : {}), ...(versions ? { versions } : {}) }],
      references: [{ type: 'ADVISORY', url: `https://example.org/${id}` }],
      ...extra,
    },
    `${id}.json`,
  );
}

const rpm = (name: string, version: string, source?: string): PackageIdentity => ({ kind: 'rpm', name, version, ...(source ? { source } : {}) });
const deb = (name: string, version: string, source?: string, sourceVersion?: string): PackageIdentity => ({
  kind: 'deb',
  name,
  version,
  ...(source ? { source } : {}),
  ...(sourceVersion ? { sourceVersion } : {}),
});

function ids(feed: AdvisoryFeed, ecosystem: string, pkg: PackageIdentity): string[] {
  return feed.findings(ecosystem, pkg).map((f) => f.id);
}

describe('version order', () => {
  test('rpm: epochs, releases, tildes and carets', () => {
    const cases: Array<[string, string, number]> = [
      ['1.0-1', '1.0-2', -1],
      ['1:1.0-1', '2.0-1', 1],
      ['0:1.0-1', '1.0-1', 0],
      ['1.0~rc1-1', '1.0-1', -1],
      ['1.0^git1-1', '1.0-1', 1],
      ['3.0.7-27.el9', '3.0.7-27.el9_4', -1],
      ['1.0', '1.0-5', 0],
    ];
    for (const [a, b, want] of cases) assert.equal(compareRpmVersions(a, b), want, `${a} vs ${b}`);
  });

  test('dpkg: epochs, tildes, revisions; a version dpkg would refuse still compares', () => {
    const cases: Array<[string, string, number]> = [
      ['1.0-1', '1.0-1+deb12u1', -1],
      ['1.0~rc1-1', '1.0-1', -1],
      ['1:0.9-1', '1.0-1', 1],
      ['3.0.13-1~deb12u1', '3.0.13-1', -1],
      ['2.36-9+deb12u4', '2.36-9+deb12u10', -1],
      ['1.0', '1.0-0', 0],
      ['a1.0-1', 'a1.0-2', -1],
    ];
    for (const [a, b, want] of cases) assert.equal(Math.sign(compareDpkgVersions(a, b)), want, `${a} vs ${b}`);
  });

  test('source rpm names', () => {
    assert.equal(sourceRpmName('openssl-3.0.7-27.el9.src.rpm'), 'openssl');
    assert.equal(sourceRpmName('python3.11-setuptools-65.5.1-2.el9.src.rpm'), 'python3.11-setuptools');
    assert.equal(sourceRpmName('foo.src.rpm'), undefined);
  });
});

describe('rpm ranges', () => {
  const eco = 'AlmaLinux:9';
  const feed = new AdvisoryFeed();
  feed.add([
    adv('ALSA-0', eco, 'openssl', [{ introduced: '0' }, { fixed: '1:3.0.7-27.el9' }], { database_specific: { severity: 'Important' } }),
    adv('ALSA-1', eco, 'openssl', [{ introduced: '1:3.0.7-20.el9' }, { fixed: '1:3.0.7-25.el9' }]),
    adv('ALSA-2', eco, 'openssl', [{ introduced: '0' }, { last_affected: '1:3.0.7-24.el9' }]),
    adv('ALSA-3', eco, 'openssl', [{ introduced: '0' }]),
    adv('ALSA-4', eco, 'openssl', null, {}, ['1:3.0.7-26.el9']),
    adv('ALSA-5', eco, 'openssl', [{ introduced: '1:3.0.7-22.el9' }, { limit: '1:3.0.7-23.el9' }]),
    adv('ALSA-6', eco, 'curl', [{ introduced: '0' }, { fixed: '7.76.1-29.el9' }]),
    adv('ALSA-7', eco, 'openssl', [{ introduced: '0' }, { fixed: '1:3.0.1-10.el9' }, { introduced: '1:3.0.7-1.el9' }, { fixed: '1:3.0.7-21.el9' }]),
  ]);

  test('introduced 0 and fixed: below the fix affected, at and above it not', () => {
    assert.ok(ids(feed, eco, rpm('openssl', '1:3.0.7-26.el9')).includes('ALSA-0'));
    assert.ok(!ids(feed, eco, rpm('openssl', '1:3.0.7-27.el9')).includes('ALSA-0'));
    assert.ok(!ids(feed, eco, rpm('openssl', '1:3.0.8-1.el9')).includes('ALSA-0'));
  });

  test('the epoch decides before the version: without it a newer-looking version is older', () => {
    // 3.0.9 has epoch 0, below the fix's epoch 1.
    assert.ok(ids(feed, eco, rpm('openssl', '3.0.9-1.el9')).includes('ALSA-0'));
    assert.ok(!ids(feed, eco, rpm('openssl', '2:1.0-1.el9')).includes('ALSA-0'));
  });

  test('introduced above 0: below it not affected, at it affected', () => {
    assert.ok(!ids(feed, eco, rpm('openssl', '1:3.0.7-19.el9')).includes('ALSA-1'));
    assert.ok(ids(feed, eco, rpm('openssl', '1:3.0.7-20.el9')).includes('ALSA-1'));
    assert.ok(!ids(feed, eco, rpm('openssl', '1:3.0.7-25.el9')).includes('ALSA-1'));
  });

  test('last_affected includes its version, nothing after', () => {
    assert.ok(ids(feed, eco, rpm('openssl', '1:3.0.7-24.el9')).includes('ALSA-2'));
    assert.ok(!ids(feed, eco, rpm('openssl', '1:3.0.7-24.el9_1')).includes('ALSA-2'));
  });

  test('an open range affects every version; an explicit version list only those versions', () => {
    assert.ok(ids(feed, eco, rpm('openssl', '9:99-1')).includes('ALSA-3'));
    assert.ok(ids(feed, eco, rpm('openssl', '1:3.0.7-26.el9')).includes('ALSA-4'));
    assert.ok(!ids(feed, eco, rpm('openssl', '1:3.0.7-26.el9_1')).includes('ALSA-4'));
  });

  test('limit caps a range', () => {
    assert.ok(ids(feed, eco, rpm('openssl', '1:3.0.7-22.el9')).includes('ALSA-5'));
    assert.ok(!ids(feed, eco, rpm('openssl', '1:3.0.7-23.el9')).includes('ALSA-5'));
  });

  test('several introduced/fixed pairs in one range', () => {
    assert.ok(ids(feed, eco, rpm('openssl', '1:3.0.1-9.el9')).includes('ALSA-7'));
    assert.ok(!ids(feed, eco, rpm('openssl', '1:3.0.2-1.el9')).includes('ALSA-7'));
    assert.ok(ids(feed, eco, rpm('openssl', '1:3.0.7-20.el9')).includes('ALSA-7'));
    assert.ok(!ids(feed, eco, rpm('openssl', '1:3.0.7-21.el9')).includes('ALSA-7'));
  });

  test('fix state and versions, and the finding fields', () => {
    const findings = feed.findings(eco, rpm('openssl', '1:3.0.7-22.el9'));
    const by = new Map(findings.map((f) => [f.id, f]));
    assert.deepEqual([...by.keys()].sort(), ['ALSA-0', 'ALSA-1', 'ALSA-2', 'ALSA-3', 'ALSA-5']);
    assert.deepEqual(by.get('ALSA-0'), {
      id: 'ALSA-0',
      aliases: [],
      severity: 'high',
      summary: 'ALSA-0 in openssl',
      fixState: 'fixed',
      fixVersions: ['1:3.0.7-27.el9'],
      urls: ['https://example.org/ALSA-0'],
      package: 'openssl',
      version: '1:3.0.7-22.el9',
      ecosystem: eco,
      modified: '2024-05-01T10:00:00Z',
    });
    assert.deepEqual([by.get('ALSA-1')!.fixState, by.get('ALSA-1')!.fixVersions], ['fixed', ['1:3.0.7-25.el9']]);
    assert.deepEqual([by.get('ALSA-2')!.fixState, by.get('ALSA-2')!.fixVersions], ['unknown', []]);
    assert.deepEqual([by.get('ALSA-3')!.fixState, by.get('ALSA-3')!.fixVersions], ['not_fixed', []]);
    assert.equal(by.get('ALSA-5')!.fixState, 'unknown');
    // Only listed as an affected version: no fix is named.
    assert.equal(feed.findings(eco, rpm('openssl', '1:3.0.7-26.el9')).find((f) => f.id === 'ALSA-4')?.fixState, 'unknown');
    // Worst first.
    assert.equal(findings[0]!.id, 'ALSA-0');
  });

  test('a package the feed does not name, or another ecosystem, is unaffected', () => {
    assert.deepEqual(ids(feed, eco, rpm('openssh', '1.0-1.el9')), []);
    assert.deepEqual(ids(feed, 'Rocky Linux:9', rpm('openssl', '1:3.0.7-1.el9')), []);
    assert.deepEqual(ids(feed, eco, rpm('curl', '7.76.1-29.el9')), []);
    assert.deepEqual(ids(feed, eco, rpm('curl', '7.76.1-28.el9')), ['ALSA-6']);
  });

  test('an rpm is matched by its source package name too (AlmaLinux names source packages)', () => {
    assert.deepEqual(ids(feed, eco, rpm('openssl-libs', '1:3.0.7-27.el9')), []);
    assert.deepEqual(ids(feed, eco, rpm('openssl-libs', '1:3.0.7-27.el9', 'openssl')), ['ALSA-3']);
  });
});

describe('Debian and Ubuntu: by source package and source version', () => {
  const feed = new AdvisoryFeed();
  feed.add([
    adv('DSA-5678-1', 'Debian:12', 'openssl', [{ introduced: '0' }, { fixed: '3.0.13-1~deb12u1' }], { aliases: ['CVE-2024-0727'] }),
    adv('DSA-9-1', 'Debian:12', 'glibc', [{ introduced: '0' }, { fixed: '2.36-9+deb12u4' }]),
    adv('DLA-1', 'Debian:12', 'nginx', [{ introduced: '0' }, { fixed: '1:1.22.1-9' }]),
    adv('UBUNTU-CVE-2024-1', 'Ubuntu:22.04:LTS', 'openssl', [{ introduced: '0' }, { fixed: '3.0.2-0ubuntu1.15' }], { severity: [{ type: 'Ubuntu', score: 'medium' }] }, [
      '3.0.2-0ubuntu1',
      '3.0.2-0ubuntu1.14',
    ]),
  ]);

  test('a binary package is matched through its Source name', () => {
    assert.deepEqual(ids(feed, 'Debian:12', deb('libssl3', '3.0.11-1~deb12u2', 'openssl')), ['DSA-5678-1']);
    assert.deepEqual(ids(feed, 'Debian:12', deb('libssl3', '3.0.11-1~deb12u2')), [], 'without its Source, libssl3 names nothing');
    assert.deepEqual(ids(feed, 'Debian:12', deb('openssl', '3.0.11-1~deb12u2')), ['DSA-5678-1'], 'a package that is its own source');
  });

  test('the tilde sorts before the end: ~deb12u1 is older than the plain revision', () => {
    assert.deepEqual(ids(feed, 'Debian:12', deb('openssl', '3.0.13-1~deb12u1')), []);
    assert.deepEqual(ids(feed, 'Debian:12', deb('openssl', '3.0.13-1~deb11u1')), ['DSA-5678-1']);
    assert.deepEqual(ids(feed, 'Debian:12', deb('openssl', '3.0.13-1')), []);
  });

  test('the source version decides, not a binNMU binary version', () => {
    // libc6 2.36-9+deb12u3+b1 is a binNMU of source 2.36-9+deb12u3: still affected.
    const findings = feed.findings('Debian:12', deb('libc6', '2.36-9+deb12u4+b1', 'glibc', '2.36-9+deb12u3'));
    assert.deepEqual(
      findings.map((f) => [f.id, f.package, f.version, f.fixVersions]),
      [['DSA-9-1', 'glibc', '2.36-9+deb12u3', ['2.36-9+deb12u4']]],
    );
    assert.deepEqual(ids(feed, 'Debian:12', deb('libc6', '2.36-9+deb12u4+b1', 'glibc', '2.36-9+deb12u4')), []);
  });

  test('epochs in dpkg versions', () => {
    assert.deepEqual(ids(feed, 'Debian:12', deb('nginx', '1.24.0-2')), ['DLA-1'], 'epoch 0 is below 1:1.22.1-9');
    assert.deepEqual(ids(feed, 'Debian:12', deb('nginx-common', '1:1.22.1-9', 'nginx')), []);
  });

  test('Ubuntu: source name, priority, explicit versions and ranges', () => {
    const [f] = feed.findings('Ubuntu:22.04:LTS', deb('libssl3', '3.0.2-0ubuntu1.14', 'openssl'));
    assert.equal(f?.id, 'UBUNTU-CVE-2024-1');
    assert.equal(f?.severity, 'medium');
    assert.deepEqual([f?.fixState, f?.fixVersions], ['fixed', ['3.0.2-0ubuntu1.15']]);
    assert.deepEqual(ids(feed, 'Ubuntu:22.04:LTS', deb('libssl3', '3.0.2-0ubuntu1.15', 'openssl')), []);
    assert.deepEqual(ids(feed, 'Debian:12', deb('libssl3', '3.0.2-0ubuntu1.14', 'bash')), []);
  });
});

describe('the feed', () => {
  test('a later modified replaces an id, an older one does not; withdrawn advisories match nothing', () => {
    const feed = new AdvisoryFeed();
    const v1 = adv('DSA-1', 'Debian:12', 'zlib', [{ introduced: '0' }, { fixed: '1.2.13-1' }]);
    feed.add([v1]);
    const first = feed.version();
    assert.deepEqual(ids(feed, 'Debian:12', deb('zlib1g', '1.2.13-1', 'zlib')), []);

    const v2 = adv('DSA-1', 'Debian:12', 'zlib', [{ introduced: '0' }, { fixed: '1.2.13-2' }], { modified: '2024-06-01T00:00:00Z' });
    feed.add([v2]);
    assert.equal(feed.size, 1);
    assert.notEqual(feed.version(), first);
    assert.deepEqual(ids(feed, 'Debian:12', deb('zlib1g', '1.2.13-1', 'zlib')), ['DSA-1']);

    const afterV2 = feed.version();
    feed.add([v1]);
    assert.equal(feed.version(), afterV2, 'an older record changes nothing');
    assert.deepEqual(ids(feed, 'Debian:12', deb('zlib1g', '1.2.13-1', 'zlib')), ['DSA-1']);

    // The replaced record moved to another package: the old name no longer finds it.
    feed.add([adv('DSA-1', 'Debian:12', 'zlib-ng', [{ introduced: '0' }], { modified: '2024-07-01T00:00:00Z' })]);
    assert.deepEqual(ids(feed, 'Debian:12', deb('zlib1g', '1.2.13-1', 'zlib')), []);
    assert.deepEqual(ids(feed, 'Debian:12', deb('zlib-ng', '1.0-1')), ['DSA-1']);

    feed.add([adv('DSA-1', 'Debian:12', 'zlib-ng', [{ introduced: '0' }], { modified: '2024-08-01T00:00:00Z', withdrawn: '2024-08-01T00:00:00Z' })]);
    assert.deepEqual(ids(feed, 'Debian:12', deb('zlib-ng', '1.0-1')), []);
    assert.equal(feed.size, 1);
  });

  test('the version is the same whatever order the records came in, and changes with content', () => {
    const records = Array.from({ length: 30 }, (_, i) => adv(`X-${i}`, i % 2 ? 'Debian:12' : 'AlmaLinux:9', `p${i % 7}`, [{ introduced: '0' }, { fixed: `${i}.0-1` }]));
    // Two records of one id at the same `modified`: the choice must not depend on order either.
    const twinA = adv('X-twin', 'Debian:12', 'p1', [{ introduced: '0' }, { fixed: '1.0-1' }]);
    const twinB = adv('X-twin', 'Debian:12', 'p1', [{ introduced: '0' }, { fixed: '2.0-1' }]);
    const a = new AdvisoryFeed();
    a.add([...records, twinA, twinB]);
    const b = new AdvisoryFeed();
    b.add([twinB, ...records.slice().reverse(), twinA]);
    assert.equal(a.version(), b.version());
    assert.deepEqual(a.get('X-twin'), b.get('X-twin'));
    assert.deepEqual(a.ecosystems(), ['AlmaLinux:9', 'Debian:12']);
    assert.equal(a.size, 31);

    const c = a.clone();
    c.add([adv('X-new', 'Debian:12', 'p1', [{ introduced: '0' }])]);
    assert.notEqual(c.version(), a.version());
    assert.equal(a.size, 31, 'a clone is independent');
    assert.deepEqual(ids(a, 'Debian:12', deb('p1', '0.1-1')).includes('X-new'), false);
    assert.deepEqual(ids(c, 'Debian:12', deb('p1', '0.1-1')).includes('X-new'), true);
  });

  test('an advisory naming a package twice (binary and source, Red Hat style) yields one finding with every fix', () => {
    const eco = 'Red Hat:enterprise_linux:9::baseos';
    const a = parseOsvAdvisory(
      {
        id: 'RHSA-2024:1',
        modified: '2024-05-01T10:00:00Z',
        summary: 'Moderate: openssl security update',
        affected: [
          { package: { ecosystem: eco, name: 'openssl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:3.0.7-27.el9' }] }] },
          { package: { ecosystem: eco, name: 'openssl-libs' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:3.0.7-27.el9' }] }] },
        ],
      },
      'rhsa.json',
    );
    const feed = new AdvisoryFeed();
    feed.add([a]);
    const findings = feed.findings(eco, rpm('openssl-libs', '1:3.0.7-26.el9', 'openssl'));
    assert.equal(findings.length, 1);
    assert.deepEqual([findings[0]!.severity, findings[0]!.fixVersions], ['medium', ['1:3.0.7-27.el9']]);
  });

  test('matching costs the advisories naming the package, not the feed', () => {
    const feed = new AdvisoryFeed();
    const many: OsvAdvisory[] = [];
    for (let i = 0; i < 10000; i++) many.push(adv(`BIG-${i}`, 'Debian:12', `pkg${i}`, [{ introduced: '0' }, { fixed: '2.0-1' }]));
    feed.add(many);
    const started = performance.now();
    for (let i = 0; i < 10000; i++) feed.findings('Debian:12', deb(`bin${i}`, '1.0-1', `pkg${i}`));
    const perLookup = (performance.now() - started) / 10000;
    assert.ok(perLookup < 0.5, `${perLookup} ms per lookup`);
    assert.deepEqual(ids(feed, 'Debian:12', deb('bin7', '1.0-1', 'pkg7')), ['BIG-7']);
  });
});

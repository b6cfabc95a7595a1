/**
 * OSV advisories: validation, loading files and archives (a bad record named, the rest loaded),
 * and every severity source with CVSS base scores checked against known vector/score pairs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Zip, ZipDeflate, ZipPassThrough, zipSync } from 'fflate';
import { cvssBaseScore } from '../../src/security/advisories/cvss.ts';
import { defaultEcosystem, ecosystemVersionKind } from '../../src/security/advisories/ecosystem.ts';
import { readAdvisoryFile, readAdvisoryFiles } from '../../src/security/advisories/load.ts';
import { AdvisoryFormatError, type OsvAdvisory, parseOsvAdvisory } from '../../src/security/advisories/osv.ts';
import { advisorySeverity, severityFromCvss, severityFromWord } from '../../src/security/advisories/severity.ts';
import { concatBytes } from '../../src/util/bytes.ts';

const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

function advisory(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    modified: '2024-05-01T10:00:00Z',
    summary: `${id} summary`,
    affected: [{ package: { ecosystem: 'Debian:12', name: 'openssl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.13-1~deb12u1' }] }] }],
    references: [{ type: 'ADVISORY', url: `https://example.org/${id}` }],
    ...extra,
  };
}

describe('parseOsvAdvisory', () => {
  test('keeps the fields the matcher reads and gathers aliases from aliases, upstream and related CVEs', () => {
    const a = parseOsvAdvisory(
      advisory('ALSA-2024:0001', {
        aliases: ['CVE-2024-0001'],
        upstream: ['CVE-2024-0002'],
        related: ['CVE-2024-0003', 'RHSA-2024:0001', { type: 'SIMILAR_TO', id: 'CVE-2024-0004' }],
        credits: [{ name: 'someone' }],
        affected: [
          {
            package: { ecosystem: 'AlmaLinux:9', name: 'openssl', purl: 'pkg:rpm/almalinux/openssl' },
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:3.0.7-27.el9' }] }],
            ecosystem_specific: { binaries: ['openssl-libs'] },
          },
          // A GIT-only entry without a package: nothing to match, dropped.
          { ranges: [{ type: 'GIT', repo: 'https://example.org/x.git', events: [{ introduced: '0' }] }] },
        ],
      }),
      'x.json',
    );
    assert.deepEqual(a.aliases, ['CVE-2024-0001', 'CVE-2024-0002', 'CVE-2024-0003', 'CVE-2024-0004']);
    assert.equal(a.affected.length, 1);
    assert.deepEqual(a.affected[0]!.package, { ecosystem: 'AlmaLinux:9', name: 'openssl', purl: 'pkg:rpm/almalinux/openssl' });
    assert.equal('ecosystem_specific' in a.affected[0]!, false);
    assert.equal('credits' in a, false);
    assert.deepEqual(a.references, [{ type: 'ADVISORY', url: 'https://example.org/ALSA-2024:0001' }]);
  });

  test('null lists are empty lists (the schema allows both)', () => {
    const a = parseOsvAdvisory({ id: 'X-1', modified: '2024-01-01T00:00:00Z', aliases: null, affected: null, references: null, severity: null }, 'n.json');
    assert.deepEqual([a.aliases, a.affected, a.references, a.severity], [[], [], [], undefined]);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['not an object', [1], /must be a JSON object/],
    ['no id', { modified: '2024-01-01T00:00:00Z' }, /id must be a non-empty string/],
    ['no modified', { id: 'X-1' }, /X-1: modified must be a non-empty string/],
    ['bad modified', { id: 'X-1', modified: 'yesterday' }, /modified 'yesterday' is not an RFC 3339 time/],
    ['package without name', { id: 'X-1', modified: '2024-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'Debian:12' } }] }, /affected\[0\]\.package: name/],
    [
      'two kinds in one event',
      {
        id: 'X-1',
        modified: '2024-01-01T00:00:00Z',
        affected: [{ package: { ecosystem: 'E', name: 'n' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0', fixed: '1' }] }] }],
      },
      /affected\[0\]\.ranges\[0\]\.events\[0\] must have exactly one of/,
    ],
    [
      'no introduced',
      { id: 'X-1', modified: '2024-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'E', name: 'n' }, ranges: [{ type: 'ECOSYSTEM', events: [{ fixed: '1' }] }] }] },
      /has no introduced event/,
    ],
    [
      'fixed and last_affected',
      {
        id: 'X-1',
        modified: '2024-01-01T00:00:00Z',
        affected: [{ package: { ecosystem: 'E', name: 'n' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2' }, { last_affected: '1' }] }] }],
      },
      /both fixed and last_affected/,
    ],
    ['severity without score', { id: 'X-1', modified: '2024-01-01T00:00:00Z', severity: [{ type: 'CVSS_V3' }] }, /severity\[0\]: score/],
    ['aliases not a list', { id: 'X-1', modified: '2024-01-01T00:00:00Z', aliases: 'CVE-1' }, /aliases must be an array/],
  ];
  for (const [what, json, message] of bad) {
    test(`refuses ${what}, naming the file`, () => {
      assert.throws(
        () => parseOsvAdvisory(json, 'feed/bad.json'),
        (error: unknown) => error instanceof AdvisoryFormatError && error.status === 422 && error.message.startsWith('feed/bad.json: ') && message.test(error.message),
      );
    });
  }
});

describe('readAdvisoryFile', () => {
  test('one advisory, and an array where a malformed element is named by index while the others load', () => {
    assert.deepEqual(
      readAdvisoryFile('DSA-1.json', enc(advisory('DSA-1'))).advisories.map((a) => a.id),
      ['DSA-1'],
    );
    const load = readAdvisoryFile('batch.json', enc([advisory('DSA-1'), { id: 'DSA-2' }, advisory('DSA-3')]));
    assert.deepEqual(
      load.advisories.map((a) => a.id),
      ['DSA-1', 'DSA-3'],
    );
    assert.deepEqual(load.errors, [{ name: 'batch.json#1', message: 'DSA-2: modified must be a non-empty string' }]);
  });

  test('a file that is not JSON is one error', () => {
    const load = readAdvisoryFile('broken.json', enc('{"id": '));
    assert.equal(load.advisories.length, 0);
    assert.equal(load.errors.length, 1);
    assert.equal(load.errors[0]!.name, 'broken.json');
    assert.match(load.errors[0]!.message, /^not JSON/);
  });

  test('an all.zip: every member loads, a malformed member is reported by name, other files are skipped', () => {
    const members: Record<string, Uint8Array> = { 'README.txt': enc('not an advisory'), 'dir/': new Uint8Array(0) };
    for (let i = 0; i < 50; i++) members[`DSA-${i}.json`] = enc(advisory(`DSA-${i}`));
    members['DSA-bad.json'] = enc({ id: 'DSA-bad', modified: '2024-01-01T00:00:00Z', affected: [{ package: { name: 'x' } }] });
    members['DSA-trunc.json'] = enc('{"id": "DSA-trunc"');
    const zip = zipSync(members, { level: 6 });
    const load = readAdvisoryFile('all.zip', zip);
    assert.equal(load.advisories.length, 50);
    assert.deepEqual(
      load.errors.map((e) => e.name),
      ['all.zip/DSA-bad.json', 'all.zip/DSA-trunc.json'],
    );
    assert.match(load.errors[0]!.message, /DSA-bad: affected\[0\]\.package: ecosystem must be a non-empty string/);
  });

  test('an archive written as a stream (data descriptors, stored and deflated members) reads the same', () => {
    const chunks: Uint8Array[] = [];
    const zip = new Zip((error, chunk) => {
      if (error) throw error;
      chunks.push(chunk);
    });
    for (let i = 0; i < 5; i++) {
      const member = i % 2 ? new ZipPassThrough(`USN-${i}.json`) : new ZipDeflate(`USN-${i}.json`, { level: 9 });
      zip.add(member);
      member.push(enc(advisory(`USN-${i}`)), true);
    }
    zip.end();
    const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    const load = readAdvisoryFile('stream.zip', bytes);
    assert.deepEqual(load.errors, []);
    assert.deepEqual(load.advisories.map((a) => a.id).sort(), ['USN-0', 'USN-1', 'USN-2', 'USN-3', 'USN-4']);
  });

  test('a ZIP64 archive (the format of archives past 65,535 members) reads the same', () => {
    const load = readAdvisoryFile(
      'zip64.zip',
      zip64([
        ['ALSA-1.json', enc(advisory('ALSA-1'))],
        ['ALSA-2.json', enc(advisory('ALSA-2'))],
      ]),
    );
    assert.deepEqual(load.errors, []);
    assert.deepEqual(
      load.advisories.map((a) => a.id),
      ['ALSA-1', 'ALSA-2'],
    );
  });

  test('a corrupt member is reported, its neighbours still load; a truncated archive is one error', () => {
    const zip = zipSync({ 'A-1.json': enc(advisory('A-1')), 'A-2.json': enc(advisory('A-2', { details: 'x'.repeat(5000) })), 'A-3.json': enc(advisory('A-3')) }, { level: 9 });
    // Flip bytes inside the second member's deflate data (the local header of A-2 follows A-1's data).
    const second = findLocalHeader(zip, 'A-2.json');
    const corrupt = zip.slice();
    for (let i = second + 60; i < second + 80; i++) corrupt[i]! ^= 0xa5;
    const load = readAdvisoryFile('all.zip', corrupt);
    assert.deepEqual(load.advisories.map((a) => a.id).sort(), ['A-1', 'A-3']);
    assert.equal(load.errors.length, 1);
    assert.equal(load.errors[0]!.name, 'all.zip/A-2.json');

    const truncated = readAdvisoryFile('all.zip', zip.subarray(0, zip.length - 30));
    assert.equal(truncated.advisories.length, 0);
    assert.deepEqual(
      truncated.errors.map((e) => e.name),
      ['all.zip'],
    );
  });

  test('readAdvisoryFiles gathers a directory of files into one load', () => {
    const load = readAdvisoryFiles([
      { name: 'a.json', bytes: enc(advisory('A-1')) },
      { name: 'b.zip', bytes: zipSync({ 'B-1.json': enc(advisory('B-1')), 'B-2.json': enc('[') }) },
    ]);
    assert.deepEqual(
      load.advisories.map((a) => a.id),
      ['A-1', 'B-1'],
    );
    assert.deepEqual(
      load.errors.map((e) => e.name),
      ['b.zip/B-2.json'],
    );
  });
});

describe('CVSS base scores', () => {
  // Known vector/score pairs: the v3.x ones from the FIRST specification's examples and NVD, the v4.0 ones from FIRST's calculator.
  const known: Array<[string, number]> = [
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', 10],
    ['CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', 7.5],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
    ['CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H', 5.5],
    ['CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N', 3.3],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N', 0],
    // Temporal metrics do not change the base score.
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C', 9.8],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 9.3],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H', 10],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N', 8.7],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:N/SI:N/SA:N', 6.9],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N', 0],
    // A threat metric is left out: the base score (CVSS-B), not CVSS-BT.
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U', 9.3],
    ['AV:N/AC:L/Au:N/C:P/I:P/A:P', 7.5],
  ];
  for (const [vector, score] of known) {
    test(`${vector} = ${score}`, () => assert.equal(cvssBaseScore(vector)?.score, score));
  }

  test('incomplete, repeated or invalid vectors score nothing (never 0)', () => {
    for (const v of [
      'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H',
      'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:L',
      'CVSS:3.1/AV:Z/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      'CVSS:4.0/AV:N/AC:L',
      'CVSS:5.0/AV:N',
      'high',
      '',
    ]) {
      assert.equal(cvssBaseScore(v), undefined, v);
    }
  });
});

describe('severity', () => {
  test('the rating bands of CVSS v3/v4', () => {
    assert.deepEqual([10, 9, 8.9, 7, 6.9, 4, 3.9, 0.1, 0].map(severityFromCvss), ['critical', 'critical', 'high', 'high', 'medium', 'medium', 'low', 'low', 'negligible']);
  });

  test('distribution words, in any case', () => {
    assert.deepEqual(['Critical', 'important', 'IMPORTANT', 'Moderate', 'medium', 'low', 'negligible', 'unimportant', 'untriaged', ''].map(severityFromWord), [
      'critical',
      'high',
      'high',
      'medium',
      'medium',
      'low',
      'negligible',
      'negligible',
      'unknown',
      'unknown',
    ]);
  });

  const rate = (extra: Record<string, unknown>) => {
    const a: OsvAdvisory = parseOsvAdvisory(advisory('X-1', { summary: 'openssl update', ...extra }), 'x.json');
    return advisorySeverity(a, a.affected[0]);
  };

  test('each source on its own', () => {
    assert.deepEqual(rate({ severity: [{ type: 'Ubuntu', score: 'high' }] }), { severity: 'high' });
    assert.deepEqual(rate({ severity: [{ type: 'Ubuntu', score: 'negligible' }] }), { severity: 'negligible' });
    assert.deepEqual(rate({ database_specific: { severity: 'Critical' } }), { severity: 'critical' });
    assert.deepEqual(rate({ database_specific: { severity: 'moderate' } }), { severity: 'medium' });
    assert.deepEqual(rate({ summary: 'Important: kernel security update' }), { severity: 'high' });
    assert.deepEqual(rate({ severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }] }), { severity: 'critical', cvss: 9.8 });
    assert.deepEqual(rate({ severity: [{ type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:N/SI:N/SA:N' }] }), { severity: 'medium', cvss: 6.9 });
    assert.deepEqual(rate({ severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N' }] }), { severity: 'negligible', cvss: 0 });
    assert.deepEqual(rate({ severity: [{ type: 'CVSS_V2', score: 'AV:N/AC:L/Au:N/C:P/I:P/A:P' }] }), { severity: 'high', cvss: 7.5 });
    assert.deepEqual(rate({}), { severity: 'unknown' });
  });

  test("the distribution's rating wins over CVSS, whose score is still reported; v4 wins over v3", () => {
    const cvss3 = { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' };
    const cvss4 = { type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N' };
    assert.deepEqual(rate({ severity: [cvss3, { type: 'Ubuntu', score: 'low' }] }), { severity: 'low', cvss: 9.8 });
    assert.deepEqual(rate({ severity: [cvss3], database_specific: { severity: 'Moderate' } }), { severity: 'medium', cvss: 9.8 });
    assert.deepEqual(rate({ severity: [cvss3, cvss4] }), { severity: 'high', cvss: 8.7 });
    // An unusable vector falls through to the next source.
    assert.deepEqual(rate({ severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N' }, cvss4] }), { severity: 'high', cvss: 8.7 });
  });

  test('per-package severity wins over the advisory-level one', () => {
    const a = parseOsvAdvisory(
      advisory('X-2', {
        database_specific: { severity: 'low' },
        affected: [
          { package: { ecosystem: 'Debian:12', name: 'a' }, versions: ['1'], database_specific: { severity: 'critical' } },
          { package: { ecosystem: 'Debian:12', name: 'b' }, versions: ['1'] },
        ],
      }),
      'x.json',
    );
    assert.equal(advisorySeverity(a, a.affected[0]).severity, 'critical');
    assert.equal(advisorySeverity(a, a.affected[1]).severity, 'low');
  });
});

describe('ecosystems', () => {
  test('default ecosystems by distribution name', () => {
    const cases: Array<[string, 'rpm' | 'apt', string | undefined]> = [
      ['jammy', 'apt', 'Ubuntu:22.04:LTS'],
      ['noble', 'apt', 'Ubuntu:24.04:LTS'],
      ['focal', 'apt', 'Ubuntu:20.04:LTS'],
      ['bookworm', 'apt', 'Debian:12'],
      ['almalinux8', 'rpm', 'AlmaLinux:8'],
      ['almalinux9', 'rpm', 'AlmaLinux:9'],
      ['rocky8', 'rpm', 'Rocky Linux:8'],
      ['rocky9', 'rpm', 'Rocky Linux:9'],
      ['opensuse-leap-15.6', 'rpm', 'openSUSE:Leap 15.6'],
      ['bookworm', 'rpm', undefined],
      ['rocky9', 'apt', undefined],
      ['internal', 'rpm', undefined],
      ['stable', 'apt', undefined],
    ];
    for (const [name, kind, want] of cases) assert.equal(defaultEcosystem(name, kind), want, `${name} ${kind}`);
  });

  test('version order by ecosystem', () => {
    assert.equal(ecosystemVersionKind('Debian:12'), 'deb');
    assert.equal(ecosystemVersionKind('Ubuntu:Pro:18.04:LTS'), 'deb');
    assert.equal(ecosystemVersionKind('Rocky Linux:9'), 'rpm');
    assert.equal(ecosystemVersionKind('Red Hat:enterprise_linux:9::baseos'), 'rpm');
    assert.equal(ecosystemVersionKind('openSUSE:Leap 15.6'), 'rpm');
    assert.equal(ecosystemVersionKind('npm'), undefined);
  });
});

/** The offset of a member's local header in an archive. */
function findLocalHeader(zip: Uint8Array, name: string): number {
  const needle = enc(name);
  outer: for (let i = 0; i + 30 + needle.length <= zip.length; i++) {
    if (zip[i] !== 0x50 || zip[i + 1] !== 0x4b || zip[i + 2] !== 3 || zip[i + 3] !== 4) continue;
    for (let j = 0; j < needle.length; j++) if (zip[i + 30 + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error(`no member ${name}`);
}

/**
 * A ZIP64 archive of stored members, written by hand (PKWARE APPNOTE 4.3.14-4.3.15, 4.5.3): every
 * size and offset in the 32-bit fields is 0xFFFFFFFF and the real values sit in the 0x0001 extra
 * field; the end record points at a ZIP64 end record through its locator.
 */
function zip64(members: Array<[string, Uint8Array]>): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const push = (bytes: Uint8Array) => {
    parts.push(bytes);
    offset += bytes.length;
  };
  for (const [name, data] of members) {
    const nameBytes = enc(name);
    const local = new DataView(new ArrayBuffer(30 + nameBytes.length + 20));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 45, true);
    local.setUint32(18, 0xffffffff, true);
    local.setUint32(22, 0xffffffff, true);
    local.setUint16(26, nameBytes.length, true);
    local.setUint16(28, 20, true);
    new Uint8Array(local.buffer).set(nameBytes, 30);
    local.setUint16(30 + nameBytes.length, 1, true);
    local.setUint16(32 + nameBytes.length, 16, true);
    local.setBigUint64(34 + nameBytes.length, BigInt(data.length), true);
    local.setBigUint64(42 + nameBytes.length, BigInt(data.length), true);
    const localOffset = offset;
    push(new Uint8Array(local.buffer));
    push(data);

    const entry = new DataView(new ArrayBuffer(46 + nameBytes.length + 28));
    entry.setUint32(0, 0x02014b50, true);
    entry.setUint16(4, 45, true);
    entry.setUint16(6, 45, true);
    entry.setUint32(20, 0xffffffff, true);
    entry.setUint32(24, 0xffffffff, true);
    entry.setUint16(28, nameBytes.length, true);
    entry.setUint16(30, 28, true);
    entry.setUint32(42, 0xffffffff, true);
    new Uint8Array(entry.buffer).set(nameBytes, 46);
    const extra = 46 + nameBytes.length;
    entry.setUint16(extra, 1, true);
    entry.setUint16(extra + 2, 24, true);
    entry.setBigUint64(extra + 4, BigInt(data.length), true);
    entry.setBigUint64(extra + 12, BigInt(data.length), true);
    entry.setBigUint64(extra + 20, BigInt(localOffset), true);
    central.push(new Uint8Array(entry.buffer));
  }
  const centralOffset = offset;
  for (const c of central) push(c);
  const centralSize = offset - centralOffset;
  const record = new DataView(new ArrayBuffer(56));
  record.setUint32(0, 0x06064b50, true);
  record.setBigUint64(4, 44n, true);
  record.setUint16(12, 45, true);
  record.setUint16(14, 45, true);
  record.setBigUint64(24, BigInt(members.length), true);
  record.setBigUint64(32, BigInt(members.length), true);
  record.setBigUint64(40, BigInt(centralSize), true);
  record.setBigUint64(48, BigInt(centralOffset), true);
  const recordOffset = offset;
  push(new Uint8Array(record.buffer));
  const locator = new DataView(new ArrayBuffer(20));
  locator.setUint32(0, 0x07064b50, true);
  locator.setBigUint64(8, BigInt(recordOffset), true);
  locator.setUint32(16, 1, true);
  push(new Uint8Array(locator.buffer));
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, 0xffff, true);
  end.setUint16(10, 0xffff, true);
  end.setUint32(12, 0xffffffff, true);
  end.setUint32(16, 0xffffffff, true);
  push(new Uint8Array(end.buffer));
  return concatBytes(parts, offset);
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RpmFileFacts, RpmPackage } from '../../../src/formats/rpm/model.ts';
import { filelistsFooter, filelistsHeader, renderFilelistsPackage } from '../../../src/metadata/rpm/filelists.ts';
import { isPrimaryFile } from '../../../src/metadata/rpm/files.ts';
import { otherFooter, otherHeader, renderOtherPackage } from '../../../src/metadata/rpm/other.ts';
import { primaryFooter, primaryHeader, renderPrimaryPackage } from '../../../src/metadata/rpm/primary.ts';

const SHA = 'a'.repeat(64);

function makePackage(overrides: Partial<RpmPackage> = {}): RpmPackage {
  return {
    name: 'demo',
    epoch: '0',
    version: '1.0',
    release: '1.el9',
    arch: 'x86_64',
    summary: 'A demo',
    description: 'Demo package.',
    packager: '',
    url: '',
    license: 'MIT',
    vendor: '',
    group: 'Unspecified',
    buildHost: 'builder',
    sourceRpm: 'demo-1.0-1.el9.src.rpm',
    buildTime: 1700000000,
    headerStart: 4504,
    headerEnd: 6000,
    installedSize: 1234,
    archiveSize: 1500,
    provides: [],
    requires: [],
    conflicts: [],
    obsoletes: [],
    recommends: [],
    suggests: [],
    supplements: [],
    enhances: [],
    files: [],
    changelogs: [],
    isSource: false,
    ...overrides,
  };
}

const FACTS: RpmFileFacts = { sha256: SHA, size: 7000, fileTime: 1700000100, fileName: 'demo-1.0-1.el9.x86_64.rpm' };

test('primary: the whole element, in createrepo_c layout', () => {
  const pkg = makePackage({
    epoch: '2',
    packager: 'Jane <jane@example.com>',
    url: 'https://example.com/?a=1&b=2',
    provides: [
      { name: 'demo', flags: 'EQ', epoch: '2', version: '1.0', release: '1.el9' },
      { name: 'demo(x86-64)', flags: 'EQ', epoch: '2', version: '1.0', release: '1.el9' },
    ],
    requires: [
      { name: '/bin/sh', pre: true },
      { name: 'libfoo', flags: 'GE', version: '2.0' },
    ],
    files: [
      { path: '/usr/bin/demo', type: 'file' },
      { path: '/usr/share/demo', type: 'dir' },
      { path: '/etc/demo', type: 'dir' },
    ],
  });
  assert.equal(
    renderPrimaryPackage(pkg, FACTS, 'Packages/d/demo-1.0-1.el9.x86_64.rpm'),
    `<package type="rpm">
  <name>demo</name>
  <arch>x86_64</arch>
  <version epoch="2" ver="1.0" rel="1.el9"/>
  <checksum type="sha256" pkgid="YES">${SHA}</checksum>
  <summary>A demo</summary>
  <description>Demo package.</description>
  <packager>Jane &lt;jane@example.com&gt;</packager>
  <url>https://example.com/?a=1&amp;b=2</url>
  <time file="1700000100" build="1700000000"/>
  <size package="7000" installed="1234" archive="1500"/>
  <location href="Packages/d/demo-1.0-1.el9.x86_64.rpm"/>
  <format>
    <rpm:license>MIT</rpm:license>
    <rpm:vendor></rpm:vendor>
    <rpm:group>Unspecified</rpm:group>
    <rpm:buildhost>builder</rpm:buildhost>
    <rpm:sourcerpm>demo-1.0-1.el9.src.rpm</rpm:sourcerpm>
    <rpm:header-range start="4504" end="6000"/>
    <rpm:provides>
      <rpm:entry name="demo" flags="EQ" epoch="2" ver="1.0" rel="1.el9"/>
      <rpm:entry name="demo(x86-64)" flags="EQ" epoch="2" ver="1.0" rel="1.el9"/>
    </rpm:provides>
    <rpm:requires>
      <rpm:entry name="/bin/sh" pre="1"/>
      <rpm:entry name="libfoo" flags="GE" epoch="0" ver="2.0"/>
    </rpm:requires>
    <file>/usr/bin/demo</file>
    <file type="dir">/etc/demo</file>
  </format>
</package>
`,
  );
});

test('primary: dependency blocks in createrepo_c order, every flag, pre only on requires', () => {
  const dep = (name: string) => ({ name, pre: true });
  const pkg = makePackage({
    supplements: [dep('su')],
    enhances: [dep('en')],
    recommends: [dep('re')],
    suggests: [dep('sg')],
    obsoletes: [dep('ob')],
    conflicts: [dep('co')],
    requires: [dep('rq')],
    provides: [dep('pr')],
  });
  const xml = renderPrimaryPackage(pkg, FACTS, 'x.rpm');
  const order = [...xml.matchAll(/<(rpm:[a-z]+)>/g)].map((m) => m[1]).filter((n) => !['rpm:license', 'rpm:vendor', 'rpm:group', 'rpm:buildhost', 'rpm:sourcerpm'].includes(n));
  assert.deepEqual(order, ['rpm:provides', 'rpm:requires', 'rpm:conflicts', 'rpm:obsoletes', 'rpm:suggests', 'rpm:enhances', 'rpm:recommends', 'rpm:supplements']);
  assert.equal((xml.match(/pre="1"/g) ?? []).length, 1);
  assert.match(xml, /<rpm:entry name="rq" pre="1"\/>/);

  const flags = (['EQ', 'LT', 'LE', 'GT', 'GE'] as const).map((f, i) => ({
    name: 'd' + f,
    flags: f,
    epoch: i === 0 ? '3' : undefined,
    version: '1.' + i,
    release: i % 2 ? 'r' + i : undefined,
  }));
  const withFlags = renderPrimaryPackage(makePackage({ requires: flags }), FACTS, 'x.rpm');
  assert.match(withFlags, /<rpm:entry name="dEQ" flags="EQ" epoch="3" ver="1.0"\/>/);
  assert.match(withFlags, /<rpm:entry name="dLT" flags="LT" epoch="0" ver="1.1" rel="r1"\/>/);
  assert.match(withFlags, /<rpm:entry name="dLE" flags="LE" epoch="0" ver="1.2"\/>/);
  assert.match(withFlags, /<rpm:entry name="dGT" flags="GT" epoch="0" ver="1.3" rel="r3"\/>/);
  assert.match(withFlags, /<rpm:entry name="dGE" flags="GE" epoch="0" ver="1.4"\/>/);
});

test('primary: version parts need flags; unnamed entries are skipped but their block stays', () => {
  const xml = renderPrimaryPackage(
    makePackage({
      provides: [{ name: 'noflags', epoch: '1', version: '2', release: '3' }],
      conflicts: [{ name: '' }],
      obsoletes: [{ name: '(a >= 1 or b < 2)' }],
    }),
    FACTS,
    'x.rpm',
  );
  assert.match(xml, /<rpm:provides>\n {6}<rpm:entry name="noflags"\/>\n {4}<\/rpm:provides>/);
  assert.match(xml, /\n {4}<rpm:conflicts\/>\n/);
  assert.match(xml, /<rpm:entry name="\(a &gt;= 1 or b &lt; 2\)"\/>/);
  assert.doesNotMatch(renderPrimaryPackage(makePackage(), FACTS, 'x.rpm'), /rpm:provides|rpm:requires|<file/);
});

test('primary: epoch "0" is written for the package, and an empty model epoch falls back to it', () => {
  assert.match(renderPrimaryPackage(makePackage(), FACTS, 'x.rpm'), /<version epoch="0" ver="1.0" rel="1.el9"\/>/);
  assert.match(renderPrimaryPackage(makePackage({ epoch: '' }), FACTS, 'x.rpm'), /<version epoch="0" /);
  assert.match(renderPrimaryPackage(makePackage({ epoch: '12' }), FACTS, 'x.rpm'), /<version epoch="12" /);
});

test("primary file filter is createrepo_c's: /etc/, anything with bin/, /usr/lib/sendmail", () => {
  for (const yes of ['/etc/x', '/etc/', '/usr/bin/x', '/usr/sbin/x', '/bin/x', '/opt/app/bin/x', '/usr/share/robin/x', '/usr/lib/sendmail']) {
    assert.ok(isPrimaryFile(yes), yes);
  }
  for (const no of ['/etc', '/usr/bin', '/usr/lib/sendmail.cf', '/usr/share/doc/x', '/var/etc/x', '/usr/lib64/libbin.so']) {
    assert.ok(!isPrimaryFile(no), no);
  }
});

test('primary: escaping of text and attributes, href escaped', () => {
  const xml = renderPrimaryPackage(makePackage({ summary: 'a < b & "c"', description: 'line\r\nx\u0001y' }), FACTS, 'Packages/d/a&b ä.rpm');
  assert.match(xml, /<summary>a &lt; b &amp; "c"<\/summary>/);
  assert.match(xml, /<description>line&#13;\nxy<\/description>/);
  assert.match(xml, /<location href="Packages\/d\/a&amp;b &#xE4;.rpm"\/>/);
});

test('filelists: every file in header order with dir and ghost types', () => {
  const pkg = makePackage({
    epoch: '1',
    files: [
      { path: '/usr/share/doc/demo', type: 'dir' },
      { path: '/usr/share/doc/demo/README', type: 'file' },
      { path: '/var/log/demo.log', type: 'ghost' },
      { path: '/etc/demo.conf', type: 'file' },
    ],
  });
  assert.equal(
    renderFilelistsPackage(pkg, SHA),
    `<package pkgid="${SHA}" name="demo" arch="x86_64">
  <version epoch="1" ver="1.0" rel="1.el9"/>
  <file type="dir">/usr/share/doc/demo</file>
  <file>/usr/share/doc/demo/README</file>
  <file type="ghost">/var/log/demo.log</file>
  <file>/etc/demo.conf</file>
</package>
`,
  );
  assert.equal(renderFilelistsPackage(makePackage(), SHA), `<package pkgid="${SHA}" name="demo" arch="x86_64">\n  <version epoch="0" ver="1.0" rel="1.el9"/>\n</package>\n`);
});

test('other: changelog oldest first, author escaped as attribute, text as text', () => {
  const pkg = makePackage({
    changelogs: [
      { author: 'Tomáš <t@example.com> - 1.0-2', date: 1600000000, text: '- fix <bug> & "stuff"' },
      { author: 'B <b@example.com> - 1.0-1', date: 1500000000, text: '- first' },
    ],
  });
  assert.equal(
    renderOtherPackage(pkg, SHA),
    `<package pkgid="${SHA}" name="demo" arch="x86_64">
  <version epoch="0" ver="1.0" rel="1.el9"/>
  <changelog author="B &lt;b@example.com&gt; - 1.0-1" date="1500000000">- first</changelog>
  <changelog author="Tom&#xE1;&#x161; &lt;t@example.com&gt; - 1.0-2" date="1600000000">- fix &lt;bug&gt; &amp; "stuff"</changelog>
</package>
`,
  );
});

test('other: default limit keeps the 10 newest, options change it', () => {
  const changelogs = Array.from({ length: 25 }, (_, i) => ({ author: 'A' + i, date: 2000000 - i * 100, text: 't' + i }));
  const pkg = makePackage({ changelogs });
  const count = (xml: string) => (xml.match(/<changelog /g) ?? []).length;
  const xml = renderOtherPackage(pkg, SHA);
  assert.equal(count(xml), 10);
  assert.match(xml, /author="A9" date="1999100">t9<\/changelog>\n {2}<changelog author="A8"/);
  assert.ok(xml.indexOf('"A9"') < xml.indexOf('"A0"'));
  assert.equal(count(renderOtherPackage(pkg, SHA, { changelogLimit: 3 })), 3);
  assert.equal(count(renderOtherPackage(pkg, SHA, { changelogLimit: 0 })), 0);
  assert.equal(count(renderOtherPackage(pkg, SHA, { changelogLimit: -1 })), 25);
  assert.equal(count(renderOtherPackage(pkg, SHA, { changelogLimit: Infinity })), 25);
});

test('other: equal timestamps get consecutive dates as createrepo_c bumps them', () => {
  const dates = (headerDates: number[], changelogLimit?: number): string[] => {
    const pkg = makePackage({ changelogs: headerDates.map((date, i) => ({ author: 'A' + i, date, text: '' })) });
    return [...renderOtherPackage(pkg, SHA, { changelogLimit }).matchAll(/author="(A\d+)" date="(\d+)"/g)].map((m) => m[1] + '@' + m[2]);
  };
  assert.deepEqual(dates([100, 100]), ['A1@100', 'A0@101']);
  assert.deepEqual(dates([100, 100, 100]), ['A2@100', 'A1@101', 'A0@102']);
  assert.deepEqual(dates([200, 100, 100, 50]), ['A3@50', 'A2@100', 'A1@101', 'A0@200']);
  // A bump cascades into newer entries it now collides with, and stops at the first gap.
  assert.deepEqual(dates([101, 100, 100]), ['A2@100', 'A1@101', 'A0@102']);
  assert.deepEqual(dates([105, 100, 100]), ['A2@100', 'A1@101', 'A0@105']);
  // The limit applies first: a dropped neighbour cannot cause a bump.
  assert.deepEqual(dates([100, 100], 1), ['A0@100']);
  // The model is not modified.
  const pkg = makePackage({
    changelogs: [
      { author: 'x', date: 5, text: '' },
      { author: 'y', date: 5, text: '' },
    ],
  });
  renderOtherPackage(pkg, SHA);
  assert.deepEqual(
    pkg.changelogs.map((e) => e.date),
    [5, 5],
  );
});

test('headers and footers', () => {
  assert.equal(
    primaryHeader(3),
    '<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="3">\n',
  );
  assert.equal(filelistsHeader(0), '<?xml version="1.0" encoding="UTF-8"?>\n<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="0">\n');
  assert.equal(otherHeader(12), '<?xml version="1.0" encoding="UTF-8"?>\n<otherdata xmlns="http://linux.duke.edu/metadata/other" packages="12">\n');
  assert.equal(primaryFooter(), '</metadata>');
  assert.equal(filelistsFooter(), '</filelists>');
  assert.equal(otherFooter(), '</otherdata>');
});

test('rendering is fast enough for ingest and benchmarks', () => {
  const pkg = makePackage({
    provides: Array.from({ length: 20 }, (_, i) => ({ name: 'cap' + i, flags: 'EQ' as const, epoch: '0', version: '1.0', release: '1' })),
    requires: Array.from({ length: 30 }, (_, i) => ({ name: 'lib' + i + '.so()(64bit)' })),
    files: Array.from({ length: 100 }, (_, i) => ({ path: (i % 3 ? '/usr/share/demo/f' : '/usr/bin/f') + i, type: 'file' as const })),
    changelogs: Array.from({ length: 20 }, (_, i) => ({ author: 'Dev <d@example.com> - 1.' + i, date: 1e9 - i, text: '- change ' + i })),
  });
  const start = performance.now();
  for (let i = 0; i < 10_000; i++) {
    renderPrimaryPackage(pkg, FACTS, 'x.rpm');
    renderFilelistsPackage(pkg, SHA);
    renderOtherPackage(pkg, SHA);
  }
  const perPackage = (performance.now() - start) / 10_000;
  assert.ok(perPackage < 1, `rendering took ${perPackage.toFixed(3)} ms per package`);
});

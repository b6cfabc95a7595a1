/**
 * Our renderers against createrepo_c 0.17.3 on the same files: every shared RPM fixture plus a
 * generated set covering every dependency flag, epochs, noarch, the primary file filter, dirs,
 * ghosts, changelog limits and timestamp collisions, weak and rich dependencies, markup and
 * non-ASCII text. createrepo_c runs once over a directory holding copies of all of them; each
 * package is then rendered from parseRpm's model and must equal createrepo_c's fragment byte for
 * byte, in primary, filelists and other; the documents assembled from our fragments must equal
 * createrepo_c's whole files, and repomd.xml rendered from its records must equal its repomd.xml.
 *
 * There are no deliberate differences on this corpus. Where ours would differ, no package that
 * parseRpm accepts gets there: strings with control characters (createrepo_c refuses the package,
 * parseRpm too; the escaper would drop the characters), U+FFFE/U+FFFF and invalid UTF-8 that
 * libxml2's lax check lets through (parseRpm refuses or decodes them as Latin-1). Not covered
 * here because rpmbuild cannot make them: control characters (it refuses such specs) and
 * non-UTF-8 text (the balicek-iso88592 fixture covers that).
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { parseRpm } from '../../../src/formats/rpm/index.ts';
import type { RpmFileFacts, RpmPackage } from '../../../src/formats/rpm/model.ts';
import { filelistsFooter, filelistsHeader, renderFilelistsPackage } from '../../../src/metadata/rpm/filelists.ts';
import { otherFooter, otherHeader, renderOtherPackage } from '../../../src/metadata/rpm/other.ts';
import { primaryFooter, primaryHeader, renderPrimaryPackage } from '../../../src/metadata/rpm/primary.ts';
import type { RepomdRecord } from '../../../src/metadata/rpm/repomd.ts';
import { renderRepomd } from '../../../src/metadata/rpm/repomd.ts';
import { corpusFiles } from '../../helpers/corpus.ts';
import type { RpmSpec } from '../../helpers/rpmbuild.ts';
import { buildRpms } from '../../helpers/rpmbuild.ts';

/**
 * Fixtures left out, with the reason. Every other fixture named *.rpm is compared, including
 * hello-2.0-1.x86_64-corrupted.rpm: only its payload is damaged, and neither createrepo_c nor
 * parseRpm reads payloads, so both describe its intact header. The .drpm (a delta, which parseRpm
 * refuses) is not named *.rpm, so createrepo_c would not pick it up either.
 */
const SKIPPED_FIXTURES = new Map<string, string>([]);

/** Fixtures that are packages under another name: copied into the repository as <name>.rpm. */
const RENAMED_FIXTURES = new Map<string, string>([['hello-1.0-1.x86_64.rpm-v3', 'hello-1.0-1.x86_64-v3.rpm']]);

const DAY = 86400;
const T = 1600000000;

/** About thirty generated packages; each one exists for the edge case its comment names. */
const CORPUS: RpmSpec[] = [
  // Every comparison flag on every strong dependency kind, with and without epoch and release.
  {
    name: 'flags-all',
    epoch: 2,
    version: '3.4.5',
    release: '6',
    requires: ['req-lt < 1', 'req-le <= 2:1.0', 'req-eq = 1.0-1', 'req-ge >= 0:3', 'req-gt > 4.0-2.el9', 'req-plain'],
    provides: ['prov-eq = 5:1.2-3', 'prov-plain', 'prov(paren) = 1', 'prov-le <= 2'],
    conflicts: ['con-lt < 1', 'con-le <= 2', 'con-eq = 3', 'con-ge >= 4', 'con-gt > 5'],
    obsoletes: ['obs-lt < 1:1-1', 'obs-le <= 2', 'obs-eq = 3', 'obs-ge >= 4', 'obs-gt > 5'],
    files: [{ path: '/usr/bin/flags-all', mode: '0755' }],
  },
  // Weak dependencies, versioned and rich.
  {
    name: 'weak-deps',
    arch: 'noarch',
    recommends: ['rec-a', 'rec-b >= 1.0', '(rec-c if rec-d)'],
    suggests: ['sug-a', 'sug-b = 2-1', '(sug-c or sug-d >= 3)'],
    supplements: ['sup-a', '(sup-b and sup-c)'],
    enhances: ['enh-a < 9', 'enh-b'],
  },
  // Scriptlets add /bin/sh with the script flags: pre="1" for %pre/%post, not for %preun/%postun;
  // the same name with and without pre="1" is two entries.
  {
    name: 'scripts-pre',
    arch: 'noarch',
    scripts: { pre: 'exit 0', post: 'exit 0', preun: 'exit 0', postun: 'exit 0' },
    requiresPre: ['pre-only', 'shadow-utils'],
    requiresPost: ['post-only'],
    requires: ['shadow-utils', 'plain-req'],
  },
  { name: 'scripts-preun', arch: 'noarch', scripts: { preun: 'exit 0', posttrans: 'exit 0' } },
  // Requirements createrepo_c drops: own primary files, exact self-provides, rpmlib(), duplicates,
  // all libc.so.6 entries but the highest (which moves to the end).
  {
    name: 'req-filter',
    version: '2.0',
    files: [{ path: '/usr/bin/req-filter', mode: '0755' }, { path: '/usr/share/req-filter/data' }, { path: '/etc/req-filter.conf', kind: 'config' }],
    requires: [
      '/usr/bin/req-filter',
      '/usr/share/req-filter/data',
      '/etc/req-filter.conf',
      'self-cap = 1.0',
      'self-cap',
      'dup',
      'dup',
      'dup >= 1',
      'libc.so.6()(64bit)',
      'libc.so.6(GLIBC_2.2.5)(64bit)',
      'libc.so.6(GLIBC_2.34)(64bit)',
      'libc.so.6(GLIBC_2.3.4)(64bit)',
      'zzz-last',
    ],
    provides: ['self-cap = 1.0'],
  },
  // Epochs: none, explicit 0, large; tilde and caret versions.
  { name: 'epoch-none', arch: 'noarch' },
  { name: 'epoch-zero', epoch: 0, arch: 'noarch', requires: ['epoch-none = 0:1.0-1'] },
  { name: 'epoch-big', epoch: 4294, version: '1.0~rc1^post2', release: '0.1.fc40', arch: 'noarch', obsoletes: ['epoch-big < 4294:1.0~rc1'] },
  // Files: the primary filter, dirs, ghosts, symlinks, odd names.
  {
    name: 'files-mix',
    files: [
      { path: '/usr/bin/fm', mode: '0755' },
      { path: '/usr/sbin/fm-admin', mode: '0755' },
      { path: '/bin/fm-old' },
      { path: '/sbin/fm-sbin' },
      { path: '/etc/fm', kind: 'dir' },
      { path: '/etc/fm/fm.conf', kind: 'config' },
      { path: '/etc/fm.d/x.conf' },
      { path: '/opt/fm/bin/tool' },
      { path: '/usr/share/robin/hood' },
      { path: '/usr/lib/sendmail' },
      { path: '/usr/lib/sendmail.cf' },
      { path: '/usr/share/fm', kind: 'dir' },
      { path: '/usr/share/fm/empty-dir', kind: 'dir' },
      { path: '/usr/share/fm/with space.txt' },
      { path: '/usr/share/fm/amp&lt<gt>.txt' },
      { path: '/usr/share/fm/ünïcødé-文件.txt' },
      { path: '/usr/bin/ünï' },
      { path: '/var/log/fm.log', kind: 'ghost' },
      { path: '/etc/fm/ghost.conf', kind: 'ghost' },
      { path: '/run/fm', kind: 'ghost' },
      { path: '/usr/lib/fm-link', kind: 'symlink', target: '../bin/fm' },
      { path: '/usr/bin/fm-link', kind: 'symlink', target: 'fm' },
      { path: '/usr/share/doc/fm/README', kind: 'doc' },
    ],
  },
  { name: 'files-none', arch: 'noarch' },
  // Changelogs: more than the default limit of 10, timestamp collisions, markup and non-ASCII.
  {
    name: 'changelog-long',
    arch: 'noarch',
    changelog: Array.from({ length: 14 }, (_, i) => ({
      time: T + i * DAY,
      author: 'Dev ' + i + ' <dev' + i + '@example.com> - 1.0-' + i,
      text: '- change number ' + i,
    })),
  },
  {
    name: 'changelog-same-time',
    arch: 'noarch',
    changelog: [
      { time: T, author: 'A <a@example.com> - 3', text: '- three' },
      { time: T, author: 'B <b@example.com> - 2', text: '- two' },
      { time: T, author: 'C <c@example.com> - 1', text: '- one' },
      { time: T - DAY, author: 'D <d@example.com> - 0', text: '- zero' },
      { time: T + 1, author: 'E <e@example.com> - 4', text: '- four' },
    ],
  },
  {
    name: 'changelog-chars',
    arch: 'noarch',
    changelog: [
      {
        time: T,
        author: 'Tomáš Ünïcødé <t@example.com> - 1.0-1',
        text: '- Fix <tags> & "quotes" \'apostrophes\'\n- Second line ]]> end\n  indented continuation\n- Ünïcødé 😀 text',
      },
      { time: T - 5 * DAY, author: 'Plain <p@example.com>', text: '- first' },
    ],
  },
  // Text fields with markup characters and non-ASCII.
  {
    name: 'text-fields',
    summary: 'Summary with <markup> & "quotes" – and ünïcødé',
    license: 'GPL-2.0-or-later AND (MIT OR Apache-2.0)',
    description: 'First line & <second>\n\n  Indented "quoted" text with tabs\tinside.\nÜnïcødé: 日本語, emoji 😀.',
    url: 'https://example.com/path?a=1&b=<2>',
    vendor: 'Vendor & Co <vendor@example.com>',
    packager: 'Pàckager <p@example.com>',
    group: 'Applications/Ünïcødé',
  },
  // Names, versions and capabilities with the characters rpm allows.
  {
    name: 'name_with.dots+plus',
    version: '1.2.3+git20240101.abc',
    release: '7.el9_3',
    arch: 'noarch',
    provides: ['bundled(golang(github.com/x/y)) = 0.0.0-20240101', 'pkgconfig(foo) >= 1.2', 'perl(Foo::Bar) = 0.01', 'python3.11dist(pkg) = 2~rc1'],
    requires: ['(pkg-a >= 1.0 with pkg-a < 2.0)', '(pkg-b if pkg-c else pkg-d)', 'font(:lang=en)'],
  },
  // Subpackages from one spec, including the helper's numbered ones.
  {
    name: 'multi',
    version: '5.0',
    subpackages: 3,
    files: [
      { path: '/usr/share/multi', kind: 'dir' },
      { path: '/usr/bin/multi', mode: '0755' },
    ],
    requires: ['multi-sub1 = 5.0-1'],
  },
  {
    name: 'multi-named',
    mainPackage: false,
    arch: 'noarch',
    subpackages: [
      { name: 'lib-named', files: [{ path: '/usr/lib/named/libx.txt' }], provides: ['libnamed = 1'] },
      { name: 'tools-named', files: [{ path: '/usr/bin/named-tool', mode: '0755' }], requires: ['lib-named'], recommends: ['docs-named'] },
      { name: 'docs-named', files: [{ path: '/usr/share/doc/named/guide.txt', kind: 'doc' }], supplements: ['tools-named'] },
    ],
  },
  // Many files (most only in filelists) and many dependencies.
  {
    name: 'many-files',
    files: Array.from({ length: 400 }, (_, i) => ({ path: (i % 10 === 0 ? '/usr/bin/mf-' : '/usr/share/many-files/f-') + i })),
    requires: Array.from({ length: 40 }, (_, i) => 'cap-' + i + (i % 2 ? ' >= ' + i : '')),
  },
  // rpm's own dependency generators (interpreters of scripts).
  {
    name: 'autodeps',
    files: [
      { path: '/usr/bin/autodeps.sh', mode: '0755', content: '#!/bin/sh\necho hi\n' },
      { path: '/usr/lib/autodeps/tool.py', mode: '0755', content: '#!/usr/bin/python3\nprint(1)\n' },
    ],
  },
  { name: 'obsoletes-self', version: '2.0', provides: ['obsoletes-old = 2.0-1'], obsoletes: ['obsoletes-old < 2.0-1'], conflicts: ['other-thing'] },
  // Reproducible build time and file mtimes.
  { name: 'reproducible', arch: 'noarch', sourceDateEpoch: 1234567890, files: [{ path: '/usr/share/reproducible/a.txt' }] },
];

interface Documents {
  primary: string;
  filelists: string;
  other: string;
  repomd: string;
}

async function readCreaterepoOutput(dir: string): Promise<Documents> {
  const repomd = await readFile(join(dir, 'repodata', 'repomd.xml'), 'utf8');
  const load = async (type: string): Promise<string> => {
    const href = new RegExp('<data type="' + type + '">[\\s\\S]*?<location href="([^"]+)"').exec(repomd)?.[1];
    assert.ok(href, 'no ' + type + ' in repomd.xml');
    return gunzipSync(await readFile(join(dir, href))).toString('utf8');
  };
  return { primary: await load('primary'), filelists: await load('filelists'), other: await load('other'), repomd };
}

/** A document's `<package>` elements, each with its trailing newline, keyed by pkgid, in order. */
function splitPackages(document: string, header: string, footer: string, pkgIdOf: (fragment: string) => string): Map<string, string> {
  assert.ok(document.endsWith(footer), 'unexpected footer');
  const headerEnd = document.indexOf('>\n', document.indexOf('packages="')) + 2;
  assert.equal(document.slice(0, headerEnd), header, 'header');
  const body = document.slice(headerEnd, document.length - footer.length);
  const fragments = new Map<string, string>();
  for (const fragment of body.split(/(?=<package )/)) if (fragment) fragments.set(pkgIdOf(fragment), fragment);
  return fragments;
}

const primaryPkgId = (fragment: string): string => /<checksum type="sha256" pkgid="YES">([0-9a-f]{64})</.exec(fragment)![1];
const attrPkgId = (fragment: string): string => /^<package pkgid="([0-9a-f]{64})"/.exec(fragment)![1];

interface Rendered {
  file: string;
  pkgId: string;
  pkg: RpmPackage;
  primary: string;
  filelists: string;
  other: string;
}

async function renderFile(repoDir: string, file: string, href: string): Promise<Rendered> {
  const path = join(repoDir, file);
  const bytes = new Uint8Array(await readFile(path));
  const { pkg } = parseRpm(bytes);
  const info = await stat(path);
  const facts: RpmFileFacts = {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
    // createrepo_c writes the file's mtime; repod writes when it first stored the file.
    fileTime: Math.floor(info.mtimeMs / 1000),
    fileName: basename(file),
  };
  return {
    file,
    pkgId: facts.sha256,
    pkg,
    primary: renderPrimaryPackage(pkg, facts, href),
    filelists: renderFilelistsPackage(pkg, facts.sha256),
    other: renderOtherPackage(pkg, facts.sha256),
  };
}

describe('createrepo_c equivalence', () => {
  let workDir = '';
  let repoDir = '';
  let createrepo: Documents;
  let packageFiles: string[] = [];
  let thirdPartyCount = 0;
  let theirs: { primary: Map<string, string>; filelists: Map<string, string>; other: Map<string, string> };
  const ours = new Map<string, Rendered>();

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'repod-createrepo-eq-'));
    repoDir = join(workDir, 'repo');
    await mkdir(repoDir);
    // The third-party corpus (helpers/corpus.ts) too, when it is there.
    const thirdParty = corpusFiles((name) => !SKIPPED_FIXTURES.has(name) && (RENAMED_FIXTURES.has(name) || name.endsWith('.rpm')));
    thirdPartyCount = thirdParty.length;
    for (const path of thirdParty) {
      const name = basename(path);
      await copyFile(path, join(repoDir, RENAMED_FIXTURES.get(name) ?? name));
    }
    await buildRpms(CORPUS, repoDir);
    packageFiles = (await readdir(repoDir)).filter((name) => name.endsWith('.rpm')).sort();
    const run = spawnSync('createrepo_c', ['--quiet', '--workers', '2', repoDir], { encoding: 'utf8' });
    assert.equal(run.status, 0, 'createrepo_c failed: ' + run.stderr);
    createrepo = await readCreaterepoOutput(repoDir);

    const count = packageFiles.length;
    theirs = {
      primary: splitPackages(createrepo.primary, primaryHeader(count), primaryFooter(), primaryPkgId),
      filelists: splitPackages(createrepo.filelists, filelistsHeader(count), filelistsFooter(), attrPkgId),
      other: splitPackages(createrepo.other, otherHeader(count), otherFooter(), attrPkgId),
    };
    for (const file of packageFiles) {
      const sha = createHash('sha256')
        .update(await readFile(join(repoDir, file)))
        .digest('hex');
      const fragment = theirs.primary.get(sha);
      assert.ok(fragment, `createrepo_c left out ${file}`);
      const href = /<location href="([^"]+)"/.exec(fragment)![1];
      ours.set(file, await renderFile(repoDir, file, href));
    }
  });

  after(async () => {
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  test('the corpus covers generated packages (and the third-party ones when present)', (t) => {
    assert.ok(packageFiles.length >= CORPUS.length + thirdPartyCount, `only ${packageFiles.length} packages`);
    assert.equal(theirs.primary.size, packageFiles.length);
    assert.equal(ours.size, packageFiles.length);
    const changelogs = [...ours.values()].reduce((n, r) => n + r.pkg.changelogs.length, 0);
    const files = [...ours.values()].reduce((n, r) => n + r.pkg.files.length, 0);
    t.diagnostic(`${packageFiles.length} packages, ${files} files, ${changelogs} changelog entries compared`);
  });

  test('every package: primary, filelists and other fragments are byte-identical', () => {
    const failures: string[] = [];
    for (const rendered of ours.values()) {
      for (const kind of ['primary', 'filelists', 'other'] as const) {
        const expected = theirs[kind].get(rendered.pkgId);
        if (rendered[kind] !== expected) failures.push(describeDifference(rendered.file, kind, rendered[kind], expected ?? '(missing)'));
      }
    }
    assert.deepEqual(failures, []);
  });

  test('whole documents assembled from our fragments in createrepo_c order equal its files', () => {
    const count = packageFiles.length;
    const byPkgId = new Map([...ours.values()].map((r) => [r.pkgId, r]));
    const assemble = (kind: 'primary' | 'filelists' | 'other', header: string, footer: string): string =>
      header + [...theirs[kind].keys()].map((id) => byPkgId.get(id)![kind]).join('') + footer;
    assert.equal(assemble('primary', primaryHeader(count), primaryFooter()), createrepo.primary);
    assert.equal(assemble('filelists', filelistsHeader(count), filelistsFooter()), createrepo.filelists);
    assert.equal(assemble('other', otherHeader(count), otherFooter()), createrepo.other);
  });

  test('other.xml for other changelog limits (1 and all) equals createrepo_c --changelog-limit', async () => {
    const byPkgId = new Map([...ours.values()].map((r) => [r.pkgId, r]));
    for (const [limit, cliLimit] of [
      [1, '1'],
      [-1, '100000'],
    ] as const) {
      const outDir = join(workDir, 'limit' + cliLimit);
      await mkdir(outDir);
      const run = spawnSync('createrepo_c', ['--quiet', '--no-database', '--changelog-limit', cliLimit, '--outputdir', outDir, repoDir], { encoding: 'utf8' });
      assert.equal(run.status, 0, 'createrepo_c failed: ' + run.stderr);
      const expected = (await readCreaterepoOutput(outDir)).other;
      const order = [...splitPackages(expected, otherHeader(packageFiles.length), otherFooter(), attrPkgId).keys()];
      const actual = otherHeader(order.length) + order.map((id) => renderOtherPackage(byPkgId.get(id)!.pkg, id, { changelogLimit: limit })).join('') + otherFooter();
      assert.equal(actual, expected, 'changelog limit ' + cliLimit);
    }
  });

  test("repomd.xml rendered from createrepo_c's records (in any order) equals its repomd.xml", () => {
    const repomd = createrepo.repomd;
    const revision = /<revision>([^<]*)<\/revision>/.exec(repomd)![1];
    const records: RepomdRecord[] = [...repomd.matchAll(/<data type="([^"]+)">([\s\S]*?)<\/data>/g)].map(([, type, body]) => {
      const field = (name: string): string | undefined => new RegExp('<' + name + '(?: [^>]*)?>([^<]*)</' + name + '>').exec(body)?.[1];
      const openSize = field('open-size');
      const dbVersion = field('database_version');
      return {
        type,
        href: /<location href="([^"]+)"/.exec(body)![1],
        checksum: field('checksum')!,
        openChecksum: field('open-checksum'),
        size: Number(field('size')),
        openSize: openSize === undefined ? undefined : Number(openSize),
        timestamp: Number(field('timestamp')),
        databaseVersion: dbVersion === undefined ? undefined : Number(dbVersion),
      };
    });
    assert.deepEqual(
      records.map((r) => r.type),
      ['primary', 'filelists', 'other', 'primary_db', 'filelists_db', 'other_db'],
    );
    assert.equal(renderRepomd({ revision, records }), repomd);
    assert.equal(renderRepomd({ revision, records: [...records].reverse() }), repomd);
    // Extra record types sort after the base ones, by type, as createrepo_c's modifyrepo does.
    const extra = renderRepomd({
      revision,
      records: [
        { type: 'updateinfo', href: 'repodata/u.xml.gz', checksum: 'c', size: 1, timestamp: 2 },
        { type: 'group', href: 'repodata/g.xml', checksum: 'd', size: 3, timestamp: 4 },
        ...records,
      ],
    });
    assert.deepEqual(
      [...extra.matchAll(/<data type="([^"]+)">/g)].map((m) => m[1]),
      ['primary', 'filelists', 'other', 'primary_db', 'filelists_db', 'other_db', 'group', 'updateinfo'],
    );
    assert.match(
      extra,
      /<data type="group">\n {4}<checksum type="sha256">d<\/checksum>\n {4}<location href="repodata\/g.xml"\/>\n {4}<timestamp>4<\/timestamp>\n {4}<size>3<\/size>\n {2}<\/data>\n/,
    );
  });
});

/** The first differing line of two fragments, with context, so a failure names the field. */
function describeDifference(file: string, kind: string, ours: string, theirs: string): string {
  const a = ours.split('\n');
  const b = theirs.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `${file} ${kind} line ${i + 1}:\n  ours:   ${JSON.stringify(a[i])}\n  theirs: ${JSON.stringify(b[i])}`;
}

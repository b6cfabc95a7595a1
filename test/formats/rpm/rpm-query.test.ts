/**
 * Every fixture package read by our parser and by the real rpm (rpm -qp --queryformat): the
 * header values must agree. Dependencies are compared twice: as stored in the header (after
 * rpm's load-time retrofits, which createrepo_c sees too) and, for the model's filtered lists,
 * entry by entry against rpm's unfiltered ones.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { test } from 'node:test';
import type { RawDependencies } from '../../../src/formats/rpm/dependencies.ts';
import { readRawDependencies } from '../../../src/formats/rpm/dependencies.ts';
import { readFileList } from '../../../src/formats/rpm/files.ts';
import { RpmHeader } from '../../../src/formats/rpm/header.ts';
import { retrofitProvides, sourceFacts } from '../../../src/formats/rpm/legacy.ts';
import type { RpmDependency } from '../../../src/formats/rpm/model.ts';
import type { RpmParseResult } from '../../../src/formats/rpm/reader.ts';
import { parseRpm } from '../../../src/formats/rpm/reader.ts';
import { Tag } from '../../../src/formats/rpm/tags.ts';
import { decodeHeaderString } from '../../../src/formats/rpm/text.ts';
import { CORPUS, corpusFiles, needsCorpus } from '../../helpers/corpus.ts';
import { rpmVariety } from '../../helpers/packages.ts';

const FIELD = '\x1f';
const ITEM = '\x1e';
const SECTION = '\x1d';

const SCALARS = [
  'NAME',
  'EPOCH',
  'VERSION',
  'RELEASE',
  'ARCH',
  'SOURCEPACKAGE',
  'SUMMARY',
  'DESCRIPTION',
  'LONGSIZE',
  'LONGARCHIVESIZE',
  'BUILDTIME',
  'LICENSE',
  'VENDOR',
  'GROUP',
  'BUILDHOST',
  'SOURCERPM',
  'URL',
  'PACKAGER',
  'PAYLOADCOMPRESSOR',
  'PAYLOADFORMAT',
] as const;
const DEPENDENCIES = ['PROVIDE', 'REQUIRE', 'CONFLICT', 'OBSOLETE', 'RECOMMEND', 'SUGGEST', 'SUPPLEMENT', 'ENHANCE', 'OLDSUGGESTS', 'OLDENHANCES'] as const;
const DEPENDENCY_TAGS: Record<(typeof DEPENDENCIES)[number], [number, number, number]> = {
  PROVIDE: [Tag.PROVIDENAME, Tag.PROVIDEFLAGS, Tag.PROVIDEVERSION],
  REQUIRE: [Tag.REQUIRENAME, Tag.REQUIREFLAGS, Tag.REQUIREVERSION],
  CONFLICT: [Tag.CONFLICTNAME, Tag.CONFLICTFLAGS, Tag.CONFLICTVERSION],
  OBSOLETE: [Tag.OBSOLETENAME, Tag.OBSOLETEFLAGS, Tag.OBSOLETEVERSION],
  RECOMMEND: [Tag.RECOMMENDNAME, Tag.RECOMMENDFLAGS, Tag.RECOMMENDVERSION],
  SUGGEST: [Tag.SUGGESTNAME, Tag.SUGGESTFLAGS, Tag.SUGGESTVERSION],
  SUPPLEMENT: [Tag.SUPPLEMENTNAME, Tag.SUPPLEMENTFLAGS, Tag.SUPPLEMENTVERSION],
  ENHANCE: [Tag.ENHANCENAME, Tag.ENHANCEFLAGS, Tag.ENHANCEVERSION],
  OLDSUGGESTS: [Tag.OLDSUGGESTSNAME, Tag.OLDSUGGESTSFLAGS, Tag.OLDSUGGESTSVERSION],
  OLDENHANCES: [Tag.OLDENHANCESNAME, Tag.OLDENHANCESFLAGS, Tag.OLDENHANCESVERSION],
};
/** Which header lists a model list may draw its entries from (legacy weak dependencies included). */
const MODEL_SOURCES: Record<string, (typeof DEPENDENCIES)[number][]> = {
  provides: ['PROVIDE'],
  requires: ['REQUIRE'],
  conflicts: ['CONFLICT'],
  obsoletes: ['OBSOLETE'],
  recommends: ['RECOMMEND', 'REQUIRE', 'OLDSUGGESTS'],
  suggests: ['SUGGEST', 'OLDSUGGESTS'],
  supplements: ['SUPPLEMENT', 'OLDENHANCES'],
  enhances: ['ENHANCE', 'OLDENHANCES'],
};

/** Self-built packages, and the third-party corpus's when it is there (helpers/corpus.ts). */
const PACKAGES = [...(await rpmVariety()), ...corpusFiles((f) => f.endsWith('.rpm') || f.endsWith('.rpm-v3') || f.endsWith('.drpm'))];

function rpmAvailable(): boolean {
  return spawnSync('rpm', ['--version']).status === 0;
}

interface RpmView {
  scalars: Record<(typeof SCALARS)[number], Buffer>;
  deps: Record<(typeof DEPENDENCIES)[number], { name: Buffer; flags: number; version: Buffer }[]>;
  files: { path: Buffer; mode: number; flags: number }[];
  changelogs: { time: number; name: Buffer; text: Buffer }[];
}

function split(buf: Buffer, sep: string): Buffer[] {
  const out: Buffer[] = [];
  const code = sep.charCodeAt(0);
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === code) {
      out.push(buf.subarray(start, i));
      start = i + 1;
    }
  }
  out.push(buf.subarray(start));
  return out;
}

function items(section: Buffer): Buffer[][] {
  return split(section, ITEM)
    .filter((b) => b.length > 0)
    .map((b) => split(b, FIELD));
}

function queryRpm(path: string): RpmView {
  const format = [
    SCALARS.map((t) => `%{${t}}`).join(FIELD),
    ...DEPENDENCIES.map((d) => `[%{${d}NAME}${FIELD}%{${d}FLAGS}${FIELD}%{${d}VERSION}${ITEM}]`),
    `[%{FILENAMES}${FIELD}%{FILEMODES}${FIELD}%{FILEFLAGS}${ITEM}]`,
    `[%{CHANGELOGTIME}${FIELD}%{CHANGELOGNAME}${FIELD}%{CHANGELOGTEXT}${ITEM}]`,
  ].join(SECTION);
  const run = spawnSync('rpm', ['-qp', '--nosignature', '--nodigest', '--queryformat', format, path], {
    env: { ...process.env, LC_ALL: 'C', LANG: 'C', LANGUAGE: '' },
    maxBuffer: 1 << 28,
  });
  assert.equal(run.status, 0, `rpm -qp failed on ${path}: ${run.stderr}`);
  const sections = split(run.stdout, SECTION);
  assert.equal(sections.length, 3 + DEPENDENCIES.length);
  const scalarValues = split(sections[0], FIELD);
  const scalars = Object.fromEntries(SCALARS.map((t, i) => [t, scalarValues[i]])) as RpmView['scalars'];
  const deps = Object.fromEntries(
    DEPENDENCIES.map((d, i) => [
      d,
      items(sections[1 + i])
        // An absent list prints one "(none)" item.
        .filter(([name]) => name.toString('latin1') !== '(none)')
        .map(([name, flags, version]) => ({ name, flags: Number(flags.toString()), version })),
    ]),
  ) as RpmView['deps'];
  const files = items(sections[1 + DEPENDENCIES.length])
    .filter(([p]) => p.toString('latin1') !== '(none)')
    .map(([p, mode, flags]) => ({ path: p, mode: Number(mode.toString()), flags: Number(flags.toString()) }));
  const changelogs = items(sections[2 + DEPENDENCIES.length])
    .filter(([time]) => time.toString('latin1') !== '(none)')
    .map(([time, name, text]) => ({ time: Number(time.toString()), name, text }));
  return { scalars, deps, files, changelogs };
}

function parseFile(path: string): RpmParseResult {
  const bytes = readFileSync(path);
  return parseRpm(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
}

const none = (b: Buffer) => b.toString('latin1') === '(none)';
const latin1 = (b: Buffer) => b.toString('latin1');

/** What the model must hold for header bytes: UTF-8 as is, anything else via createrepo_c's rule. */
function expectedText(b: Buffer): string {
  if (none(b)) return '';
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  try {
    return utf8.decode(b);
  } catch {
    return decodeHeaderString(new Uint8Array(b), 'test');
  }
}

/** createrepo_c's EVR split, written out independently for the comparison. */
function splitExpected(version: string): Pick<RpmDependency, 'epoch' | 'version' | 'release'> {
  if (version === '') return {};
  const m = /^(?:(\d*):)?([^-]*)(?:-(.*))?$/.exec(version);
  assert.ok(m, `unexpected version string in fixture: ${version}`);
  const out: Pick<RpmDependency, 'epoch' | 'version' | 'release'> = { epoch: m[1] || '0', version: m[2] };
  if (m[3]) out.release = m[3];
  return out;
}

const FLAG_NAMES: Record<number, RpmDependency['flags']> = { 2: 'LT', 4: 'GT', 8: 'EQ', 10: 'LE', 12: 'GE' };

for (const path of PACKAGES) {
  test(`rpm -qp agrees: ${basename(path)}${CORPUS && path.startsWith(CORPUS) ? ' (corpus)' : ''}`, (t) => {
    if (!rpmAvailable()) return t.skip('rpm is not installed');
    const rpm = queryRpm(path);
    if (latin1(rpm.scalars.PAYLOADFORMAT) === 'drpm') {
      assert.throws(() => parseFile(path), /delta rpm/);
      return;
    }
    const { pkg, payloadCompressor, payloadFormat, signature } = parseFile(path);
    const s = rpm.scalars;

    // Identity and descriptive fields.
    assert.equal(pkg.name, latin1(s.NAME));
    assert.equal(pkg.epoch, none(s.EPOCH) ? '0' : latin1(s.EPOCH));
    assert.equal(pkg.version, latin1(s.VERSION));
    assert.equal(pkg.release, latin1(s.RELEASE));
    assert.equal(pkg.isSource, !none(s.SOURCEPACKAGE) && latin1(s.SOURCEPACKAGE) !== '0');
    assert.equal(pkg.arch, pkg.isSource ? 'src' : latin1(s.ARCH));
    assert.equal(pkg.summary, expectedText(s.SUMMARY));
    assert.equal(pkg.description, expectedText(s.DESCRIPTION));
    assert.equal(pkg.license, expectedText(s.LICENSE));
    assert.equal(pkg.vendor, expectedText(s.VENDOR));
    assert.equal(pkg.group, expectedText(s.GROUP));
    assert.equal(pkg.buildHost, expectedText(s.BUILDHOST));
    assert.equal(pkg.url, expectedText(s.URL));
    assert.equal(pkg.packager, expectedText(s.PACKAGER));
    assert.equal(pkg.sourceRpm, pkg.isSource ? '' : latin1(s.SOURCERPM));
    assert.equal(pkg.buildTime, Number(latin1(s.BUILDTIME)));
    assert.equal(pkg.installedSize, Number(latin1(s.LONGSIZE)));
    assert.equal(pkg.archiveSize, none(s.LONGARCHIVESIZE) ? 0 : Number(latin1(s.LONGARCHIVESIZE)));
    assert.equal(payloadCompressor, none(s.PAYLOADCOMPRESSOR) ? undefined : latin1(s.PAYLOADCOMPRESSOR));
    assert.equal(payloadFormat, none(s.PAYLOADFORMAT) ? undefined : latin1(s.PAYLOADFORMAT));

    // Dependencies as stored (after rpm's retrofits), before createrepo_c's filtering.
    const header = RpmHeader.parse(signature.header, 'main', signature.headerRange.start);
    const fileList = readFileList(header);
    const source = sourceFacts(header, fileList.looksLikeSource);
    for (const d of DEPENDENCIES) {
      const [n, f, v] = DEPENDENCY_TAGS[d];
      let raw: RawDependencies | undefined = readRawDependencies(header, n, f, v);
      if (d === 'PROVIDE') raw = retrofitProvides(header, source.sourceRpm !== undefined) ?? raw;
      const ours = raw ? raw.names.map((name, i) => [name, raw.flags[i], raw.versions[i]]) : [];
      const theirs = rpm.deps[d].map((e) => [latin1(e.name), e.flags, latin1(e.version)]);
      assert.deepEqual(ours, theirs, `${d} list as stored`);
    }

    // Every model dependency is a header dependency, with createrepo_c's flags and EVR split.
    for (const [list, sources] of Object.entries(MODEL_SOURCES)) {
      const candidates = sources.flatMap((d) =>
        rpm.deps[d].map((e) => {
          const dep: RpmDependency = { name: expectedText(e.name), ...splitExpected(latin1(e.version)) };
          const flags = FLAG_NAMES[e.flags & 0xf];
          if (flags) dep.flags = flags;
          return JSON.stringify([dep.name, dep.flags, dep.epoch, dep.version, dep.release]);
        }),
      );
      for (const dep of pkg[list as keyof typeof MODEL_SOURCES & keyof typeof pkg] as RpmDependency[]) {
        const key = JSON.stringify([dep.name, dep.flags, dep.epoch, dep.version, dep.release]);
        assert.ok(candidates.includes(key), `${list} entry ${key} is not in rpm's ${sources.join('/')} lists`);
      }
    }

    // Files, with the types createrepo_c derives from modes and flags.
    assert.equal(pkg.files.length, rpm.files.length, 'file count');
    rpm.files.forEach((f, i) => {
      const type = (f.mode & 0o170000) === 0o040000 ? 'dir' : f.flags & (1 << 6) ? 'ghost' : 'file';
      assert.deepEqual(pkg.files[i], { path: expectedText(f.path), type }, `file ${i}`);
    });

    // Changelogs: all of them, newest first, authors without trailing blanks.
    assert.equal(pkg.changelogs.length, rpm.changelogs.length, 'changelog count');
    rpm.changelogs.forEach((c, i) => {
      assert.deepEqual(pkg.changelogs[i], { author: expectedText(c.name).replace(/(?<=.) +$/, ''), date: c.time, text: expectedText(c.text) }, `changelog ${i}`);
    });
  });
}

test('rpm -qp: the corpus covers what it should', { skip: needsCorpus() }, (t) => {
  if (!rpmAvailable()) return t.skip('rpm is not installed');
  const names = corpusFiles((f) => f.endsWith('.rpm') || f.endsWith('.rpm-v3') || f.endsWith('.drpm'));
  assert.ok(names.length >= 24, `only ${names.length} fixture packages`);
  assert.ok(names.some((n) => n.endsWith('-v3')));
  assert.ok(names.some((n) => n.endsWith('.drpm')));
});

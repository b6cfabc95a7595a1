/**
 * The parser on its own: streaming, byte ranges proven by the digests the packages carry, the
 * createrepo_c rules on synthetic headers, and precise refusals of malformed ones.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { test } from 'node:test';
import { InvalidPackageError } from '../../../src/errors.ts';
import { createrepoChangelogs } from '../../../src/formats/rpm/changelog.ts';
import { compareLibcDependency } from '../../../src/formats/rpm/dependencies.ts';
import { splitDependencyEvr } from '../../../src/formats/rpm/evr.ts';
import type { RpmChangelog, RpmPackage } from '../../../src/formats/rpm/model.ts';
import type { RpmParseResult } from '../../../src/formats/rpm/reader.ts';
import { parseRpm, RpmReader } from '../../../src/formats/rpm/reader.ts';
import { Tag, TagType } from '../../../src/formats/rpm/tags.ts';
import { corpusFile, corpusFiles, needsCorpus } from '../../helpers/corpus.ts';
import { rpmVariety, selfBuilt } from '../../helpers/packages.ts';
import { prng as mulberry32 } from '../../helpers/prng.ts';

// ---------------------------------------------------------------------------------------------
// Fixtures

/** Self-built packages, and the third-party corpus's when it is there (helpers/corpus.ts). */
const PACKAGES = [...(await rpmVariety()), ...corpusFiles((f) => f.endsWith('.rpm') || f.endsWith('.rpm-v3'))];

function read(path: string): Uint8Array {
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/** A corpus file by name. */
function load(name: string): Uint8Array {
  return read(corpusFile(name));
}

function hex(algorithm: string, data: Uint8Array): string {
  return createHash(algorithm).update(data).digest('hex');
}

test('reader: any chunking gives the same result as one buffer, and stops at the main header', () => {
  const random = mulberry32(7);
  for (const path of PACKAGES) {
    const name = basename(path);
    const bytes = read(path);
    const whole = parseRpm(bytes);
    for (const mode of ['bytes', 'random'] as const) {
      if (mode === 'bytes' && bytes.length > 64 * 1024) continue;
      const reader = new RpmReader();
      let at = 0;
      let done = false;
      while (at < bytes.length && !done) {
        const size = mode === 'bytes' ? 1 : 1 + Math.floor(random() * 3000);
        const chunk = bytes.slice(at, at + size);
        done = reader.push(chunk);
        chunk.fill(0xaa); // the reader must have copied what it keeps
        at += size;
      }
      assert.ok(done, `${name}: reader never completed`);
      // It completes exactly when the last header byte arrives, not later.
      assert.ok(at - whole.pkg.headerEnd < (mode === 'bytes' ? 1 : 3000), `${name}: completed late`);
      assert.equal(reader.push(new Uint8Array(10)), true, 'later chunks are ignored');
      assert.deepEqual(reader.result(), whole, `${name} (${mode} chunks)`);
    }
  }
});

test('byte ranges: the digests in each package verify over the ranges we report', () => {
  for (const path of PACKAGES) {
    const name = basename(path);
    const bytes = read(path);
    const { pkg, signature, payloadDigest } = parseRpm(bytes);
    const header = bytes.subarray(pkg.headerStart, pkg.headerEnd);
    assert.deepEqual(signature.header, header, `${name}: header bytes`);
    assert.deepEqual(signature.headerRange, { start: pkg.headerStart, end: pkg.headerEnd });
    assert.equal(signature.range.start, 96);
    assert.ok(signature.range.end <= pkg.headerStart && pkg.headerStart - signature.range.end < 8, `${name}: padding`);
    assert.ok(signature.sha256 || signature.sha1 || signature.md5, `${name}: no digest at all`);
    if (signature.sha1) assert.equal(hex('sha1', header), signature.sha1, `${name}: SHA1 header digest`);
    if (signature.sha256) assert.equal(hex('sha256', header), signature.sha256, `${name}: SHA256 header digest`);
    if (signature.sha3_256) assert.equal(hex('sha3-256', header), signature.sha3_256, `${name}: SHA3-256 header digest`);
    const truncated = name.includes('corrupted');
    if (signature.size !== undefined && !truncated) assert.equal(signature.size, bytes.length - pkg.headerStart, `${name}: SIZE`);
    if (signature.md5 && !truncated) {
      assert.equal(hex('md5', bytes.subarray(pkg.headerStart)), Buffer.from(signature.md5).toString('hex'), `${name}: MD5`);
    }
    if (payloadDigest) {
      const actual = hex('sha256', bytes.subarray(pkg.headerEnd));
      if (truncated) assert.notEqual(actual, payloadDigest[0], `${name}: the corrupted payload must not verify`);
      else assert.equal(actual, payloadDigest[0], `${name}: payload digest`);
    }
  }
});

test('signature header: raw signatures are handed out', { skip: needsCorpus() }, () => {
  const signed = parseRpm(load('hello-2.0-1.x86_64-signed.rpm')).signature;
  assert.ok(signed.rsa && signed.rsa[0] === 0x89, 'RSA header signature is an OpenPGP packet');
  assert.ok(signed.pgp && signed.pgp.length > 100, 'legacy header+payload signature');
  assert.equal(signed.size, 9915 - 4504);
  assert.equal(signed.payloadSize, 8060);
  assert.ok(signed.tags.some((t) => t.tag === 268 && t.type === TagType.BIN));

  const unsigned = parseRpm(load('hello-2.0-1.x86_64.rpm')).signature;
  assert.equal(unsigned.rsa, undefined);
  assert.equal(unsigned.pgp, undefined);

  const multiple = parseRpm(load('empty-signed-v6-multiple-0-0.x86_64.rpm')).signature;
  assert.equal(multiple.openpgp?.length, 2);
  for (const sig of multiple.openpgp!) assert.match(sig, /^[A-Za-z0-9+/=]+$/);

  const eddsa = parseRpm(load('empty-signed-eddsa-0-0.x86_64.rpm')).signature;
  assert.ok(eddsa.dsa, 'EdDSA signatures live in the DSA tag');

  const v6 = parseRpm(load('hlinktest-1.0-1.noarch-v3sig.rpm'));
  assert.equal(v6.rpmFormat, 6);
  assert.equal(v6.signature.md5, undefined);
  assert.equal(v6.signature.sha1, undefined);
  assert.ok(v6.signature.sha3_256);
  // rpm 6 keeps the payload size in the main header, which createrepo_c 0.17 does not read.
  assert.equal(v6.pkg.archiveSize, 0);

  const v3 = parseRpm(load('hello-1.0-1.x86_64.rpm-v3'));
  assert.equal(v3.signature.rsa, undefined);
  assert.equal(v3.signature.payloadSize, 17384);
});

test('special packages: delta rpm refused, corrupted payload and v3 parsed, source and nosrc are "src"', { skip: needsCorpus() }, () => {
  assert.throws(
    () => parseRpm(load('yum-cron-3.4.3-8.fc16_3.4.3-9.fc16.noarch.drpm')),
    (e: unknown) => e instanceof InvalidPackageError && /delta rpm/.test(e.message) && e.status === 422,
  );
  const corrupted = parseRpm(load('hello-2.0-1.x86_64-corrupted.rpm'));
  assert.equal(corrupted.pkg.name, 'hello');
  assert.equal(corrupted.pkg.headerEnd, 3216, 'the file ends right after its header');

  const v3 = parseRpm(load('hello-1.0-1.x86_64.rpm-v3')).pkg;
  assert.deepEqual(
    v3.provides.map((p) => p.name),
    ['hello', 'hello(x86-64)', 'hello'],
    'rpm 4.18 always appends "name = EVR" to legacy binary headers',
  );
  assert.deepEqual(
    v3.files.map((f) => f.path),
    ['/usr/local/bin/hello', '/usr/share/doc/hello', '/usr/share/doc/hello/FAQ'],
  );

  for (const name of ['hello-1.0-1.src.rpm', 'test-nosrc-1-1.fc24.nosrc.rpm']) {
    const { pkg, lead } = parseRpm(load(name));
    assert.equal(pkg.arch, 'src', name);
    assert.equal(pkg.isSource, true, name);
    assert.equal(pkg.sourceRpm, '', name);
    assert.equal(lead.type, 1, name);
  }
});

test('text: no model string carries a character XML 1.0 forbids; Latin-1 fallback as createrepo_c', async () => {
  const invalid = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  const strings = (value: unknown, path: string, out: [string, string][]) => {
    if (typeof value === 'string') out.push([path, value]);
    else if (Array.isArray(value)) for (const [i, v] of value.entries()) strings(v, `${path}[${i}]`, out);
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) strings(v, `${path}.${k}`, out);
    return out;
  };
  for (const file of PACKAGES) {
    for (const [path, s] of strings(parseRpm(read(file)).pkg, 'pkg', [])) assert.doesNotMatch(s, invalid, `${basename(file)} ${path}`);
  }
  const utf8 = parseRpm(read(await selfBuilt('balicek-utf8-1.1.1-1.x86_64.rpm'))).pkg;
  assert.equal(utf8.summary, 'Balíček s diakritikou: žluťoučký kůň');
});

test("text: the ISO-8859-2 and UTF-8 packages of createrepo_c's tests", { skip: needsCorpus() }, () => {
  const iso = parseRpm(load('balicek-iso88592-1.1.1-1.x86_64.rpm')).pkg;
  // ISO-8859-2 bytes read as Latin-1, with 0x80-0xBF dropped (0xB9 "š" is gone), as createrepo_c writes them.
  assert.equal(iso.summary, 'Balíèek s "ìèøýáíéù"');
  assert.equal(iso.changelogs[0].author, 'Tomá Mlèoch <tmlcoch@redhat.com> - 1.1.1-1');
  const utf8 = parseRpm(load('balicek-utf8-1.1.1-1.x86_64.rpm')).pkg;
  assert.equal(utf8.summary, 'Balíček s "ěščřžýáíéů"');
});

test('model: a few values pinned from the corpus', { skip: needsCorpus() }, () => {
  const archer = parseRpm(load('Archer-3.4.5-6.x86_64.rpm')).pkg;
  assert.equal(archer.epoch, '2');
  assert.ok(['EQ', 'LT', 'LE', 'GT', 'GE'].every((f) => [...archer.requires, ...archer.provides, ...archer.conflicts, ...archer.obsoletes].some((d) => d.flags === f)));
  const yum = parseRpm(load('yum-cron-3.4.3-9.fc16.noarch.rpm')).pkg;
  assert.equal(yum.changelogs.length, 161);
  assert.ok(yum.changelogs[0].date >= yum.changelogs[160].date, 'newest first');
  assert.deepEqual(
    yum.requires.find((d) => d.name === '/sbin/chkconfig'),
    { name: '/sbin/chkconfig', pre: true },
  );
  const node = parseRpm(load('nodejs010-runtime-1-7.el6_4.x86_64.rpm')).pkg;
  assert.equal(node.files.length, 14515);
  assert.equal(node.files.filter((f) => f.type === 'dir').length, 14511);
  const complex = parseRpm(load('complex-package-2.3.4-5.el8.x86_64.rpm')).pkg;
  for (const list of ['recommends', 'suggests', 'supplements', 'enhances'] as const) assert.ok(complex[list].length > 0, list);
});

// ---------------------------------------------------------------------------------------------
// Synthetic packages

type Value = string | string[] | number[] | Uint8Array | bigint[];
interface Entry {
  tag: number;
  type: number;
  value: Value;
}

const enc = new TextEncoder();
const str = (tag: number, value: string | Uint8Array): Entry => ({ tag, type: TagType.STRING, value });
const arr = (tag: number, value: string[]): Entry => ({ tag, type: TagType.STRING_ARRAY, value });
const i18n = (tag: number, value: string): Entry => ({ tag, type: TagType.I18NSTRING, value: [value] });
const int32 = (tag: number, value: number[]): Entry => ({ tag, type: TagType.INT32, value });
const int16 = (tag: number, value: number[]): Entry => ({ tag, type: TagType.INT16, value });

function entryData(e: Entry): Uint8Array {
  const strings = (list: (string | Uint8Array)[]) => {
    const parts = list.map((s) => (typeof s === 'string' ? enc.encode(s) : s));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length + 1;
    }
    return out;
  };
  switch (e.type) {
    case TagType.STRING:
      return strings([e.value as string | Uint8Array]);
    case TagType.STRING_ARRAY:
    case TagType.I18NSTRING:
      return strings(e.value as string[]);
    case TagType.BIN:
      return e.value as Uint8Array;
    default: {
      const size = [0, 1, 1, 2, 4, 8][e.type];
      const values = e.value as (number | bigint)[];
      const out = new Uint8Array(values.length * size);
      const view = new DataView(out.buffer);
      values.forEach((v, i) => {
        if (size === 1) view.setUint8(i, Number(v));
        if (size === 2) view.setUint16(i * 2, Number(v));
        if (size === 4) view.setUint32(i * 4, Number(v));
        if (size === 8) view.setBigUint64(i * 8, BigInt(v));
      });
      return out;
    }
  }
}

function countOf(e: Entry): number {
  if (e.type === TagType.STRING) return 1;
  if (e.type === TagType.BIN) return (e.value as Uint8Array).length;
  return (e.value as unknown[]).length;
}

/** A header the way rpm writes one: region tag first (unless legacy), data packed in index order. */
function buildHeader(entries: Entry[], region: number | undefined): Uint8Array {
  const sorted = [...entries].sort((a, b) => a.tag - b.tag);
  const il = sorted.length + (region ? 1 : 0);
  const chunks: Uint8Array[] = [];
  const index: [number, number, number, number][] = [];
  let dl = 0;
  for (const e of sorted) {
    const align = [1, 1, 1, 2, 4, 8, 1, 1, 1, 1][e.type];
    const pad = (align - (dl % align)) % align;
    if (pad) chunks.push(new Uint8Array(pad));
    dl += pad;
    const data = entryData(e);
    index.push([e.tag, e.type, dl, countOf(e)]);
    chunks.push(data);
    dl += data.length;
  }
  if (region) {
    const trailer = new Uint8Array(16);
    const v = new DataView(trailer.buffer);
    v.setInt32(0, region);
    v.setUint32(4, TagType.BIN);
    v.setInt32(8, -il * 16);
    v.setUint32(12, 16);
    index.unshift([region, TagType.BIN, dl, 16]);
    chunks.push(trailer);
    dl += 16;
  }
  const out = new Uint8Array(16 + il * 16 + dl);
  const view = new DataView(out.buffer);
  out.set([0x8e, 0xad, 0xe8, 0x01]);
  view.setUint32(8, il);
  view.setUint32(12, dl);
  index.forEach(([tag, type, offset, count], i) => {
    view.setInt32(16 + i * 16, tag);
    view.setUint32(20 + i * 16, type);
    view.setInt32(24 + i * 16, offset);
    view.setUint32(28 + i * 16, count);
  });
  let at = 16 + il * 16;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function buildRpm(main: Entry[], options: { sig?: Entry[]; legacy?: boolean; leadType?: number } = {}): Uint8Array {
  const lead = new Uint8Array(96);
  lead.set([0xed, 0xab, 0xee, 0xdb, 3, 0]);
  new DataView(lead.buffer).setInt16(6, options.leadType ?? 0);
  lead.set(enc.encode('synthetic-1-1'), 10);
  new DataView(lead.buffer).setInt16(78, 5);
  const sig = buildHeader(options.sig ?? [int32(1000, [1234])], options.legacy ? undefined : 62);
  const pad = (8 - (sig.length % 8)) % 8;
  const header = buildHeader(main, options.legacy ? undefined : 63);
  const out = new Uint8Array(96 + sig.length + pad + header.length + 4);
  out.set(lead);
  out.set(sig, 96);
  out.set(header, 96 + sig.length + pad);
  out.set([1, 2, 3, 4], out.length - 4); // a token payload
  return out;
}

const BASE: Entry[] = [
  str(Tag.NAME, 'synthetic'),
  str(Tag.VERSION, '1.0'),
  str(Tag.RELEASE, '1'),
  i18n(Tag.SUMMARY, 'A synthetic package'),
  i18n(Tag.DESCRIPTION, 'Built by the test.'),
  str(Tag.ARCH, 'x86_64'),
  str(Tag.SOURCERPM, 'synthetic-1.0-1.src.rpm'),
];

function withBase(extra: Entry[], drop: number[] = []): Entry[] {
  const tags = new Set(extra.map((e) => e.tag));
  return [...BASE.filter((e) => !tags.has(e.tag) && !drop.includes(e.tag)), ...extra];
}

function pkgOf(main: Entry[], options?: Parameters<typeof buildRpm>[1]): RpmPackage {
  return parseRpm(buildRpm(main, options)).pkg;
}

function deps(tagName: number, tagFlags: number, tagVersion: number, list: [string, number, string][]): Entry[] {
  return [
    arr(
      tagName,
      list.map((d) => d[0]),
    ),
    int32(
      tagFlags,
      list.map((d) => d[1]),
    ),
    arr(
      tagVersion,
      list.map((d) => d[2]),
    ),
  ];
}

function refuses(bytes: Uint8Array, message: RegExp): void {
  assert.throws(
    () => parseRpm(bytes),
    (e: unknown) => {
      assert.ok(e instanceof InvalidPackageError, `not an InvalidPackageError: ${String(e)}`);
      assert.match(e.message, message);
      return true;
    },
  );
}

test('synthetic: a minimal package reads back', () => {
  const pkg = pkgOf(BASE);
  assert.equal(pkg.name, 'synthetic');
  assert.equal(pkg.epoch, '0');
  assert.equal(pkg.arch, 'x86_64');
  assert.equal(pkg.summary, 'A synthetic package');
  assert.deepEqual(pkg.files, []);
  assert.deepEqual(pkg.requires, []);
  assert.equal(pkg.vendor, '');
});

test('synthetic: createrepo_c dependency rules', () => {
  const P = 1 << 6; // PREREQ
  const PRE = 1 << 9;
  const POST = 1 << 10;
  const PREUN = 1 << 11;
  const MISSINGOK = 1 << 19;
  const pkg = pkgOf(
    withBase([
      ...deps(Tag.PROVIDENAME, Tag.PROVIDEFLAGS, Tag.PROVIDEVERSION, [
        ['synthetic', 8, '1.0-1'],
        ['virtual', 8, '2:3'],
        ['/usr/bin/tool', 0, ''],
      ]),
      ...deps(Tag.REQUIRENAME, Tag.REQUIREFLAGS, Tag.REQUIREVERSION, [
        ['rpmlib(CompressedFileNames)', 8 | (1 << 24), '3.0.4-1'],
        ['/etc/synthetic.conf', 0, ''], // shipped and primary: dropped
        ['/opt/data/file', 0, ''], // shipped but not primary: kept
        ['virtual', 8, '2:3'], // same as a provide: dropped
        ['/bin/sh', PRE, ''],
        ['/bin/sh', PRE, ''], // duplicate of the last kept /bin/sh: dropped
        ['/bin/sh', POST, ''], // same pre value, same flags, version: dropped
        ['/bin/sh', PREUN, ''], // not pre: kept
        ['/bin/sh', P, ''], // pre again, differs from the last kept one: kept
        ['libc.so.6(GLIBC_2.4)(64bit)', 0, ''],
        ['libc.so.6(GLIBC_2.17)(64bit)', 0, ''],
        ['libc.so.6()(64bit)', 0, ''],
        ['weak', MISSINGOK | 12, '1.0'], // legacy recommend
        ['bad-epoch', 12, 'x:1.0'], // dropped
        ['odd', 12, ':1.0-'],
        ['odd2', 12, ' 7:1-2-3'],
        ['odd3', 6, '1.0'], // LT|GT: no flag name
        ['nover', 8, '-5'],
      ]),
      ...deps(Tag.OLDSUGGESTSNAME, Tag.OLDSUGGESTSFLAGS, Tag.OLDSUGGESTSVERSION, [
        ['old-suggest', 0, ''],
        ['old-strong', 1 << 27, ''],
      ]),
      ...deps(Tag.OLDENHANCESNAME, Tag.OLDENHANCESFLAGS, Tag.OLDENHANCESVERSION, [
        ['old-enhance', 0, ''],
        ['old-strong-enhance', 1 << 27, ''],
      ]),
      ...deps(Tag.RECOMMENDNAME, Tag.RECOMMENDFLAGS, Tag.RECOMMENDVERSION, [['new-recommend', 0, '']]),
      // Conflicts without a version tag: createrepo_c skips the whole list.
      arr(Tag.CONFLICTNAME, ['skipped']),
      int32(Tag.CONFLICTFLAGS, [0]),
      arr(Tag.BASENAMES, ['synthetic.conf', 'file', 'tool', 'dir', 'ghost']),
      arr(Tag.DIRNAMES, ['/etc/', '/opt/data/', '/usr/bin/', '/var/']),
      int32(Tag.DIRINDEXES, [0, 1, 2, 3, 3]),
      int16(Tag.FILEMODES, [0o100644, 0o100644, 0o100755, 0o040755, 0o100644]),
      int32(Tag.FILEFLAGS, [1, 0, 0, 0, 1 << 6]),
    ]),
  );
  assert.deepEqual(pkg.requires, [
    { name: '/opt/data/file' },
    { name: '/bin/sh', pre: true },
    { name: '/bin/sh' },
    { name: '/bin/sh', pre: true },
    { name: 'odd', flags: 'GE', epoch: '0', version: '1.0' },
    { name: 'odd2', flags: 'GE', epoch: ' 7', version: '1', release: '2-3' },
    { name: 'odd3', epoch: '0', version: '1.0' },
    { name: 'nover', flags: 'EQ', epoch: '0', version: '', release: '5' },
    { name: 'libc.so.6(GLIBC_2.17)(64bit)' },
  ]);
  assert.deepEqual(pkg.recommends, [{ name: 'weak', flags: 'GE', epoch: '0', version: '1.0' }, { name: 'new-recommend' }, { name: 'old-strong' }]);
  assert.deepEqual(pkg.suggests, [{ name: 'old-suggest' }]);
  assert.deepEqual(pkg.supplements, [{ name: 'old-strong-enhance' }]);
  assert.deepEqual(pkg.enhances, [{ name: 'old-enhance' }]);
  assert.deepEqual(pkg.conflicts, []);
  assert.deepEqual(pkg.provides[1], { name: 'virtual', flags: 'EQ', epoch: '2', version: '3' });
  assert.deepEqual(pkg.files, [
    { path: '/etc/synthetic.conf', type: 'file' },
    { path: '/opt/data/file', type: 'file' },
    { path: '/usr/bin/tool', type: 'file' },
    { path: '/var/dir', type: 'dir' },
    { path: '/var/ghost', type: 'ghost' },
  ]);
});

test('synthetic: legacy headers, source detection, epochs, changelog authors', () => {
  // A v3 header: no region, old file names, the NVR provide appended (with the epoch when there is one).
  const v3 = pkgOf(
    withBase([int32(Tag.EPOCH, [4]), arr(Tag.OLDFILENAMES, ['/usr/bin/a', '/usr/share/b']), int16(Tag.FILEMODES, [0o100755, 0o100644]), int32(Tag.FILEFLAGS, [0, 0])]),
    { legacy: true },
  );
  assert.equal(v3.epoch, '4');
  assert.deepEqual(
    v3.files.map((f) => f.path),
    ['/usr/bin/a', '/usr/share/b'],
  );
  assert.deepEqual(v3.provides, [{ name: 'synthetic', flags: 'EQ', epoch: '4', version: '1.0', release: '1' }]);

  // Neither SOURCERPM nor SOURCEPACKAGE: files in one unnamed directory make it a source package.
  const src = pkgOf(
    withBase([arr(Tag.OLDFILENAMES, ['synthetic.spec', 'synthetic.tar.gz']), int16(Tag.FILEMODES, [0o100644, 0o100644]), int32(Tag.FILEFLAGS, [0, 0])], [Tag.SOURCERPM]),
    { legacy: true },
  );
  assert.equal(src.arch, 'src');
  assert.equal(src.isSource, true);
  assert.deepEqual(src.provides, [], 'no NVR provide for source packages');
  const bin = pkgOf(withBase([], [Tag.SOURCERPM]));
  assert.equal(bin.isSource, false);
  assert.equal(bin.sourceRpm, '(none)', 'rpm fills in "(none)" and createrepo_c writes it');
  const flagged = pkgOf(withBase([int32(Tag.SOURCEPACKAGE, [1])], [Tag.SOURCERPM]), { leadType: 0 });
  assert.equal(flagged.arch, 'src');

  const cl = pkgOf(withBase([int32(Tag.CHANGELOGTIME, [300, 200]), arr(Tag.CHANGELOGNAME, ['Ann <a@x> - 1.0-1   ', ' ']), arr(Tag.CHANGELOGTEXT, ['- new', '- old'])]));
  assert.deepEqual(cl.changelogs, [
    { author: 'Ann <a@x> - 1.0-1', date: 300, text: '- new' },
    { author: ' ', date: 200, text: '- old' },
  ]);
});

test('synthetic: strings XML cannot carry refuse the package, wherever createrepo_c would', () => {
  refuses(buildRpm(withBase([i18n(Tag.SUMMARY, 'bell\u0007')])), /summary contains the control character 0x07/);
  refuses(buildRpm(withBase([str(Tag.URL, 'http://x/\u001b[0m')])), /url contains the control character 0x1b/);
  refuses(buildRpm(withBase([i18n(Tag.DESCRIPTION, 'ok \uffff')])), /description contains U\+FFFE or U\+FFFF/);
  refuses(buildRpm(withBase(deps(Tag.REQUIRENAME, Tag.REQUIREFLAGS, Tag.REQUIREVERSION, [['a\u0001b', 0, '']]))), /requires\[0\]\.name/);
  // Tabs and newlines are fine, and a dropped dependency does not count.
  const ok = pkgOf(withBase([i18n(Tag.DESCRIPTION, 'a\tb\r\nc'), ...deps(Tag.REQUIRENAME, Tag.REQUIREFLAGS, Tag.REQUIREVERSION, [['rpmlib(\u0001)', 0, '']])]));
  assert.equal(ok.description, 'a\tb\r\nc');
  // Invalid UTF-8 falls back to Latin-1 minus 0x80-0xBF.
  const latin = pkgOf(withBase([str(Tag.VENDOR, new Uint8Array([0x41, 0xe9, 0xa9, 0x42, 0xff]))]));
  assert.equal(latin.vendor, 'AéBÿ');
});

test('synthetic: malformed headers are refused with a precise message', () => {
  const good = buildRpm(BASE);
  const sigLength = 16 + 2 * 16 + 16 + 4; // region + SIZE entry, trailer, data
  const mainAt = 96 + sigLength + ((8 - (sigLength % 8)) % 8);
  const mainIl = BASE.length + 1;
  const patch = (mutate: (view: DataView, bytes: Uint8Array) => void) => {
    const copy = good.slice();
    mutate(new DataView(copy.buffer), copy);
    return copy;
  };
  const entryAt = (i: number) => mainAt + 16 + i * 16;
  const storeAt = mainAt + 16 + mainIl * 16;
  assert.doesNotThrow(() => parseRpm(good));

  refuses(
    patch((_, b) => (b[0] = 0)),
    /rpm lead: bad magic/,
  );
  refuses(
    patch((_, b) => (b[4] = 5)),
    /unsupported package version 5/,
  );
  refuses(
    patch((v) => v.setInt16(78, 1)),
    /illegal signature type/,
  );
  refuses(
    patch((_, b) => (b[96] = 0)),
    /rpm signature header: bad magic/,
  );
  refuses(
    patch((v) => v.setUint32(96 + 8, 33)),
    /signature header: 33 index entries is more than the limit of 32/,
  );
  refuses(
    patch((v) => v.setUint32(96 + 12, 64 * 1024 * 1024 + 1)),
    /signature header: data store of 67108865 bytes/,
  );
  refuses(
    patch((v) => v.setUint32(mainAt + 8, 0x10000)),
    /rpm header: 65536 index entries is more than the limit of 65535/,
  );
  refuses(
    patch((v) => v.setUint32(mainAt + 12, 0x10000000)),
    /rpm header: data store of 268435456 bytes/,
  );
  refuses(
    patch((v) => v.setUint32(mainAt + 8, 0)),
    /rpm header: no index entries/,
  );
  refuses(
    patch((_, b) => (b[mainAt + 5] = 1)),
    /rpm header: bad magic/,
  );
  // Entry 1 is NAME (tag 1000), a STRING.
  refuses(
    patch((v) => v.setInt32(entryAt(1) + 8, 100000)),
    /index entry 1 \(tag 1000\) points outside the data store \(offset 100000/,
  );
  refuses(
    patch((v) => v.setInt32(entryAt(1) + 8, -4)),
    /index entry 1 \(tag 1000\) points outside the data store/,
  );
  refuses(
    patch((v) => v.setUint32(entryAt(1) + 4, TagType.INT32)),
    /index entry 1 \(tag 1000\)/,
  );
  refuses(
    patch((v) => v.setUint32(entryAt(1) + 4, 12)),
    /index entry 1 \(tag 1000\): unknown data type 12/,
  );
  refuses(
    patch((v) => v.setUint32(entryAt(1) + 12, 0)),
    /index entry 1 \(tag 1000\): count is 0/,
  );
  refuses(
    patch((v) => v.setUint32(entryAt(1) + 12, 0xffffffff)),
    /index entry 1 \(tag 1000\): count 4294967295 is larger than the data store/,
  );
  refuses(
    patch((v) => v.setUint32(entryAt(3) + 12, 5)),
    /index entry 3 \(tag 1002\): a STRING entry has count 5, not 1/,
  );
  refuses(
    patch((v) => v.setInt32(entryAt(2) + 8, 0)),
    /index entry 2 \(tag 1001\): data at offset 0 overlaps the previous entry's data/,
  );
  refuses(
    patch((v) => v.setInt32(entryAt(1), 50)),
    /index entry 1 \(tag 50\): tag number below 100 is reserved/,
  );
  refuses(
    patch((v) => v.setInt32(entryAt(2), 1000)),
    /index entry 2 \(tag 1000\): duplicate of index entry 1/,
  );
  refuses(
    patch((_, b) => b.fill(0x41, storeAt, storeAt + 60)),
    /not all NUL-terminated|overlaps|account for/,
  );
  refuses(
    patch((v) => v.setInt32(entryAt(0) + 8, 0)),
    /region trailer is not a copy of the region tag 63/,
  );
  refuses(
    patch((v) => v.setUint32(entryAt(0) + 12, 15)),
    /region tag 63 has type 7 and count 15/,
  );
  refuses(
    patch((v) => v.setInt32(storeAt + v.getInt32(entryAt(0) + 8) + 8, -16)),
    /region covers 1 entries/,
  );
  refuses(good.subarray(0, 50), /file ends inside the lead \(50 bytes read, 112 needed\)/);
  refuses(good.subarray(0, 120), /file ends inside the signature header/);
  refuses(good.subarray(0, mainAt + 20), /file ends inside the main header/);

  // Type checks on the tags we read: EPOCH must be INT32, FILEMODES INT16.
  refuses(buildRpm(withBase([int16(Tag.EPOCH, [1])])), /tag 1003\): has type INT16, expected INT32/);
  refuses(buildRpm(withBase([int32(Tag.FILEMODES, [1])])), /tag 1030\): has type INT32, expected INT16/);
  // Inconsistent lists.
  refuses(buildRpm(withBase([arr(Tag.REQUIRENAME, ['a', 'b']), int32(Tag.REQUIREFLAGS, [0]), arr(Tag.REQUIREVERSION, ['', ''])])), /1049 has 2 names, 1 flags/);
  refuses(
    buildRpm(withBase([arr(Tag.BASENAMES, ['a']), arr(Tag.DIRNAMES, ['/']), int32(Tag.DIRINDEXES, [1]), int16(Tag.FILEMODES, [0]), int32(Tag.FILEFLAGS, [0])])),
    /directory index 1/,
  );
  refuses(buildRpm(withBase([arr(Tag.BASENAMES, ['a']), arr(Tag.DIRNAMES, ['/']), int32(Tag.DIRINDEXES, [0]), int32(Tag.FILEFLAGS, [0])])), /1 files but no FILEMODES/);
  refuses(buildRpm(withBase([int32(Tag.CHANGELOGTIME, [1, 2]), arr(Tag.CHANGELOGNAME, ['a']), arr(Tag.CHANGELOGTEXT, ['b', 'c'])])), /changelog has 2 CHANGELOGTIME/);
  refuses(buildRpm(withBase([], [Tag.NAME])), /no NAME tag/);
  // Signature tags: declared types, and not in the main header.
  refuses(buildRpm(BASE, { sig: [str(1000, '12')] }), /signature header: tag 1000 has type STRING, expected INT32/);
  refuses(buildRpm(BASE, { sig: [{ tag: 1004, type: TagType.BIN, value: new Uint8Array(15) }] }), /tag 1004 has count 15, expected 16/);
  refuses(buildRpm(withBase([str(273, 'abc')])), /rpm header: carries tag 273/);
  // A huge integer where an exact number is needed.
  refuses(buildRpm(withBase([{ tag: Tag.LONGSIZE, type: TagType.INT64, value: [2n ** 60n] }])), /beyond the largest exact number/);
});

test('reader: refuses early and never buffers announced bytes before they arrive', () => {
  const reader = new RpmReader();
  const bad = new Uint8Array(200);
  assert.throws(() => reader.push(bad), InvalidPackageError);
  assert.throws(() => reader.result(), /bad magic/, 'result() repeats the error');
  assert.throws(() => reader.push(new Uint8Array(10)), /bad magic/);

  // A signature header announcing 60 MiB: the reader waits for them without allocating them.
  const good = buildRpm(BASE);
  const head = good.slice(0, 112);
  new DataView(head.buffer).setUint32(96 + 12, 60 * 1024 * 1024);
  const before = process.memoryUsage().arrayBuffers;
  const waiting = new RpmReader();
  assert.equal(waiting.push(head), false);
  assert.equal(waiting.push(new Uint8Array(1000)), false);
  assert.ok(waiting.missing > 59 * 1024 * 1024);
  assert.ok(process.memoryUsage().arrayBuffers - before < 8 * 1024 * 1024, 'no allocation for announced bytes');
  assert.throws(() => waiting.result(), /file ends inside the signature header \(1112 bytes read/);

  const limited = new RpmReader({ maxHeaderBytes: 1024 * 1024 });
  assert.throws(() => limited.push(head), /more than the limit of 1048576/);
});

// ---------------------------------------------------------------------------------------------
// Small pieces

test('createrepo_c EVR split', () => {
  assert.deepEqual(splitDependencyEvr(''), {});
  assert.deepEqual(splitDependencyEvr('1.0'), { epoch: '0', version: '1.0' });
  assert.deepEqual(splitDependencyEvr('1.0-1'), { epoch: '0', version: '1.0', release: '1' });
  assert.deepEqual(splitDependencyEvr('2:1.0-1.fc30'), { epoch: '2', version: '1.0', release: '1.fc30' });
  assert.deepEqual(splitDependencyEvr('1.0-1-2'), { epoch: '0', version: '1.0', release: '1-2' });
  assert.deepEqual(splitDependencyEvr('1.0-'), { epoch: '0', version: '1.0' });
  assert.deepEqual(splitDependencyEvr('-1'), { epoch: '0', version: '', release: '1' });
  assert.deepEqual(splitDependencyEvr(':1'), { epoch: '0', version: '1' });
  assert.deepEqual(splitDependencyEvr('1:2:3'), { epoch: '1', version: '2:3' });
  assert.deepEqual(splitDependencyEvr('-3:1'), { epoch: '-3', version: '1' });
  assert.equal(splitDependencyEvr('a:1'), undefined);
  assert.equal(splitDependencyEvr('1a:1'), undefined);
  assert.equal(splitDependencyEvr(' :1'), undefined);
});

test('libc.so.6 comparison as createrepo_c', () => {
  assert.equal(compareLibcDependency('libc.so.6()(64bit)', 'libc.so.6(GLIBC_2.2.5)(64bit)'), 2);
  assert.equal(compareLibcDependency('libc.so.6(GLIBC_2.2.5)(64bit)', 'libc.so.6(GLIBC_2.34)(64bit)'), 2);
  assert.equal(compareLibcDependency('libc.so.6(GLIBC_2.34)(64bit)', 'libc.so.6(GLIBC_ABI_DT_RELR)(64bit)'), 1);
  assert.equal(compareLibcDependency('libc.so.6(GLIBC_2.4)', 'libc.so.6(GLIBC_2.4)'), 0);
  assert.equal(compareLibcDependency('libc.so.6', 'libc.so.6(GLIBC_2.4)'), 2);
  assert.equal(compareLibcDependency('libc.so.6(x', 'libc.so.6(y'), -1);
});

test('createrepoChangelogs matches a direct port of createrepo_c, on random runs of equal dates', () => {
  // The loop from parsehdr.c, written as directly as possible (prepend, walk the older list).
  const naive = (entries: RpmChangelog[], limit: number): RpmChangelog[] => {
    const list: RpmChangelog[] = [];
    let lastTime = 0;
    let left = limit;
    for (const e of entries) {
      if (!(left > 0 || left === -1)) break;
      list.unshift({ ...e });
      if (left !== -1) left--;
      if (lastTime === e.date) {
        let t = e.date;
        for (let i = 1; i < list.length && list[i].date === t; i++) {
          list[i].date++;
          t++;
        }
      } else {
        lastTime = e.date;
      }
    }
    return list;
  };
  const random = mulberry32(42);
  for (let round = 0; round < 500; round++) {
    const n = Math.floor(random() * 30);
    let date = 1000 + Math.floor(random() * 5);
    const entries: RpmChangelog[] = [];
    for (let i = 0; i < n; i++) {
      entries.push({ author: `a${i}`, date, text: `t${i}` });
      const step = random();
      if (step < 0.4) date -= 0;
      else if (step < 0.7) date -= 1;
      else if (step < 0.8) date += 1;
      else date -= Math.floor(random() * 4);
    }
    for (const limit of [-1, 0, 1, 3, 10]) {
      assert.deepEqual(createrepoChangelogs(entries, limit), naive(entries, limit), `round ${round} limit ${limit}`);
    }
  }
  // A million equal dates stays fast.
  const many = Array.from({ length: 1_000_000 }, () => ({ author: 'a', date: 5, text: '' }));
  const started = Date.now();
  const out = createrepoChangelogs(many, -1);
  assert.ok(Date.now() - started < 5000);
  assert.equal(out[0].date, 5);
  assert.equal(out[999_999].date, 5 + 999_999);
});

test("parse results hold no reference to the caller's buffer", async () => {
  const bytes = read(await selfBuilt('hello-2.0-1.x86_64.rpm')).slice();
  const result: RpmParseResult = parseRpm(bytes);
  const copy = structuredClone(result);
  bytes.fill(0);
  assert.deepEqual(result, copy);
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { deflateRawSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import { InvalidPackageError } from '../../../src/errors.ts';
import { parseDebControl } from '../../../src/formats/deb/control.ts';
import type { DebParseResult } from '../../../src/formats/deb/reader.ts';
import { DebReader, parseDeb, readDeb } from '../../../src/formats/deb/reader.ts';
import { formatDebVersion, parseDebVersion } from '../../../src/formats/deb/version.ts';
import { corpusFiles } from '../../helpers/corpus.ts';
import { benchmarkSpecs, buildDeb, buildVarietyCorpus, controlText, dpkgDebBuild, writeDebs } from '../../helpers/debs.ts';

const ENV = { ...process.env, LC_ALL: 'C.UTF-8' };

/** The third-party corpus's packages, when it is there (helpers/corpus.ts). */
function corpusDebs(): string[] {
  return corpusFiles((f) => /\.(deb|udeb|ddeb)$/.test(f));
}

let corpus: string[] = [];
let all: string[] = [];
const temp: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temp.push(dir);
  return dir;
};
after(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});
before(() => {
  corpus = buildVarietyCorpus(tempDir('repod-deb-corpus-'));
  all = [...corpusDebs(), ...corpus];
});

/** `dpkg-deb -c`: non-directory entries without "./", in archive order. */
function dpkgFiles(path: string): string[] {
  const out = execFileSync('dpkg-deb', ['-c', path], { encoding: 'utf8', env: ENV, maxBuffer: 1 << 26 });
  const files: string[] = [];
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const m = /^(\S)\S{9} \S+\s+\d+ \d{4}-\d\d-\d\d \d\d:\d\d (.*)$/.exec(line);
    assert.ok(m, `unexpected dpkg-deb -c line: ${line}`);
    const type = m[1]!;
    let name = m[2]!;
    if (type === 'd') continue;
    if (type === 'l') name = name.slice(0, name.indexOf(' -> '));
    if (type === 'h') name = name.slice(0, name.indexOf(' link to '));
    files.push(name.replace(/^\.\//, ''));
  }
  return files;
}

/** `dpkg-deb -f deb Field` for each field: the value exactly as dpkg parsed it. */
function dpkgFields(path: string, names: string[]): string[] {
  const script = names.map((n) => `dpkg-deb -f "$1" '${n}'; printf '\\0'`).join('\n');
  const out = execFileSync('sh', ['-c', script, 'sh', path], { encoding: 'utf8', env: ENV });
  return out
    .split('\0')
    .slice(0, names.length)
    .map((v) => v.replace(/\n$/, ''));
}

function chunked(bytes: Uint8Array, seed: number): Uint8Array[] {
  let x = seed;
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const size = 1 + (x % (x & 1 ? 97 : 65536));
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

async function readChunked(bytes: Uint8Array, seed: number): Promise<DebParseResult> {
  const reader = new DebReader();
  // pushes not awaited one by one: the reader must keep their order
  const pushes = chunked(bytes, seed).map((c) => reader.push(c));
  await Promise.all(pushes);
  return reader.finish();
}

test("generated packages (and the corpus's): control equals dpkg-deb -I / -f, files equal dpkg-deb -c", async () => {
  assert.ok(corpus.length >= 30, 'generated corpus built');
  const members = new Set<string>();
  for (const path of all) {
    const bytes = readFileSync(path);
    const result = await parseDeb(bytes);
    members.add(result.controlMember).add(result.dataMember);

    const rawControl = execFileSync('dpkg-deb', ['-I', path, 'control'], { encoding: 'utf8', env: ENV });
    assert.equal(result.control.text, rawControl, `${path}: control text`);
    const names = result.control.fields.map(([name]) => name);
    const values = dpkgFields(path, names);
    // dpkg-deb -f prints Version as parsed (a zero epoch dropped); every other value verbatim
    const ours = result.control.fields.map(([n, v]): [string, string] => [n, n === 'Version' ? formatDebVersion(parseDebVersion(v)) : v]);
    assert.deepEqual(
      ours,
      names.map((n, i) => [n, values[i]]),
      `${path}: field values`,
    );

    assert.deepEqual(result.files, dpkgFiles(path), `${path}: files`);
    assert.equal(result.formatVersion, '2.0');

    const chunkedResult = await readChunked(bytes, bytes.length);
    assert.deepEqual(chunkedResult.control.fields, result.control.fields, `${path}: chunked control`);
    assert.deepEqual(chunkedResult.files, result.files, `${path}: chunked files`);
  }
  for (const m of ['control.tar.gz', 'control.tar.xz', 'control.tar.zst', 'control.tar', 'data.tar.gz', 'data.tar.xz', 'data.tar.zst', 'data.tar']) {
    assert.ok(members.has(m), `corpus covers ${m}`);
  }
});

test('the fast test writer: dpkg-deb reads what it writes', async () => {
  const dir = tempDir('repod-deb-fast-');
  const paths = writeDebs(dir, benchmarkSpecs(200));
  for (const path of paths.filter((_, i) => i % 20 === 0)) {
    execFileSync('dpkg-deb', ['-I', path], { stdio: 'ignore' });
    const result = await parseDeb(readFileSync(path));
    assert.equal(result.control.text, execFileSync('dpkg-deb', ['-I', path, 'control'], { encoding: 'utf8' }));
    assert.deepEqual(result.files, dpkgFiles(path));
  }
});

test('readDeb() from a web stream, and files: false skips data.tar', async () => {
  const path = corpus.find((p) => p.includes('many-files'))!;
  const bytes = readFileSync(path);
  const viaStream = await readDeb(new Blob([bytes]).stream());
  assert.equal(viaStream.files.length, 300);
  const noFiles = await parseDeb(bytes, { files: false });
  assert.deepEqual(noFiles.files, []);
  assert.equal(noFiles.control.package, 'many-files');
});

test('control access: case-insensitive get, raw values as apt reads them', async () => {
  const result = await parseDeb(readFileSync(corpus.find((p) => p.includes('spaced-values'))!));
  const c = result.control;
  assert.equal(c.get('x-spaced'), 'two extra leading blanks');
  assert.equal(c.raw('X-Spaced'), '   two extra leading blanks');
  assert.equal(c.get('X-Trailing'), 'trailing blanks');
  assert.equal(c.get('X-Multi'), 'first\n  indented more\n\tand a tab');
  assert.equal(c.get('Nope'), undefined);
  assert.equal(c.package, 'spaced-values');
  assert.deepEqual(result.controlFiles, ['control']);
});

// ---- refusals ------------------------------------------------------------------------------

function ar(members: Array<[string, Uint8Array | string]>, magic = '!<arch>\n'): Buffer {
  const parts: Buffer[] = [Buffer.from(magic)];
  for (const [name, content] of members) {
    const data = Buffer.from(content);
    const h = Buffer.alloc(60, 0x20);
    h.write(name, 0, 'latin1');
    h.write('0', 16);
    h.write('0', 28);
    h.write('0', 34);
    h.write('100644', 40);
    h.write(String(data.length), 48);
    h.write('`\n', 58, 'latin1');
    parts.push(h, data);
    if (data.length % 2) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

function tarOf(entries: Array<{ name: string; content?: string; type?: string; link?: string }>): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const content = Buffer.from(e.content ?? '');
    const h = Buffer.alloc(512);
    h.write(e.name, 0);
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write(e.type ?? '0', 156);
    if (e.link) h.write(e.link, 157);
    h.write('ustar\x0000', 257, 'latin1');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(h, content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const CONTROL = 'Package: t\nVersion: 1.0\nArchitecture: all\nDescription: t\n';
const controlTar = (control = CONTROL) =>
  gzipSync(
    tarOf([
      { name: './', type: '5' },
      { name: './control', content: control },
    ]),
  );
const dataTar = (
  entries = [
    { name: './usr/', type: '5' },
    { name: './usr/a', content: 'a' },
  ],
) => gzipSync(tarOf(entries));
const deb = (overrides: { binary?: string; control?: Uint8Array; data?: Uint8Array } = {}) =>
  ar([
    ['debian-binary', overrides.binary ?? '2.0\n'],
    ['control.tar.gz', overrides.control ?? controlTar()],
    ['data.tar.gz', overrides.data ?? dataTar()],
  ]);

async function refused(bytes: Uint8Array, pattern: RegExp, options = {}): Promise<void> {
  await assert.rejects(parseDeb(bytes, options), (e: unknown) => {
    assert.ok(e instanceof InvalidPackageError, `not InvalidPackageError: ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('a minimal hand-made package parses; extra and underscore members are handled like dpkg', async () => {
  const ok = await parseDeb(deb());
  assert.deepEqual(ok.files, ['usr/a']);
  const withExtras = ar([
    ['debian-binary', '2.0\n'],
    ['_gpgorigin', 'signature'],
    ['control.tar.gz', controlTar()],
    ['_other', 'x'],
    ['data.tar.gz', dataTar()],
    ['anything-after', 'ignored'],
  ]);
  assert.deepEqual((await parseDeb(withExtras)).files, ['usr/a']);
  // GNU ar names end with '/'; debian-binary "2.9" with trailing text after the newline is fine
  const gnuNames = ar([
    ['debian-binary/', '2.9\nextra'],
    ['control.tar.gz/', controlTar()],
    ['data.tar.gz/', dataTar()],
  ]);
  assert.equal((await parseDeb(gnuNames)).formatVersion, '2.9');
  // the fast test writer's packages are read too
  const fast = await parseDeb(buildDeb({ name: 'fast', version: '1.0', files: [{ path: 'usr/bin/fast', content: 'x' }] }));
  assert.deepEqual(fast.files, ['usr/bin/fast']);
  assert.equal(fast.control.text, controlText({ name: 'fast', version: '1.0', files: [{ path: 'usr/bin/fast', content: 'x' }] }));
});

test('refuses malformed containers', async () => {
  await refused(Buffer.from('hello world, not a deb'), /no ar archive signature/);
  await refused(Buffer.alloc(0), /empty file/);
  await refused(Buffer.from('!<arch>'), /truncated ar signature/);
  await refused(ar([['control.tar.gz', controlTar()]]), /first ar member is 'control.tar.gz'/);
  await refused(deb({ binary: '3.0\n' }), /format version 3.0 is not supported/);
  await refused(deb({ binary: '2.0' }), /no newline/);
  await refused(deb({ binary: 'two\n' }), /invalid format version/);
  await refused(
    ar([
      ['debian-binary', '2.0\n'],
      ['data.tar.gz', dataTar()],
    ]),
    /premature member 'data.tar.gz' before 'control.tar'/,
  );
  await refused(
    ar([
      ['debian-binary', '2.0\n'],
      ['control.tar.gz', controlTar()],
      ['control.tar.gz', controlTar()],
      ['data.tar.gz', dataTar()],
    ]),
    /two control members/,
  );
  await refused(
    ar([
      ['debian-binary', '2.0\n'],
      ['control.tar.gz', controlTar()],
      ['random', 'x'],
      ['data.tar.gz', dataTar()],
    ]),
    /premature member 'random' before 'data.tar'/,
  );
  await refused(
    ar([
      ['debian-binary', '2.0\n'],
      ['control.tar.bz2', 'x'],
    ]),
    /unknown compression for member 'control.tar.bz2'/,
  );
  await refused(
    ar([
      ['debian-binary', '2.0\n'],
      ['control.tar.gz', controlTar()],
      ['data.tar.bz2', 'BZh'],
    ]),
    /bzip2 compression is not supported/,
  );
  await refused(
    ar([
      ['debian-binary', '2.0\n'],
      ['control.tar.gz', controlTar()],
      ['data.tar.foo', 'x'],
    ]),
    /unknown compression/,
  );
  await refused(
    ar([
      ['debian-binary', '2.0\n'],
      ['control.tar.gz', ''],
    ]),
    /zero-sized member/,
  );
  await refused(
    ar([
      ['debian-binary', '2.0\n'],
      ['control.tar.gz', controlTar()],
    ]),
    /no data.tar member/,
  );
  await refused(ar([['debian-binary', '2.0\n']]), /no control.tar member/);
  const whole = deb();
  await refused(whole.subarray(0, whole.length - 10), /truncated package: member 'data.tar.gz'/);
  await refused(whole.subarray(0, 8 + 30), /incomplete ar member header/);
  const badFmag = Buffer.from(whole);
  badFmag[8 + 58] = 0x41;
  await refused(badFmag, /bad member header magic/);
  const badSize = Buffer.from(whole);
  badSize[8 + 48] = 0x78;
  await refused(badSize, /invalid character in the size/);
});

test('refuses bad control archives and control files', async () => {
  const ctl = (entries: Parameters<typeof tarOf>[0]) => deb({ control: gzipSync(tarOf(entries)) });
  await refused(ctl([{ name: './md5sums', content: '' }]), /has no control file/);
  await refused(ctl([{ name: '/control', content: CONTROL }]), /absolute path/);
  await refused(ctl([{ name: './../control', content: CONTROL }]), /contains '..'/);
  await refused(ctl([{ name: './control', type: '2', link: '/etc/passwd' }]), /control is a symlink/);
  await refused(
    ctl([
      { name: './control', content: CONTROL },
      { name: 'control', content: CONTROL },
    ]),
    /two control files/,
  );
  await refused(
    ctl([
      { name: './control', content: CONTROL },
      { name: './x', type: 'x', content: 'path=y' },
    ]),
    /pax extended header/,
  );
  await refused(deb({ control: controlTar('Package: t\nArchitecture: all\n') }), /no Version field/);
  await refused(deb({ control: controlTar('Version: 1\nArchitecture: all\n') }), /no Package field/);
  await refused(deb({ control: controlTar('Package: t\nVersion: 1\n') }), /no Architecture field/);
  await refused(deb({ control: controlTar('Package: t\nVersion: 1.0-\nArchitecture: all\n') }), /invalid version '1.0-': revision number is empty/);
  await refused(deb({ control: controlTar('Package: t\nVersion: a1\nArchitecture: all\n') }), /does not start with digit/);
  await refused(deb({ control: controlTar('Package: T/x\nVersion: 1\nArchitecture: all\n') }), /invalid package name/);
  await refused(deb({ control: controlTar('Package: t\nVersion: 1\nArchitecture: am_d64\n') }), /invalid architecture/);
  await refused(deb({ control: controlTar('Package: t\nVersion: 1\nArchitecture: all\nSource: ../x\n') }), /source package name/);
  await refused(deb({ control: controlTar('Package: t\nVersion: 1\nArchitecture: all\nSource: x (1.0-)\n') }), /Source field version/);
  await refused(deb({ control: controlTar('Package: t\nVersion: 1\nArchitecture: all\npackage: u\n') }), /duplicate value for 'package'/);
  await refused(deb({ control: controlTar('Package: t\nVersion: 1\nArchitecture: all') }), /missing final newline/);
  await refused(deb({ control: controlTar('Package: t\nVersion: 1\nArchitecture: all\n\nPackage: u\n') }), /several stanzas/);
  await refused(deb({ control: controlTar('Package: t\nVersion: 1\nArchitecture: all\nDescription: a\n \n b\n') }), /blank line in value/);
  await refused(deb({ control: controlTar('Package t\nVersion: 1\n') }), /must be followed by colon/);
  await refused(deb({ control: controlTar('-Package: t\n') }), /cannot start with hyphen/);
  await refused(deb({ control: gzipSync(tarOf([{ name: './control', content: '' }])) }), /no fields/);
  const latin1 = Buffer.from('Package: t\nVersion: 1\nArchitecture: all\nMaintainer: J\xf6rg\n', 'latin1');
  // a control file in ISO-8859-1
  const h = tarOf([{ name: './control', content: 'x'.repeat(latin1.length) }]);
  latin1.copy(h, 512);
  await refused(deb({ control: gzipSync(h) }), /not valid UTF-8/);
});

test('parseDebControl: dpkg semantics for values', () => {
  const c = parseDebControl('\n\nPackage:   spaced  \nVersion: 1\nArchitecture: all\nDescription: short\n long line\n .\n next\nX-Empty:\nX-Cont:\n a\n');
  assert.equal(c.get('Package'), 'spaced');
  assert.equal(c.raw('Package'), '   spaced');
  assert.equal(c.get('Description'), 'short\n long line\n .\n next');
  assert.equal(c.get('X-Empty'), '');
  assert.equal(c.get('X-Cont'), '\n a');
  assert.equal(c.raw('X-Cont'), '\n a');
});

test('refuses bad data archives', async () => {
  const data = (entries: Parameters<typeof tarOf>[0]) => deb({ data: gzipSync(tarOf(entries)) });
  await refused(data([{ name: './usr/../../etc/passwd', content: 'x' }]), /contains '..'/);
  await refused(data([{ name: './x', type: 'S', content: '' }]), /GNU sparse file/);
  await refused(data([{ name: './x', type: '7', content: '' }]), /contiguous file/);
  await refused(data([{ name: './x', type: 'Q', content: '' }]), /unknown tar entry type/);
  const bad = tarOf([{ name: './a', content: 'a' }]);
  bad[0] ^= 1; // checksum no longer matches
  await refused(deb({ data: gzipSync(bad) }), /invalid tar header checksum/);
  await refused(deb({ data: gzipSync(tarOf([{ name: './a', content: 'abc' }]).subarray(0, 700)) }), /ends inside an entry/);
  await refused(deb({ data: gzipSync(tarOf([{ name: './a', content: 'abc' }]).subarray(0, 200)) }), /ends inside a header/);
  await refused(deb({ data: Buffer.from('not gzip at all') }), /data.tar.gz: gzip/);
  await refused(data(Array.from({ length: 20 }, (_, i) => ({ name: `./f${i}`, content: '' }))), /more than 10 entries/, { maxEntries: 10 });
  // data.tar without an end-of-archive block is accepted (as dpkg does); absolute names are stripped
  const noEnd = tarOf([{ name: '/abs/b', content: 'b' }]);
  assert.deepEqual((await parseDeb(deb({ data: gzipSync(noEnd.subarray(0, 1024)) }))).files, ['abs/b']);
});

/**
 * A gzip member whose data is `header` then `gib` GiB of zeros, built without compressing GiBs:
 * a deflate block for 64 MiB of zeros, flushed to a byte boundary with no history, is valid after
 * any prefix and can be repeated. The trailer CRC is wrong, which is never reached.
 */
function gzipBomb(header: Buffer, gib: number): Buffer {
  const aligned = { level: 9, finishFlush: zlibConstants.Z_FULL_FLUSH };
  const head = deflateRawSync(header, aligned);
  const block = deflateRawSync(Buffer.alloc(64 << 20), aligned);
  const last = deflateRawSync(Buffer.alloc(0));
  const gzipHeader = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
  return Buffer.concat([gzipHeader, head, ...Array(16 * gib).fill(block), last, Buffer.alloc(8)]);
}

function tarHeaderOf(name: string, size: number): Buffer {
  const h = tarOf([{ name, content: '' }]).subarray(0, 512);
  const out = Buffer.from(h);
  out.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  out.write('        ', 148);
  let sum = 0;
  for (const b of out) sum += b;
  out.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return out;
}

test('compression bombs are refused quickly', async (t) => {
  // control.tar.gz: a 1 GiB control file in 1 MiB
  let start = performance.now();
  await refused(deb({ control: gzipBomb(tarHeaderOf('./control', 1024 ** 3), 1) }), /control is larger than 16777216 bytes/);
  // ... or many entries whose total passes the limit
  await refused(deb({ control: gzipBomb(tarHeaderOf('./postinst', 1024 ** 3), 1) }), /more than 16777216 bytes once decompressed/);
  assert.ok(performance.now() - start < 3000);

  // data.tar.gz: 1 MiB holding a 1 GiB file, and 4 MiB holding 4 GiB (a single member each)
  for (const gib of [1, 4]) {
    const bomb = gzipBomb(tarHeaderOf('./usr/big', gib * 1024 ** 3), gib);
    assert.ok(bomb.length < gib * 1.1 * 2 ** 20, `bomb is ${bomb.length} bytes`);
    start = performance.now();
    await refused(deb({ data: bomb }), /decompresses to more than 256 times its size/);
    const elapsed = performance.now() - start;
    t.diagnostic(`data.tar.gz of ${bomb.length} bytes claiming ${gib} GiB refused in ${elapsed.toFixed(0)} ms`);
    assert.ok(elapsed < 8000 * gib, `${gib} GiB bomb refused after ${elapsed.toFixed(0)} ms`);
  }
  // a tar of nothing but zeros ends at once, but the rest is still decompressed (and limited)
  await refused(deb({ data: gzipBomb(Buffer.alloc(512), 1) }), /decompresses to more than 256 times/);
  // an absolute cap too
  await refused(deb({ data: gzipBomb(tarHeaderOf('./usr/big', 1024 ** 3), 1) }), /more than 1048576 bytes once decompressed/, { maxDataSize: 1 << 20 });
});

test('xz dictionary and zstd window limits', async () => {
  const dir = tempDir('repod-deb-limits-');
  const xz9 = readFileSync(dpkgDebBuild({ name: 'big-dict', version: '1' }, dir, { compression: 'xz', level: 9 }));
  // xz -9 declares a 64 MiB dictionary
  await refused(xz9, /dictionary of 67108864 bytes exceeds the limit of 8388608/, { maxWindow: 8 << 20 });
  assert.equal((await parseDeb(xz9)).control.package, 'big-dict');
  // a zstd frame header claiming a 1 GiB window (window descriptor exponent 20)
  const frame = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 20 << 3, 0x01, 0x00, 0x00]);
  await refused(
    ar([
      ['debian-binary', '2.0\n'],
      ['control.tar.gz', controlTar()],
      ['data.tar.zst', frame],
    ]),
    /zstd: window of 1073741824 bytes exceeds the limit/,
  );
});

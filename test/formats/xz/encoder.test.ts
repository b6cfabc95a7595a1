import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeXzBlock, type XzBlock } from '../../../src/formats/xz/block.ts';
import { encodeXz, xzStreamHeader, xzStreamTrailer } from '../../../src/formats/xz/container.ts';
import { XzDecoder } from '../../../src/formats/xz/decoder.ts';
import { corpusFile, needsCorpus } from '../../helpers/corpus.ts';
import { prng } from '../../helpers/prng.ts';

// Everything the encoder writes is checked by xz itself (xz -t, xz -dc, xz --list) and by our own
// decoder. Inputs are generated from fixed seeds, so a failure reproduces.

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function xz(args: string[], input: Uint8Array): Buffer {
  return execFileSync('xz', args, { input, maxBuffer: 1 << 30 });
}

function ourDecode(data: Uint8Array): Buffer {
  const parts: Uint8Array[] = [];
  const decoder = new XzDecoder((c) => parts.push(c));
  decoder.push(data);
  decoder.end();
  return Buffer.concat(parts);
}

/** Encodes `data` and checks the result with xz -t, xz -dc and our decoder. */
function roundTrip(data: Uint8Array, label: string, options?: Parameters<typeof encodeXz>[1]): Uint8Array {
  const encoded = encodeXz(data, options);
  xz(['-t'], encoded);
  assert.equal(sha(xz(['-dc'], encoded)), sha(data), `${label}: xz -dc`);
  assert.equal(sha(ourDecode(encoded)), sha(data), `${label}: XzDecoder`);
  return encoded;
}

function concat(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts);
}

/** Text shaped like a Debian Packages file: repetitive field names, vocabulary and paths, random digests. */
function packagesText(size: number, seed: number): Uint8Array {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const prefix = ['lib', 'py', 'gnome', 'qt', 'x', 'perl', 'node', 'golang', 'ruby', 'kde', 'font', 'tex', 'gst', 'gtk', 'ocaml', 'r-cran', 'php'];
  const stem = ['ssl', 'curl', 'xml', 'png', 'jpeg', 'z', 'bz2', 'lzma', 'ffi', 'uuid', 'yaml', 'json', 'http', 'dbus', 'glib', 'cairo', 'sqlite', 'icu'];
  const suffix = ['', '-dev', '-doc', '-dbg', '-common', '-utils', '-data', '3', '6', '1t64', '-tools', '-bin'];
  const maintainers = [
    'Debian Games Team <pkg-games-devel@lists.alioth.debian.org>',
    'Debian Python Team <team+python@tracker.debian.org>',
    'Debian Perl Group <pkg-perl-maintainers@lists.alioth.debian.org>',
    'Debian X Strike Force <debian-x@lists.debian.org>',
    'Jane Doe <jane@example.org>',
  ];
  const words = (
    'the a of and to for library development files this package contains provides support with data tools runtime ' +
    'module bindings python perl documentation shared static header interface command line utility server client plugin'
  ).split(' ');
  const sections = ['libs', 'libdevel', 'python', 'perl', 'games', 'doc', 'utils', 'net', 'x11', 'science', 'text'];
  const hex = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(r() * 16)];
    return s;
  };
  const sentence = (n: number): string => Array.from({ length: n }, () => pick(words)).join(' ');
  const parts: string[] = [];
  let total = 0;
  while (total < size) {
    const name = pick(prefix) + pick(stem) + pick(suffix);
    const version = `${1 + Math.floor(r() * 9)}.${Math.floor(r() * 30)}.${Math.floor(r() * 10)}-${1 + Math.floor(r() * 5)}`;
    const arch = r() < 0.7 ? 'amd64' : 'all';
    const depends = Array.from({ length: 1 + Math.floor(r() * 8) }, () => `${pick(prefix)}${pick(stem)}${pick(suffix)} (>= ${Math.floor(r() * 5)}.${Math.floor(r() * 20)})`);
    let s = `Package: ${name}\nVersion: ${version}\nInstalled-Size: ${Math.floor(r() * 100000)}\nMaintainer: ${pick(maintainers)}\n`;
    s += `Architecture: ${arch}\nDepends: ${depends.join(', ')}\nDescription: ${sentence(4 + Math.floor(r() * 6))}\n`;
    for (let i = Math.floor(r() * 4); i > 0; i--) s += ` ${sentence(8 + Math.floor(r() * 6))}\n`;
    s += `Homepage: https://${pick(stem)}.example.org/\nDescription-md5: ${hex(32)}\nSection: ${pick(sections)}\nPriority: optional\n`;
    s += `Filename: pool/main/${name[0]}/${name}/${name}_${version}_${arch}.deb\nSize: ${Math.floor(r() * 5_000_000)}\n`;
    s += `MD5sum: ${hex(32)}\nSHA256: ${hex(64)}\n\n`;
    parts.push(s);
    total += s.length;
  }
  return new TextEncoder().encode(parts.join('').slice(0, size));
}

function randomBytes(n: number, r: () => number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256);
  return out;
}

interface Chunk {
  control: number;
  unpacked: number;
  packed: number;
}

/** Walks the LZMA2 chunks of a one-block .xz file (header layout as written by encodeXzBlock). */
function lzma2Chunks(file: Uint8Array): Chunk[] {
  let pos = 12 + (file[12]! + 1) * 4;
  const chunks: Chunk[] = [];
  for (;;) {
    const control = file[pos]!;
    if (control === 0) return chunks;
    if (control === 1 || control === 2) {
      const size = ((file[pos + 1]! << 8) | file[pos + 2]!) + 1;
      chunks.push({ control, unpacked: size, packed: size });
      pos += 3 + size;
    } else {
      assert.ok(control >= 0x80, `control byte 0x${control.toString(16)}`);
      const unpacked = ((control & 0x1f) << 16) + (file[pos + 1]! << 8) + file[pos + 2]! + 1;
      const packed = (file[pos + 3]! << 8) + file[pos + 4]! + 1;
      chunks.push({ control, unpacked, packed });
      pos += (control >= 0xc0 ? 6 : 5) + packed;
    }
  }
}

/** `xz --robot --list` output for `file` (xz cannot list standard input). */
function xzList(file: Uint8Array, verbose: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'xz-encode-'));
  try {
    const path = join(dir, 'list.xz');
    writeFileSync(path, file);
    return execFileSync('xz', ['--robot', '--list', ...(verbose ? ['-vv'] : []), path]).toString();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `xz --robot --list -vv` block lines, as objects. */
function listBlocks(file: Uint8Array): Array<{ totalSize: number; uncompressedSize: number; headerSize: number; flags: string; compressedSize: number; filters: string }> {
  return xzList(file, true)
    .split('\n')
    .filter((line) => line.startsWith('block\t'))
    .map((line) => {
      const f = line.split('\t');
      return { totalSize: Number(f[6]), uncompressedSize: Number(f[7]), headerSize: Number(f[11]), flags: f[12]!, compressedSize: Number(f[13]), filters: f[15]! };
    });
}

test('empty input: stream header and trailer only', () => {
  const encoded = roundTrip(new Uint8Array(0), 'empty');
  assert.equal(encoded.length, 32);
  assert.deepEqual(Buffer.from(encoded), concat([xzStreamHeader(), xzStreamTrailer([])]));
  assert.deepEqual(listBlocks(encoded), []);
  // Same bytes as xz writes for empty input with a CRC32 check.
  assert.deepEqual(Buffer.from(encoded), xz(['-c', '--check=crc32'], new Uint8Array(0)));
});

test('tiny and short inputs', () => {
  const r = prng(1);
  roundTrip(new Uint8Array([0x41]), 'one byte');
  roundTrip(new Uint8Array([0]), 'one zero byte');
  roundTrip(new TextEncoder().encode('hello, hello, hello world'), 'short text');
  for (let n = 2; n <= 40; n++)
    roundTrip(
      randomBytes(n, () => (r() < 0.5 ? 0.1 : r())),
      `${n} bytes`,
    );
  // One byte is cheaper stored (3-byte chunk header) than range-coded (6 + 5 bytes).
  assert.deepEqual(lzma2Chunks(encodeXz(new Uint8Array([0x41]))), [{ control: 0x01, unpacked: 1, packed: 1 }]);
  const text = lzma2Chunks(encodeXz(new TextEncoder().encode('hello, hello, hello, hello world')));
  assert.equal(text.length, 1);
  assert.equal(text[0]!.control & 0xe0, 0xe0, 'a lone LZMA chunk resets dictionary, state and properties');
});

test('Packages text: several LZMA2 chunks, within 15% of xz -1', () => {
  const text = packagesText(2_600_000, 7);
  const encoded = roundTrip(text, 'packages');
  const chunks = lzma2Chunks(encoded);
  assert.ok(chunks.length >= 5, `${chunks.length} chunks`);
  assert.equal(chunks[0]!.control & 0xe0, 0xe0, 'first chunk: dictionary reset + properties');
  for (const c of chunks.slice(1)) assert.equal(c.control & 0xe0, 0x80, 'later chunks continue the state');
  for (const c of chunks) {
    assert.ok(c.unpacked <= 2 << 20 && c.packed <= 1 << 16, JSON.stringify(c));
  }
  assert.equal(
    chunks.reduce((n, c) => n + c.unpacked, 0),
    text.length,
  );
  const reference = xz(['-c', '-1', '-T1'], text).length;
  assert.ok(encoded.length <= reference * 1.15, `${encoded.length} bytes vs ${reference} for xz -1`);

  // Text just above 64 KiB, and a single chunk reaching the 2 MiB input limit.
  roundTrip(packagesText(70_000, 8), 'packages 70 KB');
  const runs = new Uint8Array((2 << 20) + 5000).fill(0x20);
  const runChunks = lzma2Chunks(roundTrip(runs, 'spaces'));
  assert.equal(runChunks[0]!.unpacked, 2 << 20, 'an LZMA chunk holds at most 2 MiB');
});

test('runs of one byte: longest matches, repeats and short repeats', () => {
  const zeros = new Uint8Array(1 << 20);
  const encoded = roundTrip(zeros, 'zeros');
  // 1 MiB of one byte in 273-byte matches: a few hundred bytes.
  assert.ok(encoded.length < 400, `${encoded.length} bytes`);
  const r = prng(2);
  const parts: Uint8Array[] = [];
  for (const len of [1, 2, 3, 272, 273, 274, 275, 276, 546, 547, 1000]) {
    parts.push(new Uint8Array(len).fill(0x61 + Math.floor(r() * 3)), new Uint8Array([0x7a]));
  }
  roundTrip(concat(parts), 'runs of assorted lengths');
  const ab = new Uint8Array(100_000);
  for (let i = 0; i < ab.length; i++) ab[i] = i % 7 === 0 ? 0x62 : 0x61;
  roundTrip(ab, 'periodic');
});

test('incompressible bytes go into uncompressed chunks', () => {
  const data = randomBytes(300_000, prng(3));
  const encoded = roundTrip(data, 'random');
  const chunks = lzma2Chunks(encoded);
  assert.equal(chunks[0]!.control, 0x01, 'first stored chunk resets the dictionary');
  for (const c of chunks.slice(1)) assert.equal(c.control, 0x02);
  for (const c of chunks) assert.ok(c.unpacked <= 1 << 16);
  // 3 bytes per 64 KiB, plus container overhead.
  assert.ok(encoded.length < data.length + 100, `${encoded.length} bytes`);
});

test('random and repetitive regions mixed: stored chunks between LZMA chunks', () => {
  const r = prng(4);
  const text = packagesText(400_000, 9);
  const noise = randomBytes(200_000, r);
  // Stored first, then LZMA: the LZMA chunk must send properties (0xC0) after control 0x01.
  const a = roundTrip(concat([noise.subarray(0, 100_000), text]), 'noise then text');
  const ca = lzma2Chunks(a);
  assert.equal(ca[0]!.control, 0x01);
  assert.ok(
    ca.some((c) => (c.control & 0xe0) === 0xc0),
    'properties after a stored start',
  );
  // LZMA, stored, LZMA: the encoder state is reset (0xA0) after stored chunks.
  const b = roundTrip(concat([text, noise, text.subarray(0, 200_000), noise.subarray(0, 70_000), text]), 'text noise text');
  const cb = lzma2Chunks(b);
  assert.equal(cb[0]!.control & 0xe0, 0xe0);
  assert.ok(cb.some((c) => c.control === 0x02));
  assert.ok(
    cb.some((c) => (c.control & 0xe0) === 0xa0),
    'state reset after stored chunks',
  );
  // The text after the noise still refers back to the first copy.
  assert.ok(b.length < a.length + noise.length + 70_000, `${b.length} bytes`);
});

test('several hundred seeded random inputs of varied size and structure', () => {
  const r = prng(20240601);
  const inputs: Uint8Array[] = [];
  const words = ['Package', 'Version', 'Depends', ': ', '\n', ' ', 'lib', '-dev', '(>= ', ')', ', ', '1.2.3', 'amd64'];
  for (let i = 0; i < 320; i++) {
    const size = r() < 0.5 ? Math.floor(r() * 300) : r() < 0.9 ? Math.floor(r() * 20_000) : Math.floor(r() * 300_000);
    const out = new Uint8Array(size);
    const alphabet = 1 + Math.floor(r() * (r() < 0.5 ? 4 : 256));
    let pos = 0;
    while (pos < size) {
      const kind = r();
      const len = Math.min(size - pos, 1 + Math.floor(r() * (r() < 0.8 ? 20 : 600)));
      if (kind < 0.3 || pos === 0) {
        for (let k = 0; k < len; k++) out[pos + k] = Math.floor(r() * alphabet);
      } else if (kind < 0.6) {
        // a copy of earlier bytes (overlapping when the distance is short)
        const dist = 1 + Math.floor(r() < 0.5 ? r() * Math.min(pos, 16) : r() * pos);
        for (let k = 0; k < len; k++) out[pos + k] = out[pos + k - dist]!;
      } else if (kind < 0.7) {
        out.fill(Math.floor(r() * 256), pos, pos + len);
      } else {
        const bytes = new TextEncoder().encode(words[Math.floor(r() * words.length)]!);
        out.set(bytes.subarray(0, len), pos);
        pos += Math.min(len, bytes.length);
        continue;
      }
      pos += len;
    }
    inputs.push(out);
  }

  const encoded = inputs.map((input, i) => {
    const options = i % 5 === 0 ? { depth: 1 + (i % 40), niceLength: 2 + (i % 272) } : undefined;
    const e = encodeXz(input, options);
    assert.equal(sha(ourDecode(e)), sha(input), `input ${i} (${input.length} bytes): XzDecoder`);
    return e;
  });
  // xz reads concatenated streams: one process checks every file.
  const all = concat(encoded);
  xz(['-t'], all);
  const decoded = xz(['-dc'], all);
  if (sha(decoded) !== sha(concat(inputs))) {
    for (let i = 0; i < inputs.length; i++) {
      assert.equal(sha(xz(['-dc'], encoded[i]!)), sha(inputs[i]!), `input ${i} (${inputs[i]!.length} bytes): xz -dc`);
    }
  }
  assert.equal(
    decoded.length,
    inputs.reduce((n, x) => n + x.length, 0),
  );
});

test('blocks encoded separately join into one stream that xz lists block by block', () => {
  const text = packagesText(1_500_000, 11);
  const cuts = [0, 1, 200_000, 200_007, 900_000, text.length];
  const slices = cuts.slice(1).map((end, i) => text.subarray(cuts[i], end));
  const blocks: XzBlock[] = slices.map((s) => encodeXzBlock(s));
  for (const b of blocks) assert.equal(b.bytes.length % 4, 0);
  const file = concat([xzStreamHeader(), ...blocks.map((b) => b.bytes), xzStreamTrailer(blocks)]);
  xz(['-t'], file);
  assert.equal(sha(xz(['-dc'], file)), sha(text));
  assert.equal(sha(ourDecode(file)), sha(text));

  const listed = listBlocks(file);
  assert.equal(listed.length, blocks.length);
  listed.forEach((l, i) => {
    const b = blocks[i]!;
    assert.equal(l.uncompressedSize, slices[i]!.length, `block ${i} uncompressed size`);
    assert.equal(l.totalSize, b.bytes.length, `block ${i} total size`);
    assert.equal(l.flags, 'cu', 'both sizes in the block header');
    assert.equal(l.compressedSize, b.unpaddedSize - l.headerSize - 4, `block ${i} compressed size`);
  });
  const summary = xzList(file, false);
  const fileLine = summary
    .split('\n')
    .find((line) => line.startsWith('file\t'))!
    .split('\t');
  assert.equal(Number(fileLine[2]), blocks.length);
  assert.equal(Number(fileLine[3]), file.length);
  assert.equal(Number(fileLine[4]), text.length);

  // Blocks of any origin can be mixed: one block moved to a stream of its own still decodes.
  const alone = concat([xzStreamHeader(), blocks[3]!.bytes, xzStreamTrailer([blocks[3]!])]);
  assert.equal(sha(xz(['-dc'], alone)), sha(slices[3]!));
});

test('dictionary size: smallest valid size holding the input, capped', () => {
  const dictOf = (data: Uint8Array, options?: Parameters<typeof encodeXz>[1]): string => listBlocks(encodeXz(data, options))[0]!.filters;
  assert.equal(dictOf(new Uint8Array(1)), '--lzma2=dict=4KiB');
  assert.equal(dictOf(new Uint8Array(4096)), '--lzma2=dict=4KiB');
  assert.equal(dictOf(new Uint8Array(4097)), '--lzma2=dict=6KiB');
  assert.equal(dictOf(new Uint8Array(6145)), '--lzma2=dict=8KiB');
  assert.equal(dictOf(new Uint8Array(1_000_000)), '--lzma2=dict=1MiB');
  assert.equal(dictOf(new Uint8Array(1_100_000)), '--lzma2=dict=1536KiB');
  assert.equal(dictOf(new Uint8Array(9_000_000)), '--lzma2=dict=8MiB');
  assert.equal(dictOf(new Uint8Array(9_000_000), { maxDictSize: 5_000_000 }), '--lzma2=dict=4MiB');
  assert.throws(() => encodeXz(new Uint8Array(10), { maxDictSize: 1000 }), RangeError);

  // Matches never reach beyond the declared dictionary: the same 300 KB of noise twice, 64 KiB
  // dictionary, must be stored twice rather than matched.
  const noise = randomBytes(300_000, prng(5));
  const twice = concat([noise, noise]);
  const small = roundTrip(twice, 'noise twice, small dictionary', { maxDictSize: 64 << 10 });
  assert.ok(small.length > twice.length, `${small.length} bytes`);
  const large = roundTrip(twice, 'noise twice');
  assert.ok(large.length < noise.length + 10_000, `${large.length} bytes`);
});

test('real files from the third-party corpus', { skip: needsCorpus() }, () => {
  for (const name of ['Fedora-19-comps.xml', 'hello_2.10-3_amd64.deb', 'cowsay_3.03+dfsg2-8.dsc', 'pulp-fixtures-updateinfo.xml']) {
    const data = readFileSync(corpusFile(name));
    const encoded = roundTrip(data, name);
    const reference = xz(['-c', '-1', '-T1'], data).length;
    assert.ok(encoded.length <= reference * 1.15 + 64, `${name}: ${encoded.length} bytes vs ${reference} for xz -1`);
  }
});

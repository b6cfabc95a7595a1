import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { XzDecoder, XzError } from '../../../src/formats/xz/decoder.ts';
import { prng } from '../../helpers/prng.ts';

function xz(input: Uint8Array, args: string[]): Buffer {
  return execFileSync('xz', ['-c', '-T1', ...args], { input, maxBuffer: 1 << 30 });
}

function decode(data: Uint8Array, rand: () => number, maxChunk = 70000): { out: Buffer; chunks: number } {
  const parts: Uint8Array[] = [];
  let chunks = 0;
  const decoder = new XzDecoder((c) => {
    parts.push(c);
    chunks++;
  });
  let offset = 0;
  while (offset < data.length) {
    const n = 1 + Math.floor(rand() * maxChunk);
    decoder.push(data.subarray(offset, offset + n));
    offset += n;
  }
  decoder.end();
  return { out: Buffer.concat(parts), chunks };
}

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

// Inputs: text-like (matches at all distances), random (uncompressed LZMA2 chunks), zeros (long
// matches), and a mix.
const rand0 = prng(42);
const words = ['package', 'repository', 'debian', 'version', 'control', 'data', 'tar', 'xz', '\n', ' ', 'lzma2', '0123', 'Ü'];
let text = '';
while (text.length < 250_000) text += words[Math.floor(rand0() * words.length)]!;
const TEXT = Buffer.from(text);
const RANDOM = Buffer.from(Array.from({ length: 150_000 }, () => Math.floor(rand0() * 256)));
const ZEROS = Buffer.alloc(1_000_000);
const MIX = Buffer.concat([TEXT.subarray(0, 100_000), RANDOM.subarray(0, 50_000), ZEROS.subarray(0, 300_000), TEXT.subarray(50_000, 250_000)]);
const INPUTS: Record<string, Buffer> = { text: TEXT, random: RANDOM, zeros: ZEROS, mix: MIX, empty: Buffer.alloc(0), one: Buffer.from('x') };

const SETTINGS: string[][] = [
  ['-0'],
  ['-1'],
  ['-6'],
  ['-9'],
  ['-6e'],
  ['--check=none'],
  ['--check=crc32'],
  ['--check=crc64'],
  ['--check=sha256'],
  ['--block-size=100000'],
  ['--lzma2=preset=6,dict=4KiB'],
  ['--lzma2=preset=6,dict=64KiB,lc=0,lp=0,pb=0'],
  ['--lzma2=preset=6,dict=1MiB,lc=4,lp=0,pb=4'],
  ['--lzma2=preset=6,dict=96KiB,lc=0,lp=4,pb=2'],
  ['--lzma2=preset=6,dict=12KiB,lc=1,lp=3,pb=1,mf=hc4,mode=fast'],
  ['--lzma2=preset=9,dict=256KiB,nice=273,mf=bt4,depth=0'],
];

test('decodes what xz writes, for every setting and input, in random chunk sizes', () => {
  const rand = prng(7);
  let cases = 0;
  for (const args of SETTINGS) {
    for (const [name, input] of Object.entries(INPUTS)) {
      const compressed = xz(input, args);
      const { out } = decode(compressed, rand, rand() < 0.3 ? 13 : 70000);
      assert.equal(out.length, input.length, `${name} ${args.join(' ')}: length`);
      assert.equal(sha(out), sha(input), `${name} ${args.join(' ')}: content`);
      cases++;
    }
  }
  assert.equal(cases, SETTINGS.length * Object.keys(INPUTS).length);
});

test('multi-threaded xz (several blocks with sizes in their headers) and concatenated streams with padding', () => {
  const rand = prng(8);
  const input = Buffer.concat([MIX, MIX, TEXT]);
  const multi = execFileSync('xz', ['-c', '-T2', '--block-size=300000', '-3'], { input, maxBuffer: 1 << 30 });
  assert.equal(sha(decode(multi, rand).out), sha(input));
  const a = xz(TEXT, ['-1']);
  const b = xz(RANDOM, ['-6', '--check=crc32']);
  const joined = Buffer.concat([a, Buffer.alloc(8), b, Buffer.alloc(4)]);
  assert.equal(sha(decode(joined, rand).out), sha(Buffer.concat([TEXT, RANDOM])));
});

test('a large input: byte exact, and in linear time', (t) => {
  const input = Buffer.concat(Array.from({ length: 24 }, (_, i) => Buffer.concat([TEXT.subarray(i * 1000), RANDOM.subarray(0, 6_000 * i)])));
  const compressed = xz(input, ['-6']);
  const start = performance.now();
  const { out } = decode(compressed, prng(9), 1 << 20);
  const ms = performance.now() - start;
  assert.equal(sha(out), sha(input));
  t.diagnostic(`${(input.length / 1e6).toFixed(1)} MB decoded in ${ms.toFixed(0)} ms`);
  // Speed is the bench's to measure; this bound only catches a decoder gone quadratic (minutes),
  // with room for a loaded CI machine (it takes about a second here).
  assert.ok(ms < 30_000, `${(input.length / 1e6).toFixed(1)} MB in ${ms.toFixed(0)} ms`);
});

test('refuses what it cannot or must not decode', () => {
  const refuse = (data: Uint8Array, pattern: RegExp, options = {}) => {
    assert.throws(
      () => {
        const d = new XzDecoder(() => {}, options);
        d.push(data);
        d.end();
      },
      (e: unknown) => e instanceof XzError && pattern.test(e.message),
      String(pattern),
    );
  };
  const good = xz(TEXT, ['-6']);
  refuse(good.subarray(0, good.length - 1), /truncated/);
  refuse(good.subarray(0, 100), /truncated/);
  refuse(Buffer.alloc(0), /empty/);
  refuse(xz(TEXT, ['--x86', '--lzma2']), /unsupported filter/);
  refuse(xz(TEXT, ['--delta=dist=4', '--lzma2']), /filter chain|unsupported filter/);
  refuse(execFileSync('xz', ['-c', '--format=lzma'], { input: TEXT }), /magic/);
  refuse(good, /exceeds the limit/, { maxDictSize: 1 << 20 });
  refuse(Buffer.concat([good, Buffer.alloc(3)]), /padding/);
  refuse(Buffer.concat([good, Buffer.from([1, 2, 3, 4])]), /truncated/);
  refuse(Buffer.concat([good, Buffer.from('0123456789abcdef')]), /magic/);
  // a flipped byte in the middle of the compressed data
  const flipped = Buffer.from(good);
  flipped[Math.floor(flipped.length / 2)] ^= 0x10;
  assert.throws(() => {
    const d = new XzDecoder(() => {});
    d.push(flipped);
    d.end();
  }, XzError);
  // the check catches corruption the LZMA decoder does not notice
  const crc = xz(RANDOM, ['-0', '--check=crc64']);
  const c2 = Buffer.from(crc);
  c2[200] ^= 1; // inside an uncompressed chunk: decodes, but the CRC64 differs
  refuse(c2, /CRC64 mismatch/);
});

test('a throwing sink stops the decoder', () => {
  const d = new XzDecoder(() => {
    throw new Error('enough');
  });
  assert.throws(() => d.push(xz(TEXT, ['-1'])), /enough/);
  assert.throws(() => d.push(Buffer.alloc(1)), /enough/);
});

/**
 * Every integrity check the member formats carry is verified by the .deb reader, and each test
 * below damages exactly what one check covers in a real dpkg-deb package and expects both repod
 * and dpkg-deb to refuse it (issue 10 §3: a .deb whose control.tar.zst had a flipped byte was
 * published, dpkg-deb refused it with "Restored data doesn't match checksum").
 *
 * - zstd: frame content checksum (XXH64), declared content size;
 * - xz: CRC32 / CRC64 / SHA-256 block checks, the index (its CRC and its records);
 * - gzip: CRC-32 and ISIZE of every member;
 * - tar: header checksums.
 */

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync, crc32 as zlibCrc32 } from 'node:zlib';
import { InvalidPackageError } from '../../../src/errors.ts';
import { Xxh64 } from '../../../src/formats/checksums/xxhash64.ts';
import { parseDeb } from '../../../src/formats/deb/reader.ts';
import type { DebSpec } from '../../helpers/debs.ts';
import { dpkgDebBuild } from '../../helpers/debs.ts';
import { pseudoRandomBytes } from '../../helpers/prng.ts';

// ---- helpers -------------------------------------------------------------------------------

interface ArMember {
  name: string;
  header: number;
  data: number;
  size: number;
}

function arMembers(deb: Uint8Array): ArMember[] {
  const b = Buffer.from(deb.buffer, deb.byteOffset, deb.length);
  const out: ArMember[] = [];
  for (let pos = 8; pos + 60 <= b.length; ) {
    const name = b.toString('latin1', pos, pos + 16).trim();
    const size = parseInt(b.toString('latin1', pos + 48, pos + 58), 10);
    out.push({ name, header: pos, data: pos + 60, size });
    pos += 60 + size + (size % 2);
  }
  return out;
}

function member(deb: Uint8Array, prefix: string): ArMember {
  const m = arMembers(deb).find((x) => x.name.startsWith(prefix));
  assert.ok(m, `no ${prefix} member`);
  return m;
}

/** The package with one member's content replaced (its ar header keeps all but the size). */
function replaceMember(deb: Buffer, name: string, content: Uint8Array, newName = name): Buffer {
  const parts: Buffer[] = [deb.subarray(0, 8)];
  for (const m of arMembers(deb)) {
    const header = Buffer.from(deb.subarray(m.header, m.data));
    let body = deb.subarray(m.data, m.data + m.size);
    if (m.name === name) {
      body = Buffer.from(content);
      header.write(newName.padEnd(16, ' '), 0, 'latin1');
      header.write(String(body.length).padEnd(10, ' '), 48, 'latin1');
    }
    parts.push(header, body);
    if (body.length % 2) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

function flipAt(deb: Buffer, offset: number, mask = 0x01): Buffer {
  const out = Buffer.from(deb);
  out[offset]! ^= mask;
  return out;
}

let dir = '';
let counter = 0;
function save(bytes: Uint8Array): string {
  const path = join(dir, `case-${++counter}.deb`);
  writeFileSync(path, bytes);
  return path;
}

type DpkgPart = 'info' | 'data' | 'contents';

/**
 * dpkg-deb's verdicts: --info reads control.tar; --fsys-tarfile decompresses data.tar to its end
 * (without parsing the tar); --contents also walks data.tar's headers (through tar).
 */
function dpkg(bytes: Uint8Array): Record<DpkgPart, boolean> & { stderr: string } {
  const path = save(bytes);
  // timeout: dpkg-deb can spin for minutes on some corrupted members.
  const runs = { info: '--info', data: '--fsys-tarfile', contents: '--contents' } as const;
  const out = { stderr: '' } as Record<DpkgPart, boolean> & { stderr: string };
  for (const [part, option] of Object.entries(runs) as Array<[DpkgPart, string]>) {
    const r = spawnSync('timeout', ['20', 'dpkg-deb', option, path], { stdio: ['ignore', 'ignore', 'pipe'] });
    out[part] = r.status === 0;
    out.stderr += r.stderr;
  }
  return out;
}

async function repodRefuses(bytes: Uint8Array, pattern: RegExp): Promise<void> {
  await assert.rejects(parseDeb(bytes), (e: unknown) => {
    assert.ok(e instanceof InvalidPackageError, `expected InvalidPackageError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

/** The variant is refused by repod (with a message matching `pattern`) and by dpkg-deb. */
async function bothRefuse(bytes: Buffer, pattern: RegExp, part: DpkgPart): Promise<void> {
  await repodRefuses(bytes, pattern);
  const verdict = dpkg(bytes);
  assert.equal(verdict[part], false, `dpkg-deb accepted the variant (${part})`);
}

async function bothAccept(bytes: Buffer): Promise<void> {
  await parseDeb(bytes);
  const verdict = dpkg(bytes);
  assert.ok(verdict.info && verdict.data && verdict.contents, `dpkg-deb refused the base: ${verdict.stderr}`);
}

function tool(cmd: string, args: string[], input: Uint8Array): Buffer {
  return execFileSync(cmd, args, { input, maxBuffer: 1 << 28 });
}

/** data.tar of a package, as dpkg-deb extracts it. */
function dataTar(deb: Uint8Array): Buffer {
  return execFileSync('dpkg-deb', ['--fsys-tarfile', save(deb)], { maxBuffer: 1 << 28 });
}

// ---- packages ------------------------------------------------------------------------------

const SPEC: DebSpec = {
  name: 'checks',
  version: '1.0-1',
  description: { summary: 'integrity checks', long: ['A package whose members get damaged.'] },
  files: [
    { path: 'usr/share/checks/text', content: 'some text that compresses well\n'.repeat(2000) },
    // incompressible: zstd stores it in raw blocks, gzip in stored blocks
    { path: 'usr/share/checks/random.bin', content: pseudoRandomBytes(300_000, 7) },
  ],
};

const debs: Record<'gzip' | 'xz' | 'zstd' | 'none', Buffer> = {} as never;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'repod-checksums-'));
  for (const compression of ['gzip', 'xz', 'zstd', 'none'] as const) {
    debs[compression] = readFileSync(dpkgDebBuild(SPEC, dir, { compression, fileName: `base-${compression}.deb` }));
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

// ---- hashes --------------------------------------------------------------------------------

test('XXH64: published vectors, chunking, and agreement with the checksums zstd writes', () => {
  const enc = new TextEncoder();
  // Reference values from xxhsum -H64 (xxHash 0.8.1).
  const vectors: Array<[string, string]> = [
    ['', 'ef46db3751d8e999'],
    ['a', 'd24ec4f1a98c6e5b'],
    ['abc', '44bc2cf5ad770999'],
    ['Nobody inspects the spammish repetition', 'fbcea83c8a378bf1'],
    ['x'.repeat(100), '92f0de5a88a3c094'],
  ];
  for (const [input, hex] of vectors) assert.equal(new Xxh64().update(enc.encode(input)).digest().toString(16).padStart(16, '0'), hex, JSON.stringify(input));

  // Every tail length (0..31 bytes after the stripes) and every split point of a 100-byte input.
  const data = pseudoRandomBytes(1 << 20, 3);
  const whole = new Xxh64().update(data).digest();
  const pieces = new Xxh64();
  for (let i = 0; i < data.length; i += 1 + (i % 97)) pieces.update(data.subarray(i, i + 1 + (i % 97)));
  assert.equal(pieces.digest(), whole);
  const small = data.subarray(0, 100);
  const ref = new Xxh64().update(small).digest();
  for (let cut = 0; cut <= 100; cut++) assert.equal(new Xxh64().update(small.subarray(0, cut)).update(small.subarray(cut)).digest(), ref);

  // zstd stores the low 32 bits of XXH64 of the content after the last block of a frame.
  for (const n of [0, 1, 7, 31, 32, 33, 1000, 65_537]) {
    const input = data.subarray(0, n);
    const frame = tool('zstd', ['-q', '-c', '--check'], input);
    const stored = frame.readUInt32LE(frame.length - 4);
    assert.equal(new Xxh64().update(input).digestHalves()[1], stored, `length ${n}`);
  }
});

// ---- zstd ----------------------------------------------------------------------------------

interface ZstdLayout {
  blocks: Array<{ header: number; type: number; size: number }>;
  checksum: number | undefined; // offset of the stored checksum
  fcs: { offset: number; bytes: number } | undefined;
}

/** Walks one zstd frame at the start of `b`. */
function zstdLayout(b: Uint8Array): ZstdLayout {
  assert.equal(Buffer.from(b.subarray(0, 4)).readUInt32LE(0), 0xfd2fb528);
  const fhd = b[4]!;
  const single = (fhd >> 5) & 1;
  const fcsFlag = fhd >> 6;
  const fcsBytes = fcsFlag === 0 ? single : 1 << fcsFlag;
  const fcsOffset = 5 + (single ? 0 : 1);
  let pos = fcsOffset + fcsBytes;
  const blocks: ZstdLayout['blocks'] = [];
  for (;;) {
    const h = b[pos]! | (b[pos + 1]! << 8) | (b[pos + 2]! << 16);
    const type = (h >> 1) & 3;
    const size = h >>> 3;
    blocks.push({ header: pos, type, size });
    pos += 3 + (type === 1 ? 1 : size);
    if (h & 1) break;
  }
  return { blocks, checksum: fhd & 4 ? pos : undefined, fcs: fcsBytes ? { offset: fcsOffset, bytes: fcsBytes } : undefined };
}

test('zstd: a flipped byte of the frame checksum of control.tar.zst is refused', async () => {
  const deb = debs.zstd;
  await bothAccept(deb);
  const m = member(deb, 'control.tar.zst');
  const layout = zstdLayout(deb.subarray(m.data, m.data + m.size));
  assert.ok(layout.checksum !== undefined, 'dpkg-deb writes frame checksums');
  for (const i of [0, 3]) {
    await bothRefuse(flipAt(deb, m.data + layout.checksum + i, 0x10), /control\.tar\.zst: zstd: frame content checksum mismatch/, 'info');
  }
});

test('zstd: a flipped byte inside a raw block of data.tar.zst (content changes, decoding does not fail) is refused', async () => {
  const deb = debs.zstd;
  const m = member(deb, 'data.tar.zst');
  const layout = zstdLayout(deb.subarray(m.data, m.data + m.size));
  const raw = layout.blocks.find((blk) => blk.type === 0 && blk.size > 1000);
  assert.ok(raw, 'the random file is stored in raw blocks');
  const variant = flipAt(deb, m.data + raw.header + 3 + (raw.size >> 1));
  // Without the checksum this variant decodes to a valid tar with one different content byte.
  await bothRefuse(variant, /data\.tar\.zst: zstd: frame content checksum mismatch/, 'data');
});

test('zstd: a frame whose output differs from its declared content size is refused', async () => {
  // A frame without checksum (so only the size check can catch it) and with a content size in a
  // window-descriptor header (so changing the size does not change the window).
  const tar = dataTar(debs.zstd);
  const frame = tool('zstd', ['-q', '-c', '--no-check', '-1', '--single-thread', '--zstd=wlog=17', `--stream-size=${tar.length}`], tar);
  const layout = zstdLayout(frame);
  assert.ok(layout.fcs && layout.checksum === undefined && (frame[4]! & 0x20) === 0, `frame header 0x${frame[4]!.toString(16)}`);
  const good = replaceMember(debs.zstd, 'data.tar.zst', frame);
  await bothAccept(good);
  const m = member(good, 'data.tar.zst');
  // One more byte declared than the frame holds (tar.length is a multiple of 512, so no carry).
  const variant = flipAt(good, m.data + layout.fcs.offset, 0x01);
  await bothRefuse(variant, /data\.tar\.zst: zstd: frame decodes to \d+ bytes, its header says \d+/, 'data');
});

test('zstd: a member is one frame, as dpkg-deb reads it (it stops after the first frame)', async () => {
  const tar = dataTar(debs.zstd);
  const cuts = [0, 150_000, tar.length];
  const frames = cuts.slice(1).map((end, i) => tool('zstd', ['-q', '-c', '--check'], tar.subarray(cuts[i], end)));
  const skippable = Buffer.concat([Buffer.from([0x5a, 0x2a, 0x4d, 0x18]), Buffer.from([5, 0, 0, 0]), Buffer.from('hello')]);
  // dpkg-deb --fsys-tarfile succeeds with only the first frame's bytes: the tar is cut short, so
  // listing (and unpacking) fails.
  const pattern = /data\.tar\.zst: zstd: data after the end of the first frame/;
  await bothRefuse(replaceMember(debs.zstd, 'data.tar.zst', Buffer.concat(frames)), pattern, 'contents');
  await bothRefuse(replaceMember(debs.zstd, 'data.tar.zst', Buffer.concat([frames[0]!, skippable, frames[1]!])), pattern, 'contents');
  await bothRefuse(replaceMember(debs.zstd, 'data.tar.zst', Buffer.concat([skippable, ...frames])), /data\.tar\.zst: zstd: skippable frame at the start/, 'contents');
});

// ---- xz ------------------------------------------------------------------------------------

interface XzLayout {
  index: number; // offset of the index
  indexSize: number;
  checkSize: number;
}

function xzLayout(b: Uint8Array): XzLayout {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  const footer = buf.length - 12;
  assert.equal(buf.toString('latin1', footer + 10, footer + 12), 'YZ');
  const indexSize = (buf.readUInt32LE(footer + 4) + 1) * 4;
  const checkSize = { 0: 0, 1: 4, 4: 8, 10: 32 }[buf[footer + 9]! & 0x0f]!;
  return { index: footer - indexSize, indexSize, checkSize };
}

/** The package with data.tar.xz recompressed by xz with the given check type. */
function xzWithCheck(check: string): Buffer {
  const data = tool('xz', ['-c', '-T1', '-6', `--check=${check}`], dataTar(debs.xz));
  return replaceMember(debs.xz, 'data.tar.xz', data);
}

for (const [check, label] of [
  ['crc32', 'CRC32'],
  ['crc64', 'CRC64'],
  ['sha256', 'SHA-256'],
] as const) {
  test(`xz: a flipped byte of the ${label} block check of data.tar.xz is refused`, async () => {
    const deb = check === 'crc64' ? debs.xz : xzWithCheck(check);
    await bothAccept(deb);
    const m = member(deb, 'data.tar.xz');
    const layout = xzLayout(deb.subarray(m.data, m.data + m.size));
    // The last block's check field sits right before the index.
    const first = m.data + layout.index - layout.checkSize;
    for (const i of [0, layout.checkSize - 1]) {
      await bothRefuse(flipAt(deb, first + i), new RegExp(`data\\.tar\\.xz: xz: ${label} mismatch in block`), 'data');
    }
  });
}

test('xz: a member is one stream, as dpkg-deb reads it (it stops after the first stream)', async () => {
  const tar = dataTar(debs.xz);
  const streams = [tar.subarray(0, 150_000), tar.subarray(150_000)].map((part) => tool('xz', ['-c', '-T1'], part));
  const joined = replaceMember(debs.xz, 'data.tar.xz', Buffer.concat([streams[0]!, Buffer.alloc(4), streams[1]!]));
  await bothRefuse(joined, /data\.tar\.xz: xz: data after the end of the first stream/, 'contents');
  // stream padding alone is fine
  await bothAccept(replaceMember(debs.xz, 'data.tar.xz', Buffer.concat([tool('xz', ['-c', '-T1'], tar), Buffer.alloc(8)])));
});

test('xz: a damaged index is refused, whether its CRC32 still matches or not', async () => {
  const deb = debs.xz;
  const m = member(deb, 'data.tar.xz');
  const layout = xzLayout(deb.subarray(m.data, m.data + m.size));
  const index = m.data + layout.index;
  assert.equal(deb[index], 0, 'index indicator');
  // indicator, record count (1 byte for a few blocks), then the first record's unpadded size
  await bothRefuse(flipAt(deb, index + 2), /data\.tar\.xz: xz: index CRC mismatch/, 'data');

  // Same damage with the index CRC32 recomputed: the records no longer describe the blocks.
  const variant = flipAt(deb, index + 2);
  const crcAt = index + layout.indexSize - 4;
  variant.writeUInt32LE(zlibCrc32(variant.subarray(index, crcAt)), crcAt);
  await bothRefuse(variant, /data\.tar\.xz: xz: index does not match the blocks/, 'data');
});

// ---- gzip ----------------------------------------------------------------------------------

test('gzip: the CRC-32 and ISIZE of control.tar.gz are checked', async () => {
  const deb = debs.gzip;
  await bothAccept(deb);
  const m = member(deb, 'control.tar.gz');
  const trailer = m.data + m.size - 8;
  await bothRefuse(flipAt(deb, trailer), /control\.tar\.gz: gzip: CRC-32 mismatch/, 'info');
  await bothRefuse(flipAt(deb, trailer + 3, 0x80), /control\.tar\.gz: gzip: CRC-32 mismatch/, 'info');
  await bothRefuse(flipAt(deb, trailer + 4), /control\.tar\.gz: gzip: ISIZE mismatch/, 'info');
  await bothRefuse(flipAt(deb, trailer + 7, 0x80), /control\.tar\.gz: gzip: ISIZE mismatch/, 'info');
});

test('gzip: the trailer of every member of a multi-member data.tar.gz is checked', async () => {
  // data.tar.gz made of three gzip members (as `cat a.gz b.gz c.gz` or pigz would write).
  const tar = dataTar(debs.gzip);
  const cuts = [0, 100_000, 200_000, tar.length];
  const gz = cuts.slice(1).map((end, i) => gzipSync(tar.subarray(cuts[i], end)));
  const good = replaceMember(debs.gzip, 'data.tar.gz', Buffer.concat(gz));
  await bothAccept(good);
  const m = member(good, 'data.tar.gz');
  let end = m.data;
  for (const [i, g] of gz.entries()) {
    end += g.length;
    await bothRefuse(flipAt(good, end - 8), /data\.tar\.gz: gzip: CRC-32 mismatch/, 'data');
    await bothRefuse(flipAt(good, end - 1, 0x40), /data\.tar\.gz: gzip: ISIZE mismatch/, 'data');
    // a byte of a stored (incompressible) block: the content changes, inflating does not fail
    if (i === 1) await bothRefuse(flipAt(good, end - 8 - 1000), /data\.tar\.gz: gzip: CRC-32 mismatch/, 'data');
  }
});

// ---- tar -----------------------------------------------------------------------------------

test('tar: a header whose checksum does not match is refused, in control.tar and data.tar', async () => {
  const deb = debs.none;
  await bothAccept(deb);
  for (const [prefix, entry, part] of [
    ['control.tar', './control', 'info'],
    ['data.tar', './usr/share/checks/random.bin', 'contents'],
  ] as const) {
    const m = member(deb, prefix);
    const body = deb.subarray(m.data, m.data + m.size);
    let header = -1;
    for (let pos = 0; pos < body.length; pos += 512) {
      if (body.toString('latin1', pos, pos + entry.length + 1) === `${entry}\0`) header = pos;
    }
    assert.ok(header >= 0, `${entry} header`);
    // a digit of the mtime: the header still looks sane, only its checksum is wrong
    await bothRefuse(flipAt(deb, m.data + header + 140), new RegExp(`${prefix.replace('.', '\\.')}: .*invalid tar header checksum`), part);
    // the checksum field itself
    await bothRefuse(flipAt(deb, m.data + header + 150), new RegExp(`${prefix.replace('.', '\\.')}: .*invalid tar header checksum`), part);
  }
});

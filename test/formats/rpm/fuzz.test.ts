/**
 * Thousands of corrupted variants of the fixture packages (fixed seed, so failures reproduce):
 * each must parse or be refused with InvalidPackageError, by parseRpm and by RpmReader fed in
 * random chunk sizes, identically, quickly, and without memory growing.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { InvalidPackageError } from '../../../src/errors.ts';
import { parseRpm, RpmReader } from '../../../src/formats/rpm/reader.ts';
import { CORPUS, corpusFiles } from '../../helpers/corpus.ts';
import { rpmVariety } from '../../helpers/packages.ts';
import { prng as mulberry32 } from '../../helpers/prng.ts';

const SEED = 20240917;
const RANDOM_CASES = 10000;
const CASE_TIME_LIMIT_MS = 2000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Layout {
  name: string;
  /** The file up to the end of the main header plus a little payload. */
  bytes: Uint8Array;
  sigStart: number;
  sigIl: number;
  sigStore: number;
  sigEnd: number;
  mainStart: number;
  mainIl: number;
  mainStore: number;
  mainEnd: number;
}

const SELF_BUILT = await rpmVariety();

function layouts(): Layout[] {
  // Self-built packages, and the third-party corpus's when it is there (helpers/corpus.ts).
  return [...SELF_BUILT, ...corpusFiles((f) => f.endsWith('.rpm') || f.endsWith('.rpm-v3'))].map((path) => {
    const name = basename(path);
    const file = readFileSync(path);
    const all = new Uint8Array(file.buffer, file.byteOffset, file.length);
    const { signature } = parseRpm(all);
    const view = new DataView(all.buffer, all.byteOffset);
    const sigIl = view.getUint32(104);
    const mainStart = signature.headerRange.start;
    const mainIl = view.getUint32(mainStart + 8);
    const mainEnd = signature.headerRange.end;
    return {
      name,
      bytes: all.slice(0, Math.min(all.length, mainEnd + 64)),
      sigStart: 96,
      sigIl,
      sigStore: 112 + sigIl * 16,
      sigEnd: signature.range.end,
      mainStart,
      mainIl,
      mainStore: mainStart + 16 + mainIl * 16,
      mainEnd,
    };
  });
}

type Outcome = { ok: true; result: unknown } | { ok: false; message: string };

function viaParse(bytes: Uint8Array): Outcome {
  try {
    return { ok: true, result: parseRpm(bytes) };
  } catch (error) {
    if (error instanceof InvalidPackageError) return { ok: false, message: error.message };
    throw error;
  }
}

function viaReader(bytes: Uint8Array, random: () => number): Outcome {
  const reader = new RpmReader();
  try {
    let at = 0;
    while (at < bytes.length) {
      const size = random() < 0.2 ? 1 : 1 + Math.floor(random() * 4096);
      if (reader.push(bytes.subarray(at, at + size))) break;
      at += size;
    }
    return { ok: true, result: reader.result() };
  } catch (error) {
    if (error instanceof InvalidPackageError) return { ok: false, message: error.message };
    throw error;
  }
}

interface Stats {
  cases: number;
  accepted: number;
  refused: number;
  slowest: number;
  /** Most buffer memory allocated by one case. */
  peakExternal: number;
}

function check(bytes: Uint8Array, label: string, random: () => number, stats: Stats): Outcome {
  const externalBefore = process.memoryUsage().arrayBuffers;
  const started = performance.now();
  let direct: Outcome;
  let streamed: Outcome;
  try {
    direct = viaParse(bytes);
    streamed = viaReader(bytes, random);
  } catch (error) {
    assert.fail(`${label}: threw ${(error as Error)?.constructor?.name}: ${(error as Error)?.stack ?? String(error)}`);
  }
  const elapsed = performance.now() - started;
  assert.ok(elapsed < CASE_TIME_LIMIT_MS, `${label}: took ${elapsed.toFixed(0)} ms`);
  assert.deepEqual(streamed, direct, `${label}: the streaming reader disagrees with parseRpm`);
  stats.cases++;
  if (direct.ok) stats.accepted++;
  else stats.refused++;
  stats.slowest = Math.max(stats.slowest, elapsed);
  // Buffers allocated during the case (a garbage collection in between can only lower this).
  stats.peakExternal = Math.max(stats.peakExternal, process.memoryUsage().arrayBuffers - externalBefore);
  return direct;
}

const INTERESTING = [
  0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 99, 100, 255, 0x7fff, 0x8000, 0xffff, 0x10000, 0xfffff, 0x100000, 0x3ffffff, 0x4000000, 0x4000001, 0xfffffff, 0x10000000,
  0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff,
];

function mutate(l: Layout, random: () => number): { bytes: Uint8Array; what: string } {
  const bytes = l.bytes.slice();
  const view = new DataView(bytes.buffer);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const int = (n: number) => Math.floor(random() * n);
  const header = random() < 0.35 ? { start: l.sigStart, il: l.sigIl, store: l.sigStore, end: l.sigEnd } : { start: l.mainStart, il: l.mainIl, store: l.mainStore, end: l.mainEnd };
  const value = (old: number) =>
    pick([() => pick(INTERESTING), () => old + 1, () => old - 1, () => old + int(64) - 32, () => int(2 ** 32), () => header.end - header.store, () => old ^ (1 << int(32))])() >>>
    0;
  switch (int(8)) {
    case 0: {
      const flips = 1 + int(8);
      for (let i = 0; i < flips; i++) bytes[int(l.mainEnd)] ^= 1 << int(8);
      return { bytes, what: `${flips} bit flips` };
    }
    case 1: {
      const entry = int(header.il);
      const field = int(4);
      const at = header.start + 16 + entry * 16 + field * 4;
      const next = value(view.getUint32(at));
      view.setUint32(at, next);
      return { bytes, what: `index entry ${entry} field ${field} of header at ${header.start} set to ${next}` };
    }
    case 2: {
      const at = header.start + 8 + 4 * int(2);
      const next = value(view.getUint32(at));
      view.setUint32(at, next);
      return { bytes, what: `il/dl at ${at} set to ${next}` };
    }
    case 3: {
      const span = 1 + int(64);
      const at = header.store + int(Math.max(1, header.end - header.store));
      for (let i = at; i < Math.min(at + span, bytes.length); i++) bytes[i] = int(256);
      return { bytes, what: `${span} random bytes in the store at ${at}` };
    }
    case 4: {
      if (header.il < 2) return { bytes, what: 'no-op' };
      const a = int(header.il);
      const b = int(header.il);
      const ea = bytes.slice(header.start + 16 + a * 16, header.start + 32 + a * 16);
      bytes.copyWithin(header.start + 16 + a * 16, header.start + 16 + b * 16, header.start + 32 + b * 16);
      bytes.set(ea, header.start + 16 + b * 16);
      return { bytes, what: `index entries ${a} and ${b} swapped` };
    }
    case 5: {
      // The region trailer (last 16 bytes of the store) or the region entry.
      const at = random() < 0.5 ? header.end - 16 + 4 * int(4) : header.start + 16 + 4 * int(4);
      const next = value(view.getUint32(at));
      view.setUint32(at, next);
      return { bytes, what: `region word at ${at} set to ${next}` };
    }
    case 6: {
      // Bytes inserted or removed inside the headers: everything after shifts.
      const at = 96 + int(l.mainEnd - 96);
      const n = 1 + int(16);
      if (random() < 0.5) {
        const out = new Uint8Array(bytes.length + n);
        out.set(bytes.subarray(0, at));
        out.set(bytes.subarray(at), at + n);
        return { bytes: out, what: `${n} bytes inserted at ${at}` };
      }
      const out = new Uint8Array(bytes.length - n);
      out.set(bytes.subarray(0, at));
      out.set(bytes.subarray(at + n), at);
      return { bytes: out, what: `${n} bytes removed at ${at}` };
    }
    default: {
      // Lead fields.
      const at = pick([4, 5, 6, 7, 78, 79]);
      bytes[at] = int(256);
      return { bytes, what: `lead byte ${at} set` };
    }
  }
}

test(`fuzz: ${RANDOM_CASES} corrupted packages and every truncation boundary`, { timeout: 120_000 }, (t) => {
  const all = layouts();
  assert.ok(all.length >= SELF_BUILT.length + (CORPUS ? 20 : 0));
  const random = mulberry32(SEED);
  gc();
  const baselineHeap = process.memoryUsage().heapUsed;
  const stats: Stats = { cases: 0, accepted: 0, refused: 0, slowest: 0, peakExternal: 0 };
  const started = performance.now();

  // Truncations at and around every structure boundary must be refused as truncated.
  for (const l of all) {
    const sigIndexEnd = l.sigStore;
    const mainIndexEnd = l.mainStore;
    const cuts = [
      0,
      1,
      3,
      4,
      5,
      95,
      96,
      97,
      103,
      104,
      108,
      111,
      112,
      113,
      sigIndexEnd - 1,
      sigIndexEnd,
      sigIndexEnd + 1,
      l.sigEnd - 1,
      l.sigEnd,
      l.mainStart - 1,
      l.mainStart,
      l.mainStart + 8,
      l.mainStart + 15,
      l.mainStart + 16,
      mainIndexEnd - 1,
      mainIndexEnd,
      mainIndexEnd + 1,
      l.mainEnd - 17,
      l.mainEnd - 16,
      l.mainEnd - 1,
    ];
    for (const cut of new Set(cuts.filter((c) => c >= 0 && c < l.mainEnd))) {
      const outcome = check(l.bytes.subarray(0, cut), `${l.name} truncated at ${cut}`, random, stats);
      assert.ok(!outcome.ok && /file ends inside/.test(outcome.message), `${l.name} truncated at ${cut}: ${JSON.stringify(outcome).slice(0, 200)}`);
    }
    const whole = check(l.bytes.subarray(0, l.mainEnd), `${l.name} cut right after the header`, random, stats);
    assert.ok(whole.ok, `${l.name}: the headers alone must parse`);
  }

  for (let i = 0; i < RANDOM_CASES; i++) {
    const l = all[Math.floor(random() * all.length)];
    const { bytes, what } = mutate(l, random);
    check(bytes, `case ${i}: ${l.name}: ${what}`, random, stats);
  }

  gc();
  const heapGrowth = process.memoryUsage().heapUsed - baselineHeap;
  const seconds = (performance.now() - started) / 1000;
  t.diagnostic(
    `${stats.cases} cases in ${seconds.toFixed(1)} s: ${stats.accepted} parsed, ${stats.refused} refused; slowest ${stats.slowest.toFixed(1)} ms; ` +
      `at most ${(stats.peakExternal / 1048576).toFixed(1)} MiB of buffers per case; heap after gc +${(heapGrowth / 1048576).toFixed(1)} MiB`,
  );
  assert.ok(stats.cases >= 3000);
  assert.ok(stats.accepted > 100 && stats.refused > 1000, 'the mutations exercise both outcomes');
  // A hostile count that made the reader allocate what it announces would show as 64-256 MiB here;
  // the largest fixture header (1 MiB) is copied a few times.
  assert.ok(stats.peakExternal < 16 * 1048576, 'buffers stay small');
  assert.ok(heapGrowth < 32 * 1048576, 'no heap growth');
});

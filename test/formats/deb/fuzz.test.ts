/**
 * Corrupted packages: thousands of variants of real packages (fixed-seed PRNG) fed whole to
 * parseDeb() and in random chunk sizes to DebReader. Each must parse or be refused with an
 * InvalidPackageError (never another error type, never "unexpected error", which marks a bug of
 * ours), within a deadline, without memory growing out of bounds.
 *
 * A deterministic sample of the variants is also given to dpkg-deb: whatever dpkg-deb refuses to
 * read (control or data member) repod must refuse too, or a package apt cannot install would be
 * published. The other way round (repod stricter than dpkg-deb) is allowed and only counted.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { InvalidPackageError } from '../../../src/errors.ts';
import { DebReader, parseDeb } from '../../../src/formats/deb/reader.ts';
import { corpusFiles } from '../../helpers/corpus.ts';
import { buildDeb, dpkgDebBuild } from '../../helpers/debs.ts';
import { prng } from '../../helpers/prng.ts';

const VARIANTS = Number(process.env.REPOD_FUZZ_VARIANTS ?? 3600);
const DEADLINE_MS = 10_000;
/**
 * About this many variants are also given to dpkg-deb (up to two runs each, about 50 ms a variant;
 * REPOD_FUZZ_DPKG_SAMPLE=3600 compares them all, in about three minutes).
 */
const DPKG_SAMPLE = Number(process.env.REPOD_FUZZ_DPKG_SAMPLE ?? 300);
/** dpkg-deb spins for minutes on some corrupted members: past this it counts as a refusal. */
const DPKG_TIMEOUT_S = 10;

interface Member {
  header: number;
  data: number;
  size: number;
  name: string;
}

interface Base {
  name: string;
  bytes: Buffer;
  members: Member[];
}

function members(bytes: Buffer): Member[] {
  const out: Member[] = [];
  let pos = 8;
  while (pos + 60 <= bytes.length) {
    const name = bytes
      .subarray(pos, pos + 16)
      .toString('latin1')
      .trim();
    const size = parseInt(bytes.subarray(pos + 48, pos + 58).toString('latin1'), 10);
    out.push({ header: pos, data: pos + 60, size, name });
    pos += 60 + size + (size % 2);
  }
  return out;
}

let bases: Base[] = [];
let dir = '';
after(() => rmSync(dir, { recursive: true, force: true }));
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'repod-fuzz-'));
  const paths = corpusFiles((f) => /\.(deb|udeb|ddeb)$/.test(f));
  for (const compression of ['gzip', 'xz', 'zstd', 'none'] as const) {
    paths.push(
      dpkgDebBuild(
        {
          name: `fuzz-${compression}`,
          version: '1.0-1',
          depends: 'libc6 (>= 2.36) | libc6.1',
          description: { summary: 'fuzz base', long: ['Several', 'lines.'] },
          files: [
            { path: 'usr/bin/fuzz', content: 'x'.repeat(3000) },
            { path: `usr/share/${'long/'.repeat(30)}name`, content: 'y' },
            { path: 'usr/bin/fuzz-link', symlink: 'fuzz' },
          ],
        },
        dir,
        { compression },
      ),
    );
  }
  bases = paths.map((p) => ({ name: p.split('/').pop()!, bytes: readFileSync(p), members: [] as Member[] }));
  bases.push({ name: 'fast.deb', bytes: buildDeb({ name: 'fast', version: '1' }), members: [] });
  for (const b of bases) b.members = members(b.bytes);
});

type Mutation = (bytes: Buffer, base: Base, rand: () => number) => Buffer;

const int = (rand: () => number, n: number) => Math.floor(rand() * n);
const pickMember = (base: Base, rand: () => number, kind?: string) => {
  const candidates = kind ? base.members.filter((m) => m.name.startsWith(kind)) : base.members;
  return candidates[int(rand, candidates.length)] ?? base.members[0]!;
};
const flip = (bytes: Buffer, offset: number, rand: () => number) => {
  if (offset >= 0 && offset < bytes.length) bytes[offset] ^= 1 << int(rand, 8);
};

const MUTATIONS: Array<[string, Mutation]> = [
  ['truncate anywhere', (b, _base, rand) => b.subarray(0, int(rand, b.length))],
  [
    'truncate near a member boundary',
    (b, base, rand) => {
      const m = pickMember(base, rand);
      return b.subarray(0, Math.max(0, m.header + int(rand, 80) - 10));
    },
  ],
  [
    'flip bits in an ar header',
    (b, base, rand) => {
      const m = pickMember(base, rand);
      for (let i = int(rand, 3); i >= 0; i--) flip(b, m.header + int(rand, 60), rand);
      return b;
    },
  ],
  [
    'rewrite an ar size',
    (b, base, rand) => {
      const m = pickMember(base, rand);
      const sizes = [0, 1, m.size - 1, m.size + 1, m.size * 2, int(rand, 1e9), 9999999999];
      const value = String(sizes[int(rand, sizes.length)]).slice(0, 10).padEnd(10, ' ');
      b.write(value, m.header + 48, 'latin1');
      return b;
    },
  ],
  [
    'flip bits in control.tar',
    (b, base, rand) => {
      const m = pickMember(base, rand, 'control.tar');
      for (let i = int(rand, 4); i >= 0; i--) flip(b, m.data + int(rand, m.size), rand);
      return b;
    },
  ],
  [
    'flip bits in the first bytes of data.tar',
    (b, base, rand) => {
      const m = pickMember(base, rand, 'data.tar');
      for (let i = int(rand, 3); i >= 0; i--) flip(b, m.data + int(rand, Math.min(m.size, 64)), rand);
      return b;
    },
  ],
  [
    'flip bits anywhere in data.tar',
    (b, base, rand) => {
      const m = pickMember(base, rand, 'data.tar');
      for (let i = int(rand, 4); i >= 0; i--) flip(b, m.data + int(rand, m.size), rand);
      return b;
    },
  ],
  [
    'overwrite a range with random bytes',
    (b, _base, rand) => {
      const start = int(rand, b.length);
      const n = 1 + int(rand, 32);
      for (let i = start; i < Math.min(b.length, start + n); i++) b[i] = int(rand, 256);
      return b;
    },
  ],
  [
    'insert or delete bytes',
    (b, _base, rand) => {
      const at = int(rand, b.length);
      const n = 1 + int(rand, 16);
      return rand() < 0.5 ? Buffer.concat([b.subarray(0, at), Buffer.alloc(n, int(rand, 256)), b.subarray(at)]) : Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
    },
  ],
  [
    'duplicate or drop a member',
    (b, base, rand) => {
      const m = pickMember(base, rand);
      const end = m.data + m.size + (m.size % 2);
      const slice = b.subarray(Math.min(m.header, b.length), Math.min(end, b.length));
      return rand() < 0.5 ? Buffer.concat([b.subarray(0, end), slice, b.subarray(end)]) : Buffer.concat([b.subarray(0, m.header), b.subarray(end)]);
    },
  ],
  [
    'zero the tail of a compressed member',
    (b, base, rand) => {
      const m = pickMember(base, rand, rand() < 0.5 ? 'control.tar' : 'data.tar');
      const end = Math.min(b.length, m.data + m.size);
      const from = Math.min(end, m.data + int(rand, m.size));
      b.fill(0, from, end);
      return b;
    },
  ],
];

function chunks(bytes: Uint8Array, rand: () => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const size = 1 + int(rand, rand() < 0.3 ? 16 : rand() < 0.5 ? 4096 : 200_000);
    out.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return out;
}

async function withDeadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} did not settle within ${DEADLINE_MS} ms`)), DEADLINE_MS);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

interface Sampled {
  what: string;
  path: string;
  repod: 'ok' | 'refused';
  message?: string;
}
/** The variants set aside for the comparison with dpkg-deb, filled by the first test. */
const sampled: Sampled[] = [];

test(`${VARIANTS} corrupted variants: parsed or refused with InvalidPackageError, never hanging`, async (t) => {
  const rand = prng(0x5eed);
  // Its own generator, so that the sample does not change the variants.
  const sampleRand = prng(0xd9c9);
  const outcomes = new Map<string, { ok: number; refused: number }>();
  const messages = new Map<string, number>();
  let slowest = 0;
  let peakRss = 0;
  const started = performance.now();

  for (let i = 0; i < VARIANTS; i++) {
    const base = bases[i % bases.length]!;
    const [mutationName, mutate] = MUTATIONS[int(rand, MUTATIONS.length)]!;
    let bytes = mutate(Buffer.from(base.bytes), base, rand);
    if (rand() < 0.15) {
      // sometimes a second mutation, on offsets the first may have moved (out-of-range ones are skipped)
      try {
        bytes = MUTATIONS[int(rand, MUTATIONS.length)]![1](Buffer.from(bytes), base, rand);
      } catch {
        /* keep the first */
      }
    }
    const what = `variant ${i} (${base.name}, ${mutationName})`;

    const t = performance.now();
    let message: string | undefined;
    const run = async (): Promise<'ok' | 'refused'> => {
      try {
        if (i % 2 === 0) {
          await parseDeb(bytes);
        } else {
          const reader = new DebReader();
          for (const c of chunks(bytes, rand)) await reader.push(c);
          await reader.finish();
        }
        return 'ok';
      } catch (e) {
        assert.ok(e instanceof InvalidPackageError, `${what}: threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        assert.doesNotMatch(e.message, /unexpected error/, `${what}: ${e.message}`);
        message = e.message;
        const key = e.message.replace(/\d+/g, 'N').slice(0, 70);
        messages.set(key, (messages.get(key) ?? 0) + 1);
        return 'refused';
      }
    };
    const outcome = await withDeadline(run(), what);
    slowest = Math.max(slowest, performance.now() - t);
    if (sampleRand() < DPKG_SAMPLE / VARIANTS) {
      const path = join(dir, `variant-${i}.deb`);
      writeFileSync(path, bytes);
      sampled.push({ what, path, repod: outcome, message });
    }
    const stats = outcomes.get(mutationName) ?? { ok: 0, refused: 0 };
    stats[outcome]++;
    outcomes.set(mutationName, stats);
    if (i % 100 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }

  const elapsed = performance.now() - started;
  const refused = [...outcomes.values()].reduce((n, s) => n + s.refused, 0);
  t.diagnostic(
    `fuzz: ${VARIANTS} variants in ${(elapsed / 1000).toFixed(1)} s, slowest ${slowest.toFixed(0)} ms, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB, refused ${refused}`,
  );
  for (const [name, s] of outcomes) t.diagnostic(`  ${name}: ${s.ok} parsed, ${s.refused} refused`);
  for (const [m, n] of [...messages].sort((a, b) => b[1] - a[1]).slice(0, 25)) t.diagnostic(`  ${String(n).padStart(4)}  ${m}`);
  assert.ok(refused > VARIANTS / 3, 'most variants are refused');
  assert.ok(peakRss < 1.5 * 2 ** 30, `peak RSS ${peakRss}`);
});

test('the bases themselves parse', async () => {
  for (const base of bases) assert.ok((await parseDeb(base.bytes)).control.package, base.name);
});

let dpkgTimeouts = 0;

/** Exit status 0 of `timeout N dpkg-deb <option> <path>` (output discarded); a timeout is a refusal. */
function dpkgDebAccepts(option: string, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('timeout', ['-s', 'KILL', String(DPKG_TIMEOUT_S), 'dpkg-deb', option, path], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('close', (code) => {
      if (code === 137) dpkgTimeouts++; // timeout's status for a KILLed command
      resolve(code === 0);
    });
  });
}

test('what dpkg-deb refuses to read, repod refuses too (a sample of the variants)', async (t) => {
  assert.ok(sampled.length > 0, 'the first test set a sample aside');
  const started = performance.now();
  // dpkg-deb must read both halves: --info the control member, --fsys-tarfile all of data.tar.
  const dpkgVerdict = async (path: string): Promise<'ok' | 'refused'> =>
    (await dpkgDebAccepts('--info', path)) && (await dpkgDebAccepts('--fsys-tarfile', path)) ? 'ok' : 'refused';
  const verdicts: Array<'ok' | 'refused'> = new Array(sampled.length);
  let next = 0;
  // two at a time: the machine has two cores
  await Promise.all(
    [0, 1].map(async () => {
      while (next < sampled.length) {
        const k = next++;
        verdicts[k] = await dpkgVerdict(sampled[k]!.path);
      }
    }),
  );

  const missed: string[] = []; // dpkg-deb refuses, repod accepts: must not happen
  const stricter: string[] = []; // repod refuses, dpkg-deb accepts: allowed
  let dpkgRefused = 0;
  let repodRefused = 0;
  for (const [k, v] of sampled.entries()) {
    if (verdicts[k] === 'refused') dpkgRefused++;
    if (v.repod === 'refused') repodRefused++;
    if (verdicts[k] === 'refused' && v.repod === 'ok') missed.push(v.what);
    if (verdicts[k] === 'ok' && v.repod === 'refused') stricter.push(`${v.what}: ${v.message}`);
  }
  t.diagnostic(
    `dpkg-deb comparison: ${sampled.length} variants in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
      `dpkg-deb refused ${dpkgRefused}, repod refused ${repodRefused}; ` +
      `dpkg-deb refused but repod accepted ${missed.length}, repod refused but dpkg-deb accepted ${stricter.length}; ` +
      `dpkg-deb timed out ${dpkgTimeouts} times`,
  );
  const reasons = new Map<string, number>();
  for (const s of stricter) {
    const key = s
      .replace(/^variant \d+ \(/, '(')
      .replace(/\d+/g, 'N')
      .slice(0, 110);
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  for (const [r, n] of [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 15)) t.diagnostic(`  stricter ${String(n).padStart(3)}  ${r}`);
  assert.deepEqual(missed, [], 'variants dpkg-deb refuses but repod accepts');
});

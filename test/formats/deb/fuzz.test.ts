/**
 * Corrupted packages: thousands of variants of real packages (fixed-seed PRNG) fed whole to
 * parseDeb() and in random chunk sizes to DebReader. Each must parse or be refused with an
 * InvalidPackageError (never another error type, never "unexpected error", which marks a bug of
 * ours), within a deadline, without memory growing out of bounds.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DebReader, parseDeb } from '../../../src/formats/deb/reader.ts';
import { InvalidPackageError } from '../../../src/errors.ts';
import { FIXTURES } from '../../helpers/paths.ts';
import { buildDeb, dpkgDebBuild } from '../../helpers/debs.ts';

const VARIANTS = Number(process.env.REPOD_FUZZ_VARIANTS ?? 3600);
const DEADLINE_MS = 10_000;

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
    const name = bytes.subarray(pos, pos + 16).toString('latin1').trim();
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
  const paths = readdirSync(FIXTURES)
    .filter((f) => /\.(deb|udeb|ddeb)$/.test(f))
    .map((f) => join(FIXTURES, f));
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

test(`${VARIANTS} corrupted variants: parsed or refused with InvalidPackageError, never hanging`, async (t) => {
  const rand = prng(0x5eed);
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
        const key = e.message.replace(/\d+/g, 'N').slice(0, 70);
        messages.set(key, (messages.get(key) ?? 0) + 1);
        return 'refused';
      }
    };
    const outcome = await withDeadline(run(), what);
    slowest = Math.max(slowest, performance.now() - t);
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

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareEvr, rpmvercmp } from '../../../src/formats/rpm/vercmp.ts';
import { prng } from '../../helpers/prng.ts';

const CASES_FILE = new URL('./vercmp-cases.txt', import.meta.url);

function cases(): [string, string, number][] {
  return readFileSync(CASES_FILE, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [a, b, expected, ...rest] = line.split(/\s+/);
      assert.equal(rest.length, 0, `bad case line: ${line}`);
      return [a, b, Number(expected)];
    });
}

/**
 * rpm's own answers, through its Lua interpreter (rpmdevtools is not installed). rpm.vercmp
 * parses "[E:]V[-R]" first; for strings without ':' and '-' that is plain rpmvercmp.
 */
function rpmAnswers(pairs: [string, string][]): number[] | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'repod-vercmp-'));
  try {
    const script = join(dir, 'pairs.lua');
    const lit = (s: string) => `[==[${s}]==]`;
    writeFileSync(script, pairs.map(([a, b]) => `io.write(tostring(rpm.vercmp(${lit(a)}, ${lit(b)})), "\\n")`).join('\n'));
    const run = spawnSync('rpm', ['--eval', `%{lua: dofile("${script}")}`], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (run.error || run.status !== 0) return undefined;
    const lines = run.stdout.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, pairs.length, `rpm answered ${lines.length} of ${pairs.length} pairs: ${run.stderr}`);
    return lines.map(Number);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('rpmvercmp: table of cases, both ways round', () => {
  const all = cases();
  assert.ok(all.length > 100, `only ${all.length} cases`);
  for (const [a, b, expected] of all) {
    assert.equal(rpmvercmp(a, b), expected, `rpmvercmp(${a}, ${b})`);
    assert.equal(rpmvercmp(b, a), -expected || 0, `rpmvercmp(${b}, ${a})`);
  }
});

test('rpmvercmp: the table agrees with the installed rpm', (t) => {
  const all = cases();
  const answers = rpmAnswers(all.map(([a, b]) => [a, b]));
  if (!answers) return t.skip('rpm with Lua is not available');
  for (const [i, [a, b, expected]] of all.entries()) assert.equal(answers[i], expected, `rpm says rpmvercmp(${a}, ${b}) = ${answers[i]}`);
});

test('rpmvercmp: 600 random pairs agree with the installed rpm', (t) => {
  const random = prng(0x5eed);
  // No '-' or ':': rpm.vercmp splits those off as release and epoch before calling rpmvercmp.
  const alphabet = ['0', '1', '2', '9', '00', '10', '007', 'a', 'b', 'Z', 'rc', 'git', '.', '.', '_', '+', '%', '~', '^'];
  const version = () => {
    let s = '';
    const n = 1 + Math.floor(random() * 7);
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(random() * alphabet.length)];
    return s;
  };
  const pairs: [string, string][] = [];
  for (let i = 0; i < 600; i++) {
    const a = version();
    // Half the pairs share a prefix, where the interesting differences are.
    pairs.push([a, random() < 0.5 ? a + version() : version()]);
  }
  const answers = rpmAnswers(pairs);
  if (!answers) return t.skip('rpm with Lua is not available');
  for (const [i, [a, b]] of pairs.entries()) assert.equal(rpmvercmp(a, b), answers[i], `rpmvercmp(${JSON.stringify(a)}, ${JSON.stringify(b)})`);
});

test('compareEvr: epoch first, then version, then release only when both have one', () => {
  assert.equal(compareEvr({ epoch: '1', version: '1.0', release: '1' }, { version: '9.9', release: '9' }), 1);
  assert.equal(compareEvr({ epoch: 0, version: '1.0', release: '1' }, { version: '1.0', release: '1' }), 0);
  assert.equal(compareEvr({ epoch: '', version: '1.0' }, { epoch: '0', version: '1.0' }), 0);
  assert.equal(compareEvr({ epoch: '10', version: '1' }, { epoch: '9', version: '2' }), 1);
  assert.equal(compareEvr({ epoch: '010', version: '1' }, { epoch: '10', version: '1' }), 0);
  assert.equal(compareEvr({ version: '1.0', release: '2' }, { version: '1.0', release: '10' }), -1);
  assert.equal(compareEvr({ version: '1.0', release: '2' }, { version: '1.0' }), 0);
  assert.equal(compareEvr({ version: '1.0~rc1', release: '5' }, { version: '1.0', release: '1' }), -1);
});

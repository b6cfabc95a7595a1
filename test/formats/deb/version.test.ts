import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InvalidPackageError } from '../../../src/errors.ts';
import { compareDebVersions, debVersionError, formatDebVersion, isValidDebVersion, parseDebVersion, verrevcmp, versionWithoutEpoch } from '../../../src/formats/deb/version.ts';
import { prng } from '../../helpers/prng.ts';

const casesFile = fileURLToPath(new URL('./version-cases.txt', import.meta.url));

interface Case {
  a: string;
  op: '<' | '=' | '>';
  b: string;
  line: number;
}

function loadCases(): { comparisons: Case[]; invalid: string[] } {
  const comparisons: Case[] = [];
  const invalid: string[] = [];
  readFileSync(casesFile, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      if (text.trim() === '' || text.startsWith('#')) return;
      if (text.startsWith('!')) {
        invalid.push(text.slice(2));
        return;
      }
      const m = /^(\S+) ([<=>]) (\S+)$/.exec(text);
      assert.ok(m, `version-cases.txt line ${i + 1} is malformed: ${text}`);
      comparisons.push({ a: m[1]!, op: m[2] as Case['op'], b: m[3]!, line: i + 1 });
    });
  return { comparisons, invalid };
}

const SIGN = { '<': -1, '=': 0, '>': 1 } as const;

/** Runs dpkg --compare-versions for many pairs in one shell: one result char per pair. */
function dpkgCompare(pairs: Array<[string, string]>): Array<'<' | '=' | '>'> {
  const script = pairs
    .map(([a, b]) => `if dpkg --compare-versions '${a}' lt '${b}'; then echo '<'; elif dpkg --compare-versions '${a}' eq '${b}'; then echo '='; else echo '>'; fi`)
    .join('\n');
  const out = execFileSync('sh', ['-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
  return out.trim().split('\n') as Array<'<' | '=' | '>'>;
}

test('version-cases.txt: comparisons match the table, both ways', () => {
  const { comparisons } = loadCases();
  assert.ok(comparisons.length > 100, `${comparisons.length} cases`);
  for (const c of comparisons) {
    assert.equal(compareDebVersions(c.a, c.b), SIGN[c.op], `line ${c.line}: ${c.a} ${c.op} ${c.b}`);
    assert.equal(compareDebVersions(c.b, c.a), 0 - SIGN[c.op], `line ${c.line} reversed: ${c.b} vs ${c.a}`);
  }
});

test('version-cases.txt: the table agrees with dpkg --compare-versions', () => {
  const { comparisons } = loadCases();
  const results = dpkgCompare(comparisons.map((c) => [c.a, c.b]));
  for (const [i, c] of comparisons.entries()) assert.equal(results[i], c.op, `line ${c.line}: dpkg says ${c.a} ${results[i]} ${c.b}`);
});

test('version-cases.txt: invalid versions are refused, as dpkg refuses them', () => {
  const { invalid } = loadCases();
  assert.ok(invalid.length >= 20);
  for (const v of invalid) {
    assert.equal(isValidDebVersion(v), false, `'${v}' should be invalid`);
    assert.throws(() => parseDebVersion(v), InvalidPackageError);
    assert.match(debVersionError(v) ?? '', /./);
  }
  // dpkg agrees (its error and warning both mean "not valid in a control file")
  for (const v of invalid.filter((x) => x !== '' && !x.startsWith('-') && !x.includes(' '))) {
    let stderr = '';
    try {
      execFileSync('dpkg', ['--compare-versions', v, 'eq', v], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    } catch (e) {
      stderr = String((e as { stderr?: string }).stderr ?? '');
    }
    if (stderr === '') {
      const out = execFileSync('sh', ['-c', `dpkg --compare-versions '${v}' eq '${v}' 2>&1 || true`], { encoding: 'utf8' });
      stderr = out;
    }
    assert.match(stderr, /bad syntax|empty/, `dpkg accepted '${v}'`);
  }
});

test('parse: epoch, upstream, revision; formatting and epoch stripping', () => {
  assert.deepEqual(parseDebVersion('1:2.66-4+deb12u3+b1'), { epoch: 1, upstream: '2.66', revision: '4+deb12u3+b1' });
  assert.deepEqual(parseDebVersion('  2.10-3\t'), { epoch: 0, upstream: '2.10', revision: '3' });
  assert.deepEqual(parseDebVersion('1.2-3-4'), { epoch: 0, upstream: '1.2-3', revision: '4' });
  assert.deepEqual(parseDebVersion('3.23+nmu1'), { epoch: 0, upstream: '3.23+nmu1', revision: '' });
  assert.deepEqual(parseDebVersion('1:1:1'), { epoch: 1, upstream: '1:1', revision: '' });
  assert.equal(formatDebVersion(parseDebVersion('0:1.0-1')), '1.0-1');
  assert.equal(formatDebVersion(parseDebVersion('2:1.0')), '2:1.0');
  assert.equal(versionWithoutEpoch('1:2.66-4+deb12u3+b1'), '2.66-4+deb12u3+b1');
  assert.equal(versionWithoutEpoch('2.10-3'), '2.10-3');
  assert.match(debVersionError('1.0-')!, /revision number is empty/);
  assert.match(debVersionError('a1')!, /does not start with digit/);
  assert.match(debVersionError('1:')!, /nothing after colon/);
  assert.match(debVersionError('99999999999:1')!, /too big/);
});

test('verrevcmp on raw parts', () => {
  assert.ok(verrevcmp('', '') === 0);
  assert.ok(verrevcmp('~', '') < 0);
  assert.ok(verrevcmp('', 'a') < 0);
  assert.ok(verrevcmp('a', '+') < 0);
  assert.ok(verrevcmp('0', '') === 0);
  assert.ok(verrevcmp('1', '') > 0);
});

function randomVersion(rand: () => number): string {
  const pick = (s: string) => s[Math.floor(rand() * s.length)]!;
  const part = (first: string, chars: string, max: number) => {
    let out = first;
    const n = Math.floor(rand() * max);
    for (let i = 0; i < n; i++) out += rand() < 0.45 ? pick('0123456789') : pick(chars);
    return out;
  };
  const epoch = rand() < 0.2 ? `${Math.floor(rand() * 3)}:` : '';
  const upstream = part(pick('0123456789'), 'aAzZb~~+..', 7);
  const revision = rand() < 0.6 ? `-${part(pick('0123456789a~'), 'ab~+.', 5)}` : '';
  return `${epoch}${upstream}${revision}`;
}

test('random version pairs agree with dpkg --compare-versions', () => {
  const rand = prng(0xdeb);
  const pairs: Array<[string, string]> = [];
  while (pairs.length < 500) {
    const a = randomVersion(rand);
    // Half the pairs are near-misses of each other (one character changed or appended).
    let b = randomVersion(rand);
    if (rand() < 0.5) b = rand() < 0.5 ? `${a}${'~+.a0'[Math.floor(rand() * 5)]}` : a.replace(/\d/, String(Math.floor(rand() * 10)));
    if (isValidDebVersion(a) && isValidDebVersion(b)) pairs.push([a, b]);
  }
  const results = dpkgCompare(pairs);
  let equal = 0;
  pairs.forEach(([a, b], i) => {
    const ours = compareDebVersions(a, b);
    if (ours === 0) equal++;
    assert.equal(ours, SIGN[results[i]!], `${a} vs ${b}: dpkg says ${results[i]}`);
  });
  assert.ok(equal > 5, 'some pairs compare equal');
});

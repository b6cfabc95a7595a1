import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { InvalidPackageError } from '../../../src/errors.ts';
import { parseDebControl } from '../../../src/formats/deb/control.ts';
import { parseDeb } from '../../../src/formats/deb/reader.ts';
import type { PackageFileInfo } from '../../../src/metadata/apt/packages-stanza.ts';
import { debFileName, poolPath, poolPrefix, renderPackagesStanza, sourceName, sourceVersion } from '../../../src/metadata/apt/packages-stanza.ts';
import { CORPUS, corpusFile, needsCorpus } from '../../helpers/corpus.ts';
import { buildVarietyCorpus } from '../../helpers/debs.ts';

/** A repository directory with every fixture and generated package under pool/. */
let repo = '';
let debs: string[] = [];
after(() => rmSync(repo, { recursive: true, force: true }));
before(() => {
  repo = mkdtempSync(join(tmpdir(), 'repod-apt-'));
  const pool = join(repo, 'pool');
  mkdirSync(pool);
  buildVarietyCorpus(pool);
  // The third-party .debs too, when the corpus is there (helpers/corpus.ts).
  if (CORPUS) for (const f of readdirSync(CORPUS).filter((f) => /\.(deb|udeb|ddeb)$/.test(f))) copyFileSync(join(CORPUS, f), join(pool, f));
  debs = readdirSync(pool)
    .sort()
    .map((f) => `pool/${f}`);
});

function fileInfo(relative: string, withSha512: boolean): PackageFileInfo {
  const bytes = readFileSync(join(repo, relative));
  const hash = (algorithm: string) => createHash(algorithm).update(bytes).digest('hex');
  return { filename: relative, size: bytes.length, md5: hash('md5'), sha1: hash('sha1'), sha256: hash('sha256'), ...(withSha512 ? { sha512: hash('sha512') } : {}) };
}

/** Splits an index into stanzas (each with its trailing blank line), keyed by Filename. */
function stanzas(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const body of text.split('\n\n')) {
    if (body.trim() === '') continue;
    const filename = /^Filename: (.*)$/m.exec(body)![1]!;
    out.set(filename, `${body}\n\n`);
  }
  return out;
}

test('every stanza is byte for byte what apt-ftparchive packages writes', async () => {
  const output = execFileSync('apt-ftparchive', ['packages', 'pool'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 26 });
  const expected = stanzas(output);
  assert.ok(debs.length >= (CORPUS ? 42 : 30), `${debs.length} packages`);
  assert.equal(expected.size, debs.length, 'apt-ftparchive indexed every package');
  for (const relative of debs) {
    const { control } = await parseDeb(readFileSync(join(repo, relative)), { files: false });
    const ours = renderPackagesStanza(control, fileInfo(relative, true));
    assert.equal(ours, expected.get(relative), relative);
  }
});

/** A stanza as dpkg's parser sees it: names lowercased, continuation lines re-indented by one space. */
function normalizedFields(stanza: string): Map<string, string> {
  const c = parseDebControl(stanza.replace(/\n+$/, '\n'));
  return new Map(c.fields.map(([name, value]) => [name.toLowerCase(), value.replace(/\n[ \t]+/g, '\n ')]));
}

test('same fields and values as dpkg-scanpackages (which orders and normalizes differently, and has no SHA512)', async () => {
  const output = ['deb', 'udeb', 'ddeb']
    .map((type) =>
      execFileSync('dpkg-scanpackages', ['-m', '-t', type, 'pool', '/dev/null'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 26 }),
    )
    .join('');
  const expected = stanzas(output);
  assert.equal(expected.size, debs.length);
  for (const relative of debs) {
    const { control } = await parseDeb(readFileSync(join(repo, relative)), { files: false });
    const ours = normalizedFields(renderPackagesStanza(control, fileInfo(relative, false)));
    const theirs = normalizedFields(expected.get(relative)!);
    // dpkg-scanpackages keeps an empty Section/Priority; apt-ftparchive (and we) drop them
    for (const name of ['section', 'priority']) if (theirs.get(name) === '') theirs.delete(name);
    assert.deepEqual(ours, theirs, relative);
  }
});

test('stanza details: order, rewrites, removals', () => {
  const control = parseDebControl(
    [
      'Description: short',
      ' long',
      'X-Custom:  two blanks',
      'Section:  utils ',
      'Status: install ok installed',
      'Size: 1',
      'SHA256: stale',
      'Version: 1:2.0-1',
      'Priority:',
      'Architecture: amd64',
      'package: lower',
      'depends: libc6',
      '',
    ].join('\n'),
  );
  const stanza = renderPackagesStanza(control, { filename: 'pool/main/l/lower/lower_2.0-1_amd64.deb', size: 1234, md5: 'm', sha1: 's1', sha256: 's256' });
  assert.equal(
    stanza,
    [
      'Package: lower',
      'Architecture: amd64',
      'Version: 1:2.0-1',
      'Section: utils',
      'Depends: libc6',
      'Filename: pool/main/l/lower/lower_2.0-1_amd64.deb',
      'Size: 1234',
      'MD5sum: m',
      'SHA1: s1',
      'SHA256: s256',
      'Description: short',
      ' long',
      'X-Custom:  two blanks',
      '',
      '',
    ].join('\n'),
  );
});

test('source name and version, pool paths, canonical file names', async () => {
  const c = (extra: string) => parseDebControl(`Package: libcap2\nVersion: 1:2.66-4+deb12u3+b1\nArchitecture: amd64\n${extra}`);
  assert.equal(sourceName(c('Source: libcap2 (1:2.66-4+deb12u3)\n')), 'libcap2');
  assert.equal(sourceVersion(c('Source: libcap2 (1:2.66-4+deb12u3)\n')), '1:2.66-4+deb12u3');
  assert.equal(sourceName(c('Source: gcc-12\n')), 'gcc-12');
  assert.equal(sourceVersion(c('Source: gcc-12\n')), '1:2.66-4+deb12u3+b1');
  assert.equal(sourceName(c('')), 'libcap2');
  assert.equal(debFileName(c('')), 'libcap2_2.66-4+deb12u3+b1_amd64.deb');
  assert.equal(debFileName(c('Package-Type: udeb\n')), 'libcap2_2.66-4+deb12u3+b1_amd64.udeb');

  assert.equal(poolPath('main', 'hello', 'hello_2.10-3_amd64.deb'), 'pool/main/h/hello/hello_2.10-3_amd64.deb');
  assert.equal(poolPath('main', 'libcap2', 'libcap2_2.66_amd64.deb'), 'pool/main/libc/libcap2/libcap2_2.66_amd64.deb');
  assert.equal(poolPath('non-free-firmware', 'gcc-12', 'x.deb'), 'pool/non-free-firmware/g/gcc-12/x.deb');
  assert.equal(poolPrefix('lib'), 'lib');
  assert.equal(poolPrefix('lib3ds'), 'lib3');
  assert.equal(poolPrefix('0ad'), '0');
  assert.throws(() => poolPath('main/x', 'hello', 'a.deb'), RangeError);
  assert.throws(() => poolPath('..', 'hello', 'a.deb'), RangeError);
  assert.throws(() => poolPath('main', '../x', 'a.deb'), InvalidPackageError);
  assert.throws(() => poolPath('main', 'hello', '../a.deb'), InvalidPackageError);
  assert.throws(() => poolPath('main', 'hello', '..'), InvalidPackageError);
});

test('the pool paths of real packages from the Debian archive', { skip: needsCorpus() }, async () => {
  const real: Record<string, string> = {
    'hello_2.10-3_amd64.deb': 'pool/main/h/hello/hello_2.10-3_amd64.deb',
    'libgcc-s1_12.2.0-14+deb12u1_amd64.deb': 'pool/main/g/gcc-12/libgcc-s1_12.2.0-14+deb12u1_amd64.deb',
    'libcap2_2.66-4+deb12u3+b1_amd64.deb': 'pool/main/libc/libcap2/libcap2_2.66-4+deb12u3+b1_amd64.deb',
    'libapache2-mod-xforward_0.6-1+b2_amd64.deb': 'pool/main/a/apache2-mod-xforward/libapache2-mod-xforward_0.6-1+b2_amd64.deb',
    'cowsay_3.03+dfsg2-8_all.deb': 'pool/main/c/cowsay/cowsay_3.03+dfsg2-8_all.deb',
  };
  for (const [file, expected] of Object.entries(real)) {
    const { control } = await parseDeb(readFileSync(corpusFile(file)), { files: false });
    assert.equal(debFileName(control), basename(expected));
    assert.equal(poolPath('main', sourceName(control), debFileName(control)), expected);
  }
});

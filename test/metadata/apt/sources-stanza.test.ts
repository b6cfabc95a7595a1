import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseDsc } from '../../../src/formats/deb/dsc.ts';
import { sourceDirectory, sourceFilesOfStanza } from '../../../src/ingest/source-entry.ts';
import { renderSourcesStanza, type SourceFileHashes } from '../../../src/metadata/apt/sources-stanza.ts';
import { CORPUS, corpusFile, needsCorpus } from '../../helpers/corpus.ts';
import { buildSourcePackage } from './source-package.ts';

/**
 * Sources stanzas compared byte for byte with `apt-ftparchive sources` over the same pool tree
 * (pool/<component>/<prefix>/<source>/, as repod lays it out): a source package built here with
 * dpkg-source, an old-style .dsc with no Checksums-* fields and extra fields (every list computed,
 * Priority and Status dropped, unknown fields last), and the corpus's cowsay and pyspi.
 */
let repo = '';
const dscs: string[] = [];
after(() => rmSync(repo, { recursive: true, force: true }));

function place(source: string, files: string[]): string {
  const dir = join(repo, sourceDirectory('main', source));
  mkdirSync(dir, { recursive: true });
  for (const f of files) copyFileSync(f, join(dir, basename(f)));
  return dir;
}

before(() => {
  repo = mkdtempSync(join(tmpdir(), 'repod-sources-'));
  const built = buildSourcePackage({ source: 'repod-srcdemo', upstream: '1.2', revision: '3', buildDepends: 'debhelper-compat (= 13), repod-tool (>= 1.0)' });
  dscs.push(join(place('repod-srcdemo', [built.dsc, ...built.files]), basename(built.dsc)));

  // An old-style, unsigned .dsc: only Files, plus fields apt-ftparchive drops, moves or keeps.
  const oldDir = mkdtempSync(join(tmpdir(), 'repod-oldsrc-'));
  writeFileSync(join(oldDir, 'libold_0.9.orig.tar.gz'), 'not really a tarball\n');
  writeFileSync(join(oldDir, 'libold_0.9-1.diff.gz'), 'a diff\n');
  const md5 = (f: string) =>
    createHash('md5')
      .update(readFileSync(join(oldDir, f)))
      .digest('hex');
  writeFileSync(
    join(oldDir, 'libold_0.9-1.dsc'),
    [
      'Format: 1.0',
      'Source: libold',
      'Binary: libold1, libold-dev',
      'Architecture: any',
      'Version: 1:0.9-1',
      'Priority: extra',
      'Section: libs',
      'X-Custom:  two spaces',
      'Description: old',
      ' style',
      'Status: bogus',
      'Maintainer: Old <old@example.org>',
      'Files:',
      ` ${md5('libold_0.9.orig.tar.gz')} 21 libold_0.9.orig.tar.gz`,
      ` ${md5('libold_0.9-1.diff.gz')} 7 libold_0.9-1.diff.gz`,
      '',
    ].join('\n'),
  );
  dscs.push(
    join(
      place(
        'libold',
        ['libold_0.9-1.dsc', 'libold_0.9.orig.tar.gz', 'libold_0.9-1.diff.gz'].map((f) => join(oldDir, f)),
      ),
      'libold_0.9-1.dsc',
    ),
  );
  rmSync(oldDir, { recursive: true, force: true });

  if (CORPUS) {
    for (const [source, names] of [
      ['cowsay', ['cowsay_3.03+dfsg2-8.dsc', 'cowsay_3.03+dfsg2.orig.tar.gz', 'cowsay_3.03+dfsg2-8.debian.tar.xz']],
      ['pyspi', ['pyspi_0.6.1-1.3.dsc', 'pyspi_0.6.1.orig.tar.gz', 'pyspi_0.6.1-1.3.diff.gz']],
    ] as const) {
      dscs.push(join(place(source, names.map(corpusFile)), names[0]));
    }
  }
});

function hashes(path: string): SourceFileHashes {
  const bytes = readFileSync(path);
  const h = (a: string) => createHash(a).update(bytes).digest('hex');
  return { name: basename(path), size: bytes.length, md5: h('md5'), sha1: h('sha1'), sha256: h('sha256'), sha512: h('sha512') };
}

function ours(dscPath: string): string {
  const dsc = parseDsc(readFileSync(dscPath));
  const dir = dscPath.slice(0, dscPath.lastIndexOf('/'));
  const files = new Map(dsc.files.map((f) => [f.name, hashes(join(dir, f.name))]));
  return renderSourcesStanza(dsc, sourceDirectory('main', dsc.source), hashes(dscPath), files);
}

test('every Sources stanza is byte for byte what apt-ftparchive sources writes', () => {
  const output = execFileSync('apt-ftparchive', ['sources', 'pool'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
  const expected = new Map<string, string>();
  for (const body of output.split('\n\n')) if (body.trim()) expected.set(/^Package: (.*)$/m.exec(body)![1]!, `${body}\n\n`);
  assert.equal(expected.size, dscs.length, 'apt-ftparchive indexed every source package');
  for (const path of dscs) {
    const dsc = parseDsc(readFileSync(path));
    assert.equal(ours(path), expected.get(dsc.source), dsc.source);
  }
});

test('the files a stanza serves are read back from it, the .dsc first', () => {
  const path = dscs[0]!;
  const files = sourceFilesOfStanza(ours(path));
  const dsc = parseDsc(readFileSync(path));
  assert.deepEqual(
    files.map((f) => f.path),
    [basename(path), ...dsc.files.map((f) => f.name)].map((n) => `pool/main/r/repod-srcdemo/${n}`),
  );
  assert.equal(files[0]!.sha256, hashes(path).sha256);
});

test('corpus: the clear-signed .dsc parses to its source, version, format and files', { skip: needsCorpus() }, () => {
  const dsc = parseDsc(readFileSync(corpusFile('cowsay_3.03+dfsg2-8.dsc')));
  assert.equal(dsc.signed, true);
  assert.equal(dsc.source, 'cowsay');
  assert.equal(dsc.version, '3.03+dfsg2-8');
  assert.equal(dsc.format, '3.0 (quilt)');
  assert.deepEqual(
    dsc.files.map((f) => [f.name, f.size, f.sha256]),
    [
      ['cowsay_3.03+dfsg2.orig.tar.gz', 14406, '3b89965c7d6b19f321867e59d14d4aec820d36068f56d2b1e783498beeb4183e'],
      ['cowsay_3.03+dfsg2-8.debian.tar.xz', 13508, 'd0c8832b05408498869603c8c7d30d75da72bd491561be598875529cd4980341'],
    ],
  );
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseDebControl } from '../../../src/formats/deb/control.ts';
import { parseDeb } from '../../../src/formats/deb/reader.ts';
import { compareContentsPaths, contentsLines, contentsLocation, contentsPadding, renderContentsIndex } from '../../../src/metadata/apt/contents.ts';
import { CORPUS } from '../../helpers/corpus.ts';
import { buildVarietyCorpus, writeDebs } from '../../helpers/debs.ts';

let repo = '';
after(() => rmSync(repo, { recursive: true, force: true }));
before(() => {
  repo = mkdtempSync(join(tmpdir(), 'repod-contents-'));
  const pool = join(repo, 'pool');
  mkdirSync(pool);
  buildVarietyCorpus(pool);
  // The third-party .debs too, when the corpus is there (helpers/corpus.ts).
  if (CORPUS) for (const f of readdirSync(CORPUS).filter((f) => /\.(deb|udeb|ddeb)$/.test(f))) copyFileSync(join(CORPUS, f), join(pool, f));
  // packages sharing paths: one Contents line lists all of them
  writeDebs(
    pool,
    ['shared-a', 'shared-b', 'shared-c'].map((name) => ({
      name,
      version: '1.0',
      files: [
        { path: 'usr/share/common/shared.txt', content: name },
        { path: `usr/share/common/${name}.txt`, content: name },
        { path: 'usr/share/common/a-very-long-directory-name-to-pass-column-sixty/file', content: name },
      ],
    })),
  );
});

test('renderContentsIndex() equals apt-ftparchive contents over the same packages', async () => {
  // apt-ftparchive visits files in the order its packages output lists them; its contents mode
  // reads only *.deb (udebs and ddebs have no Contents in Debian either)
  const order = execFileSync('apt-ftparchive', ['packages', 'pool'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 26 })
    .split('\n')
    .filter((l) => l.startsWith('Filename: '))
    .map((l) => l.slice('Filename: '.length))
    .filter((f) => f.endsWith('.deb'));
  assert.ok(order.length >= (CORPUS ? 40 : 30), `${order.length} packages`);
  const packages = [];
  for (const relative of order) {
    const { control, files } = await parseDeb(readFileSync(join(repo, relative)));
    packages.push({ location: control.package, files });
  }
  const expected = execFileSync('apt-ftparchive', ['contents', 'pool'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 26 });
  const ours = renderContentsIndex(packages);
  assert.equal(ours, expected);
  assert.match(ours, /^usr\/share\/common\/shared\.txt\s+shared-a,shared-c,shared-b$/m);
  assert.ok(ours.split('\n').length > (CORPUS ? 400 : 300));
});

test('contentsLines(): one package, in its own order, with apt padding', async () => {
  const pool = join(repo, 'pool');
  const file = readdirSync(pool).find((f) => f.startsWith('links_'))!;
  const { control, files } = await parseDeb(readFileSync(join(pool, file)));
  const location = contentsLocation(control);
  assert.equal(location, 'misc/links');
  assert.equal(
    contentsLines(files, location),
    [
      'usr/bin/tool\t\t\t\t\t\t    misc/links',
      'usr/bin/tool-hard\t\t\t\t\t    misc/links',
      'usr/bin/tool-alias\t\t\t\t\t    misc/links',
      'usr/lib/abs-link\t\t\t\t\t    misc/links',
      '',
    ].join('\n'),
  );
  assert.equal(contentsLines(['./a', '/b', 'dir/', './'], 'x'), `a${contentsPadding(1)}x\nb${contentsPadding(1)}x\n`);
});

test('padding, locations and path order', () => {
  assert.equal(contentsPadding(0), '\t'.repeat(7) + ' '.repeat(4));
  assert.equal(contentsPadding(56), '    ');
  assert.equal(contentsPadding(59), ' ');
  assert.equal(contentsPadding(60), ' ');
  assert.equal(contentsPadding(75), ' ');
  assert.equal(contentsPadding(7), '\t'.repeat(7) + ' '.repeat(4));
  assert.equal(contentsPadding(8), '\t'.repeat(6) + ' '.repeat(4));
  // apt counts bytes: "é" is two
  assert.equal(contentsLines(['é'], 'p'), `é${contentsPadding(2)}p\n`);
  const c = (section: string) => parseDebControl(`Package: p\nVersion: 1\nArchitecture: all\n${section}`);
  assert.equal(contentsLocation(c('Section: non-free/libs\n')), 'non-free/libs/p');
  assert.equal(contentsLocation(c('')), 'p');
  const paths = ['usr/bin-x/a', 'usr/bin/a', 'usr/bin.d', 'usr/binz', 'usr/bin/ä', 'usr/bin/z', 'usr/bin/😀', 'usr/bin/\uffee'];
  assert.deepEqual([...paths].sort(compareContentsPaths), ['usr/bin-x/a', 'usr/bin.d', 'usr/bin/a', 'usr/bin/z', 'usr/bin/ä', 'usr/bin/\uffee', 'usr/bin/😀', 'usr/binz']);
});

/**
 * The pure readers and writers of compose documents: comps, modulemd streams and updateinfo
 * (advisories from XML and JSON, cut to the packages a view shows, written back stably).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { RepodError } from '../../src/errors.ts';
import { parseComps } from '../../src/metadata/rpm/comps.ts';
import { parseModules } from '../../src/metadata/rpm/modulemd.ts';
import { filterAdvisory, mergeAdvisories, parseUpdateinfoJson, parseUpdateinfoXml, renderUpdateinfo } from '../../src/metadata/rpm/updateinfo.ts';
import { corpusFile, needsCorpus } from '../helpers/corpus.ts';

const refused = (fn: () => unknown, code: string, message: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof RepodError && e.code === code && e.status === 400 && message.test(e.message));

describe('comps', () => {
  it('reads groups, categories, environments and the packages they name', () => {
    const s = parseComps(
      '<comps><group><id>g</id><packagelist><packagereq>b</packagereq><packagereq type="optional">a</packagereq></packagelist></group><category><id>c</id></category></comps>',
    );
    assert.deepEqual(s, { groups: ['g'], categories: ['c'], environments: [], packages: ['a', 'b'] });
  });
  it('refuses what dnf could not read', () => {
    refused(() => parseComps(''), 'invalid_comps', /empty/);
    refused(() => parseComps('<comps><group><id>g</id></group><group><id>g</id></group></comps>'), 'invalid_comps', /twice/);
    refused(() => parseComps('<comps><group><id>g</id><packagelist><packagereq> </packagereq></packagelist></group></comps>'), 'invalid_comps', /without a package name/);
    refused(() => parseComps('<comps></comps>'), 'invalid_comps', /no group/);
    refused(() => parseComps('<comps><group><id>&bogus;</id></group></comps>'), 'invalid_comps', /entity/);
    refused(() => parseComps('<comps/><comps/>'), 'invalid_comps', /second root|not well-formed/);
  });
  it('reads the corpus comps files', { skip: needsCorpus() }, () => {
    const fedora = parseComps(readFileSync(corpusFile('Fedora-19-comps.xml'), 'utf8'));
    assert.equal(fedora.groups.length, 100);
    assert.equal(fedora.environments.length, 12);
    assert.deepEqual(parseComps(readFileSync(corpusFile('pulp-fixtures-comps.xml'), 'utf8')).groups, ['birds', 'mammals']);
  });
});

describe('modulemd', () => {
  it('reads the corpus modules.yaml (streams, defaults, obsoletes)', { skip: needsCorpus() }, () => {
    const s = parseModules(readFileSync(corpusFile('pulp-fixtures-modularity-modules.yaml'), 'utf8'));
    assert.equal(s.documents, 21);
    assert.ok(s.streams.some((m) => m.name === 'nodejs' && m.stream === '5' && m.rpms.includes('nodejs-1:5.3.1-1.module_2011+41787af0.x86_64')));
    assert.deepEqual(s.defaults.sort(), ['meson', 'ninja', 'nodejs', 'postgresql']);
  });
  it('refuses documents libmodulemd would refuse', () => {
    const stream = (data: string) => `document: modulemd\nversion: 2\ndata:\n${data}`;
    const base = '  name: m\n  stream: s\n  version: 1\n  context: c\n  arch: x86_64\n  summary: s\n  description: d\n  license: {module: [MIT]}\n';
    assert.equal(parseModules(stream(base)).streams.length, 1);
    refused(() => parseModules(stream(base.replace('  version: 1\n', '  version: one\n'))), 'invalid_modulemd', /version/);
    refused(() => parseModules(stream(base.replace('  arch: x86_64\n', ''))), 'invalid_modulemd', /arch/);
    refused(() => parseModules(stream(base.replace('  summary: s\n', ''))), 'invalid_modulemd', /summary/);
    refused(() => parseModules(`---\n${stream(base)}...\n---\n${stream(base)}`), 'invalid_modulemd', /twice/);
    refused(() => parseModules(stream(`${base}  artifacts: {rpms: [x]}\n`)), 'invalid_modulemd', /artifact/);
    refused(() => parseModules('document: modulemd\nversion: 1\ndata: {}\n'), 'invalid_modulemd', /version 1/);
    refused(() => parseModules('- a list'), 'invalid_modulemd', /mapping/);
    refused(() => parseModules(stream(base + base)), 'invalid_modulemd', /YAML/);
  });
});

describe('updateinfo', () => {
  const json = {
    id: 'A-1',
    type: 'security',
    severity: 'Low',
    references: [{ href: 'https://example.com', id: 'CVE-1', type: 'cve', title: 'CVE-1' }],
    pkglist: [
      {
        short: 's',
        name: 'n',
        packages: [
          { name: 'here', version: '1', release: '1', arch: 'noarch', filename: 'here-1-1.noarch.rpm' },
          { name: 'gone', version: '1', release: '1', arch: 'noarch' },
        ],
      },
    ],
  };
  it('builds advisories from JSON in createrepo_c order and writes them back stably', () => {
    const [a] = parseUpdateinfoJson(json);
    const xml = renderUpdateinfo([a]);
    assert.equal(
      xml,
      `<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update status="final" type="security" version="1">
    <id>A-1</id>
    <severity>Low</severity>
    <references>
      <reference href="https://example.com" id="CVE-1" type="cve" title="CVE-1"/>
    </references>
    <pkglist>
      <collection short="s">
        <name>n</name>
        <package name="here" version="1" release="1" epoch="0" arch="noarch">
          <filename>here-1-1.noarch.rpm</filename>
        </package>
        <package name="gone" version="1" release="1" epoch="0" arch="noarch"/>
      </collection>
    </pkglist>
  </update>
</updates>
`,
    );
    // Read back, it writes the same bytes.
    assert.equal(renderUpdateinfo(parseUpdateinfoXml(xml)), xml);
  });
  it('keeps only the packages present, and drops an advisory left with none', () => {
    const [a] = parseUpdateinfoJson(json);
    const cut = filterAdvisory(a, (p) => p.name === 'here')!;
    assert.match(renderUpdateinfo([cut]), /name="here"/);
    assert.doesNotMatch(renderUpdateinfo([cut]), /gone/);
    assert.equal(
      filterAdvisory(a, () => false),
      null,
    );
    const [bare] = parseUpdateinfoJson({ id: 'B-1', type: 'enhancement' });
    assert.equal(
      filterAdvisory(bare, () => false),
      bare,
      'an advisory naming no package is kept',
    );
  });
  it('merges by id, sorted', () => {
    const [a1] = parseUpdateinfoJson({ id: 'A', type: 'bugfix', title: 'one' });
    const [a2] = parseUpdateinfoJson({ id: 'A', type: 'bugfix', title: 'two' });
    const [b] = parseUpdateinfoJson({ id: 'B', type: 'bugfix' });
    const merged = mergeAdvisories([b, a1], [a2]);
    assert.deepEqual(
      merged.map((a) => a.id),
      ['A', 'B'],
    );
    assert.match(renderUpdateinfo(merged), /<title>two<\/title>/);
  });
  it('reads the corpus updateinfo files, modular collections included', { skip: needsCorpus() }, () => {
    assert.equal(parseUpdateinfoXml(readFileSync(corpusFile('pulp-fixtures-updateinfo.xml'), 'utf8')).length, 4);
    const modular = parseUpdateinfoXml(readFileSync(corpusFile('pulp-fixtures-modular-updateinfo.xml'), 'utf8'));
    assert.match(renderUpdateinfo(modular), /<module name="postgresql" stream="9.6"/);
  });
  it('refuses bad advisories', () => {
    refused(() => parseUpdateinfoXml('<update/>'), 'invalid_updateinfo', /<updates>/);
    refused(() => parseUpdateinfoJson({ type: 'bugfix' }), 'invalid_updateinfo', /id is missing/);
    refused(() => parseUpdateinfoJson({ id: 'a b', type: 'bugfix' }), 'invalid_updateinfo', /without spaces/);
    refused(() => parseUpdateinfoJson({ id: 'A', type: 'bugfix', pkglist: 'x' }), 'invalid_updateinfo', /array/);
    refused(() => parseUpdateinfoJson({ id: 'A', type: 'bugfix', pkglist: [{ packages: [{ name: 'x', version: '1', arch: 'noarch' }] }] }), 'invalid_updateinfo', /release/);
  });
});

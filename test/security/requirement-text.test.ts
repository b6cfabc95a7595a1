/**
 * The dependency index keeps most requirements as their text and parses them again when read
 * (requirement-text.ts): the text must give back exactly what was parsed, and where it does not,
 * the index must keep the parsed form.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { describe, it } from 'node:test';
import { parseDeb } from '../../src/formats/deb/reader.ts';
import type { RpmDependency } from '../../src/formats/rpm/model.ts';
import { parseRpm } from '../../src/formats/rpm/reader.ts';
import { debCapabilities } from '../../src/security/dependencies/deb-capabilities.ts';
import type { PackageCapabilities, RequirementEntry } from '../../src/security/dependencies/model.ts';
import { ProvidesIndex } from '../../src/security/dependencies/provides-index.ts';
import { requirementFromText, sameRequirement } from '../../src/security/dependencies/requirement-text.ts';
import { rpmCapabilities, rpmRequirement } from '../../src/security/dependencies/rpm-capabilities.ts';
import { corpusFiles, needsCorpus } from '../helpers/corpus.ts';

const rpmDeps: RpmDependency[] = [
  { name: 'libc.so.6()(64bit)' },
  { name: 'libc.so.6(GLIBC_2.34)(64bit)' },
  { name: '/bin/sh' },
  { name: '/usr/bin/tool', flags: 'GE', epoch: '0', version: '1.0' },
  { name: 'foo-libs', flags: 'EQ', epoch: '0', version: '1.2', release: '3.el9' },
  { name: 'foo-libs', flags: 'EQ', epoch: '2', version: '1.2', release: '3.el9' },
  { name: 'bar', flags: 'LT', version: '4' },
  { name: 'bar', flags: 'LE', epoch: '1', version: '4~rc1' },
  { name: 'bar', flags: 'GT', version: '4^git1' },
  { name: 'config(foo)', flags: 'EQ', epoch: '0', version: '1.0', release: '1' },
  { name: 'unversioned-with-a-version', version: '1.0' },
  { name: '(libthing or libother)' },
  { name: '(a >= 1.0 and (b if c))' },
  { name: '(a with b)' },
  { name: '(a without b)' },
  { name: '(a unless b else c)' },
  { name: '(broken' },
];

const entry = (r: RequirementEntry) => ({ text: r.text, requirement: r.requirement });

describe('a requirement from its text', () => {
  it('gives back what rpmRequirement parsed, for every form of RPM dependency', () => {
    for (const dep of rpmDeps) {
      const r = rpmRequirement(dep);
      assert.ok(
        sameRequirement(requirementFromText('rpm', r.text), r.requirement),
        `${r.text}: ${JSON.stringify(requirementFromText('rpm', r.text))} != ${JSON.stringify(r.requirement)}`,
      );
    }
  });

  it('gives back what debCapabilities parsed, for every form of Debian relation', () => {
    const control = new Map([
      ['Package', 'consumer'],
      ['Version', '1.0-1'],
      ['Architecture', 'amd64'],
      ['Pre-Depends', 'dpkg (>= 1.17.5)'],
      ['Depends', 'libc6 (>= 2.34), libfoo1 | libfoo2 (<< 3), python3:any, bar:amd64 (= 1:2.0-1), baz (>> 2~rc), old (<  1), older (> 2), broken ('],
    ]);
    const caps = debCapabilities(control as never);
    assert.ok(caps.requires.length >= 8);
    for (const r of caps.requires) assert.ok(sameRequirement(requirementFromText('deb', r.text), r.requirement), r.text);
  });

  it('the index hands back every requirement as given, also one whose text says something else', () => {
    const pkg = (key: string, requires: RequirementEntry[]): PackageCapabilities => ({
      format: 'rpm',
      key,
      label: key,
      name: key,
      version: '0:1-1',
      arch: 'x86_64',
      provides: [{ name: key }],
      files: [],
      requires,
      notes: [],
    });
    const odd: RequirementEntry = { text: 'libfoo', requirement: { kind: 'name', name: 'libbar' } };
    const parsed = rpmDeps.map(rpmRequirement);
    const index = new ProvidesIndex();
    index.add(pkg('one', [...parsed, odd]));
    index.add(pkg('two', parsed));
    assert.deepEqual(index.get('one')!.requires.map(entry), [...parsed, odd].map(entry));
    assert.deepEqual(index.get('two')!.requires.map(entry), parsed.map(entry));
    // The odd text does not stand for its requirement: a removal of libbar's provider finds the requirer.
    index.add(pkg('libbar', []));
    assert.deepEqual(
      index.requirersOf(['libbar']).map((p) => p.key),
      ['one'],
    );
    index.remove('one');
    assert.deepEqual(index.get('two')!.requires.map(entry), parsed.map(entry));
  });
});

describe('a requirement from its text, on the fixtures corpus', { skip: needsCorpus() }, () => {
  it('every requirement of every package gives its text back as parsed', async () => {
    const files = corpusFiles((n) => /\.(rpm|deb|udeb|ddeb)(-v3)?$/.test(n) && !n.includes('corrupted'));
    let checked = 0;
    for (const file of files) {
      const bytes = new Uint8Array(await readFile(file));
      let caps: PackageCapabilities;
      if (/\.rpm(-v3)?$/.test(file)) {
        try {
          caps = rpmCapabilities(parseRpm(bytes).pkg);
        } catch {
          continue; // not a package repod accepts
        }
      } else {
        caps = debCapabilities((await parseDeb(bytes, { files: false })).control);
      }
      for (const r of caps.requires) {
        assert.ok(sameRequirement(requirementFromText(caps.format, r.text), r.requirement), `${basename(file)}: ${r.text}`);
        checked++;
      }
      const index = new ProvidesIndex();
      index.add(caps);
      assert.deepEqual(index.get(caps.key)!.requires.map(entry), caps.requires.map(entry), basename(file));
    }
    assert.ok(checked > 40, `${checked} requirements`);
  });
});

/**
 * Our model against what the real createrepo_c (0.17) writes for the same fixture files: header
 * range, sizes, every dependency list (filtering, order, flags, EVR split, pre), descriptive
 * strings (including the non-UTF-8 package), the file list with types and the changelogs (via
 * createrepoChangelogs, at two changelog limits). The XML renderers have their own
 * field-by-field test; this one pins the model values.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createrepoChangelogs } from '../../../src/formats/rpm/changelog.ts';
import { isPrimaryFile } from '../../../src/formats/rpm/dependencies.ts';
import type { RpmDependency, RpmPackage } from '../../../src/formats/rpm/model.ts';
import { parseRpm } from '../../../src/formats/rpm/reader.ts';
import { corpusFiles } from '../../helpers/corpus.ts';
import { rpmVariety } from '../../helpers/packages.ts';

const LIMITS = [100000, 3];
const DEP_LISTS = ['provides', 'conflicts', 'obsoletes', 'requires', 'suggests', 'enhances', 'recommends', 'supplements'] as const;

interface Repo {
  primary: Map<string, string>;
  filelists: Map<string, string>;
  other: Map<string, string>;
}

let workdir = '';
/** Self-built packages, and the third-party corpus's when it is there (helpers/corpus.ts). */
const SELF_BUILT = await rpmVariety();
const CORPUS_RPMS = corpusFiles((f) => f.endsWith('.rpm') || f.endsWith('.rpm-v3'));
/** Copied file name -> source path. */
const copies = new Map<string, string>();
const repos = new Map<number, Repo>();
let available = true;

function decodeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e]!;
  });
}

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([\w:-]+)="([^"]*)"/g)) out[m[1]] = decodeXml(m[2]);
  return out;
}

/** Text of the first <name>...</name> (or '' for <name/>). */
function element(xml: string, name: string): string {
  const m = new RegExp(`<${name}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${name}>)`).exec(xml);
  assert.ok(m, `no <${name}> in ${xml.slice(0, 200)}`);
  return decodeXml(m[1] ?? '');
}

function elementAttrs(xml: string, name: string): Record<string, string> {
  const m = new RegExp(`<${name}(\\s[^>]*?)?/?>`).exec(xml);
  assert.ok(m, `no <${name}>`);
  return attrs(m[1] ?? '');
}

function packages(xml: string, keyOf: (block: string) => string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of xml.matchAll(/<package[\s>][\s\S]*?<\/package>/g)) out.set(keyOf(m[0]), m[0]);
  return out;
}

function runCreaterepo(limit: number): Repo {
  const dir = join(workdir, `limit-${limit}`);
  mkdirSync(dir);
  const run = spawnSync('createrepo_c', ['--changelog-limit', String(limit), '--workers', '2', '--no-database', '-o', dir, join(workdir, 'pkgs')], {
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, `createrepo_c failed: ${run.stderr}`);
  const repodata = join(dir, 'repodata');
  const read = (kind: string) => gunzipSync(readFileSync(join(repodata, readdirSync(repodata).find((f) => f.endsWith(`-${kind}.xml.gz`))!))).toString('utf8');
  const primary = packages(read('primary'), (b) => elementAttrs(b, 'location').href);
  // filelists and other are keyed by pkgid; map back through primary's checksums.
  const byId = new Map<string, string>();
  for (const [href, block] of primary) byId.set(element(block, 'checksum'), href);
  return {
    primary,
    filelists: packages(read('filelists'), (b) => byId.get(attrs(/<package[^>]*>/.exec(b)![0]).pkgid)!),
    other: packages(read('other'), (b) => byId.get(attrs(/<package[^>]*>/.exec(b)![0]).pkgid)!),
  };
}

before(() => {
  if (spawnSync('createrepo_c', ['--version']).status !== 0) {
    available = false;
    return;
  }
  workdir = mkdtempSync(join(tmpdir(), 'repod-createrepo-'));
  mkdirSync(join(workdir, 'pkgs'));
  // createrepo_c only picks up *.rpm; the v3 corpus file gets that suffix. Delta rpms are refused by our parser.
  // Self-built copies get a prefix: some share a name with a corpus file.
  for (const [prefix, paths] of [
    ['self-', SELF_BUILT],
    ['', CORPUS_RPMS],
  ] as const) {
    for (const path of paths) {
      const copy = prefix + basename(path).replace(/\.rpm-v3$/, '-v3.rpm');
      copyFileSync(path, join(workdir, 'pkgs', copy));
      copies.set(copy, path);
    }
  }
  for (const limit of LIMITS) repos.set(limit, runCreaterepo(limit));
});

after(() => {
  if (workdir) rmSync(workdir, { recursive: true, force: true });
});

function parse(path: string): RpmPackage {
  const bytes = readFileSync(path);
  return parseRpm(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)).pkg;
}

/** A dependency as createrepo_c's XML writer shows it. */
function rendered(dep: RpmDependency, list: string): Record<string, string> {
  const out: Record<string, string> = { name: dep.name };
  if (dep.flags) {
    out.flags = dep.flags;
    if (dep.epoch) out.epoch = dep.epoch;
    if (dep.version) out.ver = dep.version;
    if (dep.release) out.rel = dep.release;
  }
  if (list === 'requires' && dep.pre) out.pre = '1';
  return out;
}

function entries(block: string, list: string): Record<string, string>[] {
  const m = new RegExp(`<rpm:${list}>([\\s\\S]*?)</rpm:${list}>`).exec(block);
  if (!m) return [];
  return [...m[1].matchAll(/<rpm:entry\s([^>]*?)\/>/g)].map((e) => attrs(e[1]));
}

function files(block: string): { path: string; type?: string }[] {
  return [...block.matchAll(/<file(\s[^>]*)?>([^<]*)<\/file>/g)].map((m) => {
    const a = attrs(m[1] ?? '');
    return a.type ? { path: decodeXml(m[2]), type: a.type } : { path: decodeXml(m[2]) };
  });
}

test('createrepo_c: every package is in its metadata', (t) => {
  if (!available) return t.skip('createrepo_c is not installed');
  const repo = repos.get(LIMITS[0])!;
  assert.deepEqual([...repo.primary.keys()].sort(), [...copies.keys()].sort());
});

test('createrepo_c: the model matches primary, filelists and other for every package', async (t) => {
  if (!available) return t.skip('createrepo_c is not installed');
  for (const [copy, path] of copies) {
    await t.test(copy, () => {
      const pkg = parse(path);
      const repo = repos.get(LIMITS[0])!;
      const primary = repo.primary.get(copy)!;

      assert.equal(element(primary, 'name'), pkg.name);
      assert.equal(element(primary, 'arch'), pkg.arch);
      assert.deepEqual(elementAttrs(primary, 'version'), { epoch: pkg.epoch, ver: pkg.version, rel: pkg.release });
      assert.equal(element(primary, 'summary'), pkg.summary);
      assert.equal(element(primary, 'description'), pkg.description);
      assert.equal(element(primary, 'packager'), pkg.packager);
      assert.equal(element(primary, 'url'), pkg.url);
      assert.equal(elementAttrs(primary, 'time').build, String(pkg.buildTime));
      const size = elementAttrs(primary, 'size');
      assert.equal(size.installed, String(pkg.installedSize), 'installed size');
      assert.equal(size.archive, String(pkg.archiveSize), 'archive size');
      assert.equal(element(primary, 'rpm:license'), pkg.license);
      assert.equal(element(primary, 'rpm:vendor'), pkg.vendor);
      assert.equal(element(primary, 'rpm:group'), pkg.group);
      assert.equal(element(primary, 'rpm:buildhost'), pkg.buildHost);
      assert.equal(element(primary, 'rpm:sourcerpm'), pkg.sourceRpm);
      assert.deepEqual(elementAttrs(primary, 'rpm:header-range'), { start: String(pkg.headerStart), end: String(pkg.headerEnd) });

      for (const list of DEP_LISTS) {
        const ours = pkg[list].filter((d) => d.name !== '').map((d) => rendered(d, list));
        assert.deepEqual(ours, entries(primary, list), `${list}`);
      }

      const all = pkg.files.map((f) => (f.type === 'file' ? { path: f.path } : { path: f.path, type: f.type }));
      assert.deepEqual(
        files(primary),
        all.filter((f) => isPrimaryFile(f.path)),
        'primary files',
      );
      assert.deepEqual(files(repo.filelists.get(copy)!), all, 'filelists');

      for (const limit of LIMITS) {
        const other = repos.get(limit)!.other.get(copy)!;
        const theirs = [...other.matchAll(/<changelog\s([^>]*)>([\s\S]*?)<\/changelog>|<changelog\s([^>]*)\/>/g)].map((m) => {
          const a = attrs(m[1] ?? m[3]);
          return { author: a.author, date: Number(a.date), text: decodeXml(m[2] ?? '') };
        });
        assert.deepEqual(createrepoChangelogs(pkg.changelogs, limit), theirs, `changelogs, limit ${limit}`);
      }
    });
  }
});

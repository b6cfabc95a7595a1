/**
 * Self-built stand-ins for "some valid package", named like the corpus files tests used to borrow
 * (hello-2.0-1.x86_64.rpm, animaniacs-0.1-1.noarch.rpm, hello_2.10-3_amd64.deb, ...), so a test
 * reads the same names and versions without the third-party corpus (helpers/corpus.ts).
 *
 * `selfBuilt(fileName)` builds the package once per process (rpmbuild for RPMs and source RPMs,
 * dpkg-deb for .debs) into a temporary directory removed at exit, and resolves to its path. Known
 * names get a few realistic details (epochs, scriptlets, UTF-8 text, sections); any other name of
 * the form name-version-release.arch.rpm, name-version-release.src.rpm or name_version_arch.deb
 * gets a plain package with that identity. Never the same bytes as the corpus file of that name.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DebSpec, dpkgDebBuild } from './debs.ts';
import { createPackagerKey, signRpms } from './gpg.ts';
import { buildRpms, buildSrpm, type RpmSpec } from './rpmbuild.ts';

const CHANGELOG_TIME = 1_600_000_000;

const RPMS: Record<string, Partial<RpmSpec>> = {
  'hello-2.0-1.x86_64.rpm': {
    summary: 'Prints a familiar greeting',
    url: 'https://example.com/hello',
    files: [
      { path: '/usr/bin/hello', mode: '0755', content: '#!/bin/sh\necho Hello, world\n' },
      { path: '/usr/share/doc/hello/README', kind: 'doc' },
    ],
    changelog: [{ time: CHANGELOG_TIME, author: 'Jane Packager <jane@example.com> - 2.0-1', text: '- Update to 2.0' }],
  },
  'animaniacs-0.1-1.noarch.rpm': {
    summary: 'The Animaniacs, in a package',
    files: [{ path: '/usr/share/animaniacs/yakko.txt' }, { path: '/usr/share/animaniacs/wakko.txt' }],
  },
  'Archer-3.4.5-6.x86_64.rpm': {
    epoch: 2,
    summary: 'Complex package',
    requires: ['fooa <= 2', 'foob >= 1.0.0-1', 'fooc = 3', 'food < 4', 'fooe > 5'],
    provides: ['bara <= 22', 'barb >= 11.22.33-44', 'barc = 33'],
    conflicts: ['bba <= 2222', 'bbb >= 2:3.4.5-6'],
    obsoletes: ['aaa <= 222', 'aab >= 1.1'],
    files: [
      { path: '/usr/bin/complex_a', mode: '0755' },
      { path: '/etc/complex/pkg.cfg', kind: 'config' },
    ],
  },
  'balicek-utf8-1.1.1-1.x86_64.rpm': {
    summary: 'Balíček s diakritikou: žluťoučký kůň',
    description: 'Příliš žluťoučký kůň úpěl ďábelské ódy.',
    files: [{ path: '/usr/share/balicek/čeština.txt', content: 'ěščřžýáíé\n' }],
  },
  'rpm-scriptlets-1.0-1.noarch.rpm': {
    scripts: { pre: 'echo pre', post: 'echo post', preun: 'echo preun', postun: 'echo postun', pretrans: 'echo pretrans', posttrans: 'echo posttrans' },
    files: [{ path: '/usr/share/rpm-scriptlets/README' }],
  },
  'crypto-policies-20210617-1.gitc776d3e.el8.noarch.rpm': {
    summary: 'System-wide crypto policies',
    recommends: ['(grubby if kernel)'],
    files: [
      { path: '/etc/crypto-policies/config', kind: 'config', content: 'DEFAULT\n' },
      { path: '/usr/share/crypto-policies/DEFAULT/opensslcnf.txt' },
      { path: '/usr/bin/update-crypto-policies', mode: '0755' },
    ],
    changelog: [
      { time: CHANGELOG_TIME, author: 'Crypto Maintainer <crypto@example.com> - 20210617-1.gitc776d3e', text: '- Update policies' },
      { time: CHANGELOG_TIME - 86400 * 30, author: 'Crypto Maintainer <crypto@example.com> - 20210213-1.git5c710c0', text: '- Older update' },
    ],
  },
};

const DEBS: Record<string, Partial<DebSpec>> = {
  'hello_2.10-3_amd64.deb': {
    section: 'devel',
    depends: 'libc6 (>= 2.34)',
    description: { summary: 'example package based on GNU hello', long: ['The GNU hello program produces a familiar, friendly greeting.'] },
    files: [
      { path: 'usr/bin/hello', content: '#!/bin/sh\necho Hello, world\n' },
      { path: 'usr/share/doc/hello/copyright', content: 'GPL-3+\n' },
    ],
  },
  'cowsay_3.03+dfsg2-8_all.deb': {
    section: 'games',
    depends: 'perl',
    description: { summary: 'configurable talking cow', long: ['Cowsay (or cowthink) will turn text into happy ASCII cows.'] },
    files: [
      { path: 'usr/games/cowsay', content: '#!/usr/bin/perl\nprint "moo\\n";\n', mode: 0o755 },
      { path: 'usr/share/cowsay/cows/default.cow', content: '$the_cow = "moo";\n' },
    ],
  },
};

let dir: string | null = null;
const built = new Map<string, Promise<string>>();

function outDir(): string {
  if (dir === null) {
    dir = mkdtempSync(join(tmpdir(), 'repod-selfbuilt-'));
    const made = dir;
    process.on('exit', () => rmSync(made, { recursive: true, force: true }));
  }
  return dir;
}

/** Builds (once per process) the package a test knows by this file name; resolves to its path. */
export function selfBuilt(fileName: string): Promise<string> {
  let promise = built.get(fileName);
  if (!promise) {
    promise = build(fileName);
    built.set(fileName, promise);
  }
  return promise;
}

/** selfBuilt() for several names, built in parallel. */
export function selfBuiltAll(fileNames: readonly string[]): Promise<string[]> {
  return Promise.all(fileNames.map(selfBuilt));
}

async function build(fileName: string): Promise<string> {
  const rpm = /^(.+)-([^-]+)-([^-]+)\.([^.]+)\.rpm$/.exec(fileName);
  if (rpm) {
    const [, name, version, release, arch] = rpm;
    const spec: RpmSpec = {
      name,
      version,
      release,
      arch,
      autoReqProv: false,
      files: [{ path: `/usr/share/${name}/README` }],
      changelog: [{ time: CHANGELOG_TIME, author: `Test Packager <packager@example.com> - ${version}-${release}`, text: `- Build ${name} ${version}` }],
      ...RPMS[fileName],
    };
    // Each package in its own directory: rpmbuild names the output itself.
    const out = join(outDir(), fileName + '.d');
    if (arch === 'src') return buildSrpm({ ...spec, arch: undefined }, out);
    const [path] = await buildRpms([spec], out);
    return path;
  }
  const deb = /^([^_]+)_([^_]+)_([^_.]+)\.deb$/.exec(fileName);
  if (deb) {
    const [, name, version, arch] = deb;
    return dpkgDebBuild({ name, version, arch, ...DEBS[fileName] }, outDir(), { compression: 'xz', fileName });
  }
  if (fileName.endsWith('.dsc')) {
    // A Debian source control file: text, not a binary package.
    const path = join(outDir(), fileName);
    mkdirSync(outDir(), { recursive: true });
    writeFileSync(path, `Format: 3.0 (quilt)\nSource: ${fileName.split('_')[0]}\nBinary: ${fileName.split('_')[0]}\nVersion: 1.0-1\n`);
    return path;
  }
  throw new Error(`selfBuilt: no recipe for ${fileName}`);
}

/** Builds every name up front; resolves to a synchronous name → path lookup (for tests that name packages in many places). */
export async function selfBuiltLookup(fileNames: readonly string[]): Promise<(fileName: string) => string> {
  const built = await selfBuiltAll(fileNames);
  const paths = new Map(fileNames.map((name, i) => [name, built[i]]));
  return (fileName) => {
    const path = paths.get(fileName);
    if (!path) throw new Error(`selfBuiltLookup: ${fileName} was not built up front`);
    return path;
  };
}

let variety: Promise<string[]> | null = null;

/**
 * A varied set of self-built RPMs for tests that go over "every package": binary x86_64 and
 * noarch, a source RPM, epochs, every dependency comparison, rich and weak dependencies,
 * scriptlets, UTF-8 text, config/doc/ghost files, directories, symlinks, many files, a long
 * changelog, and a copy signed with a throw-away gpg key. Built once per process.
 */
export function rpmVariety(): Promise<string[]> {
  variety ??= (async () => {
    const named = await selfBuiltAll([
      'hello-2.0-1.x86_64.rpm',
      'hello-1.0-1.src.rpm',
      'animaniacs-0.1-1.noarch.rpm',
      'Archer-3.4.5-6.x86_64.rpm',
      'balicek-utf8-1.1.1-1.x86_64.rpm',
      'rpm-scriptlets-1.0-1.noarch.rpm',
      'crypto-policies-20210617-1.gitc776d3e.el8.noarch.rpm',
    ]);
    const out = join(outDir(), 'variety');
    const changelog = Array.from({ length: 60 }, (_, i) => ({
      time: CHANGELOG_TIME - i * 86400 * 7,
      author: `Maint Ainer ${i % 3} <m${i % 3}@example.com> - 1.${60 - i}-1`,
      text: `- Change number ${60 - i}\n- With a second line`,
    }));
    const [weak, many, signed] = await buildRpms(
      [
        {
          name: 'weak-deps',
          version: '1.2.3~rc1',
          release: '4.el9',
          epoch: 0,
          autoReqProv: false,
          requires: ['libfoo.so.1()(64bit)', '/bin/sh', 'bar >= 1:2.0-3', '(a or b)', '(c if d else e)'],
          requiresPre: ['shadow-utils'],
          requiresPost: ['coreutils'],
          provides: ['weak-deps(x86-64) = 1.2.3', 'config(weak-deps) = 0:1.2.3~rc1-4.el9'],
          recommends: ['rec-a', '(rec-b and rec-c)'],
          suggests: ['sug >= 2'],
          supplements: ['(sup-a unless sup-b)'],
          enhances: ['enh'],
          conflicts: ['old-thing < 1.0'],
          obsoletes: ['weak-deps-legacy <= 1.2'],
          files: [
            { path: '/etc/weak-deps.conf', kind: 'config', content: 'a=1\n' },
            { path: '/usr/share/doc/weak-deps/README', kind: 'doc' },
            { path: '/var/log/weak-deps.log', kind: 'ghost' },
            { path: '/usr/lib/weak-deps', kind: 'dir' },
            { path: '/usr/lib/weak-deps/link', kind: 'symlink', target: '../../share/doc/weak-deps/README' },
            { path: '/usr/bin/weak-deps', mode: '0755', content: '#!/bin/sh\n' },
            { path: '/usr/share/weak-deps/file with spaces and ü.txt' },
          ],
          scripts: { post: '/sbin/ldconfig || :', postun: '/sbin/ldconfig || :' },
          changelog,
        },
        {
          name: 'many-files',
          version: '0.9',
          arch: 'noarch',
          autoReqProv: false,
          files: Array.from({ length: 400 }, (_, i) => ({ path: `/usr/share/many-files/d${i % 9}/f-${String(i).padStart(3, '0')}.txt`, content: `file ${i}\n`.repeat(i % 5) })),
        },
        { name: 'signed-pkg', version: '3.1', arch: 'noarch', autoReqProv: false, files: [{ path: '/usr/share/signed-pkg/x' }] },
      ],
      out,
    );
    const key = await createPackagerKey();
    try {
      await signRpms(key, [signed]);
    } finally {
      rmSync(key.home, { recursive: true, force: true });
    }
    return [...named, weak, many, signed];
  })();
  return variety;
}

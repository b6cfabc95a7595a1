/**
 * Real .deb files for tests and benchmarks, two ways:
 *
 * - `buildDeb(spec)`: writes the package directly (ar + control.tar.gz + data.tar.gz, GNU tar
 *   headers), about 2 ms per package: for hundreds or thousands of packages.
 * - `dpkgDebBuild(spec, dir, { compression })`: lays out a root and runs `dpkg-deb --build`, with
 *   gzip, xz, zstd or no compression: for realism (dpkg's own tar layout, member order, checks).
 *
 * Both produce files `dpkg-deb -I` accepts.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pseudoRandomBytes } from './prng.ts';

export interface DebFileSpec {
  /** Path inside the package, without leading "./" or "/", e.g. "usr/bin/hello". */
  path: string;
  content?: string | Uint8Array;
  /** Permission bits; default 0o644 (0o755 for usr/bin, usr/sbin, bin, sbin). */
  mode?: number;
  /** Makes a symlink to this target instead of a file. */
  symlink?: string;
  /** Makes a hard link to this (earlier) path instead of a file. */
  hardlink?: string;
}

export interface DebSpec {
  name: string;
  version: string;
  arch?: string;
  maintainer?: string;
  /** Default "misc"; null leaves the field out. */
  section?: string | null;
  /** Default "optional"; null leaves the field out. */
  priority?: string | null;
  /** Summary line and optional extended description lines (written with the leading space and "." for empty lines). */
  description?: string | { summary: string; long?: string[] };
  depends?: string;
  preDepends?: string;
  provides?: string;
  /** More control fields, written after the standard ones in the given order. */
  fields?: Array<[string, string]>;
  files?: DebFileSpec[];
  /** Control members besides control (e.g. postinst, conffiles). */
  controlFiles?: Array<{ name: string; content: string; mode?: number }>;
}

/** The control file text for a spec (fields in dpkg-gencontrol's usual order). */
export function controlText(spec: DebSpec): string {
  const lines: string[] = [];
  const add = (name: string, value: string | null | undefined) => {
    if (value !== undefined && value !== null) lines.push(`${name}: ${value}`);
  };
  add('Package', spec.name);
  add('Version', spec.version);
  add('Architecture', spec.arch ?? 'amd64');
  add('Maintainer', spec.maintainer ?? 'Repod Tests <tests@repod.invalid>');
  add('Installed-Size', String(Math.max(1, Math.ceil(totalSize(spec) / 1024))));
  add('Pre-Depends', spec.preDepends);
  add('Depends', spec.depends);
  add('Provides', spec.provides);
  add('Section', spec.section ?? 'misc');
  add('Priority', spec.priority ?? 'optional');
  for (const [name, value] of spec.fields ?? []) {
    // Multi-line values are passed with their continuation lines already indented.
    lines.push(value.startsWith('\n') ? `${name}:${value}` : `${name}: ${value}`);
  }
  const description = spec.description ?? `test package ${spec.name}`;
  if (typeof description === 'string') {
    lines.push(`Description: ${description}`);
  } else {
    lines.push(`Description: ${description.summary}`);
    for (const line of description.long ?? []) lines.push(line.trim() === '' ? ' .' : ` ${line}`);
  }
  return `${lines.join('\n')}\n`;
}

function totalSize(spec: DebSpec): number {
  let n = 0;
  for (const f of spec.files ?? []) n += typeof f.content === 'string' ? Buffer.byteLength(f.content) : (f.content?.length ?? 0);
  return n;
}

function defaultMode(path: string): number {
  return /^(usr\/)?s?bin\//.test(path) ? 0o755 : 0o644;
}

// ---- fast writer ---------------------------------------------------------------------------

const MTIME = 1_700_000_000;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0');
}

function tarHeader(name: string, opts: { size?: number; mode: number; type: string; link?: string }): Buffer {
  const out: Buffer[] = [];
  let nameBytes = Buffer.from(name);
  if (nameBytes.length > 100) {
    // GNU long name entry, as GNU tar (and so dpkg-deb) writes it.
    out.push(tarHeader('././@LongLink', { size: nameBytes.length + 1, mode: 0o644, type: 'L' }));
    out.push(padBlock(Buffer.concat([nameBytes, Buffer.alloc(1)])));
    nameBytes = nameBytes.subarray(0, 100);
  }
  const linkBytes = Buffer.from(opts.link ?? '');
  if (linkBytes.length > 100) {
    out.push(tarHeader('././@LongLink', { size: linkBytes.length + 1, mode: 0o644, type: 'K' }));
    out.push(padBlock(Buffer.concat([linkBytes, Buffer.alloc(1)])));
  }
  const h = Buffer.alloc(512);
  nameBytes.copy(h, 0);
  h.write(octal(opts.mode, 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  h.write(octal(opts.size ?? 0, 12), 124, 'latin1');
  h.write(octal(MTIME, 12), 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write(opts.type, 156, 'latin1');
  linkBytes.copy(h, 157, 0, Math.min(100, linkBytes.length));
  h.write('ustar  \0', 257, 'latin1');
  h.write('root', 265, 'latin1');
  h.write('root', 297, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${octal(sum, 7)}\0 `, 148, 'latin1');
  out.push(h);
  return Buffer.concat(out);
}

function padBlock(data: Buffer): Buffer {
  const pad = (512 - (data.length % 512)) % 512;
  return pad ? Buffer.concat([data, Buffer.alloc(pad)]) : data;
}

interface TarItem {
  name: string;
  type: 'dir' | 'file' | 'symlink' | 'hardlink';
  mode?: number;
  content?: Buffer;
  link?: string;
}

function tar(items: TarItem[]): Buffer {
  const parts: Buffer[] = [];
  for (const item of items) {
    if (item.type === 'dir') parts.push(tarHeader(item.name, { mode: item.mode ?? 0o755, type: '5' }));
    else if (item.type === 'symlink') parts.push(tarHeader(item.name, { mode: 0o777, type: '2', link: item.link }));
    else if (item.type === 'hardlink') parts.push(tarHeader(item.name, { mode: item.mode ?? 0o644, type: '1', link: item.link }));
    else {
      const content = item.content ?? Buffer.alloc(0);
      parts.push(tarHeader(item.name, { mode: item.mode ?? 0o644, type: '0', size: content.length }));
      parts.push(padBlock(content));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

function arMember(name: string, data: Buffer): Buffer {
  const h = Buffer.alloc(60, 0x20);
  h.write(name, 0, 'latin1');
  h.write(String(MTIME), 16, 'latin1');
  h.write('0', 28, 'latin1');
  h.write('0', 34, 'latin1');
  h.write('100644', 40, 'latin1');
  h.write(String(data.length), 48, 'latin1');
  h.write('`\n', 58, 'latin1');
  return Buffer.concat(data.length % 2 ? [h, data, Buffer.from('\n')] : [h, data]);
}

/** Directories leading to each file, in tar order ("./", "./usr/", "./usr/bin/", ...). */
function dataItems(files: DebFileSpec[]): TarItem[] {
  const items: TarItem[] = [{ name: './', type: 'dir' }];
  const dirs = new Set<string>();
  for (const file of files) {
    const parts = file.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = `./${parts.slice(0, i).join('/')}/`;
      if (!dirs.has(dir)) {
        dirs.add(dir);
        items.push({ name: dir, type: 'dir' });
      }
    }
    const name = `./${file.path}`;
    if (file.symlink !== undefined) items.push({ name, type: 'symlink', link: file.symlink });
    else if (file.hardlink !== undefined) items.push({ name, type: 'hardlink', link: `./${file.hardlink}` });
    else {
      const content = typeof file.content === 'string' ? Buffer.from(file.content) : Buffer.from(file.content ?? '');
      items.push({ name, type: 'file', mode: file.mode ?? defaultMode(file.path), content });
    }
  }
  return items;
}

export interface BuildDebOptions {
  /** Member compression; default gzip (level 6, fast enough for thousands of packages). */
  compression?: 'gzip' | 'none';
  gzipLevel?: number;
}

/** Writes a .deb in memory directly (no external tool). */
export function buildDeb(spec: DebSpec, options: BuildDebOptions = {}): Buffer {
  const files = spec.files ?? [{ path: `usr/share/doc/${spec.name}/README`, content: `${spec.name} ${spec.version}\n` }];
  const controlItems: TarItem[] = [
    { name: './', type: 'dir' },
    { name: './control', type: 'file', content: Buffer.from(controlText({ ...spec, files })) },
    ...(spec.controlFiles ?? []).map((f): TarItem => ({ name: `./${f.name}`, type: 'file', mode: f.mode ?? 0o755, content: Buffer.from(f.content) })),
  ];
  const gz = options.compression !== 'none';
  const pack = (data: Buffer) => (gz ? gzipSync(data, { level: options.gzipLevel ?? 6 }) : data);
  return Buffer.concat([
    Buffer.from('!<arch>\n'),
    arMember('debian-binary', Buffer.from('2.0\n')),
    arMember(gz ? 'control.tar.gz' : 'control.tar', pack(tar(controlItems))),
    arMember(gz ? 'data.tar.gz' : 'data.tar', pack(tar(dataItems(files)))),
  ]);
}

/** Writes packages with buildDeb() into `dir` under their canonical names; returns the paths. */
export function writeDebs(dir: string, specs: DebSpec[], options?: BuildDebOptions): string[] {
  mkdirSync(dir, { recursive: true });
  return specs.map((spec) => {
    const path = join(dir, `${spec.name}_${spec.version.replace(/^\d+:/, '')}_${spec.arch ?? 'amd64'}.deb`);
    writeFileSync(path, buildDeb(spec, options));
    return path;
  });
}

/**
 * N package specs for benchmarks: pkg-00001 ... with versions, alternating architectures and a
 * dependency on the previous package. Deterministic.
 */
export function benchmarkSpecs(count: number, options: { prefix?: string; arch?: string } = {}): DebSpec[] {
  const prefix = options.prefix ?? 'pkg';
  const width = String(count).length;
  return Array.from({ length: count }, (_, i) => {
    const name = `${prefix}-${String(i + 1).padStart(width, '0')}`;
    const previous = i > 0 ? `${prefix}-${String(i).padStart(width, '0')}` : undefined;
    return {
      name,
      version: `1.${i % 7}.${i}-${1 + (i % 3)}`,
      arch: options.arch ?? (i % 5 === 0 ? 'all' : 'amd64'),
      depends: previous ? `libc6 (>= 2.36), ${previous} (>= 1.0)` : 'libc6 (>= 2.36)',
      description: { summary: `benchmark package ${i + 1}`, long: [`Package number ${i + 1} of ${count}.`] },
      files: [
        { path: `usr/bin/${name}`, content: `#!/bin/sh\necho ${name}\n` },
        { path: `usr/share/doc/${name}/copyright`, content: 'Public domain.\n' },
      ],
    };
  });
}

// ---- dpkg-deb ------------------------------------------------------------------------------

export interface DpkgDebOptions {
  compression?: 'gzip' | 'xz' | 'zstd' | 'none';
  level?: number;
  /** Output file name (default <name>_<version>_<arch>.deb). */
  fileName?: string;
}

/** Builds a package with `dpkg-deb --build` into `outDir`; returns the path. */
export function dpkgDebBuild(spec: DebSpec, outDir: string, options: DpkgDebOptions = {}): string {
  const files = spec.files ?? [{ path: `usr/share/doc/${spec.name}/README`, content: `${spec.name} ${spec.version}\n` }];
  const root = mkdtempSync(join(tmpdir(), 'repod-deb-'));
  chmodSync(root, 0o755);
  try {
    mkdirSync(join(root, 'DEBIAN'), { recursive: true });
    writeFileSync(join(root, 'DEBIAN/control'), controlText({ ...spec, files }));
    for (const f of spec.controlFiles ?? []) {
      writeFileSync(join(root, 'DEBIAN', f.name), f.content);
      chmodSync(join(root, 'DEBIAN', f.name), f.mode ?? 0o755);
    }
    for (const file of files) {
      const path = join(root, file.path);
      mkdirSync(dirname(path), { recursive: true });
      if (file.symlink !== undefined) symlinkSync(file.symlink, path);
      else if (file.hardlink !== undefined) linkSync(join(root, file.hardlink), path);
      else {
        writeFileSync(path, file.content ?? '');
        chmodSync(path, file.mode ?? defaultMode(file.path));
      }
    }
    mkdirSync(outDir, { recursive: true });
    const out = join(outDir, options.fileName ?? `${spec.name}_${spec.version.replace(/^\d+:/, '')}_${spec.arch ?? 'amd64'}.deb`);
    const args = ['--root-owner-group', `-Z${options.compression ?? 'xz'}`];
    if (options.level !== undefined) args.push(`-z${options.level}`);
    execFileSync('dpkg-deb', [...args, '--build', root, out], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SOURCE_DATE_EPOCH: String(MTIME) } });
    return out;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

// ---- a varied corpus -------------------------------------------------------------------------

/**
 * About 30 packages covering what Packages stanzas and Contents must get right: every member
 * compression dpkg-deb writes (gzip, xz, zstd, none; several levels), multi-line and UTF-8
 * descriptions, dependency fields with alternatives, versions and architecture qualifiers,
 * Pre-Depends, versioned Provides, Multi-Arch, Essential, Protected, Source with and without a
 * version, epochs and tildes, udeb/ddeb package types, unordered custom fields, values with extra
 * blanks, missing Section/Priority; and in data.tar: long names and link targets (GNU 'L'/'K'),
 * symlinks, hard links, spaces and UTF-8 in names, empty files and directories, many files.
 */
export function varietySpecs(): Array<{ spec: DebSpec; compression: NonNullable<DpkgDebOptions['compression']>; level?: number; fileName?: string }> {
  const long = (n: number) => Array.from({ length: n }, (_, i) => `Line ${i + 1} of a long description, with some words to wrap.`);
  const many = Array.from({ length: 300 }, (_, i): DebFileSpec => ({ path: `usr/share/many/dir${i % 7}/file-${String(i).padStart(3, '0')}.txt`, content: `file ${i}\n` }));
  const specs: Array<{ spec: DebSpec; compression: NonNullable<DpkgDebOptions['compression']>; level?: number; fileName?: string }> = [];
  const compressions = ['gzip', 'xz', 'zstd', 'none'] as const;
  const add = (spec: DebSpec, extra: { level?: number; fileName?: string; compression?: NonNullable<DpkgDebOptions['compression']> } = {}) =>
    specs.push({ spec, compression: extra.compression ?? compressions[specs.length % 4]!, level: extra.level, fileName: extra.fileName });

  add({ name: 'plain', version: '1.0-1' });
  add({ name: 'multiline', version: '2.3.4-5', description: { summary: 'a package with a long description', long: ['First paragraph.', '', ...long(12), '', 'Last paragraph.'] } });
  add({
    name: 'utf8-desc',
    version: '0.1',
    maintainer: 'Jörg Müller <joerg@example.org>',
    description: { summary: 'naïve café — 中文 описание', long: ['Ünïcödé everywhere: ✓ ☃ 🐧.'] },
  });
  add({
    name: 'depends-alt',
    version: '3.0-2',
    depends: 'libc6 (>= 2.36), python3:any, libfoo1 | libfoo2 (>= 1.2~), perl:any | perl-base (>= 5.20)',
    preDepends: 'dpkg (>= 1.19.0), init-system-helpers (>= 1.54~)',
  });
  add({
    name: 'provides-versioned',
    version: '1:4.5-1',
    provides: 'virtual-a (= 4.5), virtual-b, libx-abi-2 (= 1:4.5-1)',
    fields: [
      ['Breaks', 'old-thing (<< 2.0)'],
      ['Replaces', 'old-thing (<< 2.0)'],
      ['Conflicts', 'conflicting'],
    ],
  });
  add({ name: 'multiarch-same', version: '1.2-3', arch: 'arm64', fields: [['Multi-Arch', 'same']] });
  add({ name: 'multiarch-foreign', version: '1.2-3', arch: 'all', fields: [['Multi-Arch', 'foreign']] });
  add({ name: 'multiarch-allowed', version: '1.0', arch: 'i386', fields: [['Multi-Arch', 'allowed']] });
  add({
    name: 'essential',
    version: '5.2-1',
    priority: 'required',
    fields: [
      ['Essential', 'yes'],
      ['Protected', 'yes'],
    ],
  });
  add({ name: 'libsrc-bin', version: '2.66-4+deb12u3+b1', fields: [['Source', 'libsrc (2.66-4+deb12u3)']] });
  add({ name: 'src-noversion', version: '1.0-1', fields: [['Source', 'othersource']] });
  add({
    name: 'tilde',
    version: '1.0~rc1-0~exp1',
    fields: [
      ['Built-Using', 'gcc-12 (= 12.2.0-14)'],
      ['Homepage', 'https://example.org/tilde'],
    ],
  });
  add({
    name: 'weak-deps',
    version: '7',
    fields: [
      ['Recommends', 'a, b | c'],
      ['Suggests', 'd'],
      ['Enhances', 'e'],
      ['Original-Maintainer', 'Upstream <up@example.org>'],
    ],
  });
  add({
    name: 'custom-fields',
    version: '1.0',
    fields: [
      ['X-Custom-Thing', 'some value'],
      ['Zzz-Last', 'z'],
      ['Aaa-First', 'a'],
      ['Tag', 'role::program, devel::lang:c'],
    ],
  });
  add({
    name: 'spaced-values',
    version: '1.0',
    fields: [
      ['X-Spaced', '  two extra leading blanks'],
      ['X-Trailing', 'trailing blanks   '],
      ['X-Multi', 'first\n  indented more\n\tand a tab'],
    ],
  });
  add({ name: 'empty-first-line', version: '1.0', fields: [['X-Block', '\n line one\n line two']] });
  add({ name: 'no-section', version: '1.0', section: null, priority: null });
  add({ name: 'empty-section', version: '1.0', section: '', priority: '' });
  add({ name: 'nonfree-section', version: '1.0', section: 'non-free/libs', priority: 'extra' });
  add({ name: 'udeb-pkg', version: '1.0', section: 'debian-installer', fields: [['Package-Type', 'udeb']] }, { fileName: 'udeb-pkg_1.0_amd64.udeb' });
  add(
    {
      name: 'ddeb-pkg-dbgsym',
      version: '1.0',
      section: 'debug',
      fields: [
        ['Package-Type', 'ddeb'],
        ['Auto-Built-Package', 'debug-symbols'],
        ['Build-Ids', 'abcdef0123456789'],
      ],
    },
    { fileName: 'ddeb-pkg-dbgsym_1.0_amd64.ddeb' },
  );
  add({
    name: 'long-names',
    version: '1.0',
    files: [
      { path: `usr/share/${'deep/'.repeat(25)}file-at-depth.txt`, content: 'deep\n' },
      { path: `usr/share/long/${'n'.repeat(150)}.txt`, content: 'long name\n' },
      { path: 'usr/share/long/link-to-long', symlink: `${'n'.repeat(150)}.txt` },
    ],
  });
  add({
    name: 'links',
    version: '1.0',
    files: [
      { path: 'usr/bin/tool', content: '#!/bin/sh\n' },
      { path: 'usr/bin/tool-alias', symlink: 'tool' },
      { path: 'usr/bin/tool-hard', hardlink: 'usr/bin/tool' },
      { path: 'usr/lib/abs-link', symlink: '/usr/bin/tool' },
    ],
  });
  add({
    name: 'odd-names',
    version: '1.0',
    files: [
      { path: 'usr/share/odd/with space.txt', content: 'x' },
      { path: 'usr/share/odd/ünïcödé-名前.txt', content: 'x' },
      { path: 'usr/share/odd/empty', content: '' },
      { path: 'usr/share/odd/dash-+_.~', content: 'x' },
    ],
  });
  add({ name: 'many-files', version: '1.0', files: many });
  add({
    name: 'scripts',
    version: '1.0',
    controlFiles: [
      { name: 'postinst', content: '#!/bin/sh\nexit 0\n' },
      { name: 'conffiles', content: '/etc/scripts.conf\n', mode: 0o644 },
    ],
    files: [{ path: 'etc/scripts.conf', content: 'a=1\n' }],
  });
  add({
    name: 'big-random',
    version: '1.0',
    files: [
      { path: 'usr/share/big/random.bin', content: pseudoRandomBytes(3 << 20, 1) },
      { path: 'usr/share/big/zeros.bin', content: new Uint8Array(4 << 20) },
    ],
  });
  add({ name: 'xz-level9', version: '1.0', files: [{ path: 'usr/share/nine/a', content: 'nine\n'.repeat(10000) }] }, { compression: 'xz', level: 9 });
  add({ name: 'zstd-level19', version: '1.0', files: [{ path: 'usr/share/z/a', content: 'nineteen\n'.repeat(10000) }] }, { compression: 'zstd', level: 19 });
  add({ name: 'gzip-level1', version: '1.0' }, { compression: 'gzip', level: 1 });
  add({ name: 'all-arch', version: '20240101', arch: 'all', section: 'doc' });
  add({ name: 'epoch-zero', version: '0:1.0-1' });
  return specs;
}

/** Builds varietySpecs() with dpkg-deb into `dir` (once per directory); returns the paths. */
export function buildVarietyCorpus(dir: string): string[] {
  return varietySpecs().map(({ spec, compression, level, fileName }) => dpkgDebBuild(spec, dir, { compression, level, fileName }));
}

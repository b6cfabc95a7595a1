/**
 * A small Debian source package made with the real `dpkg-source -b` (format 3.0 (quilt): an orig
 * tarball and a debian tarball beside the .dsc), for tests that must not depend on the corpus.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SourceSpec {
  source: string;
  /** Upstream version (the orig tarball's). */
  upstream: string;
  /** Debian revision. */
  revision: string;
  binary?: string;
  buildDepends?: string;
  architecture?: string;
  /** Written to the upstream tree as hello.txt (changes the orig tarball). */
  content?: string;
}

/** Builds the source package in a new directory; returns the directory and the .dsc path. */
export function buildSourcePackage(spec: SourceSpec, outDir = mkdtempSync(join(tmpdir(), 'repod-dsc-'))): { dir: string; dsc: string; files: string[] } {
  const binary = spec.binary ?? spec.source;
  const tree = join(outDir, `${spec.source}-${spec.upstream}`);
  mkdirSync(join(tree, 'debian', 'source'), { recursive: true });
  writeFileSync(join(tree, 'hello.txt'), spec.content ?? `hello from ${spec.source}\n`);
  execFileSync(
    'tar',
    ['-czf', join(outDir, `${spec.source}_${spec.upstream}.orig.tar.gz`), '--mtime=2024-01-01', '--owner=0', '--group=0', `${spec.source}-${spec.upstream}/hello.txt`],
    {
      cwd: outDir,
    },
  );
  writeFileSync(join(tree, 'debian', 'source', 'format'), '3.0 (quilt)\n');
  writeFileSync(
    join(tree, 'debian', 'control'),
    [
      `Source: ${spec.source}`,
      'Section: misc',
      'Priority: optional',
      'Maintainer: Repod Tests <tests@repod.invalid>',
      ...(spec.buildDepends ? [`Build-Depends: ${spec.buildDepends}`] : []),
      'Standards-Version: 4.6.2',
      'Homepage: https://repod.invalid/',
      '',
      `Package: ${binary}`,
      `Architecture: ${spec.architecture ?? 'all'}`,
      'Description: a test package',
      ' Made by the repod tests.',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(tree, 'debian', 'changelog'),
    `${spec.source} (${spec.upstream}-${spec.revision}) unstable; urgency=medium\n\n  * Test build.\n\n -- Repod Tests <tests@repod.invalid>  Mon, 01 Jan 2024 00:00:00 +0000\n`,
  );
  writeFileSync(join(tree, 'debian', 'rules'), '#!/usr/bin/make -f\n%:\n\tdh $@\n', { mode: 0o755 });
  execFileSync('dpkg-source', ['-b', `${spec.source}-${spec.upstream}`], { cwd: outDir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  const version = `${spec.upstream}-${spec.revision}`;
  const dsc = join(outDir, `${spec.source}_${version}.dsc`);
  const files = readdirSync(outDir)
    .filter((f) => f.startsWith(`${spec.source}_`) && f !== `${spec.source}_${version}.dsc`)
    .map((f) => join(outDir, f));
  return { dir: outDir, dsc, files };
}

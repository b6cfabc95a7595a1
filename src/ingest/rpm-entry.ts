import type { EntryWithSegments, StreamSpec } from '../bucket/chunk.ts';
import { joinKey } from '../bucket/keys.ts';
import type { RpmFileFacts, RpmPackage } from '../formats/rpm/model.ts';
import { renderFilelistsPackage } from '../metadata/rpm/filelists.ts';
import { renderOtherPackage } from '../metadata/rpm/other.ts';
import { renderPrimaryPackage } from '../metadata/rpm/primary.ts';
import { utf8 } from '../util/bytes.ts';

/**
 * How an RPM becomes an index entry: its identity key and its pre-compressed metadata segments.
 * The key leaves out the epoch on purpose: two packages with the same name-version-release.arch
 * would share one file name (and one href), so they cannot coexist in a repository.
 */
export const RPM_STREAMS: StreamSpec[] = [
  { name: 'primary', mode: 'gzip' },
  { name: 'filelists', mode: 'gzip' },
  { name: 'other', mode: 'gzip' },
  // The same <package> elements with the hashed variant's hrefs (Packages/<letter>/<file>).
  { name: 'primary_hashed', mode: 'gzip' },
];

/** The two layouts every RPM repository is served in. */
export type RpmVariant = 'plain' | 'hashed';

export function rpmKey(pkg: { name: string; arch: string; version: string; release: string }): string {
  return joinKey(pkg.name, pkg.arch, pkg.version, pkg.release);
}

export function rpmFileName(pkg: { name: string; arch: string; version: string; release: string }): string {
  return `${pkg.name}-${pkg.version}-${pkg.release}.${pkg.arch}.rpm`;
}

/** The inverse of rpmFileName (versions and releases never contain '-'); null if it is not one. */
export function rpmKeyFromFileName(file: string): string | null {
  const m = /^(.+)-([^-]+)-([^-]+)\.([^.-]+)\.rpm$/.exec(file);
  return m ? rpmKey({ name: m[1], version: m[2], release: m[3], arch: m[4] }) : null;
}

export function nevra(pkg: RpmPackage): string {
  const epoch = pkg.epoch && pkg.epoch !== '0' ? `${pkg.epoch}:` : '';
  return `${pkg.name}-${epoch}${pkg.version}-${pkg.release}.${pkg.arch}`;
}

/**
 * The href of a package inside an arch repository: `Packages/<file>` in the plain variant,
 * `Packages/<first character, lower-cased>/<file>` in the hashed one (pungi's sorted tree).
 */
export function rpmHref(fileName: string, variant: RpmVariant = 'plain'): string {
  return variant === 'plain' ? `Packages/${fileName}` : `Packages/${fileName.charAt(0).toLowerCase()}/${fileName}`;
}

export function rpmEntry(pkg: RpmPackage, facts: RpmFileFacts): EntryWithSegments {
  const raw = [
    utf8(renderPrimaryPackage(pkg, facts, rpmHref(facts.fileName))),
    utf8(renderFilelistsPackage(pkg, facts.sha256)),
    utf8(renderOtherPackage(pkg, facts.sha256)),
    utf8(renderPrimaryPackage(pkg, facts, rpmHref(facts.fileName, 'hashed'))),
  ];
  return {
    entry: {
      key: rpmKey(pkg),
      id: facts.sha256,
      arch: pkg.arch,
      file: facts.fileName,
      label: nevra(pkg),
      rawLengths: raw.map((r) => r.length),
    },
    segments: raw,
  };
}

/** Package architectures an arch repository shows: its own plus noarch; "src" only sources. */
export function rpmArchesFor(viewArch: string): Set<string> {
  if (viewArch === 'src') return new Set(['src', 'nosrc']);
  if (viewArch === 'noarch') return new Set(['noarch']);
  return new Set([viewArch, 'noarch']);
}

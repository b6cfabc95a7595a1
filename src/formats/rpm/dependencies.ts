/**
 * Dependency lists exactly as createrepo_c 0.17 (built with legacy weak dependencies, as
 * Debian's and Fedora's are) fills its cr_Package in parsehdr.c, so that every renderer writes
 * the same entries:
 * - lists are read in the order provides, conflicts, obsoletes, requires, suggests, enhances,
 *   recommends, supplements, then SUSE's old suggests/enhances tags; a list is skipped when its
 *   name, flags or version tag is missing;
 * - requires drop rpmlib(...) entries, files the package itself ships when they are "primary"
 *   files (/etc/..., .../bin/..., /usr/lib/sendmail), entries identical to a provide (name,
 *   flags and version), and an entry identical (flags, version, pre) to the last kept require of
 *   the same name;
 * - pre is set on requires flagged PREREQ, SCRIPT_PRE or SCRIPT_POST;
 * - a require flagged MISSINGOK is a (legacy) recommend;
 * - of all requires named libc.so.6..., only the "highest" is kept, and it goes last;
 * - old-style suggests/enhances flagged STRONG are recommends/supplements;
 * - an entry whose version has a non-numeric epoch is dropped (createrepo_c warns).
 * Inconsistent lists (names, flags and versions with different counts) are refused, where
 * createrepo_c would silently read up to the shortest.
 */
import { InvalidPackageError } from '../../errors.ts';
import { splitDependencyEvr } from './evr.ts';
import type { RpmHeader } from './header.ts';
import type { RpmDependency, RpmPackage } from './model.ts';
import { Sense, Tag } from './tags.ts';
import { binaryString, decodeBinaryString } from './text.ts';
import { rpmvercmp } from './vercmp.ts';

type Kind = 'provides' | 'conflicts' | 'obsoletes' | 'requires' | 'suggests' | 'enhances' | 'recommends' | 'supplements' | 'oldSuggests' | 'oldEnhances';
type ListName = 'provides' | 'conflicts' | 'obsoletes' | 'requires' | 'recommends' | 'suggests' | 'supplements' | 'enhances';
export type DependencyLists = Pick<RpmPackage, ListName>;

/** One dependency list as stored in the header; strings are binary strings (one char per byte). */
export interface RawDependencies {
  names: string[];
  flags: number[];
  versions: string[];
}

const SOURCES: { kind: Kind; name: number; flags: number; version: number }[] = [
  { kind: 'provides', name: Tag.PROVIDENAME, flags: Tag.PROVIDEFLAGS, version: Tag.PROVIDEVERSION },
  { kind: 'conflicts', name: Tag.CONFLICTNAME, flags: Tag.CONFLICTFLAGS, version: Tag.CONFLICTVERSION },
  { kind: 'obsoletes', name: Tag.OBSOLETENAME, flags: Tag.OBSOLETEFLAGS, version: Tag.OBSOLETEVERSION },
  { kind: 'requires', name: Tag.REQUIRENAME, flags: Tag.REQUIREFLAGS, version: Tag.REQUIREVERSION },
  { kind: 'suggests', name: Tag.SUGGESTNAME, flags: Tag.SUGGESTFLAGS, version: Tag.SUGGESTVERSION },
  { kind: 'enhances', name: Tag.ENHANCENAME, flags: Tag.ENHANCEFLAGS, version: Tag.ENHANCEVERSION },
  { kind: 'recommends', name: Tag.RECOMMENDNAME, flags: Tag.RECOMMENDFLAGS, version: Tag.RECOMMENDVERSION },
  { kind: 'supplements', name: Tag.SUPPLEMENTNAME, flags: Tag.SUPPLEMENTFLAGS, version: Tag.SUPPLEMENTVERSION },
  { kind: 'oldSuggests', name: Tag.OLDSUGGESTSNAME, flags: Tag.OLDSUGGESTSFLAGS, version: Tag.OLDSUGGESTSVERSION },
  { kind: 'oldEnhances', name: Tag.OLDENHANCESNAME, flags: Tag.OLDENHANCESFLAGS, version: Tag.OLDENHANCESVERSION },
];

/** Reads one list; undefined when createrepo_c would skip it (a tag of the three is missing). */
export function readRawDependencies(h: RpmHeader, nameTag: number, flagsTag: number, versionTag: number): RawDependencies | undefined {
  const names = h.strings(nameTag);
  const flags = h.numbers(flagsTag);
  const versions = h.strings(versionTag);
  if (!names || !flags || !versions) return undefined;
  if (flags.length !== names.length || versions.length !== names.length) {
    throw new InvalidPackageError(`rpm header: dependency tag ${nameTag} has ${names.length} names, ${flags.length} flags and ${versions.length} versions`);
  }
  return { names: names.map(binaryString), flags, versions: versions.map(binaryString) };
}

export interface DependencyContext {
  /** Full paths of the package's files (binary strings), for the primary-file filter. */
  files: ReadonlySet<string>;
  /** Replaces the header's provides (legacy packages get a retrofitted one). */
  provides?: RawDependencies;
}

export function readDependencies(h: RpmHeader, context: DependencyContext): DependencyLists {
  const out: Record<ListName, Built[]> = {
    provides: [],
    conflicts: [],
    obsoletes: [],
    requires: [],
    recommends: [],
    suggests: [],
    supplements: [],
    enhances: [],
  };
  // name + flags + version of every provide: a require spelled the same way is dropped.
  const provided = new Set<string>();
  // The last kept require of each name.
  const lastRequire = new Map<string, { flags: string | undefined; version: string; pre: boolean }>();

  for (const source of SOURCES) {
    const raw = source.kind === 'provides' && context.provides ? context.provides : readRawDependencies(h, source.name, source.flags, source.version);
    if (!raw) continue;
    let libc: Built | undefined;
    for (let i = 0; i < raw.names.length; i++) {
      const name = raw.names[i];
      const numFlags = raw.flags[i];
      const fullVersion = raw.versions[i];
      const flags = flagName(numFlags);
      const nfv = name + (flags ?? '') + fullVersion;
      let pre = false;
      if (source.kind === 'requires') {
        if (name.startsWith('rpmlib(')) continue;
        if (name.startsWith('/') && context.files.has(name) && isPrimaryFile(name)) continue;
        if (provided.has(nfv)) continue;
        pre = (numFlags & (Sense.PREREQ | Sense.SCRIPT_PRE | Sense.SCRIPT_POST)) !== 0;
        const last = lastRequire.get(name);
        if (last && last.flags === flags && last.version === fullVersion && last.pre === pre) continue;
      }
      const evr = splitDependencyEvr(fullVersion);
      if (!evr) continue;
      const dep: Built = { name, flags, ...evr };

      switch (source.kind) {
        case 'provides':
          provided.add(nfv);
          out.provides.push(dep);
          break;
        case 'requires':
          if (numFlags & Sense.MISSINGOK) {
            out.recommends.push(dep);
            break;
          }
          if (pre) dep.pre = true;
          if (name.startsWith('libc.so.6')) {
            if (!libc || compareLibcDependency(libc.name, name) === 2) libc = dep;
            break;
          }
          out.requires.push(dep);
          lastRequire.set(name, { flags, version: fullVersion, pre });
          break;
        case 'oldSuggests':
          (numFlags & Sense.STRONG ? out.recommends : out.suggests).push(dep);
          break;
        case 'oldEnhances':
          (numFlags & Sense.STRONG ? out.supplements : out.enhances).push(dep);
          break;
        default:
          out[source.kind].push(dep);
      }
    }
    if (libc) out.requires.push(libc);
  }

  const decoded = {} as DependencyLists;
  for (const list of Object.keys(out) as ListName[]) decoded[list] = out[list].map((d, i) => decode(d, `${list}[${i}]`));
  return decoded;
}

interface Built {
  name: string;
  flags: RpmDependency['flags'] | undefined;
  epoch?: string;
  version?: string;
  release?: string;
  pre?: boolean;
}

function decode(d: Built, field: string): RpmDependency {
  const dep: RpmDependency = { name: decodeBinaryString(d.name, `${field}.name`) };
  if (d.flags) dep.flags = d.flags;
  if (d.epoch !== undefined) dep.epoch = decodeBinaryString(d.epoch, `${field}.epoch`);
  if (d.version !== undefined) dep.version = decodeBinaryString(d.version, `${field}.version`);
  if (d.release !== undefined) dep.release = decodeBinaryString(d.release, `${field}.release`);
  if (d.pre) dep.pre = true;
  return dep;
}

/** createrepo_c's cr_flag_to_str: only the five plain comparisons have a name. */
function flagName(flags: number): RpmDependency['flags'] | undefined {
  switch (flags & 0xf) {
    case 2:
      return 'LT';
    case 4:
      return 'GT';
    case 8:
      return 'EQ';
    case 10:
      return 'LE';
    case 12:
      return 'GE';
    default:
      return undefined;
  }
}

/** createrepo_c's cr_is_primary: the files yum expected in primary.xml. */
export function isPrimaryFile(path: string): boolean {
  return path.startsWith('/etc/') || path === '/usr/lib/sendmail' || path.includes('bin/');
}

/**
 * createrepo_c's cr_compare_dependency for "libc.so.6(GLIBC_2.4)(64bit)"-style names: compares
 * the version inside the first parentheses, starting at its first digit. 0 same, 1 first is
 * higher, 2 second is higher, -1 neither has a closing parenthesis.
 */
export function compareLibcDependency(a: string, b: string): -1 | 0 | 1 | 2 {
  if (a === b) return 0;
  let v1 = a.indexOf('(');
  let v2 = b.indexOf('(');
  if (v1 < 0 && v2 < 0) return 0;
  if (v1 < 0) return 2;
  if (v2 < 0) return 1;
  const e1 = a.indexOf(')', v1);
  const e2 = b.indexOf(')', v2);
  if (e1 < 0 && e2 < 0) return -1;
  if (e1 < 0) return 2;
  if (e2 < 0) return 1;
  v1++;
  v2++;
  if (v1 === e1 && v2 === e2) return 0;
  if (v1 === e1) return 2;
  if (v2 === e2) return 1;
  // The search for a digit may run past the ')' (then there is no version to compare).
  while (v1 < a.length && !isDigit(a.charCodeAt(v1))) v1++;
  while (v2 < b.length && !isDigit(b.charCodeAt(v2))) v2++;
  if (v1 > e1 && v2 > e2) return 0;
  if (v1 > e1) return 2;
  if (v2 > e2) return 1;
  const rc = rpmvercmp(a.slice(v1, e1), b.slice(v2, e2));
  return rc === -1 ? 2 : rc;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * The fix-ups rpm applies to a header on load (lib/package.c applyRetrofits and
 * lib/headerutil.c legacyRetrofit, rpm 4.18) which createrepo_c, reading through rpm, sees:
 * - a header with neither SOURCERPM nor SOURCEPACKAGE is a source package when all its files sit
 *   in one unnamed directory (SOURCEPACKAGE = 1), else a binary one (SOURCERPM = "(none)");
 * - a legacy (v3) binary header, one without an immutable region, gets "Provides: name = EVR"
 *   appended. rpm means to skip this when the provide exists, but its lookup never matches
 *   (rpmdsFind compares a trigger index of 0 against -1), so it is always appended.
 */

import type { RawDependencies } from './dependencies.ts';
import { readRawDependencies } from './dependencies.ts';
import type { RpmHeader } from './header.ts';
import { Sense, Tag } from './tags.ts';
import { binaryString } from './text.ts';

export interface SourceFacts {
  isSource: boolean;
  /** SOURCERPM as rpm reports it after the retrofit (binary string); undefined when absent. */
  sourceRpm: string | undefined;
}

export function sourceFacts(h: RpmHeader, looksLikeSource: boolean): SourceFacts {
  const sourceRpm = h.string(Tag.SOURCERPM);
  if (sourceRpm === undefined && !h.has(Tag.SOURCEPACKAGE)) {
    return looksLikeSource ? { isSource: true, sourceRpm: undefined } : { isSource: false, sourceRpm: '(none)' };
  }
  return { isSource: (h.number(Tag.SOURCEPACKAGE) ?? 0) !== 0, sourceRpm: sourceRpm && binaryString(sourceRpm) };
}

/** The provides of a legacy binary header after the retrofit; undefined when nothing changes. */
export function retrofitProvides(h: RpmHeader, hasSourceRpm: boolean): RawDependencies | undefined {
  if (h.regionTag !== undefined || !hasSourceRpm) return undefined;
  const nameBytes = h.string(Tag.NAME);
  if (!nameBytes) return undefined;
  const name = binaryString(nameBytes);
  const version = binaryString(h.string(Tag.VERSION) ?? new Uint8Array());
  const release = binaryString(h.string(Tag.RELEASE) ?? new Uint8Array());
  const epoch = h.number(Tag.EPOCH);
  // rpm's EVR extension: "E:" only when the tag exists, "V-" and "R" even when empty.
  const evr = `${epoch === undefined ? '' : `${epoch}:`}${version}-${release}`;

  const names = h.strings(Tag.PROVIDENAME)?.map(binaryString) ?? [];
  let list: RawDependencies;
  if (names.length > 0 && !h.has(Tag.PROVIDEVERSION)) {
    // Packages from before rpm 3.0.3 had unversioned provides: rpm fills in empty versions.
    const flags = h.numbers(Tag.PROVIDEFLAGS) ?? names.map(() => 0);
    list = { names, flags: flags.slice(0, names.length), versions: names.map(() => '') };
    while (list.flags.length < names.length) list.flags.push(0);
  } else {
    list = readRawDependencies(h, Tag.PROVIDENAME, Tag.PROVIDEFLAGS, Tag.PROVIDEVERSION) ?? { names: [], flags: [], versions: [] };
  }
  return { names: [...list.names, name], flags: [...list.flags, Sense.EQUAL], versions: [...list.versions, evr] };
}

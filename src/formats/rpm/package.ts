/**
 * The main header turned into the neutral package model, field by field as createrepo_c 0.17
 * fills its cr_Package (parsehdr.c cr_package_from_header) from what rpm 4.18 returns.
 */

import { InvalidPackageError } from '../../errors.ts';
import { readChangelogs } from './changelog.ts';
import { readDependencies } from './dependencies.ts';
import { readFileList } from './files.ts';
import type { RpmHeader } from './header.ts';
import { retrofitProvides, sourceFacts } from './legacy.ts';
import type { RpmPackage } from './model.ts';
import { SigTag, Tag } from './tags.ts';
import { decodeBinaryString, decodeHeaderString } from './text.ts';

export function packageFromHeader(h: RpmHeader, sig: RpmHeader): RpmPackage {
  for (const [tag, name] of [
    [Tag.NAME, 'NAME'],
    [Tag.VERSION, 'VERSION'],
    [Tag.RELEASE, 'RELEASE'],
  ] as const) {
    if (!h.has(tag)) throw new InvalidPackageError(`rpm header: no ${name} tag`);
  }
  const text = (tag: number, field: string): string => {
    const bytes = h.string(tag);
    return bytes === undefined ? '' : decodeHeaderString(bytes, field);
  };
  const fileList = readFileList(h);
  const source = sourceFacts(h, fileList.looksLikeSource);
  const deps = readDependencies(h, {
    files: new Set(fileList.files.map((f) => f.path)),
    provides: retrofitProvides(h, source.sourceRpm !== undefined),
  });

  return {
    name: text(Tag.NAME, 'name'),
    // createrepo_c prints headerGetNumber with %llu: 0 when there is no epoch tag.
    epoch: String(h.number(Tag.EPOCH) ?? 0),
    version: text(Tag.VERSION, 'version'),
    release: text(Tag.RELEASE, 'release'),
    arch: source.isSource ? 'src' : text(Tag.ARCH, 'arch'),
    summary: text(Tag.SUMMARY, 'summary'),
    description: text(Tag.DESCRIPTION, 'description'),
    packager: text(Tag.PACKAGER, 'packager'),
    url: text(Tag.URL, 'url'),
    license: text(Tag.LICENSE, 'license'),
    vendor: text(Tag.VENDOR, 'vendor'),
    group: text(Tag.GROUP, 'group'),
    buildHost: text(Tag.BUILDHOST, 'buildhost'),
    sourceRpm: source.sourceRpm === undefined ? '' : decodeBinaryString(source.sourceRpm, 'sourcerpm'),
    buildTime: h.number(Tag.BUILDTIME) ?? 0,
    headerStart: h.fileOffset,
    headerEnd: h.fileOffset + h.size,
    installedSize: h.number(Tag.LONGSIZE) ?? h.number(Tag.SIZE) ?? 0,
    archiveSize: archiveSize(h, sig),
    ...deps,
    files: fileList.files.map((f, i) => ({ path: decodeBinaryString(f.path, `files[${i}]`), type: f.type })),
    changelogs: readChangelogs(h),
    isSource: source.isSource,
  };
}

/**
 * rpm copies the signature header's payload size into the main header (LONGARCHIVESIZE 271 or
 * ARCHIVESIZE 1046) and createrepo_c reads it from there; a main header may carry ARCHIVESIZE
 * itself when the signature header has none. rpm 6 packages keep their payload size in the main
 * header's PAYLOADSIZE (5112), which createrepo_c 0.17 does not read: their archive size is 0.
 */
function archiveSize(h: RpmHeader, sig: RpmHeader): number {
  return sig.number(SigTag.LONGARCHIVESIZE) ?? sig.number(SigTag.PAYLOADSIZE) ?? h.number(Tag.ARCHIVESIZE) ?? 0;
}

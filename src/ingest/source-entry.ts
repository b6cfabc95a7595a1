import type { EntryWithSegments } from '../bucket/chunk.ts';
import { layout } from '../bucket/layout.ts';
import type { DscNamedFile, DscPackageRecord } from '../bucket/package-record.ts';
import { decodeSegmented } from '../bucket/segmented.ts';
import type { Capabilities } from '../capabilities.ts';
import { ConflictError } from '../errors.ts';
import { type Dsc, dscFileName, parseDsc } from '../formats/deb/dsc.ts';
import { poolPath } from '../metadata/apt/packages-stanza.ts';
import { renderSourcesStanza, type SourceFileHashes } from '../metadata/apt/sources-stanza.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { readAllBytes } from '../storage/objects.ts';
import { utf8 } from '../util/bytes.ts';
import { APT_STREAMS, aptKey } from './apt-entry.ts';
import { moveToPool, putFragment, putRecord } from './commit.ts';
import type { Candidate } from './pipeline.ts';
import { discardSourceFiles, type StagedSource } from './source-stage.ts';

/**
 * How a source package becomes an index entry of an APT distribution. It is an entry of its
 * component like a .deb, with the architecture `source` (the Debian archive's `source/` beside
 * `binary-<arch>/`), so it lands in the same chunks and streams: its `packages` segment is its
 * Sources stanza (apt-view.ts renders `<component>/source/Sources` from the entries of arch
 * `source`), and it has no Contents lines. Its identity is component, source name and version.
 * The entry's `id` and `file` are the .dsc's sha256 and pool path; the other files it names are
 * listed in its stanza (sourceFilesOfStanza reads them back).
 */
export const SOURCE_ARCH = 'source';

export function sourceKey(component: string, source: string, version: string): string {
  return aptKey(component, source, SOURCE_ARCH, version);
}

export function sourceLabel(source: string, version: string): string {
  return `${source}_${version}_${SOURCE_ARCH}`;
}

/** Debian's pool directory of a source package: pool/<component>/<prefix>/<source>. */
export function sourceDirectory(component: string, source: string): string {
  const path = poolPath(component, source, 'x');
  return path.slice(0, path.lastIndexOf('/'));
}

/** The record of a checked source upload (packages/<sha256 of the .dsc>.json): what its entry is built from. */
export function sourceRecord(staged: StagedSource): DscPackageRecord {
  const { dsc, self } = staged;
  return {
    format: 1,
    kind: 'dsc',
    facts: { sha256: self.sha256, sha1: self.sha1, md5: self.md5, sha512: self.sha512, size: self.size, fileName: dscFileName(dsc.source, dsc.version) },
    control: dsc.control.text,
    signed: dsc.signed,
    files: staged.files.map(({ name, size, md5, sha1, sha256, sha512 }) => ({ name, size, md5, sha1, sha256, sha512 })),
  };
}

/** The .dsc a record keeps, parsed again (the stored stanza is the .dsc without its armor). */
export function recordDsc(record: DscPackageRecord): Dsc {
  return { ...parseDsc(utf8(record.control)), signed: record.signed };
}

/** Every file of a recorded source with its pool path in a component, the .dsc first. */
export function recordFiles(record: DscPackageRecord, component: string): Array<DscNamedFile & { path: string }> {
  const directory = sourceDirectory(component, recordDsc(record).source);
  const self = { name: record.facts.fileName, size: record.facts.size, md5: record.facts.md5, sha1: record.facts.sha1, sha256: record.facts.sha256, sha512: record.facts.sha512 };
  return [self, ...record.files].map((f) => ({ ...f, path: `${directory}/${f.name}` }));
}

/** The index entry of a recorded source in a component: its Sources stanza, from the record alone. */
export function sourceEntryOf(record: DscPackageRecord, component: string): EntryWithSegments {
  const dsc = recordDsc(record);
  const directory = sourceDirectory(component, dsc.source);
  const self: SourceFileHashes = { ...record.facts, name: record.facts.fileName };
  const files = new Map<string, SourceFileHashes>(record.files.map((f) => [f.name, f]));
  const stanza = utf8(renderSourcesStanza(dsc, directory, self, files));
  const segments = [stanza, stanza, new Uint8Array(0)];
  return {
    entry: {
      key: sourceKey(component, dsc.source, dsc.version),
      id: record.facts.sha256,
      arch: SOURCE_ARCH,
      file: `${directory}/${self.name}`,
      label: sourceLabel(dsc.source, dsc.version),
      component,
      rawLengths: segments.map((s) => s.length),
    },
    segments,
  };
}

export function sourceEntry(staged: StagedSource, component: string): EntryWithSegments {
  return sourceEntryOf(sourceRecord(staged), component);
}

/**
 * Claims each pool path create-only for the sha256 it serves (as commitDeb claims a .deb's): a
 * path already serving other bytes is a 409 before anything is published; the same bytes (an orig
 * tarball shared by two revisions of a package, a promotion into the same component) are found again.
 */
export async function claimSourcePaths(caps: Capabilities, files: ReadonlyArray<{ path: string; sha256: string }>): Promise<void> {
  for (const { path, sha256 } of files) {
    const claimed = await putRecord(caps, layout.aptPoolPath(path), { sha256 });
    if (claimed.sha256 !== sha256) {
      throw new ConflictError(`${path} is already taken by another file (sha256 ${claimed.sha256}); a pool path always holds one file`, 'duplicate_package', {
        path,
        existing: claimed.sha256,
        uploaded: sha256,
      });
    }
  }
}

/**
 * The entry of a source already in the store (an accepted review publishing it by sha256): null
 * when its record or one of its files is missing from the pool. Its pool paths are claimed and its
 * fragment written (garbage collection and exports read a source's files from its fragment).
 */
export async function storedSourceEntry(caps: Capabilities, record: DscPackageRecord, component: string): Promise<EntryWithSegments | null> {
  const files = recordFiles(record, component);
  for (const f of files) if (!(await caps.store.head(layout.pool(f.sha256)))) return null;
  await claimSourcePaths(caps, files);
  const entry = sourceEntryOf(record, component);
  await putFragment(caps, layout.aptFragment(record.facts.sha256, component), 'apt', APT_STREAMS, entry);
  return entry;
}

/**
 * The pool paths and sha256s of every file a source entry serves (the .dsc first), read back from
 * its Sources stanza: what garbage collection must keep for a kept source entry.
 */
export function sourceFilesOfStanza(stanza: string): Array<{ path: string; sha256: string }> {
  const directory = /^Directory: (.+)$/m.exec(stanza)?.[1];
  const list = /^Checksums-Sha256:\n((?: .+\n?)+)/m.exec(stanza)?.[1];
  if (!directory || !list) return [];
  return list
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter((parts) => parts.length === 3)
    .map(([sha256, , name]) => ({ path: `${directory}/${name}`, sha256: sha256! }));
}

/**
 * The pool files (the .dsc first) of a stored source entry, from the Sources stanza (segment 0)
 * of its fragment; null when the fragment is missing. Garbage collection keeps them, exports copy them.
 */
export async function storedSourceFiles(store: BlobStore, dscSha256: string, component: string): Promise<Array<{ path: string; sha256: string }> | null> {
  const object = await store.get(layout.aptFragment(dscSha256, component));
  if (!object) return null;
  const bytes = await readAllBytes(object.body);
  const { header, bodyOffset } = decodeSegmented<{ entry: { rawLengths: number[] } }>(bytes);
  return sourceFilesOfStanza(new TextDecoder().decode(bytes.subarray(bodyOffset, bodyOffset + (header.entry.rawLengths[0] ?? 0))));
}

/** Every file of a staged source (the .dsc first) moved to the pool, and its record written create-only. */
async function storeSourceFiles(caps: Capabilities, staged: StagedSource): Promise<DscPackageRecord> {
  for (const f of [staged.self, ...staged.files]) await moveToPool(caps, f);
  return putRecord(caps, layout.packageRecord(staged.self.sha256), sourceRecord(staged));
}

/**
 * Moves a checked source upload to the pool and writes its record and fragment. Each file's pool
 * path is claimed create-only first: a path already serving other bytes refuses the whole upload
 * (409) before any file moves.
 */
export async function commitSource(caps: Capabilities, staged: StagedSource, component: string): Promise<{ record: DscPackageRecord; entry: EntryWithSegments }> {
  const record = sourceRecord(staged);
  try {
    await claimSourcePaths(caps, recordFiles(record, component));
  } catch (error) {
    await discardSourceFiles(caps, [staged.self, ...staged.files]);
    throw error;
  }
  const stored = await storeSourceFiles(caps, staged);
  const entry = sourceEntryOf(stored, component);
  await putFragment(caps, layout.aptFragment(staged.self.sha256, component), 'apt', APT_STREAMS, entry);
  return { record: stored, entry };
}

/**
 * A source the security gate held for review: its files go to the pool and its record is kept, so
 * an accepted review publishes it by sha256 (storedSourceEntry); no pool path is claimed and no
 * fragment written until then, so nothing of it is served.
 */
export async function storeSourceForReview(caps: Capabilities, staged: StagedSource): Promise<DscPackageRecord> {
  return storeSourceFiles(caps, staged);
}

/** A source package of a change as the ingest pipeline sees it (the security gate checks it). */
export function sourceCandidate(staged: StagedSource, component: string): Candidate {
  const { dsc } = staged;
  return { kind: 'dsc', key: sourceKey(component, dsc.source, dsc.version), arch: SOURCE_ARCH, sha256: staged.self.sha256, source: staged };
}

import type { EntryWithSegments } from '../bucket/chunk.ts';
import { layout } from '../bucket/layout.ts';
import { decodeSegmented } from '../bucket/segmented.ts';
import type { Capabilities } from '../capabilities.ts';
import { ConflictError } from '../errors.ts';
import { dscFileName } from '../formats/deb/dsc.ts';
import { poolPath } from '../metadata/apt/packages-stanza.ts';
import { renderSourcesStanza, type SourceFileHashes } from '../metadata/apt/sources-stanza.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { readAllBytes } from '../storage/objects.ts';
import { utf8 } from '../util/bytes.ts';
import { APT_STREAMS, aptKey } from './apt-entry.ts';
import { putFragment, putRecord } from './commit.ts';
import { discardSourceFiles, type StagedSource, type StagedSourceFile } from './source-stage.ts';

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

export function sourceEntry(staged: StagedSource, component: string): EntryWithSegments {
  const { dsc } = staged;
  const directory = sourceDirectory(component, dsc.source);
  const self: SourceFileHashes = { ...staged.self, name: dscFileName(dsc.source, dsc.version) };
  const files = new Map<string, SourceFileHashes>(staged.files.map((f) => [f.name, f]));
  const stanza = utf8(renderSourcesStanza(dsc, directory, self, files));
  const segments = [stanza, stanza, new Uint8Array(0)];
  return {
    entry: {
      key: sourceKey(component, dsc.source, dsc.version),
      id: staged.self.sha256,
      arch: SOURCE_ARCH,
      file: `${directory}/${self.name}`,
      label: sourceLabel(dsc.source, dsc.version),
      component,
      rawLengths: segments.map((s) => s.length),
    },
    segments,
  };
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

async function toPool(caps: Capabilities, file: StagedSourceFile): Promise<void> {
  const poolKey = layout.pool(file.sha256);
  if (await caps.store.head(poolKey)) await caps.store.delete(file.tempKey);
  else await caps.store.move(file.tempKey, poolKey);
}

/**
 * Moves a checked source upload to the pool and writes its fragment. Each file's pool path is
 * claimed create-only first (as commitDeb does for a .deb): a path already serving other bytes
 * refuses the whole upload (409) before any file moves; the same bytes (an orig tarball shared by
 * two revisions of a package) are simply found again.
 */
export async function commitSource(caps: Capabilities, staged: StagedSource, component: string): Promise<EntryWithSegments> {
  const entry = sourceEntry(staged, component);
  const directory = sourceDirectory(component, staged.dsc.source);
  const all = [{ ...staged.self, name: dscFileName(staged.dsc.source, staged.dsc.version) }, ...staged.files];
  try {
    for (const f of all) {
      const path = `${directory}/${f.name}`;
      const claimed = await putRecord(caps, layout.aptPoolPath(path), { sha256: f.sha256 });
      if (claimed.sha256 !== f.sha256) {
        throw new ConflictError(`${path} is already taken by another file (sha256 ${claimed.sha256}); a pool path always holds one file`, 'duplicate_package', {
          path,
          existing: claimed.sha256,
          uploaded: f.sha256,
        });
      }
    }
  } catch (error) {
    await discardSourceFiles(caps, all);
    throw error;
  }
  for (const f of all) await toPool(caps, f);
  await putFragment(caps, layout.aptFragment(staged.self.sha256, component), 'apt', APT_STREAMS, entry);
  return entry;
}

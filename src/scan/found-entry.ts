import type { EntryWithSegments } from '../bucket/chunk.ts';
import { aptEntry } from '../ingest/apt-entry.ts';
import { rpmEntry } from '../ingest/rpm-entry.ts';
import type { StagedPackage } from '../ingest/stage.ts';
import { debFileName } from '../metadata/apt/packages-stanza.ts';
import { renderPrimaryPackage } from '../metadata/rpm/primary.ts';
import { utf8 } from '../util/bytes.ts';

/**
 * The one architecture label mkrepo gives every RPM entry: a tree made by mkrepo (or
 * createrepo_c) has one repodata for all the packages under Packages/, whatever their
 * architecture, so its entries all go to one view. The primary fragment still says the
 * package's own arch; only the grouping in the revision's chunks uses this label.
 */
export const TREE_VIEW_ARCH = 'noarch';

/**
 * The index entry of a package left where it was found (`repod mkrepo`): the metadata names it
 * by its path relative to the repository root (`Packages/a/foo.rpm`, `pool/x/foo.deb`), not by
 * the path repod would serve it at. Built from the staged package, without moving its bytes.
 */
export function foundEntry(staged: StagedPackage, path: string, options: { fileTime: number; component: string }): EntryWithSegments {
  if (staged.kind === 'rpm') {
    const pkg = staged.parsed.pkg;
    const facts = { sha256: staged.sha256, size: staged.size, fileTime: options.fileTime, fileName: path.slice(path.lastIndexOf('/') + 1) };
    const base = rpmEntry(pkg, facts);
    const primary = utf8(renderPrimaryPackage(pkg, facts, path));
    // Both primary streams carry the found path: the tree has one layout, the one it was found in.
    const segments = [primary, base.segments[1], base.segments[2], primary];
    return { entry: { ...base.entry, arch: TREE_VIEW_ARCH, file: path, rawLengths: segments.map((s) => s.length) }, segments };
  }
  const control = staged.parsed.control;
  const facts = { sha256: staged.sha256, sha1: staged.sha1, md5: staged.md5, sha512: staged.sha512, size: staged.size, fileName: debFileName(control) };
  return aptEntry(control, facts, staged.parsed.files, options.component, path);
}

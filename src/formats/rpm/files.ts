/**
 * The package's file list with createrepo_c's file types (parsehdr.c): "dir" when the mode says
 * directory, else "ghost" when the file is %ghost, else a plain file.
 *
 * Paths come from DIRNAMES[DIRINDEXES[i]] + BASENAMES[i], or, in legacy headers, from
 * OLDFILENAMES (rpm converts those on load; splitting at the last '/' and joining again gives
 * the same path). Where createrepo_c silently drops a whole inconsistent file list (counts that
 * disagree, a directory index out of range, missing modes or flags), the package is refused:
 * rpm could not install it either.
 */
import { InvalidPackageError } from '../../errors.ts';
import type { RpmHeader } from './header.ts';
import type { RpmFile } from './model.ts';
import { FileFlag, S_IFDIR, S_IFMT, Tag } from './tags.ts';
import { binaryString } from './text.ts';

export interface RawFile {
  /** Binary string (one char per byte); decoded when the model is built. */
  path: string;
  type: RpmFile['type'];
}

export interface FileList {
  files: RawFile[];
  /**
   * rpm's headerIsSourceHeuristic: all files in one directory with an empty name, which is how
   * source packages store their spec and tarballs.
   */
  looksLikeSource: boolean;
}

export function readFileList(h: RpmHeader): FileList {
  const compressed = h.has(Tag.BASENAMES) || h.has(Tag.DIRNAMES) || h.has(Tag.DIRINDEXES);
  if (compressed) return readCompressed(h);
  const old = h.strings(Tag.OLDFILENAMES);
  if (!old) return { files: [], looksLikeSource: false };
  const paths = old.map(binaryString);
  return {
    files: typed(h, paths),
    // rpm's compressFilelist files everything under one empty directory when the first path is relative.
    looksLikeSource: paths.length > 0 && !paths[0].startsWith('/'),
  };
}

function readCompressed(h: RpmHeader): FileList {
  const base = h.strings(Tag.BASENAMES);
  const dirs = h.strings(Tag.DIRNAMES);
  const index = h.numbers(Tag.DIRINDEXES);
  if (!base || !dirs || !index) {
    throw new InvalidPackageError('rpm header: file list needs BASENAMES, DIRNAMES and DIRINDEXES together; some are missing');
  }
  if (index.length !== base.length) {
    throw new InvalidPackageError(`rpm header: file list has ${base.length} BASENAMES but ${index.length} DIRINDEXES`);
  }
  if (dirs.length > base.length) {
    throw new InvalidPackageError(`rpm header: file list has more DIRNAMES (${dirs.length}) than files (${base.length})`);
  }
  const dirNames = dirs.map(binaryString);
  const paths = new Array<string>(base.length);
  for (let i = 0; i < base.length; i++) {
    const d = index[i];
    if (d >= dirNames.length) {
      throw new InvalidPackageError(`rpm header: file ${i} has directory index ${d}, but there are only ${dirNames.length} DIRNAMES`);
    }
    paths[i] = dirNames[d] + binaryString(base[i]);
  }
  return { files: typed(h, paths), looksLikeSource: dirNames.length === 1 && dirNames[0] === '' };
}

function typed(h: RpmHeader, paths: string[]): RawFile[] {
  if (paths.length === 0) return [];
  const modes = h.numbers(Tag.FILEMODES);
  const flags = h.numbers(Tag.FILEFLAGS);
  if (!modes || modes.length !== paths.length) {
    throw new InvalidPackageError(`rpm header: file list has ${paths.length} files but ${modes ? modes.length : 'no'} FILEMODES`);
  }
  if (!flags || flags.length !== paths.length) {
    throw new InvalidPackageError(`rpm header: file list has ${paths.length} files but ${flags ? flags.length : 'no'} FILEFLAGS`);
  }
  return paths.map((path, i) => ({
    path,
    type: (modes[i] & S_IFMT) === S_IFDIR ? 'dir' : flags[i] & FileFlag.GHOST ? 'ghost' : 'file',
  }));
}

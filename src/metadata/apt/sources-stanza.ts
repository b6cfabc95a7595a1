/**
 * One source package's stanza of an APT `Sources` index, written as `apt-ftparchive sources`
 * writes it (apt's ftparchive/writer.cc SourcesWriter::DoPackage() with default settings and no
 * override file, and apt-pkg/tagfile-order.c's TFRewriteSourceOrder):
 *
 * - the .dsc's Source field becomes Package; Directory names the pool directory; Priority and
 *   Status are dropped (with no override there is no priority to give);
 * - each checksum list starts with the .dsc itself, then the lines the .dsc gives; a list the .dsc
 *   lacks (Checksums-Sha512 from dpkg-source, every Checksums-* of an old .dsc) is computed over
 *   the files, in the order of the Files field;
 * - fields named in the order come first, in that order and spelling; the others follow in file
 *   order; values are copied raw; the stanza ends with an empty line.
 *
 * Checked byte for byte against apt-ftparchive 2.6 in test/metadata/apt/sources-stanza.test.ts.
 */
import { DSC_CHECKSUM_FIELDS, type Dsc, type DscHash } from '../../formats/deb/dsc.ts';
import { fieldOrder, orderedStanza } from './control-stanza.ts';

/** Every checksum of one file, as the pool holds it. */
export interface SourceFileHashes {
  name: string;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
  sha512: string;
}

/** apt's TFRewriteSourceOrder (apt 2.6). */
export const SOURCE_FIELD_ORDER: readonly string[] = [
  'Package',
  'Source',
  'Format',
  'Binary',
  'Architecture',
  'Version',
  'Priority',
  'Section',
  'Origin',
  'Maintainer',
  'Original-Maintainer',
  'Uploaders',
  'Dm-Upload-Allowed',
  'Standards-Version',
  'Build-Depends',
  'Build-Depends-Arch',
  'Build-Depends-Indep',
  'Build-Conflicts',
  'Build-Conflicts-Arch',
  'Build-Conflicts-Indep',
  'Testsuite',
  'Testsuite-Triggers',
  'Homepage',
  'Description',
  'Vcs-Browser',
  'Vcs-Browse',
  'Vcs-Arch',
  'Vcs-Bzr',
  'Vcs-Cvs',
  'Vcs-Darcs',
  'Vcs-Git',
  'Vcs-Hg',
  'Vcs-Mtn',
  'Vcs-Svn',
  'Directory',
  'Package-List',
  'Files',
  'Checksums-Md5',
  'Checksums-Sha1',
  'Checksums-Sha256',
  'Checksums-Sha512',
];

const ORDER = fieldOrder(SOURCE_FIELD_ORDER);

/** One checksum list: the .dsc first, then what the .dsc lists, or (when it lists nothing) every file computed. */
function checksumList(dsc: Dsc, field: string, hash: DscHash, self: SourceFileHashes, files: ReadonlyMap<string, SourceFileHashes>): string {
  let out = `\n ${self[hash]} ${self.size} ${self.name}`;
  const given = dsc.control.get(field);
  if (given !== undefined) {
    for (const line of given.split('\n')) {
      const parts = line.trim().split(/[ \t]+/);
      if (parts.length === 3) out += `\n ${parts.join(' ')}`;
    }
    return out;
  }
  for (const f of dsc.files) {
    const known = files.get(f.name);
    if (known) out += `\n ${known[hash]} ${known.size} ${known.name}`;
  }
  return out;
}

/**
 * Renders the stanza. `directory`: the pool directory, e.g. "pool/main/c/cowsay"; `self`: the .dsc
 * file as stored there; `files`: the files the .dsc names, by name.
 */
export function renderSourcesStanza(dsc: Dsc, directory: string, self: SourceFileHashes, files: ReadonlyMap<string, SourceFileHashes>): string {
  const control = dsc.control;
  const rewrites = new Map<string, string | null>();
  rewrites.set('source', null);
  rewrites.set('package', dsc.source);
  for (const { field, hash } of DSC_CHECKSUM_FIELDS) rewrites.set(field.toLowerCase(), checksumList(dsc, field, hash, self, files));
  rewrites.set('directory', directory);
  rewrites.set('priority', null);
  rewrites.set('status', null);

  return orderedStanza(control, ORDER, rewrites);
}

import { isPrimaryFile } from '../../formats/rpm/index.ts';
import type { RpmFile } from '../../formats/rpm/model.ts';
import { escapeText } from '../xml.ts';

/**
 * createrepo_c's (and yum's) "primary file" rule: primary.xml lists only /etc/..., anything with
 * "bin/" in it and /usr/lib/sendmail, so that dependencies on common paths resolve without
 * filelists. The parser applies the same rule when it drops requires on the package's own files,
 * so both use its one definition.
 */
export { isPrimaryFile };

/** `<file>` elements at the given indentation; plain files carry no type attribute. */
export function renderFiles(files: readonly RpmFile[], indent: string, primaryOnly: boolean): string {
  let out = '';
  for (const file of files) {
    if (primaryOnly && !isPrimaryFile(file.path)) continue;
    if (file.type === 'dir' || file.type === 'ghost') {
      out += indent + '<file type="' + file.type + '">' + escapeText(file.path) + '</file>\n';
    } else {
      out += indent + '<file>' + escapeText(file.path) + '</file>\n';
    }
  }
  return out;
}

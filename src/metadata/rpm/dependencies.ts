import type { RpmDependency } from '../../formats/rpm/model.ts';
import { escapeAttr } from '../xml.ts';

const ENTRY_INDENT = '      ';

/**
 * One `<rpm:provides>`-style block inside `<format>`, or '' when the list is empty.
 * Like createrepo_c, a non-empty list whose entries all lack a name still yields the (empty)
 * container element, and the version parts are written only for entries with comparison flags.
 */
export function renderDependencies(element: string, deps: readonly RpmDependency[], isRequires: boolean): string {
  if (deps.length === 0) return '';
  let entries = '';
  for (const dep of deps) {
    if (!dep.name) continue;
    entries += ENTRY_INDENT + '<rpm:entry name="' + escapeAttr(dep.name) + '"';
    if (dep.flags) {
      entries += ' flags="' + dep.flags + '"';
      // createrepo_c parses every non-empty version string into an EVR whose epoch defaults to 0.
      const epoch = dep.epoch || (dep.version || dep.release ? '0' : '');
      if (epoch) entries += ' epoch="' + escapeAttr(epoch) + '"';
      if (dep.version) entries += ' ver="' + escapeAttr(dep.version) + '"';
      if (dep.release) entries += ' rel="' + escapeAttr(dep.release) + '"';
    }
    if (isRequires && dep.pre) entries += ' pre="1"';
    entries += '/>\n';
  }
  if (entries === '') return '    <' + element + '/>\n';
  return '    <' + element + '>\n' + entries + '    </' + element + '>\n';
}

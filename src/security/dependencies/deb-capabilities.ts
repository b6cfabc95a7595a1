/**
 * A .deb's capabilities, from its control file (formats/deb/control.ts).
 *
 * - Provides: the package itself at its version, plus its Provides field; a virtual provide is
 *   versioned only when written `name (= version)` (Policy §7.5).
 * - Requires: every group of Depends and Pre-Depends. Recommends and Suggests are not required
 *   (apt installs Recommends by default, but a missing one never blocks installation).
 * - Files: none; Debian relations never name files.
 */
import type { DebControl } from '../../formats/deb/control.ts';
import { aptKey, aptLabel } from '../../ingest/apt-entry.ts';
import { debGroupRequirement, parseDebRelations } from './deb-relations.ts';
import type { Capability, MultiArch, PackageCapabilities, RequirementEntry } from './model.ts';

const MULTI_ARCH = new Set<MultiArch>(['no', 'same', 'foreign', 'allowed']);

/** `key` defaults to the entry key in an unnamed component; pass the entry's key where it is known. */
export function debCapabilities(control: DebControl, key: string = aptKey('', control.package, control.architecture, control.version)): PackageCapabilities {
  const notes: string[] = [];
  const provides: Capability[] = [{ name: control.package, relation: '=', version: control.version }];
  for (const group of parseDebRelations(control.get('Provides') ?? '')) {
    const [first] = group.alternatives;
    if (group.error || group.alternatives.length !== 1 || !first) {
      notes.push(`Provides '${group.text}' ignored: ${group.error ?? 'alternatives are not allowed in Provides'}`);
      continue;
    }
    // Policy §7.5: only '=' is allowed in Provides; another relation is read as '='.
    provides.push(first.version !== undefined ? { name: first.name, relation: '=', version: first.version } : { name: first.name });
  }
  const requires: RequirementEntry[] = [];
  for (const field of ['Pre-Depends', 'Depends']) {
    for (const group of parseDebRelations(control.get(field) ?? '')) requires.push({ text: group.text, requirement: debGroupRequirement(group) });
  }
  const multiArch = control.get('Multi-Arch')?.trim().toLowerCase() as MultiArch | undefined;
  if (multiArch !== undefined && !MULTI_ARCH.has(multiArch)) notes.push(`unknown Multi-Arch value '${multiArch}' read as 'no'`);
  return {
    format: 'deb',
    key,
    label: aptLabel(control),
    name: control.package,
    version: control.version,
    arch: control.architecture,
    ...(multiArch && MULTI_ARCH.has(multiArch) && multiArch !== 'no' ? { multiArch } : {}),
    provides,
    files: [],
    requires,
    notes,
  };
}

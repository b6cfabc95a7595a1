import { parseDebControl } from '../../../formats/deb/control.ts';
import { type Candidate, candidateLabel } from '../../../ingest/pipeline.ts';
import type { ChangeCheck, CheckResult } from '../check.ts';
import type { DependencyCandidate, DependencyChecker } from '../gate-services.ts';

function dependencyCandidate(c: Candidate): DependencyCandidate {
  const label = candidateLabel(c);
  if (c.staged?.kind === 'rpm') return { key: c.key, sha256: c.sha256, label, rpm: c.staged.parsed.pkg };
  if (c.staged?.kind === 'deb') return { key: c.key, sha256: c.sha256, label, deb: c.staged.parsed.control };
  const record = c.stored!.record;
  if (record.kind === 'dsc') throw new Error('a source package has no dependencies to check');
  return record.kind === 'rpm' ? { key: c.key, sha256: c.sha256, label, rpm: record.package } : { key: c.key, sha256: c.sha256, label, deb: parseDebControl(record.control) };
}

/** Repoclosure of the change: every Requires/Depends of its packages satisfied once it is published. */
export function dependenciesCheck(checker: DependencyChecker | undefined): ChangeCheck {
  return {
    name: 'dependencies',
    async run(candidates, { target, policy }) {
      if (!checker) return candidates.map((): CheckResult => ({ passed: true, action: 'allow', message: 'dependency check not configured', detail: { status: 'not_checked' } }));
      // A source package installs nothing: its Build-Depends are the builder's business (apt-get build-dep).
      const binaries = candidates.filter((c) => c.kind !== 'dsc');
      const missing = binaries.length ? await checker.missing(target.dist.name, binaries.map(dependencyCandidate)) : new Map<string, string[]>();
      return candidates.map((c): CheckResult => {
        if (c.kind === 'dsc') return { passed: true, action: 'allow', message: 'a source package: its Build-Depends are not checked', detail: { status: 'not_checked' } };
        const unsatisfied = missing.get(c.key) ?? [];
        if (unsatisfied.length === 0) return { passed: true, action: 'allow', message: `every requirement is satisfied in ${target.dist.name}`, detail: { status: 'satisfied' } };
        return {
          passed: false,
          action: policy.dependencies,
          message: `nothing in ${target.dist.name} provides ${unsatisfied.join(', ')}`,
          detail: { status: 'missing', missing: unsatisfied },
        };
      });
    },
  };
}

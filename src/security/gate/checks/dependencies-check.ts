import { parseDebControl } from '../../../formats/deb/control.ts';
import { type Candidate, candidateLabel } from '../../../ingest/pipeline.ts';
import type { ChangeCheck, CheckResult } from '../check.ts';
import type { DependencyCandidate, DependencyChecker } from '../gate-services.ts';

function dependencyCandidate(c: Candidate): DependencyCandidate {
  const label = candidateLabel(c);
  if (c.staged?.kind === 'rpm') return { key: c.key, sha256: c.sha256, label, rpm: c.staged.parsed.pkg };
  if (c.staged?.kind === 'deb') return { key: c.key, sha256: c.sha256, label, deb: c.staged.parsed.control };
  const record = c.stored!.record;
  return record.kind === 'rpm' ? { key: c.key, sha256: c.sha256, label, rpm: record.package } : { key: c.key, sha256: c.sha256, label, deb: parseDebControl(record.control) };
}

/** Repoclosure of the change: every Requires/Depends of its packages satisfied once it is published. */
export function dependenciesCheck(checker: DependencyChecker | undefined): ChangeCheck {
  return {
    name: 'dependencies',
    async run(candidates, { target, policy }) {
      if (!checker) return candidates.map((): CheckResult => ({ passed: true, action: 'allow', message: 'dependency check not configured', detail: { status: 'not_checked' } }));
      const missing = await checker.missing(target.dist.name, candidates.map(dependencyCandidate));
      return candidates.map((c): CheckResult => {
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

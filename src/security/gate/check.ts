import type { SecurityPolicy } from '../../config/security-policy.ts';
import type { Candidate, IngestContext, IngestTarget, StepReport } from '../../ingest/pipeline.ts';
import type { PackageIdentity } from './gate-services.ts';

/** What a check found, before the gate names and times it. */
export type CheckResult = Omit<StepReport, 'name' | 'ms'>;

export interface CheckContext {
  target: IngestTarget;
  policy: SecurityPolicy;
  ingest: IngestContext;
}

/**
 * One step of the gate for one package. The gate runs its checks in order for every package of a
 * change; the composition root decides which checks there are (core/security-services.ts).
 */
export interface PackageCheck {
  name: StepReport['name'];
  run(c: Candidate, identity: PackageIdentity, context: CheckContext): Promise<CheckResult> | CheckResult;
}

/** One step of the gate over a whole change, whose packages may answer for one another (dependencies). */
export interface ChangeCheck {
  name: StepReport['name'];
  /** One result per candidate, in order. */
  run(candidates: Candidate[], context: CheckContext): Promise<CheckResult[]>;
}

import { securityPolicyOf, strictest } from '../../config/security-policy.ts';
import { RepodError } from '../../errors.ts';
import { type Candidate, candidateLabel, type IngestStep, type StepReport } from '../../ingest/pipeline.ts';
import { pipelineAnswer, validationAnswer } from '../../ingest/validation.ts';
import { mapLimited } from '../../util/map-limited.ts';
import type { ChangeCheck, CheckContext, CheckResult, PackageCheck } from './check.ts';
import type { PackageIdentity } from './gate-services.ts';
import { debIdentity, recordIdentity, rpmIdentity, sourceIdentity } from './package-identity.ts';

/** Earlier reviewers' decisions the gate honours (security/review/review-queue.ts). */
export interface ReviewDecisions {
  /** A current accept_risk or exception for this package version in this distribution, if any. */
  accepted(distribution: string, name: string, version: string): Promise<{ by: string; action: string; expires?: string } | null>;
  /** A rejection (quarantine) of exactly these bytes for this distribution, if any. */
  rejected(distribution: string, sha256: string): Promise<{ by: string; justification: string } | null>;
}

export interface GateChecks {
  /** Run in order for each package. */
  packageChecks: PackageCheck[];
  /** Run once over the whole change, after the package checks. */
  changeChecks: ChangeCheck[];
  decisions: ReviewDecisions;
}

/** Packages of one change checked at once: scans wait on the scanner, not the CPU. */
const CONCURRENCY = 4;

function identityOf(c: Candidate): PackageIdentity {
  if (c.staged?.kind === 'rpm') return rpmIdentity(c.staged.parsed.pkg);
  if (c.staged?.kind === 'deb') return debIdentity(c.staged.parsed.control);
  if (c.source) return sourceIdentity(c.source.dsc.source, c.source.dsc.version);
  return recordIdentity(c.stored!.record);
}

/**
 * The security gate as the last ingest step: every package of a change (upload, build, bulk push,
 * accepted review, promotion, import) passes the same checks (format, provenance, antivirus, cve,
 * gpg, then dependencies over the change), and the distribution's policy turns what they found into
 * one decision per package. A block refuses the whole change (422; nothing is published, and the
 * caller drops the staged uploads); a review marks the package to be stored but held out of the
 * revision. Each step is reported as it ends (`context.onStep`, the live upload stream).
 */
export function securityGateStep(gate: GateChecks): IngestStep {
  return async (target, candidates, ingest) => {
    const context: CheckContext = { target, policy: securityPolicyOf(target.dist.security), ingest };
    for (const c of candidates) {
      const rejected = await gate.decisions.rejected(target.dist.name, c.sha256);
      if (rejected) throw new RepodError('package_rejected', `${candidateLabel(c)} was rejected in review by ${rejected.by}: ${rejected.justification}`, { status: 422 });
    }
    const report = (c: Candidate, steps: StepReport[], name: StepReport['name'], result: CheckResult, started: number) => {
      const step: StepReport = { name, ...result, ms: Date.now() - started };
      steps.push(step);
      ingest.onStep?.(c, step);
    };
    const perPackage = await mapLimited(candidates, CONCURRENCY, async (c) => {
      const steps: StepReport[] = [];
      const identity = identityOf(c);
      for (const check of gate.packageChecks) {
        const started = Date.now();
        report(c, steps, check.name, await check.run(c, identity, context), started);
      }
      return steps;
    });
    for (const check of gate.changeChecks) {
      const started = Date.now();
      const results = await check.run(candidates, context);
      for (const [i, c] of candidates.entries()) report(c, perPackage[i], check.name, results[i], started);
    }
    for (const [i, c] of candidates.entries()) {
      const steps = perPackage[i];
      const decision = strictest(steps.map((s) => s.action));
      if (decision === 'block') {
        const reasons = steps.filter((s) => s.action === 'block').map((s) => `${s.name}: ${s.message}`);
        throw new RepodError('package_blocked', `${candidateLabel(c)} is refused by the security policy of ${target.dist.name}: ${reasons.join('; ')}`, {
          status: 422,
          details: { package: candidateLabel(c), sha256: c.sha256, validation: validationAnswer(steps), pipeline: pipelineAnswer(steps) },
        });
      }
      c.verdict = { decision: decision === 'review' && !ingest.acceptReview ? 'review' : 'publish', steps };
    }
  };
}

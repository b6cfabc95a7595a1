import type { Capabilities } from '../../capabilities.ts';
import type { Distribution } from '../../config/distributions.ts';
import { type GateAction, type SecurityPolicy, securityPolicyOf, strictest } from '../../config/security-policy.ts';
import { RepodError } from '../../errors.ts';
import { parseDebControl } from '../../formats/deb/control.ts';
import { type Candidate, candidateLabel, type IngestContext, type IngestStep, type IngestTarget, type StepReport } from '../../ingest/pipeline.ts';
import { pipelineAnswer, validationAnswer } from '../../ingest/validation.ts';
import type { AdvisoryFinding, AdvisorySource, DependencyCandidate, DependencyChecker, PackageIdentity, VirusScanner } from './gate-services.ts';
import { debIdentity, recordIdentity, rpmIdentity } from './package-identity.ts';

/** Earlier reviewers' decisions the gate honours (security/review/decisions.ts). */
export interface ReviewDecisions {
  /** A current accept_risk or exception for this package version in this distribution, if any. */
  accepted(distribution: string, name: string, version: string): Promise<{ by: string; action: string; expires?: string } | null>;
  /** A rejection (quarantine) of exactly these bytes for this distribution, if any. */
  rejected(distribution: string, sha256: string): Promise<{ by: string; justification: string } | null>;
}

export interface GateServices {
  caps: Capabilities;
  scanner?: VirusScanner;
  advisories?: AdvisorySource;
  dependencies?: DependencyChecker;
  decisions: ReviewDecisions;
  /** The OSV ecosystem a distribution's packages are matched in, if it has one. */
  ecosystemOf(dist: Distribution): string | undefined;
}

const CONCURRENCY = 4;

function identityOf(c: Candidate): PackageIdentity {
  if (c.staged?.kind === 'rpm') return rpmIdentity(c.staged.parsed.pkg);
  if (c.staged?.kind === 'deb') return debIdentity(c.staged.parsed.control);
  return recordIdentity(c.stored!.record);
}

function dependencyCandidate(c: Candidate): DependencyCandidate {
  const label = candidateLabel(c);
  if (c.staged?.kind === 'rpm') return { key: c.key, sha256: c.sha256, label, rpm: c.staged.parsed.pkg };
  if (c.staged?.kind === 'deb') return { key: c.key, sha256: c.sha256, label, deb: c.staged.parsed.control };
  const record = c.stored!.record;
  return record.kind === 'rpm' ? { key: c.key, sha256: c.sha256, label, rpm: record.package } : { key: c.key, sha256: c.sha256, label, deb: parseDebControl(record.control) };
}

async function timed(name: StepReport['name'], run: () => Promise<Omit<StepReport, 'name' | 'ms'>> | Omit<StepReport, 'name' | 'ms'>): Promise<StepReport> {
  const started = Date.now();
  const result = await run();
  return { name, ...result, ms: Date.now() - started };
}

function formatStep(c: Candidate): Promise<StepReport> {
  return timed('format', () => {
    if (c.staged?.kind === 'rpm') return { passed: true, action: 'allow', message: `valid RPM (${c.staged.size} bytes)`, detail: { status: 'valid' } };
    if (c.staged?.kind === 'deb')
      return { passed: true, action: 'allow', message: `valid .deb, format ${c.staged.parsed.formatVersion} (${c.staged.size} bytes)`, detail: { status: 'valid' } };
    return { passed: true, action: 'allow', message: 'already in the store, read when it was uploaded', detail: { status: 'valid' } };
  });
}

function provenanceStep(c: Candidate): Promise<StepReport> {
  return timed('provenance', () => {
    if (!c.expectedSha256) {
      return { passed: true, action: 'allow', message: 'not verifiable: uploaded directly, there is no upstream catalog to compare with', detail: { status: 'not_verifiable' } };
    }
    if (c.expectedSha256 === c.sha256) return { passed: true, action: 'allow', message: 'sha256 matches the upstream catalog', detail: { status: 'verified' } };
    return {
      passed: false,
      action: 'block',
      message: `sha256 ${c.sha256} differs from the upstream catalog's ${c.expectedSha256}`,
      detail: { status: 'mismatch', expected: c.expectedSha256, actual: c.sha256 },
    };
  });
}

function antivirusStep(services: GateServices, policy: SecurityPolicy, c: Candidate): Promise<StepReport> {
  return timed('antivirus', async () => {
    const scanner = services.scanner;
    if (!scanner) return { passed: true, action: 'allow', message: 'no virus scanner configured (REPOD_CLAMD)', detail: { status: 'not_configured' } };
    // A package already in the store (promotion, a build naming it by sha256, an accepted review) was scanned when it came in.
    if (!c.staged) return { passed: true, action: 'allow', message: 'scanned when it was uploaded', detail: { status: 'scanned_at_upload' } };
    const key = c.staged.tempKey;
    const { store } = services.caps;
    const scan = await scanner.scanPackage(
      c.kind,
      async () => {
        const object = await store.get(key);
        if (!object) throw new RepodError('package_missing', `the package ${c.sha256} is gone from the store`, { status: 409 });
        return object.body;
      },
      c.staged?.size,
    );
    const { verdict } = scan;
    const detail = { status: verdict.status, scanned: scan.scanned, ...(verdict.signature ? { signature: verdict.signature } : {}) };
    if (verdict.status === 'clean') return { passed: true, action: 'allow', message: `clean (scanned ${scan.scanned.join(', ')})`, detail };
    if (verdict.status === 'infected') return { passed: false, action: policy.antivirus, message: `virus scanner found ${verdict.signature}`, detail };
    const message = verdict.status === 'too_large' ? `not scanned: over the scanner's size limit (${verdict.message})` : `scanner unavailable: ${verdict.message}`;
    return { passed: false, action: policy.scannerUnavailable, message, detail };
  });
}

function findingAnswer(f: AdvisoryFinding): Record<string, unknown> {
  return {
    id: f.id,
    aliases: f.aliases,
    severity: f.severity,
    ...(f.cvss !== undefined ? { cvss: f.cvss } : {}),
    summary: f.summary,
    fix_state: f.fixState,
    fix_versions: f.fixVersions,
  };
}

function cveStep(services: GateServices, target: IngestTarget, policy: SecurityPolicy, identity: PackageIdentity, context: IngestContext): Promise<StepReport> {
  return timed('cve', async () => {
    const ecosystem = services.ecosystemOf(target.dist);
    if (!services.advisories || !ecosystem) {
      return { passed: true, action: 'allow', message: `no advisory ecosystem configured for ${target.dist.name}`, detail: { status: 'not_configured' } };
    }
    const matcher = await services.advisories.current();
    const findings = matcher.findings(ecosystem, identity);
    if (findings.length === 0)
      return { passed: true, action: 'allow', message: `no findings in ${matcher.size} advisories (${ecosystem})`, detail: { status: 'no_findings', ecosystem } };
    let action: GateAction = strictest(findings.map((f) => policy[f.severity]));
    const ids = findings.map((f) => `${f.id} (${f.severity})`).join(', ');
    let note = '';
    if (action === 'review') {
      const accepted = context.acceptReview ? { by: context.author, action: 'accept_risk' } : await services.decisions.accepted(target.dist.name, identity.name, identity.version);
      if (accepted) {
        action = 'warn';
        note = `; risk accepted (${accepted.action}) by ${accepted.by}`;
      }
    }
    const status = action === 'block' ? 'blocked' : action === 'review' ? 'review' : 'findings';
    return {
      passed: action === 'allow' || action === 'warn',
      action,
      message: `${findings.length} advisor${findings.length === 1 ? 'y' : 'ies'}: ${ids}${note}`,
      detail: { status, ecosystem, findings: findings.map(findingAnswer) },
    };
  });
}

function gpgStep(c: Candidate): Promise<StepReport> {
  return timed('gpg', () => {
    if (c.kind === 'deb')
      return { passed: true, action: 'allow', message: 'a .deb carries no signature apt checks; the repository metadata is signed', detail: { status: 'unsigned_pass' } };
    const summary = c.signature?.summary;
    if (!summary) return { passed: true, action: 'allow', message: 'checked when it was uploaded', detail: { status: 'not_checked' } };
    if (summary.status === 'signed' && summary.trusted)
      return { passed: true, action: 'allow', message: `signed by ${summary.signers.join(', ')}`, detail: { status: 'signed', signers: summary.signers } };
    if (summary.status === 'signed') {
      return {
        passed: true,
        action: 'allow',
        message: `signed by ${summary.signers.join(', ')}, not a trusted key`,
        detail: { status: 'untrusted_pass', signers: summary.signers },
      };
    }
    return { passed: true, action: 'allow', message: `${summary.status}; the distribution's signature policy lets it in`, detail: { status: 'unsigned_pass' } };
  });
}

/** Runs `work` over items with at most `limit` at once, keeping order. */
async function eachLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * The security gate as the last ingest step: every package of a change (upload, build, bulk push,
 * accepted review, import) passes format, provenance, antivirus, cve, gpg and dependencies, and the
 * distribution's policy turns what they found into one decision per package. A block refuses the
 * whole change (422, nothing published, nothing left in the pool by the caller); a review marks the
 * package to be stored but held out of the revision.
 */
export function securityGateStep(services: GateServices): IngestStep {
  return async (target, candidates, context) => {
    const policy = securityPolicyOf(target.dist.security);
    for (const c of candidates) {
      const rejected = await services.decisions.rejected(target.dist.name, c.sha256);
      if (rejected) {
        throw new RepodError('package_rejected', `${candidateLabel(c)} was rejected in review by ${rejected.by}: ${rejected.justification}`, { status: 422 });
      }
    }
    const perPackage = await eachLimited(candidates, CONCURRENCY, async (c) => {
      const steps: StepReport[] = [];
      const emit = (step: StepReport) => {
        steps.push(step);
        context.onStep?.(c, step);
      };
      const identity = identityOf(c);
      emit(await formatStep(c));
      emit(await provenanceStep(c));
      emit(await antivirusStep(services, policy, c));
      emit(await cveStep(services, target, policy, identity, context));
      emit(await gpgStep(c));
      return steps;
    });
    // Dependencies are checked for the change as a whole: its packages may satisfy one another.
    const started = Date.now();
    const missing = services.dependencies ? await services.dependencies.missing(target.dist.name, candidates.map(dependencyCandidate)) : null;
    const ms = Date.now() - started;
    for (const [i, c] of candidates.entries()) {
      const unsatisfied = missing?.get(c.key) ?? [];
      const step: StepReport = !missing
        ? { name: 'dependencies', passed: true, action: 'allow', message: 'dependency check not configured', detail: { status: 'not_checked' }, ms }
        : unsatisfied.length === 0
          ? { name: 'dependencies', passed: true, action: 'allow', message: `every requirement is satisfied in ${target.dist.name}`, detail: { status: 'satisfied' }, ms }
          : {
              name: 'dependencies',
              passed: false,
              action: policy.dependencies,
              message: `nothing in ${target.dist.name} provides ${unsatisfied.join(', ')}`,
              detail: { status: 'missing', missing: unsatisfied },
              ms,
            };
      perPackage[i].push(step);
      context.onStep?.(c, step);
    }
    for (const [i, c] of candidates.entries()) {
      const steps = perPackage[i];
      let decision = strictest(steps.map((s) => s.action));
      if (decision === 'review' && context.acceptReview) decision = 'warn';
      if (decision === 'block') {
        const reasons = steps.filter((s) => s.action === 'block').map((s) => `${s.name}: ${s.message}`);
        throw new RepodError('package_blocked', `${candidateLabel(c)} is refused by the security policy of ${target.dist.name}: ${reasons.join('; ')}`, {
          status: 422,
          details: { package: candidateLabel(c), sha256: c.sha256, validation: validationAnswer(steps), pipeline: pipelineAnswer(steps) },
        });
      }
      c.verdict = { decision: decision === 'review' ? 'review' : 'publish', steps };
    }
  };
}

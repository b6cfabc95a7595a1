import type { EntryWithSegments } from '../bucket/chunk.ts';
import type { PackageRecord } from '../bucket/package-record.ts';
import type { Distribution } from '../config/distributions.ts';
import type { GateAction } from '../config/security-policy.ts';
import type { RpmVerification } from '../signing/rpm-verify.ts';
import { aptKey } from './apt-entry.ts';
import { rpmKey } from './rpm-entry.ts';
import { sourceLabel } from './source-entry.ts';
import type { StagedSource } from './source-stage.ts';
import type { StagedPackage } from './stage.ts';

/**
 * The ingest pipeline: every package of a change passes the same ordered steps after it was staged
 * (streamed into uploads/ and parsed) and before anything is committed. A step checks or
 * transforms candidates and throws a RepodError to refuse the whole change; nothing has left
 * uploads/ by then, so a refusal loses nothing. The security gate adds its steps here.
 */
export interface Candidate {
  /** `dsc`: a Debian source package (a .dsc and the files it names). */
  kind: 'rpm' | 'deb' | 'dsc';
  /** Identity in the distribution (bucket/keys.ts): the same key twice is one package. */
  key: string;
  arch: string;
  sha256: string;
  /** An upload of this change. A step may replace it (re-signing makes a new staged copy). */
  staged?: StagedPackage;
  /** A source package uploaded with this change, checked against its .dsc (ingest/source-entry.ts sourceCandidate). */
  source?: StagedSource;
  /** A package already in the store that the change refers to by sha256. */
  stored?: { record: PackageRecord; entry: EntryWithSegments };
  /** RPM uploads: the signature verdict, once the signature step ran. */
  signature?: PolicyOutcome;
  /** Imports: the sha256 the upstream catalog lists for this package (the provenance step compares). */
  expectedSha256?: string;
  /** The security gate's verdict, once it ran: publish now, or hold for review (a block refuses the change). */
  verdict?: GateVerdict;
}

/** One step's outcome for one package: what the upload answer and the live upload stream carry. */
export interface StepReport {
  name: 'format' | 'provenance' | 'antivirus' | 'cve' | 'gpg' | 'dependencies';
  passed: boolean;
  message: string;
  detail?: Record<string, unknown>;
  /** What the distribution's policy makes of it. */
  action: GateAction;
  /** Time the step took, in milliseconds. */
  ms: number;
}

export interface GateVerdict {
  decision: 'publish' | 'review';
  steps: StepReport[];
}

/** What a change carries besides its packages, for the steps that need it. */
export interface IngestContext {
  author: string;
  /** Called as each step ends for a package (the live upload stream). */
  onStep?: (pkg: Candidate, step: StepReport) => void;
  /** A reviewer accepted the risk: findings whose action is review publish instead (never a block). */
  acceptReview?: boolean;
  /**
   * Where a step may leave side writes it started (an index entry about an upload) instead of
   * waiting for them: the caller waits for them beside the commit, so they add no round trip to
   * the upload's latency, and before it answers. Without it a step waits for its own writes.
   */
  pending?: Promise<unknown>[];
}

/** Where the change goes. */
export interface IngestTarget {
  dist: Distribution;
  /** APT: the component packages are published in; '' for RPM. */
  component: string;
}

/** What the signature step found about an RPM upload (ingest/signature-policy.ts decides it). */
export interface SignatureSummary {
  status: RpmVerification['status'];
  signers: string[];
  /** Signed by one of the keys the policy lists (or any trusted key when it lists none). */
  trusted: boolean;
}

export interface PolicyOutcome {
  summary: SignatureSummary;
  /** false under skip-missing for a package without a listed signature, and for a signed copy the distribution does not prefer. */
  include: boolean;
  /** The build and signing keys of the upload, as the signed-copies index records them (signing/signed-copies.ts). */
  copy?: { identity: string; keyIds: string[]; verified: string[] };
  /** A signed copy the distribution prefers to the published one (ingest/duplicates.ts): the sha256 it replaces. */
  replaces?: string;
}

export type IngestStep = (target: IngestTarget, candidates: Candidate[], context: IngestContext) => Promise<void>;

export function stagedCandidate(staged: StagedPackage, component: string): Candidate {
  if (staged.kind === 'rpm') {
    const pkg = staged.parsed.pkg;
    return { kind: 'rpm', key: rpmKey(pkg), arch: pkg.arch, sha256: staged.sha256, staged };
  }
  const c = staged.parsed.control;
  return { kind: 'deb', key: aptKey(component, c.package, c.architecture, c.version), arch: c.architecture, sha256: staged.sha256, staged };
}

export function storedCandidate(stored: { record: PackageRecord; entry: EntryWithSegments }): Candidate {
  const { record, entry } = stored;
  return { kind: record.kind, key: entry.entry.key, arch: entry.entry.arch, sha256: record.facts.sha256, stored };
}

export async function runIngestSteps(steps: IngestStep[], target: IngestTarget, candidates: Candidate[], context: IngestContext): Promise<void> {
  for (const step of steps) await step(target, candidates, context);
}

/** A label for a candidate in messages and answers: NEVRA or name_version_arch. */
export function candidateLabel(c: Candidate): string {
  if (c.staged?.kind === 'rpm') {
    const p = c.staged.parsed.pkg;
    return `${p.name}-${p.epoch !== '0' ? `${p.epoch}:` : ''}${p.version}-${p.release}.${p.arch}`;
  }
  if (c.staged?.kind === 'deb') {
    const ctl = c.staged.parsed.control;
    return `${ctl.package}_${ctl.version}_${ctl.architecture}`;
  }
  if (c.source) return sourceLabel(c.source.dsc.source, c.source.dsc.version);
  return c.stored?.entry.entry.label ?? c.key;
}

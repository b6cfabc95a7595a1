import type { EntryWithSegments } from '../bucket/chunk.ts';
import type { PackageRecord } from '../bucket/package-record.ts';
import type { Distribution } from '../config/distributions.ts';
import type { RpmVerification } from '../signing/rpm-verify.ts';
import { aptKey } from './apt-entry.ts';
import { rpmKey } from './rpm-entry.ts';
import type { StagedPackage } from './stage.ts';

/**
 * The ingest pipeline: every package of a change passes the same ordered steps after it was staged
 * (streamed into uploads/ and parsed) and before anything is committed. A step checks or
 * transforms candidates and throws a RepodError to refuse the whole change; nothing has left
 * uploads/ by then, so a refusal loses nothing. The security gate adds its steps here.
 */
export interface Candidate {
  kind: 'rpm' | 'deb';
  /** Identity in the distribution (bucket/keys.ts): the same key twice is one package. */
  key: string;
  arch: string;
  sha256: string;
  /** An upload of this change. A step may replace it (re-signing makes a new staged copy). */
  staged?: StagedPackage;
  /** A package already in the store that the change refers to by sha256. */
  stored?: { record: PackageRecord; entry: EntryWithSegments };
  /** RPM uploads: the signature verdict, once the signature step ran. */
  signature?: PolicyOutcome;
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
  /** false under skip-missing for a package without a listed signature. */
  include: boolean;
}

export type IngestStep = (target: IngestTarget, candidates: Candidate[]) => Promise<void>;

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

export async function runIngestSteps(steps: IngestStep[], target: IngestTarget, candidates: Candidate[]): Promise<void> {
  for (const step of steps) await step(target, candidates);
}

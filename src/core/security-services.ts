import type { Revision } from '../bucket/revision.ts';
import type { Capabilities } from '../capabilities.ts';
import type { Distribution, Distributions } from '../config/distributions.ts';
import type { IngestStep } from '../ingest/pipeline.ts';
import type { GateHooks } from '../revisions/publish.ts';
import type { Repository } from '../revisions/repository.ts';
import { defaultEcosystem } from '../security/advisories/ecosystem.ts';
import { StoredAdvisoryFeed } from '../security/advisories/feed-store.ts';
import { ClamdScanner, type ConnectScanner } from '../security/antivirus/clamd-scanner.ts';
import { scanPackage } from '../security/antivirus/scan-package.ts';
import { checkChange } from '../security/dependencies/check-change.ts';
import { debCapabilities } from '../security/dependencies/deb-capabilities.ts';
import { DistributionProvides } from '../security/dependencies/distribution-provides.ts';
import { ProvidesIndex } from '../security/dependencies/provides-index.ts';
import { rpmCapabilities } from '../security/dependencies/rpm-capabilities.ts';
import { antivirusCheck } from '../security/gate/checks/antivirus-check.ts';
import { cveCheck } from '../security/gate/checks/cve-check.ts';
import { dependenciesCheck } from '../security/gate/checks/dependencies-check.ts';
import { formatCheck } from '../security/gate/checks/format-check.ts';
import { gpgCheck } from '../security/gate/checks/gpg-check.ts';
import { provenanceCheck } from '../security/gate/checks/provenance-check.ts';
import type { DependencyChecker, VirusScanner } from '../security/gate/gate-services.ts';
import { securityGateStep } from '../security/gate/security-gate.ts';
import { PackageIdentities } from '../security/package-identities.ts';
import { ReviewQueue } from '../security/review/review-queue.ts';

/** What the runtime gives the gate: how to reach a virus scanner, if there is one. */
export interface ScannerConfig {
  connect: ConnectScanner;
  /** One whole scan, connect to verdict. */
  timeoutMs?: number;
  /** Larger packages are not sent; the policy's scannerUnavailable applies. */
  maxBytes?: number;
}

export interface SecurityServices {
  gate: GateHooks;
  /** What a distribution (and its configured base distributions) provides now: dependency closure of imports. */
  installedProviders(distName: string): Promise<ProvidesIndex[]>;
  /** Stores what the dependency index needs beside a revision's new chunks (after a mirror sync: DistributionProvides.prepare); chunks stored. */
  prepareDependencies(revision: Revision): Promise<number>;
  review: ReviewQueue;
  advisories: StoredAdvisoryFeed;
  identities: PackageIdentities;
  ecosystemOf(dist: Distribution): string | undefined;
}

function virusScanner(config: ScannerConfig): VirusScanner {
  const scanner = new ClamdScanner(config.connect, { timeoutMs: config.timeoutMs });
  return { scanPackage: (kind, open, size) => scanPackage(scanner, kind, open, { maxBytes: config.maxBytes, size }) };
}

/** Repoclosure against the distribution's current revision and its configured base distributions. */
function dependencyChecker(provides: DistributionProvides, installedProviders: (distName: string) => Promise<ProvidesIndex[]>): DependencyChecker {
  return {
    async missing(distName, adding) {
      const [index, ...base] = await installedProviders(distName);
      const capabilities = adding.map((a) => (a.rpm ? rpmCapabilities(a.rpm, a.key) : debCapabilities(a.deb!, a.key)));
      for (const [i, c] of capabilities.entries()) provides.remember(adding[i].sha256, c);
      const out = new Map<string, string[]>();
      for (const report of await checkChange(index, base, capabilities, [])) if (report.origin === 'added') out.set(report.key, report.missing);
      return out;
    },
  };
}

/** The security gate and what it keeps, over the store every server of a fleet shares. */
export function createSecurityServices(
  caps: Capabilities,
  repository: Repository,
  distributions: Distributions,
  options: { scanner?: ScannerConfig; enabled?: boolean },
): SecurityServices {
  const review = new ReviewQueue(caps);
  const advisories = new StoredAdvisoryFeed(caps);
  const ecosystemOf = (dist: Distribution) => dist.security?.ecosystem ?? defaultEcosystem(dist.name, dist.kind);
  const provides = new DistributionProvides(caps, repository);
  const indexOf = async (name: string) => {
    const revision = await repository.current(name);
    return revision ? provides.forRevision(name, revision) : new ProvidesIndex();
  };
  const installedProviders = (distName: string) => Promise.all([indexOf(distName), ...(distributions.get(distName)?.security?.dependencies?.base ?? []).map(indexOf)]);
  // Off (REPOD_SECURITY_GATE=0): packages go in with the format and signature checks only, as before the gate (benchmarks compare).
  const step: IngestStep =
    options.enabled === false
      ? async () => {}
      : securityGateStep({
          packageChecks: [
            formatCheck,
            provenanceCheck,
            antivirusCheck(caps.store, options.scanner ? virusScanner(options.scanner) : undefined),
            cveCheck(advisories, review, ecosystemOf),
            gpgCheck,
          ],
          changeChecks: [dependenciesCheck(dependencyChecker(provides, installedProviders))],
          decisions: review,
        });
  return {
    gate: {
      step,
      hold: (target, held, author, options) => review.hold(target, held, author, options),
      release: (target, shas, author, reason) => review.release(target, shas, author, reason),
    },
    installedProviders,
    prepareDependencies: (revision) => provides.prepare(revision),
    review,
    advisories,
    identities: new PackageIdentities(caps),
    ecosystemOf,
  };
}

import type { DebControl } from '../../formats/deb/control.ts';
import type { RpmPackage } from '../../formats/rpm/model.ts';
import type { Finding as AdvisoryFinding, PackageIdentity } from '../advisories/feed.ts';

/**
 * What the gate asks of the scanners it runs. Each is a narrow structural interface, so the gate
 * takes only what it uses and the composition root decides what stands behind it (clamd over a
 * socket, the OSV feed in the store, the dependency index of a distribution).
 */

export type ScanStatus = 'clean' | 'infected' | 'unavailable' | 'too_large';

export interface VirusScan {
  verdict: { status: ScanStatus; signature?: string; message?: string };
  scanned: string[];
}

export interface VirusScanner {
  scanPackage(kind: 'rpm' | 'deb', open: () => Promise<ReadableStream<Uint8Array>>, size?: number): Promise<VirusScan>;
}

/** A package as advisories name it (Debian and Ubuntu advisories name the source package). */
/** What the feed found for a package (security/advisories/feed.ts). */
export type { Finding as AdvisoryFinding, PackageIdentity } from '../advisories/feed.ts';

export interface AdvisoryMatcher {
  findings(ecosystem: string, pkg: PackageIdentity): AdvisoryFinding[];
  readonly size: number;
}

export interface AdvisorySource {
  current(): Promise<AdvisoryMatcher>;
}

/** A package of the change, for the dependency check: its key in the distribution and what it requires and provides. */
export interface DependencyCandidate {
  key: string;
  sha256: string;
  label: string;
  rpm?: RpmPackage;
  deb?: DebControl;
}

export interface DependencyChecker {
  /** Requirements of each added package (by key) that nothing provides once the change is applied. */
  missing(distribution: string, adding: DependencyCandidate[]): Promise<Map<string, string[]>>;
}

/**
 * The neutral capability model of the dependencies step: what a package offers (provides, files)
 * and what it needs (requires), the same for RPM and .deb, so one index and one check serve both.
 * Built from the format models (rpm-capabilities.ts, deb-capabilities.ts); pure data.
 */

/** A version relation: rpm's LT/LE/EQ/GE/GT, Debian's << <= = >= >>. */
export type Relation = '<' | '<=' | '=' | '>=' | '>';

export type PackageFormat = 'rpm' | 'deb';

/**
 * Something a package provides: its own name (always, with its version), an explicit Provides
 * (versioned or not). RPM versions are written `epoch:version[-release]`, Debian versions as in
 * the control file.
 */
export interface Capability {
  name: string;
  relation?: Relation;
  version?: string;
}

/** One requirement, parsed. */
export type Requirement =
  /** A package or virtual name, maybe versioned; `arch` is a Debian arch qualifier (`any`, `native`, `amd64`). */
  | { kind: 'name'; name: string; relation?: Relation; version?: string; arch?: string }
  /** RPM file dependency: any package shipping (or explicitly providing) the path satisfies it. */
  | { kind: 'file'; path: string }
  /** Debian alternatives `a | b`, RPM `(a or b)`. */
  | { kind: 'or'; of: Requirement[] }
  /** RPM `(a and b)`. */
  | { kind: 'and'; of: Requirement[] }
  /** RPM `(a with b)`: one package satisfies every operand. Operands are names or files. */
  | { kind: 'with'; of: Requirement[] }
  /** RPM `(a without b)`: a package satisfying `base` but not `not`. Operands are names or files. */
  | { kind: 'without'; base: Requirement; not: Requirement }
  /** Not checked (RPM `if`/`unless`, which depend on what else gets installed): counts as satisfied, with a note. */
  | { kind: 'unchecked'; reason: string }
  /** Malformed text no package manager can resolve: never satisfied. */
  | { kind: 'invalid'; reason: string };

/** A top-level requirement with its text as written (what reports show). */
export interface RequirementEntry {
  text: string;
  requirement: Requirement;
}

/** Debian's Multi-Arch field (absent means `no`). */
export type MultiArch = 'no' | 'same' | 'foreign' | 'allowed';

export interface PackageCapabilities {
  format: PackageFormat;
  /** Identity within a distribution: the index entry key (ingest/rpm-entry.ts, ingest/apt-entry.ts). */
  key: string;
  /** NEVRA or name_version_arch, for reports. */
  label: string;
  name: string;
  /** RPM `epoch:version-release`, Debian version. */
  version: string;
  arch: string;
  multiArch?: MultiArch;
  /** Includes the package's own name and version. */
  provides: Capability[];
  /** Every path the package ships (RPM; empty for .deb: Debian relations never name files). */
  files: string[];
  /** What must be installable with it (RPM Requires; Debian Depends and Pre-Depends). */
  requires: RequirementEntry[];
  /** What the model could not represent or chose not to check. */
  notes: string[];
}

/** A requirement the distribution (after the change, plus base sources) cannot satisfy. */
export interface Unsatisfied {
  /** As written in the package. */
  requirement: string;
}

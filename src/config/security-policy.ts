import { RepodError } from '../errors.ts';

/**
 * What the security gate does with a finding, per distribution: publish silently, publish with a
 * warning, hold the package in the review queue (stored, not published), or refuse it.
 */
export type GateAction = 'allow' | 'warn' | 'review' | 'block';
export const GATE_ACTIONS: readonly GateAction[] = ['allow', 'warn', 'review', 'block'];

/** The severities an advisory can carry (security/advisories/severity.ts). */
export type FindingSeverity = 'critical' | 'high' | 'medium' | 'low' | 'negligible' | 'unknown';

export interface SecurityPolicy extends Record<FindingSeverity, GateAction> {
  /** A detection by the virus scanner. */
  antivirus: GateAction;
  /** The scanner could not answer (unreachable, timed out, crashed) or the package is over its size limit. */
  scannerUnavailable: GateAction;
  /** A Requires/Depends that nothing in the distribution (or its base) provides. */
  dependencies: GateAction;
}

/** Repod's defaults. A scanner outage warns rather than stops every upload of a fleet. */
export const DEFAULT_SECURITY_POLICY: SecurityPolicy = {
  critical: 'block',
  high: 'review',
  medium: 'warn',
  low: 'warn',
  negligible: 'allow',
  unknown: 'warn',
  antivirus: 'block',
  scannerUnavailable: 'warn',
  dependencies: 'warn',
};

/** A distribution's `security` setting. */
export interface DistributionSecurity {
  /** The OSV ecosystem its packages are matched in (`Debian:12`, `AlmaLinux:9`); a default comes from the name. */
  ecosystem?: string;
  policy?: Partial<SecurityPolicy>;
  dependencies?: {
    /** Other distributions whose packages satisfy dependencies too (the OS repositories a private one builds on). */
    base?: string[];
  };
}

export function securityPolicyOf(security: DistributionSecurity | undefined): SecurityPolicy {
  return { ...DEFAULT_SECURITY_POLICY, ...security?.policy };
}

/** The strictest of several actions: block > review > warn > allow. */
export function strictest(actions: GateAction[]): GateAction {
  let best: GateAction = 'allow';
  for (const a of actions) if (GATE_ACTIONS.indexOf(a) > GATE_ACTIONS.indexOf(best)) best = a;
  return best;
}

export function validateSecurity(distName: string, security: unknown): void {
  if (security === undefined) return;
  const fail = (what: string) => {
    throw new RepodError('invalid_config', `distribution ${distName}: security.${what}`);
  };
  if (typeof security !== 'object' || security === null) fail('must be an object');
  const s = security as DistributionSecurity;
  if (s.ecosystem !== undefined && (typeof s.ecosystem !== 'string' || !s.ecosystem)) fail('ecosystem must be a non-empty string');
  for (const [key, value] of Object.entries(s.policy ?? {})) {
    if (!(key in DEFAULT_SECURITY_POLICY)) fail(`policy has an unknown key ${JSON.stringify(key)} (known: ${Object.keys(DEFAULT_SECURITY_POLICY).join(', ')})`);
    if (!GATE_ACTIONS.includes(value as GateAction)) fail(`policy.${key} must be one of ${GATE_ACTIONS.join(', ')}`);
  }
  const base = s.dependencies?.base;
  if (base !== undefined && (!Array.isArray(base) || !base.every((b) => typeof b === 'string'))) fail('dependencies.base must be a list of distribution names');
}

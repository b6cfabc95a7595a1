import { RepodError } from '../errors.ts';
import { type ExportBinding, validateExport } from './export-binding.ts';
import { type MirrorBinding, validateMirror } from './mirror-binding.ts';
import { type MultilibSetting, validateMultilib } from './multilib.ts';
import { type DistributionSecurity, validateSecurity } from './security-policy.ts';

/**
 * Distributions are configuration: the defaults below, replaced or extended by a JSON file
 * (REPOD_DISTRIBUTIONS). Adding one needs no rebuild.
 */
export interface RpmDistribution {
  kind: 'rpm';
  name: string;
  /** Binary architectures served; noarch packages appear in each, source packages under "src". */
  architectures: string[];
  /** Also list the sqlite databases in the plain variant (the hashed variant always does). */
  sqlite?: boolean;
  /** Readable only with credentials (HTTP Basic or a Bearer token, reader role and up). */
  private?: boolean;
  /** Package signature policy, and whether repod signs packages on ingest. */
  packageSignatures?: {
    policy?: 'soft' | 'require' | 'allow-missing' | 'skip-missing';
    /** Key ids or fingerprints whose signatures count, in search order (default: any trusted key). */
    keys?: string[];
    /** Add a header signature with the keyring's newest active key to every uploaded RPM. */
    sign?: boolean;
  };
  /** The security gate's ecosystem, policy and dependency base (config/security-policy.ts). */
  security?: DistributionSecurity;
  /** Filled by the syncs of an import source, not by uploads (config/mirror-binding.ts). */
  mirror?: MirrorBinding;
  /** Re-exported as a static tree after every change (config/export-binding.ts). */
  export?: ExportBinding;
  /** Compatibility-arch (i686) packages the x86_64 repository also lists (config/multilib.ts). */
  multilib?: MultilibSetting;
  /**
   * `split` (the default, as Fedora lays it out): debuginfo and debugsource packages are served
   * from <arch>/debug/, not the main repository. `inline`: listed with the others (mkrepo's trees).
   */
  debuginfo?: 'split' | 'inline';
}

export interface AptDistribution {
  kind: 'apt';
  /** The codename clients put in sources.list. */
  name: string;
  components: string[];
  architectures: string[];
  suite?: string;
  origin?: string;
  label?: string;
  description?: string;
  /** Readable only with credentials (HTTP Basic or a Bearer token, reader role and up). */
  private?: boolean;
  /** The security gate's ecosystem, policy and dependency base (config/security-policy.ts). */
  security?: DistributionSecurity;
  /** Filled by the syncs of an import source, not by uploads (config/mirror-binding.ts). */
  mirror?: MirrorBinding;
  /** Re-exported as a static tree after every change (config/export-binding.ts). */
  export?: ExportBinding;
}

export type Distribution = RpmDistribution | AptDistribution;

const rpm = (name: string): RpmDistribution => ({ kind: 'rpm', name, architectures: ['x86_64'] });
const apt = (name: string, suite: string): AptDistribution => ({
  kind: 'apt',
  name,
  suite,
  components: ['main'],
  architectures: ['amd64', 'arm64'],
});

export const DEFAULT_DISTRIBUTIONS: Distribution[] = [
  apt('jammy', 'jammy'),
  apt('noble', 'noble'),
  apt('focal', 'focal'),
  apt('bookworm', 'stable'),
  ...['almalinux8', 'almalinux9', 'rocky8', 'rocky9', 'centos-stream9', 'fedora', 'opensuse-leap-15.6'].map(rpm),
];

/** Path segments under /repos that belong to APT or to the key, never to an RPM distribution. */
/**
 * The package architectures a distribution takes: its own, plus noarch and source packages (RPM)
 * or `all` (APT). Uploads, promotions and migrations are all checked against this one list.
 */
export function acceptedArchitectures(dist: Distribution): Set<string> {
  return new Set(dist.kind === 'rpm' ? [...dist.architectures, 'noarch', 'src', 'nosrc'] : [...dist.architectures, 'all']);
}

const RESERVED = new Set(['dists', 'pool', 'gpg.key', 'api', 'revisions', 'hashed']);
const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

export class Distributions {
  private readonly byName = new Map<string, Distribution>();

  constructor(list: Distribution[]) {
    for (const d of list) {
      validate(d);
      if (this.byName.has(d.name)) throw new RepodError('invalid_config', `distribution ${d.name} is configured twice`);
      this.byName.set(d.name, d);
    }
    for (const d of list) {
      for (const base of d.security?.dependencies?.base ?? []) {
        const b = this.byName.get(base);
        if (!b || b.kind !== d.kind)
          throw new RepodError('invalid_config', `distribution ${d.name}: security.dependencies.base names ${JSON.stringify(base)}, which is not a ${d.kind} distribution`);
      }
    }
  }

  get(name: string): Distribution | undefined {
    return this.byName.get(name);
  }

  all(): Distribution[] {
    return [...this.byName.values()];
  }

  /** Parses a JSON configuration: `{ "distributions": [...], "replaceDefaults": false }`. */
  static fromJson(text: string | undefined): Distributions {
    if (!text) return new Distributions(DEFAULT_DISTRIBUTIONS);
    const parsed = JSON.parse(text) as { distributions?: Distribution[]; replaceDefaults?: boolean };
    const extra = parsed.distributions ?? [];
    const base = parsed.replaceDefaults ? [] : DEFAULT_DISTRIBUTIONS.filter((d) => !extra.some((e) => e.name === d.name));
    return new Distributions([...base, ...extra]);
  }
}

function validate(d: Distribution): void {
  if (!NAME.test(d.name) || RESERVED.has(d.name)) throw new RepodError('invalid_config', `invalid distribution name ${JSON.stringify(d.name)}`);
  const kind: string = d.kind;
  if (kind !== 'rpm' && kind !== 'apt') throw new RepodError('invalid_config', `distribution ${d.name}: kind must be rpm or apt`);
  if (!Array.isArray(d.architectures) || d.architectures.length === 0 || !d.architectures.every((a) => NAME.test(a))) {
    throw new RepodError('invalid_config', `distribution ${d.name}: architectures must be a non-empty list of names`);
  }
  if (d.kind === 'apt' && (!Array.isArray(d.components) || d.components.length === 0)) {
    throw new RepodError('invalid_config', `distribution ${d.name}: components must be a non-empty list`);
  }
  validateSecurity(d.name, d.security);
  validateMirror(d.name, d.mirror);
  validateExport(d.name, d.export);
  if (d.kind === 'rpm' && d.debuginfo !== undefined && d.debuginfo !== 'split' && d.debuginfo !== 'inline') {
    throw new RepodError('invalid_config', `distribution ${d.name}: debuginfo must be "split" or "inline"`);
  }
  if (d.kind === 'rpm') validateMultilib(d.name, d.architectures, d.multilib);
  // `<arch>/debug/` is each arch's debuginfo repository (render/rpm-view-selection.ts).
  if (d.kind === 'rpm' && d.architectures.includes('debug')) throw new RepodError('invalid_config', `distribution ${d.name}: "debug" cannot be an architecture name`);
  for (const base of d.security?.dependencies?.base ?? []) {
    if (base === d.name) throw new RepodError('invalid_config', `distribution ${d.name}: security.dependencies.base names the distribution itself`);
  }
}

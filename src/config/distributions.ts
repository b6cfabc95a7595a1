import { RepodError } from '../errors.ts';
import { type ExportBinding, validateExport } from './export-binding.ts';
import { type MirrorBinding, validateMirror } from './mirror-binding.ts';
import { type MultilibSetting, validateMultilib } from './multilib.ts';
import { type DistributionSecurity, validateSecurity } from './security-policy.ts';

/**
 * Distributions are data: seeded from the defaults below and a JSON file (REPOD_DISTRIBUTIONS),
 * then kept in the store and edited through the API (core/distribution-store.ts). Adding one
 * needs no rebuild and no restart.
 */

/** The keys of the keyring that sign a distribution's metadata instead of the keyring's default set. */
export interface DistributionSigning {
  /** Fingerprints, key ids (16 hex digits) or names of keys in the keyring (GET /api/v1/keys). */
  keys: string[];
}
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
  /** Also offer zchunk metadata (primary_zck, filelists_zck, other_zck) where the runtime has zstd. */
  zchunk?: boolean;
  /** Its own signing keys (default: the keyring's active default set). */
  signing?: DistributionSigning;
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
  /** Its own signing keys (default: the keyring's active default set). */
  signing?: DistributionSigning;
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

/**
 * The package architectures a distribution takes: its own, plus noarch and source packages (RPM)
 * or `all` (APT). Uploads, promotions and migrations are all checked against this one list.
 */
export function acceptedArchitectures(dist: Distribution): Set<string> {
  return new Set(dist.kind === 'rpm' ? [...dist.architectures, 'noarch', 'src', 'nosrc'] : [...dist.architectures, 'all']);
}

/** Path segments under /repos that belong to APT or to the key, never to an RPM distribution. */
const RESERVED = new Set(['dists', 'pool', 'gpg.key', 'api', 'revisions', 'hashed']);
const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

/** What a REPOD_DISTRIBUTIONS file holds: `{ "distributions": [...], "replaceDefaults": false }`. */
export interface DistributionsConfig {
  /** The file's own entries, as written. */
  entries: Distribution[];
  /** The defaults (unless replaced) and the file's entries: what a fresh store is seeded with. */
  seed: Distribution[];
}

export function parseDistributionsConfig(text: string | undefined): DistributionsConfig {
  if (!text) return { entries: [], seed: [...DEFAULT_DISTRIBUTIONS] };
  const parsed = JSON.parse(text) as { distributions?: Distribution[]; replaceDefaults?: boolean };
  const entries = parsed.distributions ?? [];
  const base = parsed.replaceDefaults ? [] : DEFAULT_DISTRIBUTIONS.filter((d) => !entries.some((e) => e.name === d.name));
  return { entries, seed: [...base, ...entries] };
}

/**
 * The distributions this process serves, looked up synchronously by every route and job. The
 * set is replaced whole (never edited in place) when the stored configuration changes; `refresh`
 * re-reads it from the store at most every few hundred milliseconds (core/distribution-store.ts).
 */
export class Distributions {
  private byName = new Map<string, Distribution>();
  private refresher: ((options: { waitMs?: number }) => Promise<void>) | null = null;

  constructor(list: Distribution[]) {
    this.replace(list);
  }

  get(name: string): Distribution | undefined {
    return this.byName.get(name);
  }

  all(): Distribution[] {
    return [...this.byName.values()];
  }

  /** Checks a whole set (each entry and the links between them) and serves it from now on. */
  replace(list: Distribution[]): void {
    this.byName = checkedSet(list);
  }

  /**
   * Picks up changes another server made (a no-op for a set that is not kept in a store); with
   * `waitMs`, waits no longer than that for a slow store.
   */
  async refresh(options: { waitMs?: number } = {}): Promise<void> {
    if (this.refresher) await this.refresher(options);
  }

  /** Where `refresh` reads from (the distribution store installs itself). */
  refreshWith(refresher: (options: { waitMs?: number }) => Promise<void>): void {
    this.refresher = refresher;
  }

  /** Parses a JSON configuration: `{ "distributions": [...], "replaceDefaults": false }`. */
  static fromJson(text: string | undefined): Distributions {
    return new Distributions(parseDistributionsConfig(text).seed);
  }
}

/** Validates every entry and the links between entries; the map of the set by name. */
export function checkedSet(list: Distribution[]): Map<string, Distribution> {
  const byName = new Map<string, Distribution>();
  for (const d of list) {
    validateDistribution(d);
    if (byName.has(d.name)) throw new RepodError('invalid_config', `distribution ${d.name} is configured twice`);
    byName.set(d.name, d);
  }
  for (const d of list) {
    for (const base of d.security?.dependencies?.base ?? []) {
      const b = byName.get(base);
      if (!b || b.kind !== d.kind)
        throw new RepodError('invalid_config', `distribution ${d.name}: security.dependencies.base names ${JSON.stringify(base)}, which is not a ${d.kind} distribution`);
    }
  }
  return byName;
}

/** The distributions of `list` that name `name` as a dependency base (they must go first). */
export function dependentsOf(list: Distribution[], name: string): string[] {
  return list.filter((d) => d.name !== name && (d.security?.dependencies?.base ?? []).includes(name)).map((d) => d.name);
}

/** One entry on its own: its name, kind, architectures and each setting; throws `invalid_config` naming the field. */
export function validateDistribution(d: Distribution): void {
  if (typeof d.name !== 'string' || !NAME.test(d.name) || RESERVED.has(d.name)) throw new RepodError('invalid_config', `invalid distribution name ${JSON.stringify(d.name)}`);
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
  if (d.kind === 'rpm' && d.zchunk !== undefined && typeof d.zchunk !== 'boolean') {
    throw new RepodError('invalid_config', `distribution ${d.name}: "zchunk" must be true or false`);
  }
  if (d.kind === 'rpm') validateMultilib(d.name, d.architectures, d.multilib);
  // `<arch>/debug/` is each arch's debuginfo repository (render/rpm-view-selection.ts).
  if (d.kind === 'rpm' && d.architectures.includes('debug')) throw new RepodError('invalid_config', `distribution ${d.name}: "debug" cannot be an architecture name`);
  for (const base of d.security?.dependencies?.base ?? []) {
    if (base === d.name) throw new RepodError('invalid_config', `distribution ${d.name}: security.dependencies.base names the distribution itself`);
  }
  if (d.signing !== undefined) {
    const keys = (d.signing as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string' && k.length > 0)) {
      throw new RepodError('invalid_config', `distribution ${d.name}: signing.keys must be a non-empty list of key fingerprints, ids or names`);
    }
  }
}

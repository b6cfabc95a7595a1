import { RepodError } from '../errors.ts';

/**
 * A distribution bound to an import source: each sync of the source publishes a revision of it
 * holding what the source offers, through the filters. `on_demand` fetches a package from the
 * upstream the first time a client asks for it (Pulp's on_demand, an Artifactory remote
 * repository); `immediate` fetches every package during the sync, before the revision exists.
 */
export interface MirrorBinding {
  /** The import source: its numeric id or its name (sources are created at run time, distributions configured at start). */
  source: number | string;
  policy: 'on_demand' | 'immediate';
  filters?: MirrorFilters;
}

export interface MirrorFilters {
  /** Package name globs (`*`, `?`); a package must match one of them. Default: every package. */
  include?: string[];
  /** Package name globs; a matching package is left out, whatever `include` says. */
  exclude?: string[];
  /** Package architectures kept (besides the distribution's own limits). Default: every one the distribution takes. */
  architectures?: string[];
  /** Keep only the newest N versions of each package name and architecture. */
  keep_latest?: number;
}

export const MIRROR_POLICIES = ['on_demand', 'immediate'] as const;

export function validateMirror(distName: string, mirror: unknown): void {
  if (mirror === undefined) return;
  const fail = (what: string): never => {
    throw new RepodError('invalid_config', `distribution ${distName}: mirror.${what}`);
  };
  if (typeof mirror !== 'object' || mirror === null || Array.isArray(mirror)) fail('must be an object');
  const m = mirror as MirrorBinding;
  const sourceOk = (typeof m.source === 'number' && Number.isInteger(m.source) && m.source > 0) || (typeof m.source === 'string' && m.source !== '');
  if (!sourceOk) fail('source must be an import source id or name');
  if (!MIRROR_POLICIES.includes(m.policy)) fail(`policy must be one of ${MIRROR_POLICIES.join(', ')}`);
  const f = m.filters;
  if (f === undefined) return;
  if (typeof f !== 'object' || f === null || Array.isArray(f)) fail('filters must be an object');
  const known = new Set(['include', 'exclude', 'architectures', 'keep_latest']);
  for (const key of Object.keys(f)) if (!known.has(key)) fail(`filters has an unknown key ${JSON.stringify(key)} (known: ${[...known].join(', ')})`);
  for (const key of ['include', 'exclude', 'architectures'] as const) {
    const list = f[key];
    if (list !== undefined && (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && s !== ''))) fail(`filters.${key} must be a list of non-empty strings`);
  }
  if (f.keep_latest !== undefined && !(Number.isInteger(f.keep_latest) && f.keep_latest > 0)) fail('filters.keep_latest must be a positive whole number');
}

/** Whether a binding names this source. */
export function bindsSource(mirror: MirrorBinding, source: { id: number; name: string }): boolean {
  return typeof mirror.source === 'number' ? mirror.source === source.id : mirror.source === source.name;
}

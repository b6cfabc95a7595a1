import { acceptedArchitectures } from '../config/distributions.ts';
import { NotFoundError, RepodError } from '../errors.ts';
import { discardStaged, type StagedPackage, stagePackage } from '../ingest/stage.ts';
import type { OutboundClient } from '../outbound/outbound-client.ts';
import { type BatchResult, type PublishServices, publishBuild, requireDistribution } from '../revisions/publish.ts';
import type { ProvidesIndex } from '../security/dependencies/provides-index.ts';
import type { Catalog, CatalogPackage, ImportSources } from './catalog.ts';
import { dependencyClosure, newestFirst } from './dependency-closure.ts';

export interface ImportServices extends PublishServices {
  catalog: Pick<Catalog, 'versions' | 'packages'>;
  importSources: Pick<ImportSources, 'get'>;
  outbound: Pick<OutboundClient, 'fetch'>;
  installedProviders(distName: string): Promise<ProvidesIndex[]>;
}

export interface ImportRequest {
  sourceId: number;
  distribution: string;
  packages: Array<{ name: string; version?: string }>;
  withDependencies?: boolean;
  author: string;
}

export interface ImportResult extends BatchResult {
  source: { id: number; name: string };
  /** Packages imported because a requested one needs them. */
  dependencies: Array<{ package: string; version: string; architecture: string }>;
  /** Requirements neither the distribution nor the catalog satisfies. */
  unresolved: string[];
}

/** A version as users write it: the full one, or without epoch, or only the upstream version. */
function versionMatches(p: CatalogPackage, wanted: string): boolean {
  const full = p.version;
  const noEpoch = full.replace(/^\d+:/, '');
  return full === wanted || noEpoch === wanted || noEpoch.replace(/-[^-]*$/, '') === wanted;
}

/** The requested version (or the newest) of a package, for every architecture the distribution takes. */
async function choose(services: ImportServices, sourceId: number, name: string, version: string | undefined, accepts: (arch: string) => boolean): Promise<CatalogPackage[]> {
  const all = (await services.catalog.versions(sourceId, name)).filter((p) => accepts(p.architecture));
  if (all.length === 0)
    throw new NotFoundError(
      `${name} is not in the catalog of source ${sourceId} for this distribution's architectures (sync the source first: POST /api/v1/import/sources/${sourceId}/sync)`,
      'package_not_in_catalog',
    );
  const matching = version ? all.filter((p) => versionMatches(p, version)) : all;
  if (matching.length === 0) {
    throw new NotFoundError(
      `${name} version ${version} is not in the catalog of source ${sourceId}; it has ${[...new Set(all.map((p) => p.version))].join(', ')}`,
      'version_not_in_catalog',
    );
  }
  // The newest version of each architecture.
  const best = new Map<string, CatalogPackage>();
  for (const p of [...matching].sort(newestFirst)) if (!best.has(p.architecture)) best.set(p.architecture, p);
  return [...best.values()];
}

/**
 * Downloads one catalog package through the outbound client and stages it like an upload; its
 * size and sha256 must be the catalog's (an upstream that changed a file under the same name is
 * refused, and nothing is kept).
 */
async function download(services: ImportServices, p: CatalogPackage): Promise<StagedPackage> {
  const response = await services.outbound.fetch(p.url, { maxBytes: p.size });
  if (response.status === 404 || response.status === 410) {
    await response.body?.cancel().catch(() => undefined);
    throw new NotFoundError(`${p.url} is gone upstream (HTTP ${response.status}); re-sync source ${p.sourceId} to see what it offers now`, 'upstream_package_missing');
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel().catch(() => undefined);
    throw new RepodError('upstream_http_error', `${p.url} answered HTTP ${response.status}`, { status: 502, details: { url: p.url, upstreamStatus: response.status } });
  }
  const staged = await stagePackage(services.caps, response.body, { maxBytes: services.settings.maxUploadBytes });
  if (staged.sha256 !== p.sha256 || staged.size !== p.size) {
    await discardStaged(services.caps, staged);
    throw new RepodError(
      'upstream_package_mismatch',
      `${p.url} is not the package the catalog lists: ${staged.size} bytes with sha256 ${staged.sha256}, expected ${p.size} bytes with sha256 ${p.sha256}`,
      { status: 422, details: { url: p.url, expected: { size: p.size, sha256: p.sha256 }, actual: { size: staged.size, sha256: staged.sha256 } } },
    );
  }
  return staged;
}

/**
 * `POST /api/v1/import/packages`: packages from a source's catalog (the newest, or a given version;
 * with `withDependencies`, also what they need that the distribution lacks and the catalog has)
 * are downloaded, checked against the catalog, and published as one revision through the same
 * ingest as an upload: signature policy and the security gate, whose provenance step compares each
 * sha256 with the catalog's.
 */
export async function importPackages(services: ImportServices, request: ImportRequest): Promise<ImportResult> {
  if (!Number.isInteger(request.sourceId)) throw new RepodError('invalid_request', 'source_id must be the numeric id of an import source', { status: 400 });
  const source = await services.importSources.get(request.sourceId);
  if (!source) throw new NotFoundError(`no import source ${request.sourceId}`, 'unknown_source');
  const dist = requireDistribution(services.distributions, request.distribution);
  if ((source.kind === 'apt') !== (dist.kind === 'apt')) {
    throw new RepodError('incompatible_source', `source ${source.name} holds ${source.kind} packages and ${dist.name} is an ${dist.kind} distribution`, { status: 422 });
  }
  if (request.packages.length === 0) throw new RepodError('invalid_request', 'name at least one package', { status: 400 });
  const arches = acceptedArchitectures(dist);
  const accepts = (arch: string) => arches.has(arch);
  const chosen: CatalogPackage[] = [];
  for (const { name, version } of request.packages) chosen.push(...(await choose(services, source.id, name, version, accepts)));
  let closure = { added: [] as CatalogPackage[], unresolved: [] as string[] };
  if (request.withDependencies) {
    const installed = (await services.installedProviders(dist.name)).map((index) => ({ index }));
    closure = dependencyClosure(chosen, await services.catalog.packages(source.id, accepts), installed, accepts);
  }
  const all = [...chosen, ...closure.added];
  const staged: StagedPackage[] = [];
  const expectedSha256 = new Map<string, string>();
  try {
    for (const p of all) {
      const s = await download(services, p);
      staged.push(s);
      expectedSha256.set(s.tempKey, p.sha256);
    }
  } catch (error) {
    await Promise.all(staged.map((s) => discardStaged(services.caps, s)));
    throw error;
  }
  const names = request.packages.map((p) => p.name).join(', ');
  const result = await publishBuild(
    services,
    dist.name,
    { staged, expectedSha256 },
    {
      author: request.author,
      component: all[0]?.component && dist.kind === 'apt' && dist.components.includes(all[0].component) ? all[0].component : undefined,
      message: `import ${names}${closure.added.length ? ` (+${closure.added.length} dependencies)` : ''} from ${source.name}`,
    },
  );
  return {
    ...result,
    source: { id: source.id, name: source.name },
    dependencies: closure.added.map((p) => ({ package: p.name, version: p.version, architecture: p.architecture })),
    unresolved: closure.unresolved,
  };
}

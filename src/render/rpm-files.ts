import type { IndexEntry } from '../bucket/chunk.ts';
import type { RenderedFile, RenderManifest } from '../bucket/render-manifest.ts';
import type { Revision } from '../bucket/revision.ts';
import type { Capabilities } from '../capabilities.ts';
import type { RpmDistribution } from '../config/distributions.ts';
import { APT_STREAMS } from '../ingest/apt-entry.ts';
import { RPM_STREAMS, type RpmVariant, rpmArchesFor, rpmHref, rpmKeyFromFileName } from '../ingest/rpm-entry.ts';
import type { Repository } from '../revisions/repository.ts';
import type { Keyring } from '../signing/keyring.ts';
import type { Renderer } from './render-cache.ts';
import { type ExtraRecords, renderRpmView, rpmViewName } from './rpm-view.ts';
import { type RpmRepoKind, rpmViewSelection } from './rpm-view-selection.ts';

/** What a distribution that has never been published to looks like: a valid, empty repository. */
export function emptyRevision(dist: string, kind: Revision['kind']): Revision {
  return {
    format: 1,
    kind,
    distribution: dist,
    id: 'empty',
    number: 0,
    parent: null,
    created: new Date(0).toISOString(),
    author: 'repod',
    message: 'no packages published yet',
    streams: kind === 'rpm' ? RPM_STREAMS : APT_STREAMS,
    changes: { added: [], removed: [] },
    packageCount: 0,
    chunks: [],
  };
}

/** The arch repositories a distribution serves: its architectures, noarch and src. */
export function rpmViewArches(dist: RpmDistribution): string[] {
  return [...dist.architectures, 'noarch', 'src'];
}

/**
 * Renders more metadata for a view from its XML (the sqlite databases). The runtime sets it on the
 * core when it can build them; the hashed variant lists them, the plain one when the distribution asks.
 */
export type ExtraRecordsFactory = (
  core: { caps: Capabilities; repository: Repository },
  dist: RpmDistribution,
  revision: Revision,
  arch: string,
  variant: RpmVariant,
) => ExtraRecords;

export async function rpmManifest(
  core: { caps: Capabilities; extraRecords?: ExtraRecordsFactory; keyring: Keyring; renderer: Renderer; repository: Repository },
  dist: RpmDistribution,
  revision: Revision,
  arch: string,
  variant: RpmVariant = 'plain',
  repo: RpmRepoKind = 'main',
): Promise<RenderManifest> {
  const wantsExtra = variant === 'hashed' || dist.sqlite === true;
  const extra = wantsExtra && core.extraRecords ? core.extraRecords(core, dist, revision, arch, variant) : undefined;
  const signer = await core.keyring.signer(dist);
  return core.renderer.view(dist.name, revision.id, rpmViewName(arch, variant, repo), signer.keysetId, () =>
    renderRpmView({ caps: core.caps, repository: core.repository, signer, contributions: core.renderer.rpmContributions }, dist, revision, arch, { variant, extra, repo }),
  );
}

/**
 * A repodata file of an arch repository: from the given revision's render, or, for a client that
 * read an older repomd.xml, from the render that first produced that content hash.
 */
export async function findRpmMetadataFile(
  core: { caps: Capabilities; extraRecords?: ExtraRecordsFactory; keyring: Keyring; renderer: Renderer; repository: Repository },
  dist: RpmDistribution,
  manifest: RenderManifest,
  arch: string,
  name: string,
  variant: RpmVariant = 'plain',
  repo: RpmRepoKind = 'main',
): Promise<RenderedFile | null> {
  const path = `repodata/${name}`;
  const direct = manifest.files.find((f) => f.path === path);
  if (direct) return direct;
  const sha = /^([0-9a-f]{64})-/.exec(name)?.[1];
  if (!sha) return null;
  const pointer = await core.renderer.pointer(dist.name, sha);
  // The pointer names the revision whose render first wrote these bytes, in whichever view did:
  // identical files share one pointer (filelists and other of the plain and hashed variants,
  // every arch of a noarch-only repository). The requested view of that revision has them too.
  if (!pointer) return null;
  const older = await core.repository.revision(dist.name, pointer.revision);
  if (!older) return null;
  const olderManifest = await rpmManifest(core, dist, older, arch, variant, repo);
  return olderManifest.files.find((f) => f.path === path) ?? null;
}

/**
 * The index entry of a package shown in an arch repository of a revision, by its href. A
 * compatibility-arch package is served from the base arch repository whenever multilib is on:
 * deciding its method again per download would read its fragments, and it is the same
 * distribution's package either way.
 */
export async function findRpmPackage(
  core: { repository: Repository },
  revision: Revision,
  arch: string,
  href: string,
  variant: RpmVariant = 'plain',
  options: { dist?: RpmDistribution; repo?: RpmRepoKind } = {},
): Promise<IndexEntry | null> {
  const file = href.slice(href.lastIndexOf('/') + 1);
  const key = rpmKeyFromFileName(file);
  if (!key) return null;
  const entry = await core.repository.findEntry(revision, key);
  if (!entry || entry.file !== file || rpmHref(file, variant) !== href) return null;
  if (!options.dist) return rpmArchesFor(arch).has(entry.arch) ? entry : null;
  const selection = rpmViewSelection(options.dist, arch, options.repo ?? 'main');
  return selection.arches.has(entry.arch) && selection.entry(entry) !== false ? entry : null;
}

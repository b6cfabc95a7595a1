import type { RpmDistribution } from '../config/distributions.ts';
import type { Core } from '../core.ts';
import type { IndexEntry } from './chunk.ts';
import type { RenderedFile, RenderManifest } from './render.ts';
import { renderRpmView, rpmViewName } from './render-rpm.ts';
import type { Revision } from './revision.ts';
import { APT_STREAMS } from './apt-entry.ts';
import { RPM_STREAMS, rpmArchesFor, rpmKeyFromFileName } from './rpm-entry.ts';

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

export function rpmManifest(core: Core, dist: RpmDistribution, revision: Revision, arch: string): Promise<RenderManifest> {
  return core.renderer.view(dist.name, revision.id, rpmViewName(arch), () =>
    renderRpmView({ caps: core.caps, repository: core.repository, signer: core.signer }, dist, revision, arch),
  );
}

/**
 * A repodata file of an arch repository: from the given revision's render, or, for a client that
 * read an older repomd.xml, from the render that first produced that content hash.
 */
export async function findRpmMetadataFile(core: Core, dist: RpmDistribution, manifest: RenderManifest, arch: string, name: string): Promise<RenderedFile | null> {
  const path = `repodata/${name}`;
  const direct = manifest.files.find((f) => f.path === path);
  if (direct) return direct;
  const sha = /^([0-9a-f]{64})-/.exec(name)?.[1];
  if (!sha) return null;
  const pointer = await core.renderer.pointer(dist.name, sha);
  if (!pointer || pointer.view !== rpmViewName(arch)) return null;
  const older = await core.repository.revision(dist.name, pointer.revision);
  if (!older) return null;
  const olderManifest = await rpmManifest(core, dist, older, arch);
  return olderManifest.files.find((f) => f.path === path) ?? null;
}

/** The index entry of a package file shown in an arch repository of a revision. */
export async function findRpmPackage(core: Core, revision: Revision, arch: string, file: string): Promise<IndexEntry | null> {
  const key = rpmKeyFromFileName(file);
  if (!key) return null;
  const entry = await core.repository.findEntry(revision, key);
  return entry && entry.file === file && rpmArchesFor(arch).has(entry.arch) ? entry : null;
}

import { layout } from '../bucket/layout.ts';
import type { RenderedFile, RenderManifest } from '../bucket/render-manifest.ts';
import type { Revision } from '../bucket/revision.ts';
import type { Capabilities } from '../capabilities.ts';
import type { AptDistribution } from '../config/distributions.ts';
import type { Repository } from '../revisions/repository.ts';
import type { Keyring } from '../signing/keyring.ts';
import { getJson } from '../storage/objects.ts';
import { APT_VIEW, renderAptView } from './apt-view.ts';
import type { Renderer } from './render-cache.ts';

export async function aptManifest(
  core: { caps: Capabilities; keyring: Keyring; renderer: Renderer; repository: Repository },
  dist: AptDistribution,
  revision: Revision,
): Promise<RenderManifest> {
  const signer = await core.keyring.signer(dist);
  return core.renderer.view(dist.name, revision.id, APT_VIEW, signer.keysetId, () =>
    renderAptView({ caps: core.caps, repository: core.repository, signer, carry: core.renderer.carry }, dist, revision),
  );
}

const BY_HASH = /^(.*\/)by-hash\/SHA256\/([0-9a-f]{64})$/;

/**
 * An index file under dists/<codename>/: by its path in the current render, or by SHA256, where a
 * client that read an older InRelease finds the files of that revision through the by-hash
 * pointers every render leaves.
 */
export async function findAptFile(
  core: { caps: Capabilities; keyring: Keyring; renderer: Renderer; repository: Repository },
  dist: AptDistribution,
  manifest: RenderManifest,
  path: string,
): Promise<RenderedFile | null> {
  const direct = manifest.files.find((f) => f.path === path);
  if (direct) return direct;
  const m = BY_HASH.exec(path);
  if (!m) return null;
  const [, dir, hash] = m;
  // By content: the file of that directory, else any file of the render with the same bytes (one
  // pointer names one render per hash, and equal files, such as empty indexes, share a hash).
  const find = (files: RenderedFile[]) =>
    files.find((f) => f.checksums.sha256 === hash && f.path.startsWith(dir) && !f.path.slice(dir.length).includes('/')) ?? files.find((f) => f.checksums.sha256 === hash);
  const current = find(manifest.files);
  if (current) return current;
  const pointer = await core.renderer.pointer(dist.name, hash);
  if (!pointer || pointer.view !== APT_VIEW) return null;
  const older = await core.repository.revision(dist.name, pointer.revision);
  if (!older) return null;
  return find((await aptManifest(core, dist, older)).files) ?? null;
}

/** The sha256 of the file an APT pool path serves, or null. */
export async function aptPoolFile(core: { caps: Capabilities }, path: string): Promise<string | null> {
  return (await getJson<{ sha256: string }>(core.caps.store, layout.aptPoolPath(path)))?.value.sha256 ?? null;
}

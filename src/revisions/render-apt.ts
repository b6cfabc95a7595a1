import type { AptDistribution } from '../config/distributions.ts';
import { renderRelease } from '../metadata/apt/release.ts';
import type { Capabilities, Hasher } from '../runtime/capabilities.ts';
import type { Signer } from '../signing/signer.ts';
import { toBase64, utf8 } from '../util/bytes.ts';
import type { ViewSelector } from './chunk.ts';
import type { RenderedFile, RenderManifest, Segment } from './render.ts';
import type { Repository } from './repository.ts';
import type { Revision } from './revision.ts';

export const APT_VIEW = 'apt';

interface Target {
  path: string;
  type: string;
  stream: string;
  select: ViewSelector;
  /** Appended to every compressed file: an empty gzip member, so even an empty index is valid gzip. */
  trailer?: Uint8Array;
  /** Listed in Release (and so hashed and served by-hash). */
  sha256: Hasher | null;
  size: number;
  openSize: number;
  segments: Segment[];
}

/**
 * Renders an APT distribution's indexes for one revision: for every component and architecture
 * Packages, Packages.gz and Contents-<arch>.gz (arch "all" packages in every binary-<arch>), then
 * Release listing them with SHA256, InRelease (clear-signed) and Release.gpg. Hashing every index
 * is the one part of a publish that grows with the distribution, so each is hashed once, with the
 * one algorithm apt uses.
 */
export async function renderAptView(
  deps: { caps: Capabilities; repository: Repository; signer: Signer },
  dist: AptDistribution,
  revision: Revision,
): Promise<RenderManifest> {
  const { caps, repository, signer } = deps;
  const emptyGzip = caps.gzip(new Uint8Array(0));
  const targets: Target[] = [];
  for (const component of dist.components) {
    for (const arch of dist.architectures) {
      const inView: ViewSelector = (e) => e.component === component && (e.arch === arch || e.arch === 'all');
      const base = { select: inView, size: 0, openSize: 0, segments: [] as Segment[] };
      const make = (path: string, type: string, stream: string, listed: boolean, trailer?: Uint8Array): Target => ({ ...base, segments: [], path, type, stream, trailer, sha256: listed ? caps.hash('sha256') : null });
      // apt finds an index only when Release lists its uncompressed name, even if it fetches the .gz.
      targets.push(make(`${component}/binary-${arch}/Packages`, 'packages', 'packages', true));
      targets.push(make(`${component}/binary-${arch}/Packages.gz`, 'packages.gz', 'packages.gz', true, emptyGzip));
      targets.push(make(`${component}/Contents-${arch}.gz`, 'contents.gz', 'contents.gz', true, emptyGzip));
    }
  }

  let next = revision.chunks.length > 0 ? repository.chunkBytes(revision.chunks[0].id) : null;
  for (let c = 0; c < revision.chunks.length; c++) {
    const bytes = await next!;
    next = c + 1 < revision.chunks.length ? repository.chunkBytes(revision.chunks[c + 1].id) : null;
    const index = await repository.chunkIndex(revision.chunks[c].id);
    for (const t of targets) {
      const s = index.streamIndex(t.stream);
      for (const [start, end] of index.ranges(s, t.select)) {
        t.sha256?.update(bytes.subarray(start, end));
        t.size += end - start;
        t.segments.push({ chunk: revision.chunks[c].id, start, end });
      }
      t.openSize += index.rawSize(s, t.select);
    }
  }

  const files: RenderedFile[] = [];
  for (const t of targets) {
    if (t.trailer) {
      t.sha256?.update(t.trailer);
      t.size += t.trailer.length;
      t.segments.push({ data: toBase64(t.trailer) });
    }
    files.push({ path: t.path, type: t.type, size: t.size, openSize: t.openSize, checksums: t.sha256 ? { sha256: await t.sha256.digest() } : {}, segments: t.segments });
  }
  const release = renderRelease({
    origin: dist.origin ?? 'repod',
    label: dist.label ?? 'repod',
    suite: dist.suite ?? dist.name,
    codename: dist.name,
    date: new Date(revision.created),
    architectures: dist.architectures,
    components: dist.components,
    description: dist.description ?? `repod ${dist.name} revision ${revision.number}`,
    files: files.filter((f) => f.checksums.sha256).map((f) => ({ path: f.path, size: f.size, sha256: f.checksums.sha256! })),
  });
  const now = caps.now();
  return {
    format: 1,
    distribution: dist.name,
    revision: revision.id,
    view: APT_VIEW,
    created: revision.created,
    documents: {
      Release: release,
      InRelease: await signer.clearSign(release, now),
      'Release.gpg': await signer.detachSign(utf8(release), now),
    },
    files,
  };
}

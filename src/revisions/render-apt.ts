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
  md5: Hasher;
  sha256: Hasher;
  size: number;
  openSize: number;
  segments: Segment[];
}

/**
 * Renders an APT distribution's indexes for one revision: for every component and architecture
 * Packages, Packages.gz and Contents-<arch>.gz (arch "all" packages in every binary-<arch>), then
 * Release listing them with MD5Sum and SHA256, InRelease (clear-signed) and Release.gpg. Like
 * the RPM render it only reads and hashes the chunks once; nothing is recompressed.
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
      const make = (path: string, type: string, stream: string, trailer?: Uint8Array): Target => ({ ...base, segments: [], path, type, stream, trailer, md5: caps.hash('md5'), sha256: caps.hash('sha256') });
      targets.push(make(`${component}/binary-${arch}/Packages`, 'packages', 'packages'));
      targets.push(make(`${component}/binary-${arch}/Packages.gz`, 'packages.gz', 'packages.gz', emptyGzip));
      targets.push(make(`${component}/Contents-${arch}.gz`, 'contents.gz', 'contents.gz', emptyGzip));
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
        const piece = bytes.subarray(start, end);
        t.md5.update(piece);
        t.sha256.update(piece);
        t.size += end - start;
        t.segments.push({ chunk: revision.chunks[c].id, start, end });
      }
      t.openSize += index.rawSize(s, t.select);
    }
  }

  const files: RenderedFile[] = [];
  for (const t of targets) {
    if (t.trailer) {
      t.md5.update(t.trailer);
      t.sha256.update(t.trailer);
      t.size += t.trailer.length;
      t.segments.push({ data: toBase64(t.trailer) });
    }
    files.push({ path: t.path, type: t.type, size: t.size, openSize: t.openSize, checksums: { md5: await t.md5.digest(), sha256: await t.sha256.digest() }, segments: t.segments });
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
    files: files.map((f) => ({ path: f.path, size: f.size, md5: f.checksums.md5!, sha256: f.checksums.sha256! })),
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

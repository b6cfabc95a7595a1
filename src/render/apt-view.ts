import type { ViewSelector } from '../bucket/chunk.ts';
import { joinKey } from '../bucket/keys.ts';
import type { RenderedFile, RenderManifest } from '../bucket/render-manifest.ts';
import type { ChunkRef, Revision } from '../bucket/revision.ts';
import type { Capabilities } from '../capabilities.ts';
import type { AptDistribution } from '../config/distributions.ts';
import { xzStreamHeader, xzStreamTrailer } from '../formats/xz/container.ts';
import { INSTALLER_SUFFIX } from '../ingest/apt-component.ts';
import { SOURCE_ARCH } from '../ingest/source-entry.ts';
import { renderRelease } from '../metadata/apt/release.ts';
import type { Repository } from '../revisions/repository.ts';
import type { Signer } from '../signing/signer.ts';
import { utf8 } from '../util/bytes.ts';
import { type HashCarry, IndexFileBuilder } from './index-file.ts';

export const APT_VIEW = 'apt';

interface Target {
  builder: IndexFileBuilder;
  stream: string;
  /** 'xz': the stream's blocks from the chunks' xz parts, not the stream itself. */
  xz: boolean;
  select: ViewSelector;
  /** Appended after the last chunk: an empty gzip member, so even an empty index is valid gzip; the xz index. */
  trailer: () => Uint8Array | undefined;
  /** Chunks already accounted for by a resumed builder. */
  skip: number;
}

/**
 * Chunks in the order the index files list them: oldest first (by the revision that wrote them),
 * then by key. A publish rewrites few chunks and they move to the end, so the next render resumes
 * hashing after all the others (see index-file.ts) and costs what changed, not what exists.
 */
export function fileOrder(chunks: readonly ChunkRef[]): ChunkRef[] {
  return [...chunks].sort((a, b) => (a.since ?? 0) - (b.since ?? 0));
}

/**
 * Renders an APT distribution's indexes for one revision: for every component and architecture
 * Packages, Packages.gz, Packages.xz and Contents-<arch>.gz (arch "all" packages in every binary-<arch>),
 * the udebs' debian-installer/binary-<arch>/Packages{,.gz,.xz} as the Debian archive lays them out
 * (for a component that holds udebs: see mayHoldUdebs), then
 * Release listing them with SHA256, InRelease (clear-signed) and Release.gpg. Hashing the indexes
 * is the one part that reads the whole distribution, so each is hashed once, with the one
 * algorithm apt uses, resuming where the previous render of the same file left off.
 */
export async function renderAptView(
  deps: { caps: Capabilities; repository: Repository; signer: Signer; carry?: HashCarry },
  dist: AptDistribution,
  revision: Revision,
): Promise<RenderManifest> {
  const { caps, repository, signer, carry } = deps;
  const emptyGzip = caps.gzip(new Uint8Array(0));
  const order = fileOrder(revision.chunks);
  const ids = order.map((c) => c.id);
  const targets: Target[] = [];
  const sources = mayHoldSources(revision.chunks);
  for (const component of dist.components) {
    if (sources) {
      // Source packages (entries of arch `source`, see ingest/source-entry.ts): <component>/source/Sources, as apt-ftparchive lays them out.
      const select: ViewSelector = (e) => e.component === component && e.arch === SOURCE_ARCH;
      const make = (path: string, type: string, stream: string, options: { xz?: boolean; trailer?: (b: IndexFileBuilder) => Uint8Array } = {}): Target => {
        const builder = new IndexFileBuilder(path, type, caps.hash('sha256'), options.xz ? xzStreamHeader() : undefined);
        const trailer = options.trailer;
        return { builder, stream, xz: options.xz ?? false, select, trailer: () => trailer?.(builder), skip: builder.resume(carry?.get(carryKey(dist.name, path)), ids) };
      };
      targets.push(make(`${component}/source/Sources`, 'sources', 'packages'));
      targets.push(make(`${component}/source/Sources.gz`, 'sources.gz', 'packages.gz', { trailer: () => emptyGzip }));
      targets.push(make(`${component}/source/Sources.xz`, 'sources.xz', 'packages', { xz: true, trailer: (b) => xzStreamTrailer(b.blockSizes()) }));
    }
    for (const arch of dist.architectures) {
      const selectIn =
        (entryComponent: string): ViewSelector =>
        (e) =>
          e.component === entryComponent && (e.arch === arch || e.arch === 'all');
      const make = (path: string, type: string, stream: string, options: { xz?: boolean; trailer?: (b: IndexFileBuilder) => Uint8Array; select?: ViewSelector } = {}): Target => {
        const select = options.select ?? selectIn(component);
        const builder = new IndexFileBuilder(path, type, caps.hash('sha256'), options.xz ? xzStreamHeader() : undefined);
        const trailer = options.trailer;
        return { builder, stream, xz: options.xz ?? false, select, trailer: () => trailer?.(builder), skip: builder.resume(carry?.get(carryKey(dist.name, path)), ids) };
      };
      // apt finds an index only when Release lists its uncompressed name, even if it fetches a compressed one.
      targets.push(make(`${component}/binary-${arch}/Packages`, 'packages', 'packages'));
      targets.push(make(`${component}/binary-${arch}/Packages.gz`, 'packages.gz', 'packages.gz', { trailer: () => emptyGzip }));
      targets.push(make(`${component}/binary-${arch}/Packages.xz`, 'packages.xz', 'packages', { xz: true, trailer: (b) => xzStreamTrailer(b.blockSizes()) }));
      targets.push(make(`${component}/Contents-${arch}.gz`, 'contents.gz', 'contents.gz', { trailer: () => emptyGzip }));
      // udebs (entries of component `<component>/debian-installer`, see ingest/apt-component.ts).
      const installer = `${component}${INSTALLER_SUFFIX}`;
      if (!mayHoldUdebs(revision.chunks, installer)) continue;
      const udebs = selectIn(installer);
      targets.push(make(`${installer}/binary-${arch}/Packages`, 'packages', 'packages', { select: udebs }));
      targets.push(make(`${installer}/binary-${arch}/Packages.gz`, 'packages.gz', 'packages.gz', { select: udebs, trailer: () => emptyGzip }));
      targets.push(make(`${installer}/binary-${arch}/Packages.xz`, 'packages.xz', 'packages', { select: udebs, xz: true, trailer: (b) => xzStreamTrailer(b.blockSizes()) }));
    }
  }

  const first = Math.min(order.length, ...targets.map((t) => t.skip));
  const load = (c: number) => (c < order.length ? repository.chunkBytes(order[c].id) : null);
  let next = load(first);
  for (let c = first; c < order.length; c++) {
    const bytes = await next!;
    next = load(c + 1);
    const id = order[c].id;
    const index = repository.chunkIndexOf(id, bytes);
    const xz = targets.some((t) => t.xz && c >= t.skip) ? await repository.xzPart(id, 'packages', bytes) : null;
    for (const t of targets) {
      if (c < t.skip) continue;
      const s = index.streamIndex(t.stream);
      if (t.xz) {
        const blocks = xz!.part.select(t.select);
        const pieces = blocks.map((b) => ({ segment: { chunk: id, part: 'xz' as const, start: b.start, end: b.end }, bytes: xz!.bytes.subarray(b.start, b.end) }));
        t.builder.addChunk(id, pieces, index.rawSize(s, t.select), blocks);
        continue;
      }
      const pieces = index.ranges(s, t.select).map(([start, end]) => ({ segment: { chunk: id, start, end }, bytes: bytes.subarray(start, end) }));
      t.builder.addChunk(id, pieces, index.rawSize(s, t.select));
    }
  }

  const files: RenderedFile[] = [];
  for (const t of targets) {
    const { file, progress } = await t.builder.finish(t.trailer());
    if (progress) carry?.set(carryKey(dist.name, file.path), progress);
    files.push(file);
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
    files: files.map((f) => ({ path: f.path, size: f.size, sha256: f.checksums.sha256! })),
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

/**
 * Whether a revision may hold entries of an installer component, from the chunks' key ranges alone
 * (no chunk read). A distribution without udebs gets no debian-installer indexes: its renders cost
 * and list what they did before udebs existed, and no empty installer index shares its hash with an
 * empty binary-<arch> index (by-hash pointers name one render per hash). A chunk whose range only
 * spans the prefix may give a false positive: an empty index, listed and valid.
 */
export function mayHoldUdebs(chunks: readonly ChunkRef[], installerComponent: string): boolean {
  const low = joinKey(installerComponent, '');
  const high = `${low}\uffff`;
  return chunks.some((c) => c.count > 0 && c.last >= low && c.first < high);
}

/**
 * Whether a revision holds source packages, from the chunks' per-architecture counts (no chunk
 * read): a distribution without sources lists no Sources index, so its renders and Release stay
 * what they were before source packages existed.
 */
export function mayHoldSources(chunks: readonly ChunkRef[]): boolean {
  return chunks.some((c) => (c.arches[SOURCE_ARCH] ?? 0) > 0);
}

const carryKey = (dist: string, path: string) => joinKey(dist, APT_VIEW, path);

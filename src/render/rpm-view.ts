import type { ChunkIndex } from '../bucket/chunk.ts';
import type { RenderedFile, RenderManifest, Segment } from '../bucket/render-manifest.ts';
import type { Revision } from '../bucket/revision.ts';
import type { Capabilities } from '../capabilities.ts';
import type { RpmDistribution } from '../config/distributions.ts';
import type { RpmVariant } from '../ingest/rpm-entry.ts';
import { filelistsFooter, filelistsHeader } from '../metadata/rpm/filelists.ts';
import { otherFooter, otherHeader } from '../metadata/rpm/other.ts';
import { primaryFooter, primaryHeader } from '../metadata/rpm/primary.ts';
import { type RepomdRecord, renderRepomd } from '../metadata/rpm/repomd.ts';
import type { Repository } from '../revisions/repository.ts';
import type { Signer } from '../signing/signer.ts';
import { concatBytes, toBase64, utf8 } from '../util/bytes.ts';
import type { LruCache } from '../util/lru-cache.ts';
import { ReadAhead } from '../util/read-ahead.ts';
import { composeFiles, needsPresentKeys } from './compose-files.ts';
import { chunkDecisions, type RpmRepoKind, type RpmViewSelection, rpmViewSelection } from './rpm-view-selection.ts';
import { renderZchunkFiles } from './rpm-zchunk.ts';

/** Chunk ranges read ahead of the hashing (each a few tens of KB). */
const READ_AHEAD = 16;

const FILES = [
  { type: 'primary', header: primaryHeader, footer: primaryFooter },
  { type: 'filelists', header: filelistsHeader, footer: filelistsFooter },
  { type: 'other', header: otherHeader, footer: otherFooter },
] as const;

export function rpmViewName(arch: string, variant: RpmVariant = 'plain', repo: RpmRepoKind = 'main'): string {
  const base = variant === 'plain' ? `rpm/${arch}` : `rpm-hashed/${arch}`;
  return repo === 'main' ? base : `${base}/debug`;
}

/**
 * What a view takes from gzip stream s of a chunk when it picks single entries: whole members
 * where it takes every entry of a group, a new member of the picked entries' fragments where it
 * takes some (only those groups are decompressed and compressed again).
 */
function pickedParts(
  index: ChunkIndex,
  s: number,
  bytes: Uint8Array,
  decided: boolean[],
  select: (t: { arch: string }) => boolean,
  gzip: (data: Uint8Array) => Uint8Array,
  gunzip: (data: Uint8Array) => Uint8Array,
): Array<{ range: [number, number] } | { member: Uint8Array }> {
  const out: Array<{ range: [number, number] } | { member: Uint8Array }> = [];
  let items: ReturnType<ChunkIndex['withSegments']> | undefined;
  for (const g of index.groups) {
    if (g.stream !== s || !select(g)) continue;
    const members = index.entries.map((e, i) => ({ e, i })).filter(({ e }) => e.arch === g.arch && e.component === g.component);
    const taken = members.filter(({ i }) => decided[i]);
    if (taken.length === 0) continue;
    if (taken.length === members.length) {
      for (const range of index.ranges(s, (t) => t.arch === g.arch && t.component === g.component)) {
        const last = out[out.length - 1];
        if (last && 'range' in last && last.range[1] === range[0]) last.range[1] = range[1];
        else out.push({ range });
      }
      continue;
    }
    items ??= index.withSegments(bytes, gunzip);
    out.push({ member: gzip(concatBytes(taken.map(({ i }) => items![i].segments[s]))) });
  }
  return out;
}

/** The XML files of a view, handed to whatever renders more metadata from them (sqlite). */
export interface XmlFiles {
  primary: RenderedFile;
  filelists: RenderedFile;
  other: RenderedFile;
}

/** Extra repomd records (sqlite databases) rendered after the XML, stored as whole objects. */
export type ExtraRecords = (xml: XmlFiles) => Promise<Array<{ file: RenderedFile; record: Omit<RepomdRecord, 'timestamp'> }>>;

/** What one chunk gives a view: the entries it takes, and its pieces of primary, filelists and other. */
export interface ChunkContribution {
  /** Per entry, where single entries are picked (see chunkDecisions); null where whole arch groups are. */
  decided: boolean[] | null;
  count: number;
  files: Array<{ parts: Array<{ range: [number, number] } | { member: Uint8Array }>; openSize: number }>;
}

/**
 * What a view takes from each chunk, by chunk id and view. A chunk never changes, so what a render
 * worked out for it holds for every later render of the same view: a publish changes a few chunks,
 * and the next render decides only those (the rest of its work is hashing the bytes).
 */
export type ChunkContributions = LruCache<string, ChunkContribution>;

async function chunkContribution(
  caps: Capabilities,
  index: ChunkIndex,
  bytes: () => Promise<Uint8Array>,
  selection: RpmViewSelection,
  variant: RpmVariant,
): Promise<ChunkContribution> {
  const select = (t: { arch: string }) => selection.arches.has(t.arch);
  const decided = await chunkDecisions(selection, index, bytes, caps.gunzip);
  const count = decided ? decided.filter(Boolean).length : index.entries.filter(select).length;
  const files: ChunkContribution['files'] = [];
  for (const f of FILES) {
    const s = index.streamIndex(variant === 'hashed' && f.type === 'primary' ? 'primary_hashed' : f.type);
    files.push({
      parts: decided ? pickedParts(index, s, await bytes(), decided, select, caps.gzip, caps.gunzip) : index.ranges(s, select).map((range) => ({ range })),
      openSize: decided ? index.entries.reduce((n, e, i) => n + (decided[i] ? e.rawLengths[s] : 0), 0) : index.rawSize(s, select),
    });
  }
  return { decided, count, files };
}

/**
 * Renders the repodata of one arch repository of a revision: primary, filelists and other as
 * multi-member gzip files made of a header member, the chunks' per-package members and a footer
 * member, and repomd.xml naming each by its sha256. Nothing is recompressed; the work is reading
 * and hashing the chunks once.
 */
export async function renderRpmView(
  deps: { caps: Capabilities; repository: Repository; signer: Signer; contributions?: ChunkContributions },
  dist: RpmDistribution,
  revision: Revision,
  arch: string,
  options: { variant?: RpmVariant; extra?: ExtraRecords; repo?: RpmRepoKind; zchunk?: boolean } = {},
): Promise<RenderManifest> {
  const { caps, repository, signer } = deps;
  const variant = options.variant ?? 'plain';
  const repo = options.repo ?? 'main';
  const selection = rpmViewSelection(dist, arch, repo);
  const select = (t: { arch: string }) => selection.arches.has(t.arch);
  // What the view takes of each chunk; worked out first, as primary's header counts the packages.
  // The settings a selection depends on are part of the key: a changed multilib method decides anew.
  const viewKey = JSON.stringify([arch, variant, repo, dist.debuginfo ?? null, dist.multilib ?? null]);
  const contributions: ChunkContribution[] = [];
  let count = 0;
  for (const chunk of revision.chunks) {
    const key = `${chunk.id}${viewKey}`;
    let contribution = deps.contributions?.get(key);
    if (!contribution) {
      const index = await repository.chunkIndex(chunk.id);
      contribution = await chunkContribution(caps, index, () => repository.chunkBytes(chunk.id), selection, variant);
      deps.contributions?.set(key, contribution);
    }
    contributions.push(contribution);
    count += contribution.count;
  }
  const decisions = contributions.map((c) => c.decided);

  const acc = FILES.map((f) => {
    const head = utf8(f.header(count));
    const headGz = caps.gzip(head);
    const hasher = caps.hash('sha256');
    hasher.update(headGz);
    return { f, hasher, size: headGz.length, openSize: head.length, segments: [{ data: toBase64(headGz) }] as Segment[] };
  });

  // The packages the view shows, by key, when its advisories must be cut to them.
  const present = new Set<string>();
  if (repo === 'main' && needsPresentKeys(revision)) {
    for (const [c, chunk] of revision.chunks.entries()) {
      const decided = decisions[c];
      (await repository.chunkIndex(chunk.id)).entries.forEach((e, i) => {
        if (decided ? decided[i] : select(e)) present.add(e.key);
      });
    }
  }
  // Each chunk's bytes from the first to the last range the view takes (not the index header, nor
  // streams it does not hash), read a few chunks ahead of the hashing: where the chunks are not in
  // memory, the reads wait on the store side by side.
  const span = (c: number) => {
    let start = Infinity;
    let end = 0;
    for (const file of contributions[c].files)
      for (const part of file.parts)
        if ('range' in part) {
          start = Math.min(start, part.range[0]);
          end = Math.max(end, part.range[1]);
        }
    return end > start ? repository.chunkRange(revision.chunks[c].id, start, end).then((bytes) => ({ bytes, start })) : Promise.resolve(null);
  };
  const ahead = new ReadAhead(revision.chunks.length, READ_AHEAD, span);
  for (let c = 0; c < revision.chunks.length; c++) {
    const read = await ahead.take(c);
    for (let k = 0; k < FILES.length; k++) {
      const { parts, openSize } = contributions[c].files[k];
      for (const part of parts) {
        if ('range' in part) {
          const [start, end] = part.range;
          acc[k].hasher.update(read!.bytes.subarray(start - read!.start, end - read!.start));
          acc[k].size += end - start;
          acc[k].segments.push({ chunk: revision.chunks[c].id, start, end });
        } else {
          acc[k].hasher.update(part.member);
          acc[k].size += part.member.length;
          acc[k].segments.push({ data: toBase64(part.member) });
        }
      }
      acc[k].openSize += openSize;
    }
  }

  const timestamp = Math.floor(Date.parse(revision.created) / 1000);
  const files: RenderedFile[] = [];
  const records: RepomdRecord[] = [];
  for (const a of acc) {
    const foot = utf8(a.f.footer());
    const footGz = caps.gzip(foot);
    a.hasher.update(footGz);
    a.segments.push({ data: toBase64(footGz) });
    const sha256 = await a.hasher.digest();
    const path = `repodata/${sha256}-${a.f.type}.xml.gz`;
    files.push({ path, type: a.f.type, size: a.size + footGz.length, openSize: a.openSize + foot.length, checksums: { sha256 }, segments: a.segments });
    records.push({ type: a.f.type, href: path, checksum: sha256, size: a.size + footGz.length, openSize: a.openSize + foot.length, timestamp });
  }
  if (options.extra) {
    const [primary, filelists, other] = files;
    for (const { file, record } of await options.extra({ primary, filelists, other })) {
      files.push(file);
      records.push({ ...record, timestamp });
    }
  }
  // zchunk copies of the XML where the distribution asks for them and the runtime has zstd.
  if (options.zchunk ?? dist.zchunk === true) {
    const zck = await renderZchunkFiles(
      { caps, repository },
      { revision, variant, select, decisions, files: FILES.map((f) => ({ type: f.type, header: f.header(count), footer: f.footer() })) },
    );
    for (const { file, record } of zck ?? []) {
      files.push(file);
      records.push({ ...record, timestamp });
    }
  }
  // Groups, modules and advisories describe the main repository; a debug repository has none.
  for (const { file, record } of repo === 'main' ? await composeFiles(caps, revision, present) : []) {
    files.push(file);
    records.push({ ...record, timestamp });
  }
  const repomd = renderRepomd({ revision: String(timestamp), records });
  // Signed now, not at the revision's time: a key imported after the revision was made must still verify.
  const date = caps.now();
  return {
    format: 1,
    distribution: dist.name,
    revision: revision.id,
    view: rpmViewName(arch, variant, repo),
    created: revision.created,
    documents: {
      'repodata/repomd.xml': repomd,
      'repodata/repomd.xml.asc': await signer.detachSign(utf8(repomd), date),
      'repodata/repomd.xml.key': signer.publicKeyArmored,
    },
    files,
  };
}

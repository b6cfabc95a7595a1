import type { RenderedFile, RenderManifest, Segment } from '../bucket/render-manifest.ts';
import type { Revision } from '../bucket/revision.ts';
import type { Capabilities } from '../capabilities.ts';
import type { RpmDistribution } from '../config/distributions.ts';
import { type RpmVariant, rpmArchesFor } from '../ingest/rpm-entry.ts';
import { filelistsFooter, filelistsHeader } from '../metadata/rpm/filelists.ts';
import { otherFooter, otherHeader } from '../metadata/rpm/other.ts';
import { primaryFooter, primaryHeader } from '../metadata/rpm/primary.ts';
import { type RepomdRecord, renderRepomd } from '../metadata/rpm/repomd.ts';
import type { Repository } from '../revisions/repository.ts';
import type { Signer } from '../signing/signer.ts';
import { toBase64, utf8 } from '../util/bytes.ts';
import { composeFiles, needsPresentKeys } from './compose-files.ts';

const FILES = [
  { type: 'primary', header: primaryHeader, footer: primaryFooter },
  { type: 'filelists', header: filelistsHeader, footer: filelistsFooter },
  { type: 'other', header: otherHeader, footer: otherFooter },
] as const;

export function rpmViewName(arch: string, variant: RpmVariant = 'plain'): string {
  return variant === 'plain' ? `rpm/${arch}` : `rpm-hashed/${arch}`;
}

/** The XML files of a view, handed to whatever renders more metadata from them (sqlite). */
export interface XmlFiles {
  primary: RenderedFile;
  filelists: RenderedFile;
  other: RenderedFile;
}

/** Extra repomd records (sqlite databases) rendered after the XML, stored as whole objects. */
export type ExtraRecords = (xml: XmlFiles) => Promise<Array<{ file: RenderedFile; record: Omit<RepomdRecord, 'timestamp'> }>>;

/**
 * Renders the repodata of one arch repository of a revision: primary, filelists and other as
 * multi-member gzip files made of a header member, the chunks' per-package members and a footer
 * member, and repomd.xml naming each by its sha256. Nothing is recompressed; the work is reading
 * and hashing the chunks once.
 */
export async function renderRpmView(
  deps: { caps: Capabilities; repository: Repository; signer: Signer },
  dist: RpmDistribution,
  revision: Revision,
  arch: string,
  options: { variant?: RpmVariant; extra?: ExtraRecords } = {},
): Promise<RenderManifest> {
  const { caps, repository, signer } = deps;
  const variant = options.variant ?? 'plain';
  const arches = rpmArchesFor(arch);
  const count = revision.chunks.reduce((n, c) => n + Object.entries(c.arches).reduce((m, [a, k]) => m + (arches.has(a) ? k : 0), 0), 0);

  const acc = FILES.map((f) => {
    const head = utf8(f.header(count));
    const headGz = caps.gzip(head);
    const hasher = caps.hash('sha256');
    hasher.update(headGz);
    return { f, hasher, size: headGz.length, openSize: head.length, segments: [{ data: toBase64(headGz) }] as Segment[] };
  });

  // The packages the view shows, by key, when its advisories must be cut to them.
  const present = new Set<string>();
  const collectKeys = needsPresentKeys(revision);
  // Fetch one chunk ahead while hashing the current one.
  let next = revision.chunks.length > 0 ? repository.chunkBytes(revision.chunks[0].id) : null;
  for (let c = 0; c < revision.chunks.length; c++) {
    const bytes = await next!;
    next = c + 1 < revision.chunks.length ? repository.chunkBytes(revision.chunks[c + 1].id) : null;
    const index = await repository.chunkIndex(revision.chunks[c].id);
    const select = (t: { arch: string }) => arches.has(t.arch);
    if (collectKeys) for (const e of index.entries) if (select(e)) present.add(e.key);
    for (let k = 0; k < FILES.length; k++) {
      const s = index.streamIndex(variant === 'hashed' && FILES[k].type === 'primary' ? 'primary_hashed' : FILES[k].type);
      for (const [start, end] of index.ranges(s, select)) {
        acc[k].hasher.update(bytes.subarray(start, end));
        acc[k].size += end - start;
        acc[k].segments.push({ chunk: revision.chunks[c].id, start, end });
      }
      acc[k].openSize += index.rawSize(s, select);
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
  for (const { file, record } of await composeFiles(caps, revision, present)) {
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
    view: rpmViewName(arch, variant),
    created: revision.created,
    documents: {
      'repodata/repomd.xml': repomd,
      'repodata/repomd.xml.asc': await signer.detachSign(utf8(repomd), date),
      'repodata/repomd.xml.key': signer.publicKeyArmored,
    },
    files,
  };
}

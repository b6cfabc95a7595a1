import { layout } from '../bucket/layout.ts';
import type { RenderedFile } from '../bucket/render-manifest.ts';
import type { Revision } from '../bucket/revision.ts';
import type { Capabilities } from '../capabilities.ts';
import { PreconditionFailedError } from '../errors.ts';
import { rpmKey } from '../ingest/rpm-entry.ts';
import type { RepomdRecord } from '../metadata/rpm/repomd.ts';
import { type AdvisoryPackage, filterAdvisory, renderUpdateinfo } from '../metadata/rpm/updateinfo.ts';
import { readComposeDocument, revisionAdvisories } from '../revisions/compose-documents.ts';
import { utf8 } from '../util/bytes.ts';

export type ComposeRecord = { file: RenderedFile; record: Omit<RepomdRecord, 'timestamp'> };

async function sha256(caps: Capabilities, bytes: Uint8Array): Promise<string> {
  const h = caps.hash('sha256');
  h.update(bytes);
  return h.digest();
}

/**
 * A gzip-compressed metadata file stored whole (layout.metadataObject, as the sqlite databases are),
 * named and listed the way modifyrepo_c names and lists it: `<sha256>-<name>.gz`, with the
 * checksum and size of the uncompressed content as open-checksum and open-size.
 */
async function gzipped(caps: Capabilities, type: string, name: string, raw: Uint8Array, openChecksum?: string): Promise<ComposeRecord> {
  const gz = caps.gzip(raw);
  const checksum = await sha256(caps, gz);
  const key = layout.metadataObject(checksum);
  await caps.store.put(key, gz, { ifNoneMatch: '*', contentType: 'application/gzip' }).catch((error) => {
    if (!(error instanceof PreconditionFailedError)) throw error;
  });
  const href = `repodata/${checksum}-${name}.gz`;
  const open = openChecksum ?? (await sha256(caps, raw));
  return {
    file: { path: href, type, size: gz.length, openSize: raw.length, checksums: { sha256: checksum }, segments: [{ object: key }] },
    record: { type, href, checksum, size: gz.length, openChecksum: open, openSize: raw.length },
  };
}

/**
 * The repodata files of a revision's compose documents for one view, as `createrepo_c -g` and
 * `modifyrepo_c` list them: `group` (comps.xml as uploaded, uncompressed: yum reads that one) and
 * `group_gz` (libdnf prefers it), `modules` (modules.yaml.gz) and `updateinfo`
 * (updateinfo.xml.gz, its advisories cut to the packages the view shows: `present` holds their
 * entry keys). Nothing when the revision has no documents.
 */
export async function composeFiles(caps: Capabilities, revision: Revision, present: ReadonlySet<string>): Promise<ComposeRecord[]> {
  const documents = revision.documents;
  if (!documents) return [];
  const out: ComposeRecord[] = [];
  if (documents.comps) {
    const ref = documents.comps;
    const raw = await readComposeDocument(caps, ref);
    const href = `repodata/${ref.id}-comps.xml`;
    out.push({
      file: { path: href, type: 'group', size: raw.length, checksums: { sha256: ref.id }, segments: [{ object: layout.composeDocument(ref.id) }] },
      record: { type: 'group', href, checksum: ref.id, size: raw.length },
    });
    out.push(await gzipped(caps, 'group_gz', 'comps.xml', raw, ref.id));
  }
  if (documents.modules) {
    const ref = documents.modules;
    out.push(await gzipped(caps, 'modules', 'modules.yaml', await readComposeDocument(caps, ref), ref.id));
  }
  if (documents.updateinfo) {
    const inView = (p: AdvisoryPackage) => present.has(rpmKey(p));
    const advisories = (await revisionAdvisories(caps, revision)).flatMap((a) => filterAdvisory(a, inView) ?? []);
    out.push(await gzipped(caps, 'updateinfo', 'updateinfo.xml', utf8(renderUpdateinfo(advisories))));
  }
  return out;
}

/** Whether a view render must collect the keys of the packages it shows (for updateinfo). */
export function needsPresentKeys(revision: Revision): boolean {
  return revision.documents?.updateinfo !== undefined;
}

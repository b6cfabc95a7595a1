import type { SqlJsStatic } from 'sql.js';
import { layout } from '../bucket/layout.ts';
import type { RpmPackageRecord } from '../bucket/package-record.ts';
import type { RenderedFile } from '../bucket/render-manifest.ts';
import type { Capabilities } from '../capabilities.ts';
import { PreconditionFailedError } from '../errors.ts';
import { rpmArchesFor, rpmHref } from '../ingest/rpm-entry.ts';
import type { RepomdRecord } from '../metadata/rpm/repomd.ts';
import { SqliteBuilder } from '../metadata/rpm/sqlite.ts';
import { getJson } from '../storage/objects.ts';
import type { ExtraRecordsFactory } from './rpm-files.ts';
import type { ExtraRecords } from './rpm-view.ts';

const RECORD_READS = 16;

/**
 * The sqlite databases of an RPM view (primary_db, filelists_db, other_db), built on the first
 * request for the view (never while publishing), from the package records of the packages it
 * shows, gzip-compressed and stored once by content. `loadSql` gives the runtime's sql.js.
 *
 * sql.js builds the databases in memory, about as large as the uncompressed XML: a view whose
 * primary, filelists and other exceed `maxMetadataBytes` together is served without them (dnf
 * and zypper read the XML; only yum-era tools need sqlite), so a Worker's 128 MB isolate never
 * runs out in the middle of a render.
 */
export function sqliteRecords(loadSql: () => Promise<SqlJsStatic>, options: { maxMetadataBytes?: number } = {}): ExtraRecordsFactory {
  return (core, dist, revision, arch, variant): ExtraRecords =>
    async (xml) => {
      const openBytes = (xml.primary.openSize ?? 0) + (xml.filelists.openSize ?? 0) + (xml.other.openSize ?? 0);
      if (options.maxMetadataBytes !== undefined && openBytes > options.maxMetadataBytes) {
        core.caps.log('sqlite databases left out: the metadata is larger than the bound', {
          dist,
          revision: revision.id,
          arch,
          openBytes,
          maxMetadataBytes: options.maxMetadataBytes,
        });
        return [];
      }
      const sql = await loadSql();
      const builder = new SqliteBuilder(sql);
      try {
        const arches = rpmArchesFor(arch);
        for (const chunk of revision.chunks) {
          const ids = (await core.repository.chunkIndex(chunk.id)).entries.filter((e) => arches.has(e.arch)).map((e) => e.id);
          // Records are read a few at a time but added in index order, so pkgKeys follow primary.
          for (let i = 0; i < ids.length; i += RECORD_READS) {
            const records = await Promise.all(ids.slice(i, i + RECORD_READS).map((id) => readRecord(core, id)));
            for (const r of records) builder.add({ pkg: r.package, facts: r.facts, href: rpmHref(r.facts.fileName, variant) });
          }
        }
        const dbs = builder.finish({ primary: xml.primary.checksums.sha256!, filelists: xml.filelists.checksums.sha256!, other: xml.other.checksums.sha256! });
        const out: Array<{ file: RenderedFile; record: Omit<RepomdRecord, 'timestamp'> }> = [];
        for (const [type, raw] of [
          ['primary_db', dbs.primary],
          ['filelists_db', dbs.filelists],
          ['other_db', dbs.other],
        ] as const) {
          const gz = core.caps.gzip(raw);
          const sha256 = await digest(core, gz);
          const openChecksum = await digest(core, raw);
          const key = layout.metadataObject(sha256);
          await core.caps.store.put(key, gz, { ifNoneMatch: '*', contentType: 'application/gzip' }).catch((error) => {
            if (!(error instanceof PreconditionFailedError)) throw error;
          });
          const path = `repodata/${sha256}-${type.replace('_db', '')}.sqlite.gz`;
          out.push({
            file: { path, type, size: gz.length, openSize: raw.length, checksums: { sha256 }, segments: [{ object: key }] },
            record: { type, href: path, checksum: sha256, size: gz.length, openChecksum, openSize: raw.length, databaseVersion: 10 },
          });
        }
        return out;
      } finally {
        builder.dispose();
      }
    };
}

async function readRecord(core: { caps: Capabilities }, id: string): Promise<RpmPackageRecord> {
  const found = await getJson<RpmPackageRecord>(core.caps.store, layout.packageRecord(id));
  if (!found) throw new Error(`package record ${id} is missing`);
  return found.value;
}

async function digest(core: { caps: Capabilities }, bytes: Uint8Array): Promise<string> {
  const h = core.caps.hash('sha256');
  h.update(bytes);
  return h.digest();
}

import { InvalidPackageError, PreconditionFailedError, RepodError } from '../errors.ts';
import { RpmReader, type RpmParseResult } from '../formats/rpm/index.ts';
import type { RpmFileFacts, RpmPackage } from '../formats/rpm/model.ts';
import type { Capabilities } from '../runtime/capabilities.ts';
import { getJson, putJson } from '../storage/objects.ts';
import type { EntryWithSegments } from './chunk.ts';
import { layout } from './layout.ts';
import { rpmEntry, rpmFileName, RPM_STREAMS } from './rpm-entry.ts';
import { encodeSegmented } from './segmented.ts';

/**
 * Ingest: an upload streams once into a temporary object while its sha256 is computed and its
 * headers are parsed on the way (the payload is never held in memory). Only a valid package is
 * moved to its content-addressed place in pool/ and gets its record and fragments; anything else
 * is deleted and refused, so no partial object ever becomes visible under a final name.
 */
export interface StagedRpm {
  kind: 'rpm';
  tempKey: string;
  sha256: string;
  size: number;
  parsed: RpmParseResult;
}

export type StagedPackage = StagedRpm;

export interface PackageRecord {
  format: 1;
  kind: 'rpm';
  facts: RpmFileFacts;
  package: RpmPackage;
}

const RPM_MAGIC = [0xed, 0xab, 0xee, 0xdb];
const AR_MAGIC = [...new TextEncoder().encode('!<arch>\n')];

export async function stagePackage(caps: Capabilities, body: ReadableStream<Uint8Array>, options: { maxBytes: number }): Promise<StagedPackage> {
  const tempKey = layout.upload(caps.randomId());
  const hasher = caps.hash('sha256');
  let size = 0;
  let head = new Uint8Array(0);
  let rpm: RpmReader | null = null;
  let headerDone = false;
  let failure: unknown = null;

  const inspect = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      try {
        size += chunk.length;
        if (size > options.maxBytes) throw new RepodError('too_large', `package larger than the limit of ${options.maxBytes} bytes`, { status: 413 });
        hasher.update(chunk);
        if (!rpm && head.length < 8) {
          const joined = new Uint8Array(head.length + chunk.length);
          joined.set(head);
          joined.set(chunk, head.length);
          head = joined.subarray(0, Math.min(joined.length, 8));
          if (head.length >= 4 && RPM_MAGIC.every((b, i) => head[i] === b)) {
            rpm = new RpmReader();
            headerDone = rpm.push(joined);
          } else if (head.length >= 8) {
            if (AR_MAGIC.every((b, i) => head[i] === b)) {
              throw new InvalidPackageError('Debian packages (.deb) are not supported by this server yet');
            }
            throw new InvalidPackageError('not an RPM package: the file does not start with the RPM lead magic (ed ab ee db)');
          }
        } else if (rpm && !headerDone) {
          headerDone = rpm.push(chunk);
        }
        controller.enqueue(chunk);
      } catch (error) {
        failure = error;
        controller.error(error);
      }
    },
  });

  try {
    await caps.store.put(tempKey, body.pipeThrough(inspect), { contentType: 'application/octet-stream' });
  } catch (error) {
    await caps.store.delete(tempKey).catch(() => undefined);
    throw failure ?? error;
  }
  try {
    if (!rpm) throw new InvalidPackageError(`not a package: only ${size} bytes received`);
    if (!headerDone) throw new InvalidPackageError(`truncated RPM: the file ends (after ${size} bytes) inside its headers`);
    const parsed = (rpm as RpmReader).result();
    if (parsed.pkg.headerEnd > size) throw new InvalidPackageError('truncated RPM: the file ends inside its header');
    return { kind: 'rpm', tempKey, sha256: await hasher.digest(), size, parsed };
  } catch (error) {
    await caps.store.delete(tempKey).catch(() => undefined);
    throw error;
  }
}

/** Drops a staged upload that will not be published. */
export async function discardStaged(caps: Capabilities, staged: StagedPackage): Promise<void> {
  await caps.store.delete(staged.tempKey).catch(() => undefined);
}

/**
 * Moves a staged RPM to the pool (once per content) and stores its record and fragments.
 * Returns the index entry a revision needs.
 */
export async function commitRpm(caps: Capabilities, staged: StagedRpm): Promise<{ record: PackageRecord; entry: EntryWithSegments }> {
  const { store } = caps;
  const poolKey = layout.pool(staged.sha256);
  if (await store.head(poolKey)) await store.delete(staged.tempKey);
  else await store.move(staged.tempKey, poolKey);

  const recordKey = layout.packageRecord(staged.sha256);
  let record = (await getJson<PackageRecord>(store, recordKey))?.value;
  if (!record) {
    const pkg = staged.parsed.pkg;
    record = {
      format: 1,
      kind: 'rpm',
      facts: { sha256: staged.sha256, size: staged.size, fileTime: Math.floor(caps.now().getTime() / 1000), fileName: rpmFileName(pkg) },
      package: pkg,
    };
    await putJson(store, recordKey, record, { ifNoneMatch: '*' }).catch(async (error) => {
      if (!(error instanceof PreconditionFailedError)) throw error;
      record = (await getJson<PackageRecord>(store, recordKey))!.value; // a concurrent upload of the same bytes won
    });
  }
  const entry = rpmEntry(record.package, record.facts, caps.gzip);
  const fragment = encodeSegmented({ format: 1, kind: 'rpm', streams: RPM_STREAMS, entry: entry.entry }, entry.segments);
  await store.put(layout.fragment(staged.sha256), fragment, { ifNoneMatch: '*' }).catch((error) => {
    if (!(error instanceof PreconditionFailedError)) throw error;
  });
  return { record, entry };
}

import { ConflictError, InvalidPackageError, PreconditionFailedError, RepodError } from '../errors.ts';
import { DebReader, type DebParseResult } from '../formats/deb/reader.ts';
import { parseDebControl } from '../formats/deb/control.ts';
import { RpmReader, type RpmParseResult } from '../formats/rpm/index.ts';
import type { RpmFileFacts, RpmPackage } from '../formats/rpm/model.ts';
import { debFileName, poolPath, sourceName } from '../metadata/apt/packages-stanza.ts';
import type { Capabilities, HashAlgorithm, Hasher } from '../runtime/capabilities.ts';
import { RpmDigestCollector, type RpmDigests, type RpmHashFactory } from '../signing/rpm-digests.ts';
import { getJson, putJson } from '../storage/objects.ts';
import { aptEntry, APT_STREAMS } from './apt-entry.ts';
import type { EntryWithSegments, StreamSpec } from './chunk.ts';
import { layout } from './layout.ts';
import { rpmEntry, rpmFileName, RPM_STREAMS } from './rpm-entry.ts';
import { encodeSegmented } from './segmented.ts';

/**
 * Ingest: an upload streams once into a temporary object while its checksums are computed and
 * its headers (RPM) or control and file list (.deb) are parsed on the way; the payload is never
 * held in memory. Only a valid package is moved to its content-addressed place in pool/ and gets
 * its record and fragments; anything else is deleted and refused, so no partial object ever
 * becomes visible under a final name.
 */
export interface StagedRpm {
  kind: 'rpm';
  tempKey: string;
  sha256: string;
  size: number;
  parsed: RpmParseResult;
  /** What signature verification needs, computed while the file streamed in. */
  digests: RpmDigests;
}

export interface StagedDeb {
  kind: 'deb';
  tempKey: string;
  sha256: string;
  sha1: string;
  md5: string;
  sha512: string;
  size: number;
  parsed: DebParseResult;
}

export type StagedPackage = StagedRpm | StagedDeb;

export interface RpmPackageRecord {
  format: 1;
  kind: 'rpm';
  facts: RpmFileFacts;
  package: RpmPackage;
}

export interface DebFileFacts {
  sha256: string;
  sha1: string;
  md5: string;
  /** apt-ftparchive lists SHA512 in every stanza. */
  sha512: string;
  size: number;
  /** Canonical file name: <package>_<version without epoch>_<arch>.deb */
  fileName: string;
}

export interface DebPackageRecord {
  format: 1;
  kind: 'deb';
  facts: DebFileFacts;
  /** The control file as found in the package. */
  control: string;
  /** data.tar paths, for Contents. */
  files: string[];
}

export type PackageRecord = RpmPackageRecord | DebPackageRecord;

const RPM_MAGIC = [0xed, 0xab, 0xee, 0xdb];
const AR_MAGIC = [...new TextEncoder().encode('!<arch>\n')];

/** What watches the bytes of one kind of package go by. */
interface Inspector {
  push(chunk: Uint8Array): void | Promise<void>;
  finish(size: number): Promise<Omit<StagedRpm, 'tempKey' | 'sha256' | 'size'> | Omit<StagedDeb, 'tempKey' | 'sha256' | 'size'>>;
}

function rpmInspector(hash: RpmHashFactory): Inspector {
  const reader = new RpmReader();
  let done = false;
  let parsed: RpmParseResult | undefined;
  const digests = new RpmDigestCollector(hash, () => parsed);
  return {
    push(chunk) {
      if (!done) {
        done = reader.push(chunk);
        if (done) parsed = reader.result();
      }
      digests.push(chunk);
    },
    async finish(size) {
      if (!done || !parsed) throw new InvalidPackageError(`truncated RPM: the file ends (after ${size} bytes) inside its headers`);
      if (parsed.pkg.headerEnd > size) throw new InvalidPackageError('truncated RPM: the file ends inside its header');
      return { kind: 'rpm', parsed, digests: await digests.finish() };
    },
  };
}

function debInspector(hash: (a: 'sha1' | 'md5' | 'sha512') => Hasher): Inspector {
  const reader = new DebReader();
  const sha1 = hash('sha1');
  const md5 = hash('md5');
  const sha512 = hash('sha512');
  return {
    async push(chunk) {
      sha1.update(chunk);
      md5.update(chunk);
      sha512.update(chunk);
      await reader.push(chunk);
    },
    async finish() {
      const parsed = await reader.finish();
      return { kind: 'deb', parsed, sha1: await sha1.digest(), md5: await md5.digest(), sha512: await sha512.digest() };
    },
  };
}

export async function stagePackage(caps: Capabilities, body: ReadableStream<Uint8Array>, options: { maxBytes: number }): Promise<StagedPackage> {
  const tempKey = layout.upload(caps.randomId());
  const sha256 = caps.hash('sha256');
  let size = 0;
  let head = new Uint8Array(0);
  let inspector: Inspector | null = null;
  let failure: unknown = null;

  const inspect = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      try {
        size += chunk.length;
        if (size > options.maxBytes) throw new RepodError('too_large', `package larger than the limit of ${options.maxBytes} bytes`, { status: 413 });
        sha256.update(chunk);
        if (inspector) {
          await inspector.push(chunk);
        } else {
          // The kind is known from the first bytes; until then they are held back.
          const joined = new Uint8Array(head.length + chunk.length);
          joined.set(head);
          joined.set(chunk, head.length);
          head = joined;
          if (head.length >= 4 && RPM_MAGIC.every((b, i) => head[i] === b)) inspector = rpmInspector((a) => caps.hash(a as HashAlgorithm));
          else if (head.length >= 8 && AR_MAGIC.every((b, i) => head[i] === b)) inspector = debInspector((a) => caps.hash(a));
          else if (head.length >= 8) throw new InvalidPackageError('not a package: the file is neither an RPM (lead magic ed ab ee db) nor a Debian package (ar archive)');
          if (inspector) {
            await inspector.push(head);
            head = new Uint8Array(0);
          }
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
    if (!inspector) throw new InvalidPackageError(`not a package: only ${size} bytes received`);
    const result = await (inspector as Inspector).finish(size);
    return { ...result, tempKey, sha256: await sha256.digest(), size } as StagedPackage;
  } catch (error) {
    await caps.store.delete(tempKey).catch(() => undefined);
    throw error;
  }
}

/** Drops a staged upload that will not be published. */
export async function discardStaged(caps: Capabilities, staged: StagedPackage): Promise<void> {
  await caps.store.delete(staged.tempKey).catch(() => undefined);
}

async function toPool(caps: Capabilities, staged: StagedPackage): Promise<void> {
  const poolKey = layout.pool(staged.sha256);
  if (await caps.store.head(poolKey)) await caps.store.delete(staged.tempKey);
  else await caps.store.move(staged.tempKey, poolKey);
}

/** Writes a create-only object; an existing one (a concurrent ingest of the same bytes) is read back. */
async function putRecord<T>(caps: Capabilities, key: string, value: T): Promise<T> {
  try {
    await putJson(caps.store, key, value, { ifNoneMatch: '*' });
    return value;
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    return (await getJson<T>(caps.store, key))!.value;
  }
}

async function putFragment(caps: Capabilities, key: string, kind: 'rpm' | 'apt', streams: StreamSpec[], entry: EntryWithSegments): Promise<void> {
  const fragment = encodeSegmented({ format: 1, kind, streams: streams.map((s) => s.name), entry: entry.entry }, entry.segments);
  await caps.store.put(key, fragment, { ifNoneMatch: '*' }).catch((error) => {
    if (!(error instanceof PreconditionFailedError)) throw error;
  });
}

/**
 * Moves a staged RPM to the pool (once per content) and stores its record and fragments.
 * Returns the index entry a revision needs.
 */
export async function commitRpm(caps: Capabilities, staged: StagedRpm): Promise<{ record: RpmPackageRecord; entry: EntryWithSegments }> {
  await toPool(caps, staged);
  const recordKey = layout.packageRecord(staged.sha256);
  let record = (await getJson<RpmPackageRecord>(caps.store, recordKey))?.value;
  if (!record) {
    const pkg = staged.parsed.pkg;
    record = await putRecord<RpmPackageRecord>(caps, recordKey, {
      format: 1,
      kind: 'rpm',
      facts: { sha256: staged.sha256, size: staged.size, fileTime: Math.floor(caps.now().getTime() / 1000), fileName: rpmFileName(pkg) },
      package: pkg,
    });
  }
  const entry = rpmEntry(record.package, record.facts);
  await putFragment(caps, layout.fragment(staged.sha256), 'rpm', RPM_STREAMS, entry);
  return { record, entry };
}

/**
 * Moves a staged .deb to the pool and stores its record and its fragments for one component.
 * The pool path (the stanza's Filename) is claimed create-only: two different files can never be
 * served under one pool path, whatever distributions they belong to.
 */
export async function commitDeb(caps: Capabilities, staged: StagedDeb, component: string): Promise<{ record: DebPackageRecord; entry: EntryWithSegments; poolPath: string }> {
  const control = staged.parsed.control;
  const fileName = debFileName(control);
  const path = poolPath(component, sourceName(control), fileName);
  const claimKey = layout.aptPoolPath(path);
  const claimed = await putRecord(caps, claimKey, { sha256: staged.sha256 });
  if (claimed.sha256 !== staged.sha256) {
    await discardStaged(caps, staged);
    throw new ConflictError(`${path} is already taken by another file (sha256 ${claimed.sha256}); a pool path always holds one file`, 'duplicate_package', {
      existing: claimed.sha256,
      uploaded: staged.sha256,
    });
  }
  await toPool(caps, staged);
  const recordKey = layout.packageRecord(staged.sha256);
  const record =
    (await getJson<DebPackageRecord>(caps.store, recordKey))?.value ??
    (await putRecord<DebPackageRecord>(caps, recordKey, {
      format: 1,
      kind: 'deb',
      facts: { sha256: staged.sha256, sha1: staged.sha1, md5: staged.md5, sha512: staged.sha512, size: staged.size, fileName },
      control: control.text,
      files: staged.parsed.files,
    }));
  const entry = aptEntry(parseDebControl(record.control), record.facts, record.files, component, path);
  await putFragment(caps, layout.aptFragment(staged.sha256, component), 'apt', APT_STREAMS, entry);
  return { record, entry, poolPath: path };
}

/**
 * The index entry of a package already in the store (a build referring to an earlier upload):
 * built from its record, copying no bytes. A .deb claims its pool path for the component first.
 */
export async function entryFromRecord(caps: Capabilities, sha256: string, component: string): Promise<{ record: PackageRecord; entry: EntryWithSegments } | null> {
  const record = (await getJson<PackageRecord>(caps.store, layout.packageRecord(sha256)))?.value;
  if (!record || !(await caps.store.head(layout.pool(sha256)))) return null;
  if (record.kind === 'rpm') return { record, entry: rpmEntry(record.package, record.facts) };
  const control = parseDebControl(record.control);
  const path = poolPath(component, sourceName(control), record.facts.fileName);
  const claimed = await putRecord(caps, layout.aptPoolPath(path), { sha256 });
  if (claimed.sha256 !== sha256) {
    throw new ConflictError(`${path} is already taken by another file (sha256 ${claimed.sha256})`, 'duplicate_package', { existing: claimed.sha256, uploaded: sha256 });
  }
  return { record, entry: aptEntry(control, record.facts, record.files, component, path) };
}

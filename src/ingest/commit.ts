import type { EntryWithSegments, StreamSpec } from '../bucket/chunk.ts';
import { layout } from '../bucket/layout.ts';
import type { DebPackageRecord, PackageRecord, RpmPackageRecord, SignatureVerdict } from '../bucket/package-record.ts';
import { encodeSegmented } from '../bucket/segmented.ts';
import type { Capabilities } from '../capabilities.ts';
import { ConflictError, PreconditionFailedError } from '../errors.ts';
import { type DebControl, parseDebControl } from '../formats/deb/control.ts';
import { debFileName, poolPath, sourceName } from '../metadata/apt/packages-stanza.ts';
import { storeSignatureVerdict } from '../signing/signature-verdict.ts';
import { getJson, putJson } from '../storage/objects.ts';
import { aptEntry } from './apt-entry.ts';
import { rpmEntry, rpmFileName } from './rpm-entry.ts';
import { recordDsc, storedSourceEntry } from './source-entry.ts';
import { discardStaged, type StagedDeb, type StagedPackage, type StagedRpm } from './stage.ts';

/**
 * Commit: a staged package that passed every ingest step moves to its content-addressed place in
 * pool/ (once per content) and gets its record, written create-only, so a concurrent ingest of the
 * same bytes finds the same objects. A binary package's index entry is made from its record
 * whenever it is needed (entryFromRecord) and kept in the revisions' chunks: no per-package
 * fragment object is written for it (earlier versions wrote one that nothing read; garbage
 * collection still removes those). An APT source's fragment holds its Sources stanza and is read
 * (source-entry.ts).
 */
/** A staged file to its content-addressed place in the pool; where the same bytes are there already, the staged copy goes. */
export async function moveToPool(caps: Capabilities, staged: { tempKey: string; sha256: string }): Promise<void> {
  try {
    await caps.store.move(staged.tempKey, layout.pool(staged.sha256), { ifNoneMatch: '*' });
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    await caps.store.delete(staged.tempKey); // the same bytes are there already
  }
}

/** Writes a create-only object; an existing one (a concurrent ingest of the same bytes) is read back. */
export async function putRecord<T>(caps: Capabilities, key: string, value: T): Promise<T> {
  try {
    await putJson(caps.store, key, value, { ifNoneMatch: '*' });
    return value;
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    return (await getJson<T>(caps.store, key))!.value;
  }
}

/** Overwrites a record: only an index-made record, with the same package's record read from its bytes. */
async function replaceRecord<T>(caps: Capabilities, key: string, value: T): Promise<T> {
  await putJson(caps.store, key, value);
  return value;
}

/**
 * A package's fragment (its entry and segments), create-only: the same record always makes the same
 * fragment. Whether this call created it (false: one was there).
 */
export async function putFragment(caps: Capabilities, key: string, kind: 'rpm' | 'apt', streams: StreamSpec[], entry: EntryWithSegments): Promise<boolean> {
  const fragment = encodeSegmented({ format: 1, kind, streams: streams.map((s) => s.name), entry: entry.entry }, entry.segments);
  try {
    await caps.store.put(key, fragment, { ifNoneMatch: '*' });
    return true;
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    return false;
  }
}

/**
 * Moves a staged RPM to the pool (once per content) and stores its record. Returns the index entry
 * a revision needs, made from the record that stands (an ingest of the same bytes may have stored
 * its own first: their file times differ). The two writes are independent, so an upload waits for
 * the slower of them, not their sum; a record whose pool object is missing is never used
 * (entryFromRecord checks the pool). `verdict`: the upload's signature verdict, kept in the record
 * it creates, or beside an existing one (signing/signature-verdict.ts).
 */
export async function commitRpm(caps: Capabilities, staged: StagedRpm, verdict?: SignatureVerdict): Promise<{ record: RpmPackageRecord; entry: EntryWithSegments }> {
  const [, record] = await Promise.all([moveToPool(caps, staged), packageRecord(caps, staged, verdict)]);
  return { record, entry: rpmEntry(record.package, record.facts) };
}

/**
 * Moves a staged .deb to the pool and stores its record; its entry is for one component.
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
  await moveToPool(caps, staged);
  const record = await packageRecord(caps, staged);
  const entry = aptEntry(parseDebControl(record.control), record.facts, record.files, component, path);
  return { record, entry, poolPath: path };
}

/**
 * The index entry of a package already in the store (a build referring to an earlier upload):
 * built from its record, copying no bytes. A .deb claims its pool path for the component first
 * (a udeb's entry goes to the component's debian-installer index: apt-entry.ts).
 */
export async function entryFromRecord(
  caps: Capabilities,
  sha256: string,
  component: string | ((control: DebControl) => string),
): Promise<{ record: PackageRecord; entry: EntryWithSegments } | null> {
  const record = (await getJson<PackageRecord>(caps.store, layout.packageRecord(sha256)))?.value;
  if (!record || !(await caps.store.head(layout.pool(sha256)))) return null;
  if (record.kind === 'rpm') return { record, entry: rpmEntry(record.package, record.facts) };
  if (record.kind === 'dsc') {
    // A source's component: the change's, or (a function) one from the .dsc (which rarely has a Section: the first).
    const place = typeof component === 'function' ? component(recordDsc(record).control) : component;
    const entry = await storedSourceEntry(caps, record, place);
    return entry ? { record, entry } : null;
  }
  const control = parseDebControl(record.control);
  // A reference names no component of its own: the change's, or (a function) one from the package's Section.
  if (typeof component === 'function') component = component(control);
  const path = poolPath(component, sourceName(control), record.facts.fileName);
  const claimed = await putRecord(caps, layout.aptPoolPath(path), { sha256 });
  if (claimed.sha256 !== sha256) {
    throw new ConflictError(`${path} is already taken by another file (sha256 ${claimed.sha256})`, 'duplicate_package', { existing: claimed.sha256, uploaded: sha256 });
  }
  return { record, entry: aptEntry(control, record.facts, record.files, component, path) };
}

/**
 * A package the security gate held for review: its bytes go to the pool and its record is kept, so
 * an accepted review publishes it by sha256 without the upload; but an APT pool path is claimed
 * (and so served) only when it is published.
 */
export async function storeForReview(caps: Capabilities, staged: StagedPackage): Promise<PackageRecord> {
  return storePackage(caps, staged);
}

/**
 * A package's bytes and record, nothing else: no pool path. For packages that are
 * published elsewhere or later (held for review; fetched by a mirror that published its entry already).
 */
export async function storePackage(caps: Capabilities, staged: StagedPackage): Promise<PackageRecord> {
  await moveToPool(caps, staged);
  return packageRecord(caps, staged);
}

/** The package's record: the stored one (a concurrent ingest of the same bytes may have written it), or a new one, create-only. */
async function packageRecord(caps: Capabilities, staged: StagedRpm, verdict?: SignatureVerdict): Promise<RpmPackageRecord>;
async function packageRecord(caps: Capabilities, staged: StagedDeb): Promise<DebPackageRecord>;
async function packageRecord(caps: Capabilities, staged: StagedPackage): Promise<PackageRecord>;
async function packageRecord(caps: Capabilities, staged: StagedPackage, verdict?: SignatureVerdict): Promise<PackageRecord> {
  const recordKey = layout.packageRecord(staged.sha256);
  const record = newRecord(caps, staged, verdict);
  // Most uploads bring new bytes: the create-only write comes first, and the stored record is read
  // only when there is one (the store refuses the write before any body is sent), not on every upload.
  try {
    await putJson(caps.store, recordKey, record, { ifNoneMatch: '*' });
    return record;
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
  }
  // The bytes had a record already: this upload's verdict goes beside it, and replaces its own.
  if (verdict) await storeSignatureVerdict(caps.store, staged.sha256, verdict);
  const existing = (await getJson<PackageRecord>(caps.store, recordKey))?.value;
  // A concurrent ingest of the same bytes wrote it: the same package, its record stands.
  if (existing && existing.origin !== 'index') return existing;
  // A mirror's record made from an upstream index gives way to the one read from the bytes.
  return existing ? replaceRecord(caps, recordKey, record) : putRecord(caps, recordKey, record);
}

/** The record of a staged package, read from its bytes. */
function newRecord(caps: Capabilities, staged: StagedPackage, verdict?: SignatureVerdict): PackageRecord {
  if (staged.kind === 'rpm') return rpmRecord(caps, staged, verdict);
  const control = staged.parsed.control;
  return {
    format: 1,
    kind: 'deb',
    facts: { sha256: staged.sha256, sha1: staged.sha1, md5: staged.md5, sha512: staged.sha512, size: staged.size, fileName: debFileName(control) },
    control: control.text,
    files: staged.parsed.files,
  } satisfies DebPackageRecord;
}

/** An RPM's record read from its bytes, with the upload's signature verdict. */
function rpmRecord(caps: Capabilities, staged: StagedRpm, verdict?: SignatureVerdict): RpmPackageRecord {
  return {
    format: 1,
    kind: 'rpm',
    facts: { sha256: staged.sha256, size: staged.size, fileTime: Math.floor(caps.now().getTime() / 1000), fileName: rpmFileName(staged.parsed.pkg) },
    package: staged.parsed.pkg,
    ...(verdict ? { signature: verdict } : {}),
  };
}

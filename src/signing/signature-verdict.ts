import { layout } from '../bucket/layout.ts';
import type { PackageRecord, SignatureVerdict } from '../bucket/package-record.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { getJson, putJson } from '../storage/objects.ts';

/**
 * Where an RPM's signature verdict lives. The first upload of some bytes writes it into their
 * record (create-only, ingest/commit.ts); each later upload of the same bytes (after a key was
 * trusted, say) writes its own verdict to `layout.packageSignature`, which replaces the record's.
 * Stores written before the verdict moved into the record have only the separate object.
 */
export async function readSignatureVerdict(store: BlobStore, sha256: string, record?: PackageRecord | null): Promise<SignatureVerdict | null> {
  const latest = (await getJson<SignatureVerdict>(store, layout.packageSignature(sha256)))?.value;
  if (latest) return latest;
  const stored = record === undefined ? (await getJson<PackageRecord>(store, layout.packageRecord(sha256)))?.value : record;
  return stored?.kind === 'rpm' ? (stored.signature ?? null) : null;
}

/** Keeps the verdict of an upload whose bytes already had a record (it replaces the record's). */
export async function storeSignatureVerdict(store: BlobStore, sha256: string, verdict: SignatureVerdict): Promise<void> {
  await putJson(store, layout.packageSignature(sha256), verdict);
}

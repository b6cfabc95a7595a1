import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { getJson, putJson } from '../storage/objects.ts';

/**
 * What the last scan of a location published, kept in the store so the next scan reads only the
 * objects that changed. An object is unchanged when its change token and size are the ones
 * recorded: the listing's last-modified time (a directory's mtime, an S3 object's LastModified,
 * which every overwrite moves), so a listing alone decides, with no request per object.
 */
export interface ScannedObject {
  /** The listing's change token (last-modified time in ms, as text). */
  tag: string;
  size: number;
  /** Published: the package's sha256 and its key in the distribution's index. */
  sha256?: string;
  key?: string;
  /** Left out by --force: why (kept so later scans list it without reading it again). */
  malformed?: string;
}

export interface ScanState {
  format: 1;
  location: string;
  distribution: string;
  /** The revision the scan published (or found unchanged). */
  revision: string | null;
  objects: Record<string, ScannedObject>;
}

/** A location's id in the store: the sha256 of its name and the distribution it feeds. */
export async function locationId(caps: Pick<Capabilities, 'hash'>, location: string, dist: string): Promise<string> {
  const h = caps.hash('sha256');
  h.update(new TextEncoder().encode(`${dist}\n${location}`));
  return (await h.digest()).slice(0, 32);
}

export async function readScanState(caps: Pick<Capabilities, 'store'>, id: string): Promise<ScanState | null> {
  const found = await getJson<ScanState>(caps.store, layout.scanState(id));
  return found && found.value.format === 1 ? found.value : null;
}

export async function writeScanState(caps: Pick<Capabilities, 'store'>, id: string, state: ScanState): Promise<void> {
  await putJson(caps.store, layout.scanState(id), state);
}

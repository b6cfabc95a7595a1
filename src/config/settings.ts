/**
 * Limits every runtime applies the same way (REPOD_MAX_UPLOAD_BYTES, REPOD_PRESIGN_SECONDS,
 * REPOD_CACHE_BYTES, REPOD_CACHE_MAX_FILE_BYTES).
 */
export interface Settings {
  /** Largest package accepted by an upload. */
  maxUploadBytes: number;
  /** Lifetime of presigned download URLs. */
  presignSeconds: number;
  /** Memory for hot immutable files (rendered metadata, small packages) per server process; 0 turns it off. */
  cacheBytes: number;
  /** Largest single file that cache holds; bigger ones always stream from the store. */
  cacheMaxFileBytes: number;
}

export const DEFAULT_SETTINGS: Settings = {
  maxUploadBytes: 8 * 1024 * 1024 * 1024,
  presignSeconds: 900,
  // 64 MiB holds every metadata file of a mid-sized repository and its most fetched small
  // packages; 4 MiB per file keeps one large primary.xml.gz from pushing everything else out.
  cacheBytes: 64 * 1024 * 1024,
  cacheMaxFileBytes: 4 * 1024 * 1024,
};

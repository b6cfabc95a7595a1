/**
 * Limits every runtime applies the same way (REPOD_MAX_UPLOAD_BYTES, REPOD_PRESIGN_SECONDS,
 * REPOD_CACHE_BYTES, REPOD_CACHE_MAX_FILE_BYTES, REPOD_UPLOAD_PART_BYTES, REPOD_UPLOAD_EXPIRY_SECONDS).
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
  /** Default part size of an upload in parts (POST /api/v1/uploads); at most MAX_UPLOAD_PART_BYTES. */
  uploadPartBytes: number;
  /** How long an upload in parts may take from its creation to its completion; gc deletes it after. */
  uploadExpirySeconds: number;
}

/**
 * The largest part of an upload in parts: a part sent through repod itself must fit in one request
 * body, and Cloudflare Workers take at most 100 MB (= 95.4 MiB) per body.
 */
export const MAX_UPLOAD_PART_BYTES = 95 * 1024 * 1024;
/** The smallest part a client may ask for (tests use small ones; real clients want MiBs). */
export const MIN_UPLOAD_PART_BYTES = 1024;

export const DEFAULT_SETTINGS: Settings = {
  maxUploadBytes: 8 * 1024 * 1024 * 1024,
  presignSeconds: 900,
  // 64 MiB holds every metadata file of a mid-sized repository and its most fetched small
  // packages; 4 MiB per file keeps one large primary.xml.gz from pushing everything else out.
  cacheBytes: 64 * 1024 * 1024,
  cacheMaxFileBytes: 4 * 1024 * 1024,
  uploadPartBytes: 64 * 1024 * 1024,
  uploadExpirySeconds: 24 * 3600,
};

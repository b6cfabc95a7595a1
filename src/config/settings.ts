/** Limits every runtime applies the same way (REPOD_MAX_UPLOAD_BYTES, REPOD_PRESIGN_SECONDS). */
export interface Settings {
  /** Largest package accepted by an upload. */
  maxUploadBytes: number;
  /** Lifetime of presigned download URLs. */
  presignSeconds: number;
}

export const DEFAULT_SETTINGS: Settings = {
  maxUploadBytes: 8 * 1024 * 1024 * 1024,
  presignSeconds: 900,
};

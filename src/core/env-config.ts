import type { CoreConfig } from './create-core.ts';

/** The environment as every runtime sees it: process.env on Node, vars and secrets on Workers. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The REPOD_* settings that mean the same on every runtime. Each composition root adds only
 * what differs: where the store is and how files named by a setting are read.
 */
export function coreConfigFromEnv(env: Env): Omit<CoreConfig, 'storeName' | 'distributionsJson' | 'operatorKey' | 'loadSql' | 'scanner' | 'outboundTransport'> {
  const number = (name: string): number | undefined => (env[name] ? Number(env[name]) : undefined);
  const settings: CoreConfig['settings'] = {};
  const maxUploadBytes = number('REPOD_MAX_UPLOAD_BYTES');
  const presignSeconds = number('REPOD_PRESIGN_SECONDS');
  const cacheBytes = number('REPOD_CACHE_BYTES');
  const cacheMaxFileBytes = number('REPOD_CACHE_MAX_FILE_BYTES');
  const uploadPartBytes = number('REPOD_UPLOAD_PART_BYTES');
  const uploadExpirySeconds = number('REPOD_UPLOAD_EXPIRY_SECONDS');
  if (maxUploadBytes !== undefined) settings.maxUploadBytes = maxUploadBytes;
  if (presignSeconds !== undefined) settings.presignSeconds = presignSeconds;
  if (cacheBytes !== undefined) settings.cacheBytes = cacheBytes;
  if (cacheMaxFileBytes !== undefined) settings.cacheMaxFileBytes = cacheMaxFileBytes;
  if (uploadPartBytes !== undefined) settings.uploadPartBytes = uploadPartBytes;
  if (uploadExpirySeconds !== undefined) settings.uploadExpirySeconds = uploadExpirySeconds;
  return {
    keyPassphrase: env.REPOD_KEY_PASSPHRASE,
    adminToken: env.REPOD_ADMIN_TOKEN,
    adminPassword: env.REPOD_ADMIN_PASSWORD,
    singleWriter: env.REPOD_SINGLE_WRITER === '1',
    refTtlMs: number('REPOD_REF_TTL_MS'),
    sqliteMaxMetadataBytes: number('REPOD_SQLITE_MAX_METADATA_BYTES'),
    groupCommit: env.REPOD_GROUP_COMMIT !== '0',
    securityGate: env.REPOD_SECURITY_GATE !== '0',
    outboundAllowedHosts: env.REPOD_OUTBOUND_ALLOWED_HOSTS,
    webhookRetryBaseMs: number('REPOD_WEBHOOK_RETRY_BASE_MS'),
    rateLimits: env.REPOD_RATE_LIMITS,
    accessTtlSeconds: number('REPOD_TOKEN_TTL_SECONDS'),
    lockout: {
      ...(number('REPOD_LOCKOUT_FAILURES') !== undefined ? { accountFailures: number('REPOD_LOCKOUT_FAILURES') } : {}),
      ...(number('REPOD_LOCKOUT_SECONDS') !== undefined ? { lockSeconds: number('REPOD_LOCKOUT_SECONDS') } : {}),
    },
    settings,
  };
}

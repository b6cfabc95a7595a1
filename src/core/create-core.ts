import type { SqlJsStatic } from 'sql.js';
import { Lockout, type LockoutOptions } from '../auth/lockout.ts';
import { parseRateLimits, RateLimiter, SignInRateLimiter } from '../auth/rate-limit.ts';
import { Tokens } from '../auth/tokens.ts';
import { Users } from '../auth/users.ts';
import type { Capabilities } from '../capabilities.ts';
import { DEFAULT_SETTINGS, type Settings } from '../config/settings.ts';
import { RepodError } from '../errors.ts';
import { AutoExport, fanOutEvents } from '../export/auto-export.ts';
import type { ExportTargetFactory } from '../export/export-target.ts';
import { Catalog } from '../import/catalog.ts';
import { ImportSources } from '../import/sources.ts';
import { SyncJobs } from '../import/sync-jobs.ts';
import { MeasuredRenderer, MeasuredRepository } from '../metrics/measured-services.ts';
import { RepodMetrics } from '../metrics/repod-metrics.ts';
import { openMirrorSync } from '../mirror/mirror-sync.ts';
import { MirrorPackages } from '../mirror/package-fetcher.ts';
import { parseAllowList } from '../outbound/address-policy.ts';
import { fetchTransport } from '../outbound/fetch-transport.ts';
import { OutboundClient, type OutboundTransport } from '../outbound/outbound-client.ts';
import { sqliteRecords } from '../render/rpm-sqlite.ts';
import { changeCommitter } from '../revisions/publish-group.ts';
import { AuditLog } from '../security/audit-log.ts';
import { Webhooks } from '../security/webhooks/webhooks.ts';
import { Keyring } from '../signing/keyring.ts';
import { ImmutableBytesCache } from '../storage/immutable-bytes-cache.ts';
import { measuredStore } from '../storage/measured-store.ts';
import { probeConditionalWritesDetailed } from '../storage/probe.ts';
import type { Core } from './core.ts';
import { DistributionStore } from './distribution-store.ts';
import { createSecurityServices, type ScannerConfig } from './security-services.ts';

/** What a runtime read from its configuration (environment, files, secrets) for the core. */
export interface CoreConfig {
  /** Names the store in error messages (`file:./data`, `s3://bucket`). */
  storeName: string;
  /** The text of a distributions JSON file, when one is configured. */
  distributionsJson?: string;
  /** Encrypts the keyring's private keys at rest. */
  keyPassphrase?: string;
  /** An operator-supplied signing key: the keyring API is then off. */
  operatorKey?: { armored: string; passphrase?: string };
  adminToken?: string;
  adminPassword?: string;
  /** The operator vouches that only this process writes (a store without conditional writes). */
  singleWriter?: boolean;
  refTtlMs?: number;
  /** Concurrent changes to one distribution join one publish; false publishes each alone (to compare). */
  groupCommit?: boolean;
  settings?: Partial<Settings>;
  /** The runtime's sql.js, where it has one: RPM views then carry sqlite databases. */
  loadSql?: () => Promise<SqlJsStatic>;
  /** Views whose uncompressed XML metadata is larger get no sqlite databases (bounds the build's memory). */
  sqliteMaxMetadataBytes?: number;
  /** A virus scanner the runtime can reach (REPOD_CLAMD). */
  scanner?: ScannerConfig;
  /** false turns the security gate's steps off (REPOD_SECURITY_GATE=0): format and signature checks only. */
  securityGate?: boolean;
  /** How this runtime sends a request out (Node: checks every resolved address). Default: fetch, which checks literal addresses only. */
  outboundTransport?: OutboundTransport;
  /** Private hosts and networks outbound requests may reach (REPOD_OUTBOUND_ALLOWED_HOSTS). */
  outboundAllowedHosts?: string;
  /** Opens the targets of distributions set to re-export after each change (Node: directories and S3). */
  exportTargets?: ExportTargetFactory;
  /** Webhook retries: the first wait (doubling each time) and how many attempts. */
  webhookRetryBaseMs?: number;
  /** Requests per minute by role (REPOD_RATE_LIMITS, e.g. `uploader=120,admin=off`). */
  rateLimits?: string;
  /** Failed sign-ins before a lock, and how long it lasts. */
  lockout?: LockoutOptions;
  /** Lifetime of tokens from POST /api/v1/auth/token. */
  accessTtlSeconds?: number;
  /** Where this process's measurements go (/metrics); a new set when absent. */
  metrics?: RepodMetrics;
}

export interface CreatedCore {
  core: Core;
  /** An admin token minted on a fresh store (to print once), or null. */
  bootstrapToken: string | null;
  signingKeyGenerated: boolean;
}

/**
 * Wires the runtime-neutral services over a runtime's capabilities. Every runtime (Node today,
 * Workers next) calls this from its own composition root and adds only how it reads its settings.
 */
export async function createCore(runtimeCaps: Capabilities, config: CoreConfig): Promise<CreatedCore> {
  // Every service reads and writes through the measured store: /metrics sees each operation.
  const metrics = config.metrics ?? new RepodMetrics();
  const caps: Capabilities = { ...runtimeCaps, store: measuredStore(runtimeCaps.store, metrics) };
  // Without enforced create-only and compare-and-swap writes two publishers could silently
  // overwrite each other (invariant 2): refuse such a store unless the operator vouches for one writer.
  if (!config.singleWriter) {
    const probe = await probeConditionalWritesDetailed(caps.store);
    if (!probe.ok) {
      throw new RepodError(
        'unsafe_store',
        `the store ${config.storeName} does not enforce conditional writes (${probe.reason}); concurrent publishes could overwrite each other. Use a store that does, or set REPOD_SINGLE_WRITER=1 if only this one process ever writes to it.`,
        { status: 500 },
      );
    }
  }
  const keyring = new Keyring(caps, { passphrase: config.keyPassphrase || undefined });
  if (config.operatorKey) await keyring.useOperatorKey(config.operatorKey.armored, config.operatorKey.passphrase);
  const signingKeyGenerated = await keyring.bootstrap();
  await keyring.signer();
  // Kept in the store and re-read within refTtlMs, like the refs: every server serves the same set.
  const distributionStore = await DistributionStore.open(caps, {
    json: config.distributionsJson,
    ttlMs: config.refTtlMs ?? 1000,
    check: async (entry) => {
      if (!entry.signing) return;
      try {
        await keyring.resolve(entry.signing.keys);
      } catch (error) {
        if (!(error instanceof RepodError) || error.status >= 500) throw error;
        throw new RepodError('invalid_config', `distribution ${entry.name}: signing.keys: ${error.message}`, { status: 422, cause: error });
      }
    },
  });
  const distributions = distributionStore.distributions;
  keyring.watchDistributions(() => distributions.all());
  const users = new Users(caps);
  const tokens = new Tokens(caps, users);
  await tokens.configure({ adminToken: config.adminToken, adminPassword: config.adminPassword, accessTtlSeconds: config.accessTtlSeconds });
  const bootstrapToken = await tokens.bootstrap();
  const settings: Settings = { ...DEFAULT_SETTINGS, ...config.settings };
  const hotFiles = new ImmutableBytesCache({ maxBytes: settings.cacheBytes, maxEntryBytes: settings.cacheMaxFileBytes }, caps.requestsShareWork);
  // Half the hot-file budget again keeps chunks: what every render hashes and every metadata file
  // is assembled from; a quarter keeps their decoded indexes.
  const chunkBytes = { chunkCacheBytes: Math.floor(settings.cacheBytes / 2), chunkIndexBytes: Math.floor(settings.cacheBytes / 4) };
  const repository = new MeasuredRepository(caps, { refTtlMs: config.refTtlMs ?? 1000, ...chunkBytes }, metrics);
  metrics.watchDistributions({ names: () => distributions.all().map((d) => d.name), current: (name) => repository.current(name) });
  const security = createSecurityServices(caps, repository, distributions, { scanner: config.scanner, enabled: config.securityGate });
  const outbound = new OutboundClient(config.outboundTransport ?? fetchTransport, { allow: parseAllowList(config.outboundAllowedHosts) });
  const webhooks = new Webhooks(caps, outbound, { retryBaseMs: config.webhookRetryBaseMs });
  // Events go to the webhooks and to the automatic exports; the core is built below, before any event.
  const autoExport = new AutoExport(caps, distributions, () => core, { targets: config.exportTargets });
  const events = fanOutEvents(webhooks, autoExport);
  const importSources = new ImportSources(caps, outbound);
  const catalog = new Catalog(caps, importSources);
  // A group publishes in the request that leads it: only where requests may wait on each other.
  const committer = changeCommitter(repository, { enabled: (config.groupCommit ?? true) && caps.requestsShareWork });
  const mirrorPackages = new MirrorPackages(caps, outbound);
  const syncJobs = new SyncJobs(caps, importSources, catalog, (url, signal) => outbound.fetch(url, { signal }), {
    mirrors: (source, jobId, actor) =>
      openMirrorSync({ caps, distributions, repository, committer, packages: mirrorPackages, events, prepareDependencies: security.prepareDependencies }, source, jobId, actor),
  });
  const core: Core = {
    caps,
    distributions,
    distributionStore,
    repository,
    committer,
    renderer: new MeasuredRenderer(caps, hotFiles, metrics, (id, start, end, into) => repository.chunkRange(id, start, end, into)),
    hotFiles,
    keyring,
    tokens,
    users,
    lockout: new Lockout(caps, config.lockout),
    signInLimiter: new SignInRateLimiter({}, () => caps.now().getTime()),
    apiLimiter: new RateLimiter({ limits: parseRateLimits(config.rateLimits) }, () => caps.now().getTime()),
    audit: new AuditLog(caps),
    ...security,
    events,
    autoExport,
    webhooks,
    outbound,
    importSources,
    catalog,
    syncJobs,
    mirrorPackages,
    ...(config.loadSql ? { extraRecords: sqliteRecords(config.loadSql, { maxMetadataBytes: config.sqliteMaxMetadataBytes }) } : {}),
    settings,
    metrics,
  };
  return { core, bootstrapToken, signingKeyGenerated };
}

import type { Lockout } from '../auth/lockout.ts';
import type { RateLimiter, SignInRateLimiter } from '../auth/rate-limit.ts';
import type { Tokens } from '../auth/tokens.ts';
import type { Users } from '../auth/users.ts';
import type { Capabilities } from '../capabilities.ts';
import type { Distribution, Distributions } from '../config/distributions.ts';
import type { Settings } from '../config/settings.ts';
import type { AutoExport } from '../export/auto-export.ts';
import type { Catalog } from '../import/catalog.ts';
import type { ImportSources } from '../import/sources.ts';
import type { SyncJobs } from '../import/sync-jobs.ts';
import type { RepodMetrics } from '../metrics/repod-metrics.ts';
import type { MirrorPackages } from '../mirror/package-fetcher.ts';
import type { OutboundClient } from '../outbound/outbound-client.ts';
import type { Renderer } from '../render/render-cache.ts';
import type { ExtraRecordsFactory } from '../render/rpm-files.ts';
import type { GateHooks } from '../revisions/publish.ts';
import type { ChangeCommitter } from '../revisions/publish-group.ts';
import type { Repository } from '../revisions/repository.ts';
import type { StoredAdvisoryFeed } from '../security/advisories/feed-store.ts';
import type { AuditLog } from '../security/audit-log.ts';
import type { ProvidesIndex } from '../security/dependencies/provides-index.ts';
import type { EventSink } from '../security/events.ts';
import type { PackageIdentities } from '../security/package-identities.ts';
import type { ReviewQueue } from '../security/review/review-queue.ts';
import type { Webhooks } from '../security/webhooks/webhooks.ts';
import type { Keyring } from '../signing/keyring.ts';
import type { ImmutableBytesCache } from '../storage/immutable-bytes-cache.ts';
import type { DistributionStore } from './distribution-store.ts';

/** The services every shell (HTTP routes, CLI) works through; built by a runtime's composition root. */
export interface Core {
  caps: Capabilities;
  /** The distributions served now (synchronous lookups; `refresh()` picks up other servers' changes). */
  distributions: Distributions;
  /** Where the distributions are kept, and how they are created, edited and retired. */
  distributionStore: DistributionStore;
  repository: Repository;
  /** Publishes uploads, builds and removals, concurrent ones of a distribution together. */
  committer: ChangeCommitter;
  renderer: Renderer;
  /** Hot immutable files in memory: rendered metadata by sha256 and small packages by pool key. */
  hotFiles: ImmutableBytesCache;
  keyring: Keyring;
  tokens: Tokens;
  users: Users;
  /** Locks an account or a client address after repeated failed sign-ins (state in the store). */
  lockout: Lockout;
  /** Sign-in attempts per client address per minute (in memory, per process). */
  signInLimiter: SignInRateLimiter;
  /** API requests per principal per minute, by role (in memory, per process). */
  apiLimiter: RateLimiter;
  /** Every write: who, what, when and from where; append-only in the store. */
  audit: AuditLog;
  settings: Settings;
  /** The security gate every change passes (antivirus, advisories, dependencies) and where it holds packages. */
  gate: GateHooks;
  review: ReviewQueue;
  advisories: StoredAdvisoryFeed;
  identities: PackageIdentities;
  /** What a distribution (and its base distributions) provides now, for the dependency closure of imports. */
  installedProviders(distName: string): Promise<ProvidesIndex[]>;
  /** The OSV ecosystem a distribution is matched in (its setting, or a default from its name). */
  ecosystemOf(dist: Distribution): string | undefined;
  /** Where published, pending_review, decided... events go (webhooks). */
  events: EventSink;
  /** Re-exports distributions set to (`export` in their configuration) after each change. */
  autoExport: AutoExport;
  webhooks: Webhooks;
  /** Every request repod itself sends (webhooks, imports) goes through this one SSRF-guarded client. */
  outbound: OutboundClient;
  /** Upstream repositories to import from (in the store). */
  importSources: ImportSources;
  /** What the synced upstream indexes list, searchable; per process, re-read when a sync commits. */
  catalog: Catalog;
  /** Index syncs as jobs, one per source at a time fleet-wide. */
  syncJobs: SyncJobs;
  /** Packages of on-demand mirror distributions, fetched from their upstream on first request. */
  mirrorPackages: MirrorPackages;
  /** What this process measured (requests, publishes, ingest, renders, store operations): /metrics. */
  metrics: RepodMetrics;
  /** Builds the sqlite databases of RPM views, where the runtime can (sql.js). */
  extraRecords?: ExtraRecordsFactory;
}

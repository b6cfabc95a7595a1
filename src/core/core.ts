import type { Tokens } from '../auth/tokens.ts';
import type { Users } from '../auth/users.ts';
import type { Capabilities } from '../capabilities.ts';
import type { Distributions } from '../config/distributions.ts';
import type { Settings } from '../config/settings.ts';
import type { Renderer } from '../render/render-cache.ts';
import type { ExtraRecordsFactory } from '../render/rpm-files.ts';
import type { ChangeCommitter } from '../revisions/publish-group.ts';
import type { Repository } from '../revisions/repository.ts';
import type { Keyring } from '../signing/keyring.ts';
import type { ImmutableBytesCache } from '../storage/immutable-bytes-cache.ts';

/** The services every shell (HTTP routes, CLI) works through; built by a runtime's composition root. */
export interface Core {
  caps: Capabilities;
  distributions: Distributions;
  repository: Repository;
  /** Publishes uploads, builds and removals, concurrent ones of a distribution together. */
  committer: ChangeCommitter;
  renderer: Renderer;
  /** Hot immutable files in memory: rendered metadata by sha256 and small packages by pool key. */
  hotFiles: ImmutableBytesCache;
  keyring: Keyring;
  tokens: Tokens;
  users: Users;
  settings: Settings;
  /** Builds the sqlite databases of RPM views, where the runtime can (sql.js). */
  extraRecords?: ExtraRecordsFactory;
}

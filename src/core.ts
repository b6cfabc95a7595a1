import type { Tokens } from './auth/tokens.ts';
import type { Users } from './auth/users.ts';
import type { Distributions } from './config/distributions.ts';
import type { Renderer } from './revisions/renderer.ts';
import type { ExtraRecordsFactory } from './revisions/rpm-views.ts';
import type { Repository } from './revisions/repository.ts';
import type { Capabilities } from './runtime/capabilities.ts';
import type { Keyring } from './signing/keyring.ts';

/** The services every shell (HTTP routes, CLI) works through; built by a runtime's composition root. */
export interface Core {
  caps: Capabilities;
  distributions: Distributions;
  repository: Repository;
  renderer: Renderer;
  keyring: Keyring;
  tokens: Tokens;
  users: Users;
  settings: Settings;
  /** Builds the sqlite databases of RPM views, where the runtime can (sql.js). */
  extraRecords?: ExtraRecordsFactory;
}

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

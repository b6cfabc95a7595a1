import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { PreconditionFailedError, RepodError } from '../errors.ts';
import { getJson, putJson } from '../storage/objects.ts';
import { isRole, type Principal, type Role } from './roles.ts';
import type { Users } from './users.ts';

const tokenId = (hash: string) => hash.slice(0, 16);

/**
 * Bearer tokens. Only a token's sha256 is stored (auth/tokens/<hash>.json), so a leaked bucket
 * leaks no usable credential; the token itself is shown once. Comparisons of secrets go through
 * their hashes and a constant-time equality, so timing says nothing about how much matched.
 */
export interface TokenRecord {
  format: 1;
  role: Role;
  subject: string;
  /** A label for long-lived automation tokens (shown by the token list). */
  name?: string;
  created: string;
  /** ISO time after which the token is refused; absent for long-lived automation tokens. */
  expires?: string;
  /** A sign-in's access token: the sha256 of the refresh token issued with it (logout revokes both). */
  refresh?: string;
}

/**
 * `auth/refresh/<sha256 of the refresh token>.json`: what a refresh token may renew. Kept apart
 * from access tokens so nothing that verifies access tokens (an older server included) can take a
 * refresh token for one. A used refresh token stays, marked `revoked`, until it expires: seeing
 * it again means it leaked (its owner already rotated it), and the session it started is ended.
 */
export interface RefreshRecord {
  format: 1;
  role: Role;
  subject: string;
  created: string;
  expires: string;
  /** sha256 of the access token issued with it. */
  access: string;
  /** Set when it was used (rotated) or its session ended. */
  revoked?: string;
  /** sha256 of the refresh token that replaced it. */
  replacedBy?: string;
}

/**
 * Access tokens from `POST /api/v1/auth/token` live 24 hours, as Repod's do: CI scripts written
 * for Repod sign in once at the start of a job and upload at its end, hours later, and never
 * refresh. Clients that do refresh may be given shorter ones (accessTtlSeconds); logout and
 * rotation end a token before its time either way.
 */
export const DEFAULT_ACCESS_TTL_SECONDS = 24 * 3600;
export const DEFAULT_REFRESH_TTL_SECONDS = 30 * 24 * 3600;

/**
 * How long a verified token is believed without reading the store again. A token revoked on this
 * server is forgotten at once; other servers of a fleet stop accepting it within this time.
 */
const CACHE_MS = 30_000;
/** Sessions a reused refresh token's chain is followed through before giving up. */
const MAX_CHAIN = 1000;

export class Tokens {
  private readonly cache = new Map<string, { at: number; principal: Principal | null; expires: number }>();
  private adminTokenHash: string | null = null;
  private adminPasswordHash: string | null = null;
  private accessTtlSeconds = DEFAULT_ACCESS_TTL_SECONDS;
  private refreshTtlSeconds = DEFAULT_REFRESH_TTL_SECONDS;

  constructor(
    private readonly caps: Capabilities,
    private readonly users?: Users,
  ) {}

  /** REPOD_ADMIN_TOKEN and REPOD_ADMIN_PASSWORD, kept only as hashes; the lifetimes of sign-in tokens. */
  async configure(options: { adminToken?: string; adminPassword?: string; accessTtlSeconds?: number; refreshTtlSeconds?: number }): Promise<void> {
    this.adminTokenHash = options.adminToken ? await this.hash(options.adminToken) : null;
    this.adminPasswordHash = options.adminPassword ? await this.hash(options.adminPassword) : null;
    if (options.accessTtlSeconds !== undefined) this.accessTtlSeconds = positiveSeconds(options.accessTtlSeconds, 'accessTtlSeconds');
    if (options.refreshTtlSeconds !== undefined) this.refreshTtlSeconds = positiveSeconds(options.refreshTtlSeconds, 'refreshTtlSeconds');
  }

  /**
   * On a fresh store with no REPOD_ADMIN_TOKEN, mints one admin token and returns it (to be printed
   * once). Later starts, and other servers of the fleet, return null.
   */
  async bootstrap(): Promise<string | null> {
    if (this.adminTokenHash) return null;
    try {
      await putJson(this.caps.store, layout.bootstrapMarker(), { format: 1, created: this.caps.now().toISOString() }, { ifNoneMatch: '*' });
    } catch (error) {
      if (error instanceof PreconditionFailedError) return null;
      throw error;
    }
    return (await this.issue({ subject: 'admin (bootstrap)', role: 'admin' })).token;
  }

  async issue(options: { subject: string; role: Role; ttlSeconds?: number; name?: string; refresh?: string }): Promise<{ token: string; record: TokenRecord; id: string }> {
    const token = `rpd_${this.caps.randomId()}${this.caps.randomId()}`;
    const now = this.caps.now();
    const record: TokenRecord = {
      format: 1,
      role: options.role,
      subject: options.subject,
      ...(options.name ? { name: options.name } : {}),
      created: now.toISOString(),
      ...(options.ttlSeconds ? { expires: new Date(now.getTime() + options.ttlSeconds * 1000).toISOString() } : {}),
      ...(options.refresh ? { refresh: options.refresh } : {}),
    };
    const hash = await this.hash(token);
    await putJson(this.caps.store, layout.token(hash), record, { ifNoneMatch: '*' });
    return { token, record, id: tokenId(hash) };
  }

  /** Long-lived tokens (and unexpired logins), by id: the first 16 hex digits of the token's hash. */
  async list(): Promise<Array<TokenRecord & { id: string }>> {
    const out: Array<TokenRecord & { id: string }> = [];
    for await (const e of this.caps.store.list(layout.tokensPrefix())) {
      const hash = e.key.slice(layout.tokensPrefix().length).replace(/\.json$/, '');
      const record = (await getJson<TokenRecord>(this.caps.store, e.key))?.value;
      if (record && (!record.expires || Date.parse(record.expires) > this.caps.now().getTime())) {
        const { refresh: _refresh, ...visible } = record;
        out.push({ ...visible, id: tokenId(hash) });
      }
    }
    return out;
  }

  /**
   * Revokes a token by id, and the refresh token of its sign-in, so the session cannot be renewed.
   * This server forgets it at once; others stop accepting it within their cache time (30 s).
   */
  async revoke(id: string): Promise<boolean> {
    if (!/^[0-9a-f]{16}$/.test(id)) return false;
    for await (const e of this.caps.store.list(layout.tokensPrefix() + id)) {
      const hash = e.key.slice(layout.tokensPrefix().length).replace(/\.json$/, '');
      await this.endSession(hash);
      return true;
    }
    return false;
  }

  /** The principal a bearer token stands for, or null. */
  async verify(token: string): Promise<Principal | null> {
    if (!token || token.length > 512) return null;
    const hash = await this.hash(token);
    if (this.adminTokenHash && constantTimeEqual(hash, this.adminTokenHash)) return { subject: 'admin', role: 'admin' };
    const now = this.caps.now().getTime();
    const cached = this.cache.get(hash);
    if (cached && Date.now() - cached.at < CACHE_MS) return cached.expires > now ? cached.principal : null;
    const record = (await getJson<TokenRecord>(this.caps.store, layout.token(hash)))?.value;
    let principal: Principal | null = null;
    const expires = record?.expires ? Date.parse(record.expires) : Number.POSITIVE_INFINITY;
    if (record && isRole(record.role) && expires > now) principal = { subject: record.subject, role: record.role };
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(hash, { at: Date.now(), principal, expires });
    return principal;
  }

  /** The role of a user's credentials: the built-in admin (REPOD_ADMIN_PASSWORD) or a stored user. */
  async authenticate(username: string, password: string): Promise<Principal | null> {
    if (username === 'admin' && this.adminPasswordHash !== null) {
      return constantTimeEqual(await this.hash(password), this.adminPasswordHash) ? { subject: 'admin', role: 'admin' } : null;
    }
    return this.users ? this.users.verify(username, password) : null;
  }

  /** A user's credentials for a session (no lockout: `POST /api/v1/auth/token` signs in through http/auth.ts). */
  async login(username: string, password: string): Promise<Session> {
    const principal = await this.authenticate(username, password);
    if (!principal) throw new RepodError('invalid_credentials', 'invalid username or password', { status: 401 });
    return this.startSession(principal);
  }

  /** An access token and the refresh token that renews it, for a principal that just signed in. */
  async startSession(principal: Principal): Promise<Session> {
    const refreshToken = newRefreshToken(this.caps);
    return this.writeSession(principal, refreshToken, await this.hash(refreshToken));
  }

  /**
   * `POST /api/v1/auth/refresh`: a new access token and a new refresh token for a refresh token,
   * which is used up (rotation). The session's previous access token ends too. A refresh token
   * seen again after its rotation was stolen or replayed: the session it belongs to is ended,
   * whoever holds its newest tokens, and both sides must sign in again.
   */
  async refresh(refreshToken: string): Promise<Session> {
    const invalid = () => new RepodError('invalid_refresh_token', 'the refresh token is unknown, expired or revoked: sign in again', { status: 401 });
    if (!refreshToken || refreshToken.length > 512) throw invalid();
    const hash = await this.hash(refreshToken);
    const key = layout.refreshToken(hash);
    for (let attempt = 0; ; attempt++) {
      const found = await getJson<RefreshRecord>(this.caps.store, key);
      if (!found) throw invalid();
      const record = found.value;
      const now = this.caps.now();
      if (Date.parse(record.expires) <= now.getTime()) {
        await this.caps.store.delete(key);
        throw invalid();
      }
      if (record.revoked) {
        if (record.replacedBy) await this.endChain(record.replacedBy);
        throw new RepodError('refresh_token_reused', 'this refresh token was already used: the session is ended, sign in again', { status: 401 });
      }
      const principal = await this.currentPrincipal(record.subject);
      if (!principal) {
        await this.endSession(record.access);
        throw new RepodError('invalid_refresh_token', `${record.subject} can no longer sign in: sign in again`, { status: 401 });
      }
      const next = newRefreshToken(this.caps);
      const nextHash = await this.hash(next);
      try {
        // Used up before the new tokens exist: of two racing refreshes with one token, one wins.
        await putJson(this.caps.store, key, { ...record, revoked: now.toISOString(), replacedBy: nextHash }, { ifMatch: found.etag });
      } catch (error) {
        if (error instanceof PreconditionFailedError && attempt < 3) continue;
        throw error;
      }
      await this.forgetAccess(record.access);
      return this.writeSession(principal, next, nextHash);
    }
  }

  /**
   * `POST /api/v1/auth/logout`: ends the session of a bearer token (the token and its refresh
   * token). REPOD_ADMIN_TOKEN is configuration, not a session: it cannot be logged out.
   */
  async logout(token: string): Promise<{ id: string }> {
    const hash = token && token.length <= 512 ? await this.hash(token) : '';
    if (this.adminTokenHash && constantTimeEqual(hash, this.adminTokenHash)) {
      throw new RepodError('token_not_revocable', 'REPOD_ADMIN_TOKEN is set by the operator and cannot be logged out', { status: 400 });
    }
    if (!hash || !(await this.caps.store.head(layout.token(hash)))) throw new RepodError('unauthorized', 'invalid or expired token', { status: 401 });
    await this.endSession(hash);
    return { id: tokenId(hash) };
  }

  private async writeSession(principal: Principal, refreshToken: string, refreshHash: string): Promise<Session> {
    const { token } = await this.issue({ subject: principal.subject, role: principal.role, ttlSeconds: this.accessTtlSeconds, refresh: refreshHash });
    const now = this.caps.now();
    const record: RefreshRecord = {
      format: 1,
      role: principal.role,
      subject: principal.subject,
      created: now.toISOString(),
      expires: new Date(now.getTime() + this.refreshTtlSeconds * 1000).toISOString(),
      access: await this.hash(token),
    };
    await putJson(this.caps.store, layout.refreshToken(refreshHash), record, { ifNoneMatch: '*' });
    return { token, expiresIn: this.accessTtlSeconds, refreshToken, refreshExpiresIn: this.refreshTtlSeconds };
  }

  /** Deletes an access token and its refresh token, and forgets the access token here at once. */
  private async endSession(accessHash: string): Promise<void> {
    const record = (await getJson<TokenRecord>(this.caps.store, layout.token(accessHash)))?.value;
    await this.forgetAccess(accessHash);
    if (record?.refresh) await this.caps.store.delete(layout.refreshToken(record.refresh));
  }

  private async forgetAccess(accessHash: string): Promise<void> {
    await this.caps.store.delete(layout.token(accessHash));
    this.cache.delete(accessHash);
  }

  /** Ends the sessions a reused refresh token led to: every later refresh token and its access token. */
  private async endChain(refreshHash: string): Promise<void> {
    let hash: string | undefined = refreshHash;
    for (let i = 0; hash && i < MAX_CHAIN; i++) {
      const key = layout.refreshToken(hash);
      const record = (await getJson<RefreshRecord>(this.caps.store, key))?.value;
      if (!record) return;
      await this.forgetAccess(record.access);
      await this.caps.store.delete(key);
      hash = record.replacedBy;
    }
  }

  /** Who a refresh may renew now: the built-in admin while REPOD_ADMIN_PASSWORD is set, or a user that still exists, with its current role. */
  private async currentPrincipal(subject: string): Promise<Principal | null> {
    if (subject === 'admin') return this.adminPasswordHash ? { subject: 'admin', role: 'admin' } : null;
    if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(subject)) return null;
    const user = (await getJson<{ role: unknown }>(this.caps.store, layout.user(subject)))?.value;
    return user && isRole(user.role) ? { subject, role: user.role } : null;
  }

  private async hash(secret: string): Promise<string> {
    const h = this.caps.hash('sha256');
    h.update(new TextEncoder().encode(secret));
    return h.digest();
  }
}

/** What a sign-in or a refresh hands out. */
export interface Session {
  token: string;
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
}

function newRefreshToken(caps: Capabilities): string {
  return `rpr_${caps.randomId()}${caps.randomId()}`;
}

function positiveSeconds(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new RepodError('invalid_setting', `${name} must be a positive number of seconds`, { status: 500 });
  return value;
}

/** Equality of two same-length hex digests whose duration does not depend on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

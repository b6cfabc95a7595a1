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
}

const CACHE_MS = 30_000;

export class Tokens {
  private readonly cache = new Map<string, { at: number; principal: Principal | null }>();
  private adminTokenHash: string | null = null;
  private adminPasswordHash: string | null = null;

  constructor(
    private readonly caps: Capabilities,
    private readonly users?: Users,
  ) {}

  /** REPOD_ADMIN_TOKEN and REPOD_ADMIN_PASSWORD, kept only as hashes. */
  async configure(options: { adminToken?: string; adminPassword?: string }): Promise<void> {
    this.adminTokenHash = options.adminToken ? await this.hash(options.adminToken) : null;
    this.adminPasswordHash = options.adminPassword ? await this.hash(options.adminPassword) : null;
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

  async issue(options: { subject: string; role: Role; ttlSeconds?: number; name?: string }): Promise<{ token: string; record: TokenRecord; id: string }> {
    const token = `rpd_${this.caps.randomId()}${this.caps.randomId()}`;
    const now = this.caps.now();
    const record: TokenRecord = {
      format: 1,
      role: options.role,
      subject: options.subject,
      ...(options.name ? { name: options.name } : {}),
      created: now.toISOString(),
      ...(options.ttlSeconds ? { expires: new Date(now.getTime() + options.ttlSeconds * 1000).toISOString() } : {}),
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
      if (record && (!record.expires || Date.parse(record.expires) > this.caps.now().getTime())) out.push({ ...record, id: tokenId(hash) });
    }
    return out;
  }

  /** Revokes a token by id. Other servers stop accepting it within their cache time (30 s). */
  async revoke(id: string): Promise<boolean> {
    if (!/^[0-9a-f]{16}$/.test(id)) return false;
    for await (const e of this.caps.store.list(layout.tokensPrefix() + id)) {
      await this.caps.store.delete(e.key);
      this.cache.clear();
      return true;
    }
    return false;
  }

  /** The principal a bearer token stands for, or null. */
  async verify(token: string): Promise<Principal | null> {
    if (!token || token.length > 512) return null;
    const hash = await this.hash(token);
    if (this.adminTokenHash && constantTimeEqual(hash, this.adminTokenHash)) return { subject: 'admin', role: 'admin' };
    const cached = this.cache.get(hash);
    if (cached && Date.now() - cached.at < CACHE_MS) return cached.principal;
    const record = (await getJson<TokenRecord>(this.caps.store, layout.token(hash)))?.value;
    let principal: Principal | null = null;
    if (record && isRole(record.role) && (!record.expires || Date.parse(record.expires) > this.caps.now().getTime())) {
      principal = { subject: record.subject, role: record.role };
    }
    this.cache.set(hash, { at: Date.now(), principal });
    return principal;
  }

  /** The role of a user's credentials: the built-in admin (REPOD_ADMIN_PASSWORD) or a stored user. */
  async authenticate(username: string, password: string): Promise<Principal | null> {
    if (username === 'admin' && this.adminPasswordHash !== null) {
      return constantTimeEqual(await this.hash(password), this.adminPasswordHash) ? { subject: 'admin', role: 'admin' } : null;
    }
    return this.users ? this.users.verify(username, password) : null;
  }

  /** `POST /api/v1/auth/token`: a day-long token for a user's credentials. */
  async login(username: string, password: string): Promise<{ token: string; expiresIn: number }> {
    const principal = await this.authenticate(username, password);
    if (!principal) throw new RepodError('invalid_credentials', 'invalid username or password', { status: 401 });
    const ttlSeconds = 24 * 3600;
    const { token } = await this.issue({ subject: principal.subject, role: principal.role, ttlSeconds });
    return { token, expiresIn: ttlSeconds };
  }

  private async hash(secret: string): Promise<string> {
    const h = this.caps.hash('sha256');
    h.update(new TextEncoder().encode(secret));
    return h.digest();
  }
}

/** Equality of two same-length hex digests whose duration does not depend on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

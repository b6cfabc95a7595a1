import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { PreconditionFailedError } from '../errors.ts';
import { getJson, putJson } from '../storage/objects.ts';

/**
 * Locks sign-in after repeated failures, per account and per client address, the way Repod does
 * (5 failures within 15 minutes lock the account for 15 minutes). The state is in the store, so
 * every server of a fleet sees the same counts and the same lock: one small JSON object per
 * account and per address, named by the sha256 of the name (no user name or address is stored in
 * clear), updated by compare-and-swap so racing failures on several servers are all counted.
 *
 * While locked, sign-in is refused before the password is even looked at: the right password
 * is refused too, and a guesser learns nothing from the answer.
 */
export interface LockoutOptions {
  /** Failures of one account within `windowSeconds` that lock it (default 5). */
  accountFailures?: number;
  /** Failures from one address, whatever the accounts, that lock the address (default 20). */
  addressFailures?: number;
  /** How far back failures count (default 900 s). */
  windowSeconds?: number;
  /** How long a lock lasts (default 900 s). */
  lockSeconds?: number;
}

/** `auth/lockout/<scope>/<sha256>.json`: the failures still in the window, and a lock's end. */
export interface LockoutRecord {
  format: 1;
  /** ISO times of recent failures, oldest first (at most the threshold's worth). */
  failures: string[];
  /** ISO time until which sign-in is refused. */
  lockedUntil?: string;
}

export type LockoutScope = 'account' | 'address';
export type LockoutState = { locked: false } | { locked: true; retryAfterSeconds: number; scope: LockoutScope };

/**
 * A burst of failed sign-ins for one account (an attack from many addresses) makes every one of
 * them race for the same record, and each round has one winner: the tries must outlast the burst,
 * with a backoff that grows so the losers spread out instead of colliding again.
 */
const MAX_CAS_TRIES = 64;
const MAX_BACKOFF_MS = 100;

export class Lockout {
  private readonly accountFailures: number;
  private readonly addressFailures: number;
  private readonly windowMs: number;
  private readonly lockMs: number;

  constructor(
    private readonly caps: Capabilities,
    options: LockoutOptions = {},
  ) {
    this.accountFailures = options.accountFailures ?? 5;
    this.addressFailures = options.addressFailures ?? 20;
    this.windowMs = (options.windowSeconds ?? 900) * 1000;
    this.lockMs = (options.lockSeconds ?? 900) * 1000;
  }

  /** Whether sign-in to `account` from `address` is refused now, and for how long. */
  async check(account: string, address: string): Promise<LockoutState> {
    const now = this.caps.now().getTime();
    const [byAccount, byAddress] = await Promise.all([this.read('account', account), this.read('address', address)]);
    const states: LockoutState[] = [];
    for (const [scope, found] of [
      ['account', byAccount],
      ['address', byAddress],
    ] as const) {
      const until = found?.value.lockedUntil ? Date.parse(found.value.lockedUntil) : Number.NaN;
      if (until > now) states.push({ locked: true, scope, retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)) });
    }
    if (states.length === 0) return { locked: false };
    // Both locked: the caller must wait for the later one.
    return states.reduce((a, b) => (a.locked && b.locked && b.retryAfterSeconds > a.retryAfterSeconds ? b : a));
  }

  /** Counts one failed sign-in against the account and the address; locks either at its threshold. */
  async failure(account: string, address: string): Promise<void> {
    await Promise.all([this.count('account', account, this.accountFailures), this.count('address', address, this.addressFailures)]);
  }

  /** A successful sign-in forgets the account's failures (the address keeps its count). */
  async success(account: string): Promise<void> {
    const key = await this.key('account', account);
    // Reading first keeps the common case (no failures on record) to one GET and no write.
    if (await this.caps.store.head(key)) await this.caps.store.delete(key);
  }

  /**
   * Deletes records with no lock and no failure left in the window: names an attacker made up
   * would otherwise stay in the store forever. For garbage collection; safe while others write
   * (a record deleted under a racing failure is recreated by its create-only retry).
   */
  async sweep(): Promise<number> {
    const now = this.caps.now().getTime();
    let deleted = 0;
    for await (const e of this.caps.store.list(layout.lockoutPrefix())) {
      const found = await getJson<LockoutRecord>(this.caps.store, e.key).catch(() => null);
      if (!found) continue;
      const record = prune(found.value, now, this.windowMs);
      if (record.failures.length === 0 && !(record.lockedUntil && Date.parse(record.lockedUntil) > now)) {
        await this.caps.store.delete(e.key);
        deleted++;
      }
    }
    return deleted;
  }

  private async count(scope: LockoutScope, name: string, threshold: number): Promise<void> {
    const key = await this.key(scope, name);
    for (let attempt = 0; ; attempt++) {
      const found = await getJson<LockoutRecord>(this.caps.store, key);
      const now = this.caps.now().getTime();
      const record = prune(found?.value, now, this.windowMs);
      if (record.lockedUntil && Date.parse(record.lockedUntil) > now) return; // already locked: the lock does not grow
      record.failures.push(new Date(now).toISOString());
      if (record.failures.length >= threshold) {
        record.lockedUntil = new Date(now + this.lockMs).toISOString();
        // The lock replaces the count: once it ends, the next lock takes a full threshold again.
        record.failures = [];
      } else {
        delete record.lockedUntil;
      }
      try {
        await putJson(this.caps.store, key, record, found ? { ifMatch: found.etag } : { ifNoneMatch: '*' });
        return;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError) || attempt + 1 >= MAX_CAS_TRIES) throw error;
        // Another server counted a failure at the same moment: read its count and add ours.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(MAX_BACKOFF_MS, 2 ** attempt)));
      }
    }
  }

  private async read(scope: LockoutScope, name: string) {
    return getJson<LockoutRecord>(this.caps.store, await this.key(scope, name));
  }

  private async key(scope: LockoutScope, name: string): Promise<string> {
    const h = this.caps.hash('sha256');
    h.update(new TextEncoder().encode(name));
    return layout.lockout(scope, await h.digest());
  }
}

/** The record without failures older than the window and without a lock that ended. */
function prune(record: LockoutRecord | undefined, now: number, windowMs: number): LockoutRecord {
  const failures = (record?.failures ?? []).filter((t) => now - Date.parse(t) < windowMs);
  const out: LockoutRecord = { format: 1, failures };
  if (record?.lockedUntil && Date.parse(record.lockedUntil) > now) out.lockedUntil = record.lockedUntil;
  return out;
}

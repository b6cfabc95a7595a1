import { RepodError } from '../errors.ts';
import { isRole, ROLES, type Role } from './roles.ts';

/**
 * Request budgets kept in this process's memory: a fixed window per key (a Map lookup and two
 * additions per request, nothing on the store). Each server of a fleet counts alone, so a fleet
 * of N servers behind a balancer lets through up to N times a limit; that is the price of a hot
 * path with no shared I/O, and the limits are there to stop floods, not to meter.
 */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window restarts (what Retry-After and X-RateLimit-Reset carry). */
  resetSeconds: number;
}

interface Window {
  start: number;
  count: number;
}

/** Past this many keys, windows that ended are swept before a new key is added. */
const SWEEP_AT = 10_000;

export class WindowCounter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {
    if (!(windowMs > 0)) throw new RangeError('a rate window must be longer than 0 ms');
  }

  take(key: string, limit: number): RateDecision {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || now - window.start >= this.windowMs) {
      if (!window && this.windows.size >= SWEEP_AT) this.sweep(now);
      window = { start: now, count: 0 };
      this.windows.set(key, window);
    }
    const resetSeconds = Math.max(1, Math.ceil((window.start + this.windowMs - now) / 1000));
    if (window.count >= limit) return { allowed: false, limit, remaining: 0, resetSeconds };
    window.count++;
    return { allowed: true, limit, remaining: limit - window.count, resetSeconds };
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (now - window.start >= this.windowMs) this.windows.delete(key);
  }
}

/**
 * Requests per minute a principal of each role may make on the API. Uploaders are what CI runs
 * as, the role a leaked token most likely has; admins have no limit by default so that an
 * operator's bulk push or migration is never throttled (set `admin=` to limit them too).
 */
export const DEFAULT_RATE_LIMITS: Readonly<Partial<Record<Role, number>>> = { reader: 600, auditor: 600, uploader: 120, maintainer: 600 };

/**
 * REPOD_RATE_LIMITS: `role=number` pairs separated by commas, e.g. `uploader=120,maintainer=600`,
 * requests per window (a minute unless configured otherwise). `off` (or `none`, `unlimited`)
 * lifts a role's limit. Roles not named keep their default; an empty text means the defaults.
 */
export function parseRateLimits(text: string | undefined): Partial<Record<Role, number>> {
  const limits: Partial<Record<Role, number>> = { ...DEFAULT_RATE_LIMITS };
  for (const item of (text ?? '').split(',')) {
    const entry = item.trim();
    if (!entry) continue;
    const m = /^([a-z]+)\s*=\s*(\d{1,9}|off|none|unlimited)$/i.exec(entry);
    const role = m?.[1].toLowerCase();
    if (!m || !isRole(role)) {
      throw new RepodError('invalid_setting', `REPOD_RATE_LIMITS: ${JSON.stringify(entry)} is not role=number (roles: ${ROLES.join(', ')}; number or off)`, {
        status: 500,
      });
    }
    limits[role] = /^\d+$/.test(m[2]) ? Number(m[2]) : Number.POSITIVE_INFINITY;
  }
  return limits;
}

/** Per-principal API budgets by role. A role without a limit is never refused. */
export class RateLimiter {
  private readonly counter: WindowCounter;
  private readonly limits: Partial<Record<Role, number>>;

  constructor(options: { limits: Partial<Record<Role, number>>; windowMs?: number }, now: () => number = Date.now) {
    this.limits = { ...options.limits };
    this.counter = new WindowCounter(options.windowMs ?? 60_000, now);
  }

  /** Whether a role is limited at all (unlimited roles get no X-RateLimit headers). */
  limitOf(role: Role): number {
    return this.limits[role] ?? Number.POSITIVE_INFINITY;
  }

  take(key: string, role: Role): RateDecision {
    const limit = this.limitOf(role);
    if (limit === Number.POSITIVE_INFINITY) return { allowed: true, limit, remaining: limit, resetSeconds: 0 };
    // Keyed by role too: a subject whose role changes starts a budget of its new role.
    return this.counter.take(`${role}\u0000${key}`, limit);
  }
}

/**
 * Sign-in attempts per client address (10 a minute by default, as Repod): every attempt counts,
 * right or wrong, so a guesser spread over many accounts is slowed as much as one on a single
 * account. Per process, like the API limits; the lockout (lockout.ts) is what holds fleet-wide.
 */
export class SignInRateLimiter {
  private readonly counter: WindowCounter;
  private readonly perWindow: number;

  constructor(options: { attempts?: number; windowMs?: number } = {}, now: () => number = Date.now) {
    this.perWindow = options.attempts ?? 10;
    this.counter = new WindowCounter(options.windowMs ?? 60_000, now);
  }

  take(address: string): RateDecision {
    return this.counter.take(address, this.perWindow);
  }
}

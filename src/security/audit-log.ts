import type { Role } from '../auth/roles.ts';
import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { PreconditionFailedError, RepodError } from '../errors.ts';
import { getJson, putJson } from '../storage/objects.ts';

/**
 * The audit log: who changed what, when, from where, and how it ended. Append-only in the store:
 * every event is its own create-only object under a key that sorts by time, so servers of a fleet
 * writing at the same moment never overwrite each other and nothing is ever rewritten. Queries
 * list one day's prefix at a time from `since`, never the whole log.
 *
 *     audit/<yyyy>/<mm>/<dd>/<yyyymmddThhmmss.sssZ>-<random>.json
 */
export interface AuditEvent {
  /** `<time>-<random>`: the object's name, unique, sortable by time; also a paging cursor. */
  id: string;
  /** ISO time the event was recorded (the request's end). */
  time: string;
  /** The principal's subject, the user name a sign-in tried, or `anonymous`. */
  actor: string;
  /** The principal's role, when the request authenticated. */
  role?: Role;
  /** Method and route, e.g. `POST /api/v1/distributions/:dist/rollback`. */
  action: string;
  /** The request path as sent, e.g. `/api/v1/distributions/rocky9/rollback`. */
  path?: string;
  /** What the action was about, when known: a distribution, a package, a token id. */
  target?: string;
  /** The HTTP status the request was answered with. */
  status: number;
  /** The client address (see http/client-address.ts). */
  address: string;
}

export interface AuditQuery {
  /** ISO time (or date): events at or after it. */
  since?: string;
  /** ISO time (or date): events before it. */
  until?: string;
  /** Exact actor. */
  actor?: string;
  /** Prefix of the action: `POST`, `POST /api/v1/upload`, `DELETE /api/v1/tokens`. */
  action?: string;
  /** Events per page: 1 to 1000, default 100. */
  limit?: number;
  /** The `next` of the previous page. */
  cursor?: string;
  /** `desc` (default): newest first; `asc`: oldest first, for exports that follow the log. */
  order?: 'asc' | 'desc';
}

const PREFIX = 'audit/';
const ID = /^(\d{4})(\d{2})(\d{2})T\d{6}\.\d{3}Z-[A-Za-z0-9_-]{8,64}$/;
const DAY_MS = 86_400_000;
/** Objects read at once while filtering a page. */
const READ_AHEAD = 16;
/** A query walks at most this many days (about 30 years) that hold no event. */
const MAX_DAYS = 11_000;

/** `2025-01-02T03:04:05.678Z` → `20250102T030405.678Z`: fixed width, sorts as time does. */
function compactTime(iso: string): string {
  return iso.replace(/[-:]/g, '');
}

function timeOfId(id: string): number {
  const t = id.slice(0, 20);
  return Date.parse(`${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13)}`);
}

function idOfKey(key: string): string | null {
  const name = key.slice(key.lastIndexOf('/') + 1).replace(/\.json$/, '');
  return ID.test(name) ? name : null;
}

export class AuditLog {
  private readonly pending = new Set<Promise<unknown>>();
  private readonly defer?: (p: Promise<unknown>) => void;

  constructor(
    private readonly caps: Capabilities,
    options: { defer?: (p: Promise<unknown>) => void } = {},
  ) {
    this.defer = options.defer;
  }

  /**
   * Records an event without making the caller wait: the write starts now and finishes on its
   * own. Where a request's work stops with its response (Workers), pass the request's
   * `waitUntil` as `defer`, here or at construction. A failed write is logged with the event,
   * so the process log still has what the store did not take.
   */
  record(event: Omit<AuditEvent, 'time' | 'id'>, options: { defer?: (p: Promise<unknown>) => void } = {}): void {
    const write = this.write(event).catch((error: unknown) => {
      this.caps.log('audit write failed', { ...event, message: error instanceof Error ? error.message : String(error) });
    });
    this.pending.add(write);
    void write.finally(() => this.pending.delete(write));
    (options.defer ?? this.defer)?.(write);
  }

  /** Waits for every write started so far (tests; a graceful shutdown). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private async write(event: Omit<AuditEvent, 'time' | 'id'>): Promise<AuditEvent> {
    for (let attempt = 0; ; attempt++) {
      const time = this.caps.now().toISOString();
      const id = `${compactTime(time)}-${this.caps.randomId()}`;
      const stored: AuditEvent = { id, time, ...clean(event) };
      try {
        await putJson(this.caps.store, layout.auditEvent(id), { format: 1, ...stored }, { ifNoneMatch: '*' });
        return stored;
      } catch (error) {
        // A random id that is already taken: draw another, never overwrite.
        if (!(error instanceof PreconditionFailedError) || attempt >= 3) throw error;
      }
    }
  }

  /**
   * One page of events, newest first unless `order: 'asc'`. Time bounds and the cursor are
   * applied to keys (no read); actor and action need each candidate object read, READ_AHEAD at
   * a time. `next` is set when more events may follow.
   */
  async query(q: AuditQuery): Promise<{ events: AuditEvent[]; next?: string }> {
    const order = q.order ?? 'desc';
    const since = q.since === undefined ? undefined : parseTime(q.since, 'since');
    const until = q.until === undefined ? undefined : parseTime(q.until, 'until');
    const limit = q.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new RepodError('invalid_request', 'limit is a whole number from 1 to 1000', { status: 400 });
    if (q.cursor !== undefined && !ID.test(q.cursor)) throw new RepodError('invalid_request', 'cursor is not one this log handed out', { status: 400 });
    const cursor = q.cursor;

    const oldest = await this.oldestDay();
    if (oldest === null) return { events: [] };
    // The newest day may be tomorrow for a server whose clock runs ahead.
    const newest = Math.floor((this.caps.now().getTime() + DAY_MS) / DAY_MS) * DAY_MS;
    let first = Math.max(oldest, since === undefined ? oldest : Math.floor(since / DAY_MS) * DAY_MS);
    let last = Math.min(newest, until === undefined ? newest : Math.floor(until / DAY_MS) * DAY_MS);
    if (cursor !== undefined) {
      const at = Math.floor(timeOfId(cursor) / DAY_MS) * DAY_MS;
      if (order === 'asc') first = Math.max(first, at);
      else last = Math.min(last, at);
    }

    const wanted = (id: string) => {
      const t = timeOfId(id);
      if (since !== undefined && t < since) return false;
      if (until !== undefined && t >= until) return false;
      if (cursor !== undefined && (order === 'asc' ? id <= cursor : id >= cursor)) return false;
      return true;
    };
    const matches = (e: AuditEvent) => (q.actor === undefined || e.actor === q.actor) && (q.action === undefined || e.action.startsWith(q.action));

    const events: AuditEvent[] = [];
    const days = Math.min(MAX_DAYS, Math.floor((last - first) / DAY_MS) + 1);
    for (let i = 0; i < days; i++) {
      const day = order === 'asc' ? first + i * DAY_MS : last - i * DAY_MS;
      const ids: string[] = [];
      for await (const e of this.caps.store.list(layout.auditDay(day))) {
        const id = idOfKey(e.key);
        if (id && wanted(id)) ids.push(id);
      }
      if (order === 'desc') ids.reverse();
      for (let at = 0; at < ids.length; at += READ_AHEAD) {
        const batch = await Promise.all(ids.slice(at, at + READ_AHEAD).map((id) => this.read(id)));
        for (const e of batch) {
          if (!e || !matches(e)) continue;
          if (events.length === limit) return { events, next: events[events.length - 1].id };
          events.push(e);
        }
      }
    }
    return { events };
  }

  private async read(id: string): Promise<AuditEvent | null> {
    const found = await getJson<AuditEvent & { format?: number }>(this.caps.store, layout.auditEvent(id));
    if (!found) return null;
    const { format: _format, ...event } = found.value;
    return event;
  }

  /** The start (UTC midnight) of the first day with an event: the log's first key says it. */
  private async oldestDay(): Promise<number | null> {
    for await (const e of this.caps.store.list(PREFIX)) {
      const id = idOfKey(e.key);
      if (id) return Math.floor(timeOfId(id) / DAY_MS) * DAY_MS;
    }
    return null;
  }
}

function parseTime(text: string, name: string): number {
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new RepodError('invalid_request', `${name} must be an ISO time such as 2025-01-31T12:00:00Z or a date such as 2025-01-31`, { status: 400 });
  return t;
}

/** Only the fields of an event, bounded, whatever the caller passed. */
function clean(event: Omit<AuditEvent, 'time' | 'id'>): Omit<AuditEvent, 'time' | 'id'> {
  const text = (s: string) => s.slice(0, 512);
  return {
    actor: text(event.actor),
    ...(event.role ? { role: event.role } : {}),
    action: text(event.action),
    ...(event.path ? { path: text(event.path) } : {}),
    ...(event.target ? { target: text(event.target) } : {}),
    status: event.status,
    address: text(event.address),
  };
}

import { layout } from '../../bucket/layout.ts';
import type { Capabilities } from '../../capabilities.ts';
import { RepodError } from '../../errors.ts';
import { type OutboundClient, OutboundRefusedError } from '../../outbound/outbound-client.ts';
import { getJson, putJson } from '../../storage/objects.ts';
import { type EventFilter, type EventSink, isEventFilter, type RepodEvent, subscribes } from './events.ts';
import { signatureHeader } from './signature.ts';

/** A webhook as stored. The secret never leaves the server except as signatures. */
export interface WebhookRecord {
  format: 1;
  id: string;
  url: string;
  events: EventFilter[];
  secret: string;
  created: string;
  createdBy?: string;
}

/** A webhook as shown: everything but the secret. */
export type WebhookView = Omit<WebhookRecord, 'format' | 'secret'>;

export interface DeliveryAttempt {
  attempt: number;
  /** When the attempt started. */
  time: string;
  /** How long it waited after the previous attempt (0 for the first). */
  waitedMs: number;
  durationMs: number;
  /** The receiver's HTTP status, when it answered. */
  status?: number;
  /** Why there was no answer (refused by the outbound guard, timeout, connection failure). */
  error?: string;
}

/** One event sent to one webhook: `pending` while retries remain, then `delivered`, `failed` or `refused`. */
export interface DeliveryRecord {
  format: 1;
  id: string;
  webhook: string;
  event: RepodEvent['type'];
  time: string;
  state: 'pending' | 'delivered' | 'failed' | 'refused';
  attempts: DeliveryAttempt[];
  /** When the next attempt is due, while pending. */
  nextAttempt?: string;
}

export interface WebhookInput {
  url: string;
  events: readonly string[];
  secret: string;
}

export interface WebhooksOptions {
  /** Delay before the second attempt; each later one waits twice as long. Default 1 s. */
  retryBaseMs?: number;
  /** Attempts per delivery, the first included. Default 5. */
  maxAttempts?: number;
  /** How long one attempt may wait for the receiver's answer. Default 10 s. */
  timeoutMs?: number;
  /** Deliveries kept per webhook in the log; older ones are deleted. Default 100. */
  keepDeliveries?: number;
  /**
   * How long the webhooks read for one event serve the next ones. Every published upload emits
   * an event: without this each would list and read the hooks from the store. This server's own
   * changes are seen at once, another server's within this time. Default 1000 ms.
   */
  hooksTtlMs?: number;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_URL = 2048;
const MAX_SECRET = 1024;
/** A receiver's answer is not read; this only bounds what the transport may buffer. */
const MAX_ANSWER_BYTES = 64 * 1024;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Outgoing webhooks: subscriptions in the store, deliveries signed, sent through the SSRF-guarded
 * outbound client (the URL is checked again at every attempt: DNS may have changed since the hook
 * was created), retried with exponential backoff and logged attempt by attempt. `emit` returns at
 * once; the work runs in the background so an unreachable receiver never slows or fails the
 * upload or promotion that caused the event.
 */
export class Webhooks implements EventSink {
  private readonly pending = new Set<Promise<void>>();
  private readonly retryBaseMs: number;
  private readonly maxAttempts: number;
  private readonly timeoutMs: number;
  private readonly keepDeliveries: number;
  private readonly hooksTtlMs: number;
  private hooks: { at: number; records: Promise<WebhookRecord[]> } | null = null;

  constructor(
    private readonly caps: Capabilities,
    private readonly client: OutboundClient,
    options: WebhooksOptions = {},
  ) {
    this.retryBaseMs = options.retryBaseMs ?? 1000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.keepDeliveries = options.keepDeliveries ?? 100;
    this.hooksTtlMs = options.hooksTtlMs ?? 1000;
  }

  /** Validates and stores a webhook. A URL the outbound guard refuses is a 400 naming why. */
  async create(input: WebhookInput, createdBy?: string): Promise<WebhookView> {
    if (typeof input.url !== 'string' || input.url.length > MAX_URL) throw invalid(`url must be an http(s) URL of at most ${MAX_URL} characters`);
    const url = this.client.check(input.url).href;
    if (!Array.isArray(input.events) || input.events.length === 0) throw invalid('events must be a non-empty list of event types, or ["*"]');
    const bad = input.events.filter((e) => !isEventFilter(e));
    if (bad.length > 0) throw invalid(`unknown event type ${JSON.stringify(bad[0])}; known: published, pending_review, rejected, decided, promoted, rolled_back, new_findings, *`);
    if (typeof input.secret !== 'string' || input.secret.length === 0 || input.secret.length > MAX_SECRET) {
      throw invalid(`secret must be a non-empty string of at most ${MAX_SECRET} characters (it keys the X-Repod-Signature-256 HMAC)`);
    }
    const record: WebhookRecord = {
      format: 1,
      id: this.caps.randomId(),
      url,
      events: [...new Set(input.events as EventFilter[])],
      secret: input.secret,
      created: this.caps.now().toISOString(),
      ...(createdBy ? { createdBy } : {}),
    };
    await putJson(this.caps.store, layout.webhook(record.id), record, { ifNoneMatch: '*' });
    this.hooks = null;
    return view(record);
  }

  async list(): Promise<WebhookView[]> {
    return (await this.records()).map(view);
  }

  async get(id: string): Promise<WebhookView | null> {
    const record = await this.record(id);
    return record ? view(record) : null;
  }

  /** Deletes a webhook and its delivery log; pending retries to it stop before their next attempt. */
  async remove(id: string): Promise<boolean> {
    if (!(await this.record(id))) return false;
    await this.caps.store.delete(layout.webhook(id));
    this.hooks = null;
    for await (const e of this.caps.store.list(layout.webhookDeliveriesPrefix(id))) await this.caps.store.delete(e.key);
    return true;
  }

  /** The delivery log of a webhook, newest first; null for an unknown webhook. */
  async deliveries(id: string, limit = 50): Promise<DeliveryRecord[] | null> {
    if (!(await this.record(id))) return null;
    const keys: string[] = [];
    for await (const e of this.caps.store.list(layout.webhookDeliveriesPrefix(id))) keys.push(e.key);
    const out: DeliveryRecord[] = [];
    for (const key of keys.reverse().slice(0, limit)) {
      const record = (await getJson<DeliveryRecord>(this.caps.store, key))?.value;
      if (record) out.push(record);
    }
    return out;
  }

  emit(event: RepodEvent): void {
    this.track(this.dispatch(event, this.caps.now()), 'webhook dispatch failed', { event: event.type });
  }

  /** Resolves when every queued delivery has finished, retries included (tests, graceful stop). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private track(work: Promise<void>, failure: string, fields: Record<string, unknown>): void {
    const tracked: Promise<void> = work
      .catch((error: unknown) => this.caps.log(failure, { ...fields, message: error instanceof Error ? error.message : String(error) }))
      .finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  private async dispatch(event: RepodEvent, time: Date): Promise<void> {
    if (!this.hooks || Date.now() - this.hooks.at >= this.hooksTtlMs) {
      const records = this.records();
      this.hooks = { at: Date.now(), records };
      records.catch(() => {
        if (this.hooks?.records === records) this.hooks = null;
      });
    }
    for (const hook of await this.hooks.records) {
      if (subscribes(hook.events, event.type)) this.track(this.deliver(hook, event, time), 'webhook delivery failed', { webhook: hook.id, event: event.type });
    }
  }

  private async deliver(hook: WebhookRecord, event: RepodEvent, time: Date): Promise<void> {
    const id = deliveryId(time, this.caps.randomId());
    const data = { ...(event.distribution ? { distribution: event.distribution } : {}), ...(event.actor ? { actor: event.actor } : {}), ...event.data };
    const body = new TextEncoder().encode(JSON.stringify({ id, event: event.type, time: time.toISOString(), data }));
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'repod-webhook',
      'x-repod-event': event.type,
      'x-repod-delivery': id,
      'x-repod-signature-256': await signatureHeader(hook.secret, body),
    };
    const record: DeliveryRecord = { format: 1, id, webhook: hook.id, event: event.type, time: time.toISOString(), state: 'pending', attempts: [] };
    let waitedMs = 0;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) {
        waitedMs = this.retryBaseMs * 2 ** (attempt - 2);
        await sleep(waitedMs);
        if (!(await this.caps.store.head(layout.webhook(hook.id)))) return; // deleted meanwhile
      }
      const started = this.caps.now();
      const result: DeliveryAttempt = { attempt, time: started.toISOString(), waitedMs, durationMs: 0 };
      let refused = false;
      try {
        const response = await this.client.fetch(hook.url, { method: 'POST', headers, body, timeoutMs: this.timeoutMs, maxBytes: MAX_ANSWER_BYTES });
        await response.body?.cancel().catch(() => undefined);
        result.status = response.status;
      } catch (error) {
        refused = error instanceof OutboundRefusedError;
        result.error = error instanceof Error ? error.message : String(error);
      }
      result.durationMs = this.caps.now().getTime() - started.getTime();
      record.attempts.push(result);
      const delivered = result.status !== undefined && result.status >= 200 && result.status < 300;
      // A refusal by the guard will not change by waiting: the address or the allow list must.
      record.state = delivered ? 'delivered' : refused ? 'refused' : attempt === this.maxAttempts ? 'failed' : 'pending';
      if (record.state === 'pending') record.nextAttempt = new Date(this.caps.now().getTime() + this.retryBaseMs * 2 ** (attempt - 1)).toISOString();
      else delete record.nextAttempt;
      if (!(await this.caps.store.head(layout.webhook(hook.id)))) return; // no log for a webhook deleted meanwhile
      await putJson(this.caps.store, layout.webhookDelivery(hook.id, id), record);
      if (record.state !== 'pending') break;
    }
    await this.prune(hook.id);
  }

  /** Keeps the newest `keepDeliveries` entries of a webhook's log. */
  private async prune(hookId: string): Promise<void> {
    const keys: string[] = [];
    for await (const e of this.caps.store.list(layout.webhookDeliveriesPrefix(hookId))) keys.push(e.key);
    for (const key of keys.slice(0, Math.max(0, keys.length - this.keepDeliveries))) await this.caps.store.delete(key);
  }

  private async record(id: string): Promise<WebhookRecord | null> {
    if (!ID.test(id)) return null;
    return (await getJson<WebhookRecord>(this.caps.store, layout.webhook(id)))?.value ?? null;
  }

  private async records(): Promise<WebhookRecord[]> {
    const out: WebhookRecord[] = [];
    for await (const e of this.caps.store.list(layout.webhooksPrefix())) {
      const record = (await getJson<WebhookRecord>(this.caps.store, e.key))?.value;
      if (record) out.push(record);
    }
    return out.sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
  }
}

function view(record: WebhookRecord): WebhookView {
  const { format: _format, secret: _secret, ...shown } = record;
  return shown;
}

function invalid(message: string): RepodError {
  return new RepodError('invalid_request', message, { status: 400 });
}

/** Sorts by time (20261206T125819123Z-...), unique by its random part. */
function deliveryId(time: Date, random: string): string {
  return `${time.toISOString().replace(/[-:.]/g, '')}-${random}`;
}

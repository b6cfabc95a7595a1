import type { RepodEventType } from '../events.ts';

/**
 * The events a webhook can subscribe to. The event model itself (RepodEvent, EventSink) is shared
 * with the rest of the security part in security/events.ts; this adds what subscriptions need.
 */
export type { EventSink, RepodEvent, RepodEventType } from '../events.ts';

export const EVENT_TYPES: readonly RepodEventType[] = ['published', 'pending_review', 'rejected', 'decided', 'promoted', 'rolled_back', 'new_findings'];

/** What a webhook lists in `events`: an event type, or `*` for every type (also those added later). */
export type EventFilter = RepodEventType | '*';

export function isEventFilter(value: unknown): value is EventFilter {
  return value === '*' || (EVENT_TYPES as readonly unknown[]).includes(value);
}

export function subscribes(filters: readonly EventFilter[], type: RepodEventType): boolean {
  return filters.includes('*') || filters.includes(type);
}

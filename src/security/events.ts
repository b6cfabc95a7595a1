/**
 * What the rest of repod tells the outside world about (webhooks deliver these). Emitting never
 * blocks or fails the change that caused the event.
 */
export type RepodEventType = 'published' | 'pending_review' | 'rejected' | 'decided' | 'promoted' | 'rolled_back' | 'new_findings';

export interface RepodEvent {
  type: RepodEventType;
  distribution?: string;
  actor?: string;
  data: Record<string, unknown>;
}

export interface EventSink {
  emit(event: RepodEvent): void;
}

/** Where events go when no webhook is configured. */
export const noEvents: EventSink = { emit() {} };

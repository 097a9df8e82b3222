import type { ResolvedEndpoint } from './endpoint.js';
import type { PreparedEvent } from './envelope.js';
import type { AttemptResult } from '../transport/transport.js';

/** One event on its way to one endpoint. Kept small: a million of these may wait in memory. */
export interface Message {
  /** UUIDv7: unique across processes, sortable by acceptance time. */
  readonly id: string;
  readonly endpoint: ResolvedEndpoint;
  /** Shared by every message of a fan-out: the body is serialized once. */
  readonly event: PreparedEvent;
  /** Clock milliseconds when it was accepted. */
  readonly acceptedAt: number;
  /** Attempts in all, the first included, for this message. */
  readonly maxAttempts: number;
  /** Clock milliseconds after which it fails with `'expired'`. */
  readonly expiresAt: number;
  /** The caller's idempotency key, while the message is pending. */
  readonly idempotencyKey: string | undefined;
  attempts: number;
  /** When its retry may run; meaningless while it is not waiting. */
  dueAt: number;
  /** The caller's OpenTelemetry context at `send`, when telemetry is on: attempts' spans are its children. */
  trace: unknown;
  /** What the last failed attempt saw, for the terminal event. */
  last: AttemptResult | undefined;
}

/** What every public event and channel message says of a message: never its secrets or body. */
export interface MessageFacts {
  messageId: string;
  eventId: string;
  eventType: string;
  url: string;
  origin: string;
}

export function messageFacts(m: Message): MessageFacts {
  return { messageId: m.id, eventId: m.event.id, eventType: m.event.type, url: m.endpoint.url, origin: m.endpoint.origin };
}

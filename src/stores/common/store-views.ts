import type { MessageRecord } from '../../model/message-record.js';
import type { AttemptRecord, DeadLetter, MessageHistory } from '../../persistence/store.js';
import type { FailureReason } from '../../model/types.js';

/**
 * The shapes stores hand out, built the same way by every store: optional fields are absent,
 * not `undefined`, as in the dispatcher's own `failed` events.
 */

/** What a dead letter is built from. */
export interface DeadLetterFacts {
  id: string;
  eventId: string;
  eventType: string;
  url: string;
  origin: string;
  attempts: number;
  reason: FailureReason;
  last: MessageRecord['last'];
  endedAt: number;
  /** The newest replay's message id, or `null` (never replayed); `replayedAt` is read only with it. */
  replayedAs: string | null;
  replayedAt: number | null;
}

export function deadLetter(f: DeadLetterFacts): DeadLetter {
  const item: DeadLetter = { messageId: f.id, eventId: f.eventId, eventType: f.eventType, url: f.url, origin: f.origin, attempts: f.attempts, reason: f.reason, failedAt: new Date(f.endedAt) };
  if (f.last !== null) {
    if (f.last.status !== null) item.status = f.last.status;
    if (f.last.error !== null) item.error = { code: f.last.error.code, message: f.last.error.message };
    if (f.last.body !== null) item.responseBody = f.last.body;
  }
  if (f.replayedAs !== null) {
    item.replayedAs = f.replayedAs;
    item.replayedAt = new Date(f.replayedAt ?? 0);
  }
  return item;
}

export function historyAttempt(a: AttemptRecord): MessageHistory['attempts'][number] {
  const item: MessageHistory['attempts'][number] = { at: new Date(a.at), latencyMs: a.latencyMs };
  if (a.status !== null) item.status = a.status;
  if (a.error !== null) item.error = { code: a.error.code, message: a.error.message };
  return item;
}

import type { MessageRecord } from '../../model/message-record.js';
import type { SignatureScheme } from '../../signing/scheme.js';
import type { FieldSealer } from '../../signing/seal.js';
import type { AttemptRecord, MessageHistory } from '../../persistence/store.js';
import type { FailureReason } from '../../model/types.js';
import { deadLetter, historyAttempt } from './store-views.js';

/**
 * A message table's rows and the records they hold, both ways: the same columns in SQLite and
 * Postgres (times as numbers of clock milliseconds, `has_last` as 0 or 1, blobs as Buffers).
 */

export const RECORD_COLUMNS =
  'id, origin, event_id, event_type, url, scheme, sealed, body, accepted_at, expires_at, max_attempts, attempts, due_at, idempotency_key, has_last, last_status, last_error_code, last_error_message, last_body';
export const LAST_COLUMNS = 'has_last, last_status, last_error_code, last_error_message, last_body';
/** A dead letter's columns, as `deadLetterOf` reads them. */
export const DEAD_LETTER_COLUMNS = `id, event_id, event_type, url, origin, attempts, reason, ended_at, replayed_as, replayed_at, ${LAST_COLUMNS}`;
/** A history's facts, as `historyOf` reads them. */
export const FACTS_COLUMNS = 'id, event_id, event_type, url, origin, state, accepted_at, replayed_as';

export interface LastColumns {
  has_last: number;
  last_status: number | null;
  last_error_code: string | null;
  last_error_message: string | null;
  last_body: string | null;
}

export interface MessageRow extends LastColumns {
  id: string;
  origin: string;
  event_id: string;
  event_type: string;
  url: string;
  scheme: SignatureScheme;
  sealed: Buffer;
  body: Buffer;
  accepted_at: number;
  expires_at: number;
  max_attempts: number;
  attempts: number;
  due_at: number;
  idempotency_key: string | null;
}

export interface DeadLetterRow extends LastColumns {
  id: string;
  event_id: string;
  event_type: string;
  url: string;
  origin: string;
  attempts: number;
  reason: FailureReason;
  ended_at: number;
  replayed_as: string | null;
  replayed_at: number | null;
}

export interface FactsRow {
  id: string;
  event_id: string;
  event_type: string;
  url: string;
  origin: string;
  state: number;
  accepted_at: number;
  replayed_as: string | null;
}

export interface AttemptRow {
  at: number;
  status: number | null;
  error_code: string | null;
  error_message: string | null;
  latency_ms: number;
}

/** The `has_last, last_status, last_error_code, last_error_message, last_body` parameters. */
export function lastParams(last: MessageRecord['last']): [number, number | null, string | null, string | null, string | null] {
  if (last === null) return [0, null, null, null, null];
  return [1, last.status, last.error?.code ?? null, last.error?.message ?? null, last.body];
}

function lastOf(row: LastColumns): MessageRecord['last'] {
  if (row.has_last === 0) return null;
  return {
    status: row.last_status,
    error: row.last_error_code === null ? null : { code: row.last_error_code, message: row.last_error_message ?? '' },
    body: row.last_body,
  };
}

/** The parameters of `SQL.insertMessage`: secrets and headers sealed, bound to the URL. */
export function insertParams(r: MessageRecord, sealer: FieldSealer): unknown[] {
  return recordValues(r, sealer.seal(r.url, r), r.body);
}

/**
 * A message row's values in column order, with its sealed fields and body as given: sealed or
 * still to be sealed (the SQLite worker's flat batch carries the text it seals), the body or
 * where to find it.
 */
export function recordValues(r: MessageRecord, sealed: unknown, body: unknown): unknown[] {
  return [r.id, r.origin, r.eventId, r.eventType, r.url, r.scheme, sealed, body, r.acceptedAt, r.expiresAt, r.maxAttempts, r.attempts, r.dueAt, r.idempotencyKey, ...lastParams(r.last)];
}

export function attemptParams(id: string, a: AttemptRecord): unknown[] {
  return [id, ...attemptValues(a)];
}

/** An attempt row's values after its message id, in column order. */
export function attemptValues(a: AttemptRecord): unknown[] {
  return [a.at, a.status, a.error?.code ?? null, a.error?.message ?? null, a.latencyMs];
}

/** The record a row holds. Throws `WD_STORE_UNAVAILABLE` when its sealed fields do not open. */
export function recordOf(row: MessageRow, sealer: FieldSealer): MessageRecord {
  const { secrets, headers, rateLimit } = sealer.open(row.url, row.sealed, `the sealed fields of message \`${row.id}\``);
  return {
    id: row.id, eventId: row.event_id, eventType: row.event_type, body: row.body, url: row.url, origin: row.origin, scheme: row.scheme, secrets, headers,
    ...(rateLimit != null && { rateLimit }),
    acceptedAt: row.accepted_at, expiresAt: row.expires_at, maxAttempts: row.max_attempts, attempts: row.attempts, dueAt: row.due_at,
    idempotencyKey: row.idempotency_key, last: lastOf(row),
  };
}

export function deadLetterOf(row: DeadLetterRow) {
  return deadLetter({ id: row.id, eventId: row.event_id, eventType: row.event_type, url: row.url, origin: row.origin, attempts: row.attempts, reason: row.reason, last: lastOf(row), endedAt: row.ended_at,
    replayedAs: row.replayed_as, replayedAt: row.replayed_at });
}

const STATES = ['pending', 'delivered', 'failed'] as const;

export function historyOf(row: FactsRow, attempts: AttemptRow[]): MessageHistory {
  const history: MessageHistory = {
    messageId: row.id, eventId: row.event_id, eventType: row.event_type, url: row.url, origin: row.origin, state: STATES[row.state] ?? 'failed',
    acceptedAt: new Date(row.accepted_at),
    attempts: attempts.map((a) => historyAttempt({ at: a.at, status: a.status, error: a.error_code === null ? null : { code: a.error_code, message: a.error_message ?? '' }, latencyMs: a.latency_ms })),
  };
  if (row.replayed_as !== null) history.replayedAs = row.replayed_as;
  return history;
}

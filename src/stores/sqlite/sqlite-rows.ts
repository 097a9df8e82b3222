import { DELIVERED, FAILED, PENDING } from './sqlite-schema.js';
import { DEAD_LETTER_COLUMNS, FACTS_COLUMNS, RECORD_COLUMNS, type AttemptRow } from '../common/store-rows.js';

/** The SQLite store's statements; rows map to records in `store-rows.ts`, shared with Postgres. */

const SET_LAST = 'has_last = ?, last_status = ?, last_error_code = ?, last_error_message = ?, last_body = ?';
const SET_FINAL = 'final_at = ?, final_status = ?, final_error_code = ?, final_error_message = ?, final_latency_ms = ?';
/** A message's final attempt, as an `AttemptRow` with the prefix `final_` (see {@link finalAttempt}). */
const FINAL_COLUMNS = 'final_at, final_status, final_error_code, final_error_message, final_latency_ms';

export interface FinalColumns {
  final_at: number | null;
  final_status: number | null;
  final_error_code: string | null;
  final_error_message: string | null;
  final_latency_ms: number | null;
}

/** The attempts of a message's history: its rows of `attempts`, then the attempt that ended it, if one did. */
export function withFinal(attempts: AttemptRow[], row: FinalColumns): AttemptRow[] {
  if (row.final_at === null) return attempts;
  attempts.push({ at: row.final_at, status: row.final_status, error_code: row.final_error_code, error_message: row.final_error_message, latency_ms: row.final_latency_ms ?? 0 });
  return attempts;
}

export const SQL = {
  insertMessage: `INSERT INTO messages (${RECORD_COLUMNS}, state) VALUES (${'?, '.repeat(19)}${PENDING})`,
  attempt: `UPDATE messages SET attempts = ?, due_at = ?, has_last = ?, last_status = ?, last_error_code = ?, last_error_message = ?, last_body = ? WHERE id = ? AND state = ${PENDING}`,
  insertAttempt: 'INSERT INTO attempts (message_id, at, status, error_code, error_message, latency_ms) VALUES (?, ?, ?, ?, ?, ?)',
  delivered: `UPDATE messages SET state = ${DELIVERED}, attempts = ?, ended_at = ? WHERE id = ? AND state = ${PENDING}`,
  failed: `UPDATE messages SET state = ${FAILED}, attempts = ?, ended_at = ?, reason = ?, ${SET_LAST} WHERE id = ? AND state = ${PENDING}`,
  /** An end with the attempt that ended it: the attempt goes in the row (`final_*`), not in `attempts`. */
  deliveredWith: `UPDATE messages SET state = ${DELIVERED}, attempts = ?, ended_at = ?, ${SET_FINAL} WHERE id = ? AND state = ${PENDING}`,
  failedWith: `UPDATE messages SET state = ${FAILED}, attempts = ?, ended_at = ?, reason = ?, ${SET_LAST}, ${SET_FINAL} WHERE id = ? AND state = ${PENDING}`,
  pending: `SELECT ${RECORD_COLUMNS} FROM messages WHERE state = ${PENDING} AND id > ? ORDER BY id LIMIT ?`,
  pendingOf: `SELECT ${RECORD_COLUMNS} FROM messages WHERE state = ${PENDING} AND origin = ? AND id > ? ORDER BY id LIMIT ?`,
  pendingOrigins: `SELECT origin, count(*) AS count FROM messages WHERE state = ${PENDING} GROUP BY origin ORDER BY origin`,
  get: `SELECT ${RECORD_COLUMNS} FROM messages WHERE id = ?`,
  /** A dead letter's newest replay: applies to a failed message only (`changes` 0 otherwise: refused). */
  replayed: `UPDATE messages SET replayed_as = ?, replayed_at = ? WHERE id = ? AND state = ${FAILED}`,
  facts: `SELECT ${FACTS_COLUMNS}, ${FINAL_COLUMNS} FROM messages WHERE id = ?`,
  attemptsOf: 'SELECT at, status, error_code, error_message, latency_ms FROM attempts WHERE message_id = ? ORDER BY rowid',
  // The state is written out, not bound: SQLite picks a partial index only for a literal.
  prunableDelivered: `SELECT id FROM messages WHERE state = ${DELIVERED} AND ended_at < ? LIMIT ?`,
  prunableFailed: `SELECT id FROM messages WHERE state = ${FAILED} AND ended_at < ? LIMIT ?`,
  deleteAttempts: 'DELETE FROM attempts WHERE message_id = ?',
  deleteMessage: 'DELETE FROM messages WHERE id = ?',
} as const;

/** The dead-letter query for this combination of filters, newest first, keyset-paged. */
export function deadLetterSql(origin: boolean, reason: boolean, after: boolean): string {
  const where = [`state = ${FAILED}`];
  if (origin) where.push('origin = ?');
  if (reason) where.push('reason = ?');
  if (after) where.push('(ended_at, id) < (?, ?)');
  return `SELECT ${DEAD_LETTER_COLUMNS} FROM messages WHERE ${where.join(' AND ')} ORDER BY ended_at DESC, id DESC LIMIT ?`;
}


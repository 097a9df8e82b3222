import { createHash } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Pool, PoolClient } from 'pg';
import { describe } from '../../core/errors.js';
import { outcomeUnknown, storeUnavailable } from '../../persistence/store-errors.js';
import { ignore, pgReason, socketEnded, sqlState } from './pg-errors.js';
import type { FieldSealer } from '../../signing/seal.js';
import type { StoreOp } from '../../persistence/store.js';
import { DB_NOW, deliveredEnds } from './pg-sql.js';
import { PENDING } from './pg-schema.js';
import { RECORD_COLUMNS, insertParams } from '../common/store-rows.js';

/**
 * The common write in one statement: a batch of accepts and delivered ends (with their last
 * attempts), and the `NOTIFY`, as ONE statement of data-modifying CTEs. A single statement is
 * its own transaction (atomic without BEGIN/COMMIT), so the batch costs one round trip instead
 * of BEGIN, one per kind of op, the notify and COMMIT. Its text is fixed (rows travel as
 * arrays through `unnest`), so it is a named prepared statement, parsed once per connection.
 *
 * It is refused whole unless every end matched its row under its fence: then the server
 * answers with an error (a division by zero, below), nothing applied, and the caller writes
 * the batch again in a transaction, which names the refused op. Only batches whose ops touch
 * distinct messages take this path: every part of the statement sees the same snapshot, so a
 * later op could not see an earlier one's write (an accept, then the end of the same id).
 */

type DeliveredEnd = Extract<StoreOp, { op: 'end' }> & { attempt: NonNullable<Extract<StoreOp, { op: 'end' }>['attempt']> };
type Accept = Extract<StoreOp, { op: 'accept' }>;

/** Whether `ops` is the shape one statement writes: accepts and delivered ends, each of its own message. */
export function oneStatementShape(ops: readonly StoreOp[]): boolean {
  const ids = new Set<string>();
  for (const op of ops) {
    const id = op.op === 'accept' ? op.record.id : op.op === 'end' && op.outcome.state === 'delivered' && op.attempt !== null ? op.id : undefined;
    if (id === undefined || ids.has(id)) return false;
    ids.add(id);
  }
  return true;
}

/** `unnest` column types of an accepted row, in `insertParams` order, then owner and ordered. */
const ACCEPT_TYPES = ['text', 'text', 'text', 'text', 'text', 'text', 'bytea', 'bytea', 'float8', 'float8', 'int', 'int', 'float8', 'text', 'smallint', 'int', 'text', 'text', 'text', 'text', 'bool'];

/** The batch statement of schema `s` (quoted), and the name it is prepared under (its text's hash: one name, one text). */
export function batchStatement(s: string, leaseMs: number): { name: string; text: string } {
  const until = `${DB_NOW} + ${leaseMs}`;
  const n = ACCEPT_TYPES.length;
  const cols = ACCEPT_TYPES.map((_, i) => `c${i}`);
  const unnestAccepts = ACCEPT_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ');
  const e = (k: number) => `$${n + k}`;
  // The lease of an owned row is the database's time from now; an unowned row is anybody's.
  const text = `WITH a AS (INSERT INTO ${s}.messages (${RECORD_COLUMNS}, owner, ordered, lease_until, state)
      SELECT ${cols.join(', ')}, CASE WHEN c${n - 2} IS NULL THEN 0 ELSE ${until} END, ${PENDING} FROM unnest(${unnestAccepts}) AS r(${cols.join(', ')})),
    ${deliveredEnds(s, n + 1)}
    SELECT 1 / ((SELECT count(*) FROM u) = cardinality(${e(1)}::text[]))::int AS every_end_matched,
      CASE WHEN ${e(8)}::bool THEN pg_notify(${e(9)}::text, '') END AS notified`;
  // Why dividing: an end that matched no row must undo the whole statement, and an error is
  // the one way a single statement undoes itself; it is raised only when rows are missing.
  return { name: `wd_batch_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`, text };
}

/** The statement's parameters for `ops` (of {@link oneStatementShape}). */
export function batchValues(ops: readonly StoreOp[], fields: FieldSealer, channel: string): unknown[] {
  const accepts: unknown[][] = ACCEPT_TYPES.map(() => []);
  const ends: unknown[][] = Array.from({ length: 7 }, () => []);
  let notify = false;
  for (const op of ops) {
    if (op.op === 'accept') {
      const { record, lease } = op as Accept;
      // The lease's end is the database's: `until` is not sent.
      const row = [...insertParams(record, fields), lease?.owner ?? null, lease?.ordered ?? false];
      for (let c = 0; c < row.length; c++) accepts[c]!.push(row[c]);
      notify ||= (lease?.owner ?? null) === null;
      continue;
    }
    const end = op as DeliveredEnd;
    const row = [end.id, end.attempts, end.at, end.attempt.status, end.attempt.latencyMs, end.fence?.owner ?? null, end.fence?.gen ?? null];
    for (let c = 0; c < row.length; c++) ends[c]!.push(row[c]);
  }
  return [...accepts, ...ends, notify, channel];
}

/**
 * Writes the batch statement with `values` on a client of `pool` (`what` names the write in
 * errors): true once applied, false when the server refused it (nothing applied: the caller
 * writes the batch in a transaction, which says which op is refused). The statement is its own
 * commit: a connection that fails while it is on its way leaves the outcome unknown, as a
 * failed COMMIT does.
 */
export async function writeOneStatement(pool: Pool, statement: { name: string; text: string }, values: unknown[], what: string): Promise<boolean> {
  // One turn of the event loop first: the end of a connection the server closed while it was
  // idle is read then, so the check below sees it (see there).
  await yieldToEventLoop();
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw storeUnavailable(`${what} failed: no connection`, pgReason(error));
  }
  let broken: Error | undefined;
  client.on('error', ignore);
  try {
    // No BEGIN goes first to find a pooled connection dead (a failed BEGIN is a clean "not
    // applied"): one whose socket has ended already (the server went away while it was idle,
    // and the pool has not heard yet) takes the transaction path instead, on another.
    if (socketEnded(client)) {
      broken = new Error('the connection had ended');
      return false;
    }
    await client.query({ name: statement.name, text: statement.text, values });
    return true;
  } catch (error) {
    if (sqlState(error) !== undefined) return false;
    broken = error instanceof Error ? error : new Error(describe(error));
    throw outcomeUnknown(storeUnavailable(`${what}: the connection failed while the write (its own commit) was on its way, so whether it applied is unknown`, pgReason(error)));
  } finally {
    client.removeListener('error', ignore);
    client.release(broken);
  }
}

import type { PoolClient, QueryResult } from 'pg';
import type { MessageRecord } from '../../model/message-record.js';
import type { FieldSealer } from '../../signing/seal.js';
import type { QueryClient } from '../../persistence/shared-store.js';
import type { AcceptLease, StoreOp } from '../../persistence/store.js';
import { INSERT_ROWS, type Statements } from './pg-sql.js';
import { refusedOp } from '../../persistence/store-errors.js';
import { attemptParams, attemptValues, insertParams, lastParams } from '../common/store-rows.js';
import { NOT_FAILED } from '../common/store-query.js';

/** Why a fenced attempt or end was refused (an unfenced one: the message is not pending). */
const NOT_HELD = 'names a message that is not pending, or that its writer no longer holds under the lease it claimed (another process took it over)';

/** The Postgres store's writes: a batch of ops inside the caller's transaction, and message rows. */

/**
 * Applies `ops` in order on `client`, inside its open transaction. Consecutive accepts are one
 * multi-row `INSERT`; every other op is one round trip. Throws `refusedOp` for an op that
 * cannot apply (the caller rolls back). Unowned accepts `NOTIFY` waiting processes at commit.
 */
export async function writeBatch(client: PoolClient, sql: Statements, fields: FieldSealer, ops: readonly StoreOp[], channel: string): Promise<void> {
  const seen = new Set<string>();
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.op !== 'accept') continue;
    if (seen.has(op.record.id)) throw refusedOp(ops, i, 'names a message the store already holds');
    seen.add(op.record.id);
  }
  let notify = false;
  for (let i = 0; i < ops.length; ) {
    const op = ops[i]!;
    if (op.op === 'accept') {
      let end = i;
      while (end < ops.length && end - i < INSERT_ROWS && ops[end]!.op === 'accept') end++;
      const group = ops.slice(i, end) as Extract<StoreOp, { op: 'accept' }>[];
      notify ||= group.some((a) => (a.lease?.owner ?? null) === null);
      await insertRows(client, sql, fields, group).catch((error: unknown) => {
        // A key the table holds already: name the op, as every store does.
        const e = error as { code?: string; detail?: string };
        const id = e.code === '23505' ? /\(id\)=\((.*)\)/.exec(e.detail ?? '')?.[1] : undefined;
        const at = id === undefined ? -1 : group.findIndex((a) => a.record.id === id);
        throw at >= 0 ? refusedOp(ops, i + at, 'names a message the store already holds') : error;
      });
      i = end;
      continue;
    }
    if (op.op === 'replayed') {
      const result = await client.query(sql.replayed, [op.as, op.at, op.id]);
      if (result.rowCount !== 1) throw refusedOp(ops, i, NOT_FAILED);
      i++;
      continue;
    }
    const run = deliveredRun(ops, i);
    if (run > 1) {
      await endDelivered(client, sql, ops, i, run);
      i += run;
      continue;
    }
    const result = await apply(client, sql, op);
    if (result.rowCount !== 1) throw refusedOp(ops, i, op.fence === undefined ? 'names a message that is not pending' : NOT_HELD);
    i++;
  }
  // Delivered at commit, and only if it commits: idle processes wake for unowned messages.
  if (notify) await client.query('SELECT pg_notify($1, $2)', [channel, '']);
}

type DeliveredEnd = Extract<StoreOp, { op: 'end' }> & { attempt: NonNullable<Extract<StoreOp, { op: 'end' }>['attempt']> };

function isDeliveredEnd(op: StoreOp | undefined): op is DeliveredEnd {
  return op !== undefined && op.op === 'end' && op.outcome.state === 'delivered' && op.attempt !== null;
}

/** How many ops from `at` on are delivered ends of distinct messages (one statement can take them). */
function deliveredRun(ops: readonly StoreOp[], at: number): number {
  const ids = new Set<string>();
  let end = at;
  while (end < ops.length && end - at < INSERT_ROWS && isDeliveredEnd(ops[end]) && !ids.has((ops[end] as DeliveredEnd).id)) ids.add((ops[end++] as DeliveredEnd).id);
  return end - at;
}

async function endDelivered(client: PoolClient, sql: Statements, ops: readonly StoreOp[], at: number, count: number): Promise<void> {
  const run = ops.slice(at, at + count) as DeliveredEnd[];
  const result = await client.query<{ id: string }>(sql.deliveredMany, [
    run.map((op) => op.id),
    run.map((op) => op.attempts),
    run.map((op) => op.at),
    run.map((op) => op.attempt.status),
    run.map((op) => op.attempt.latencyMs),
    run.map((op) => op.fence?.owner ?? null),
    run.map((op) => op.fence?.gen ?? null),
  ]);
  if (result.rows.length === count) return;
  const ended = new Set(result.rows.map((r) => r.id));
  throw refusedOp(ops, at + run.findIndex((op) => !ended.has(op.id)), NOT_HELD);
}

/** One `INSERT` of message rows, secrets and headers sealed; without a lease a row is unowned. */
export function insertRows(client: QueryClient, sql: Statements, fields: FieldSealer, rows: readonly { record: MessageRecord; lease?: AcceptLease | undefined }[]): Promise<unknown> {
  const params: unknown[] = [];
  // The lease's end is the database's: `until` is not sent (see `statements().insert`).
  for (const { record, lease } of rows) params.push(...insertParams(record, fields), lease?.owner ?? null, lease?.ordered ?? false);
  return client.query(sql.insert(rows.length), params);
}

function apply(client: PoolClient, sql: Statements, op: Extract<StoreOp, { op: 'attempt' | 'end' }>): Promise<QueryResult> {
  // Last, after every statement's own parameters: see `fenced` in pg-sql.ts.
  const fence = [op.fence?.owner ?? null, op.fence?.gen ?? null];
  if (op.op === 'attempt') return client.query(sql.attempt, [op.attempts, op.dueAt, ...lastParams(op.last), ...attemptParams(op.id, op.attempt), ...fence]);
  const { outcome } = op;
  const tail = op.attempt === null ? [] : attemptValues(op.attempt);
  if (outcome.state === 'delivered') return client.query(op.attempt === null ? sql.delivered : sql.deliveredWith, [op.attempts, op.at, op.id, ...tail, ...fence]);
  return client.query(op.attempt === null ? sql.failed : sql.failedWith, [op.attempts, op.at, outcome.reason, ...lastParams(outcome.last), op.id, ...tail, ...fence]);
}

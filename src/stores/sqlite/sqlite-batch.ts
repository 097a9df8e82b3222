import type BetterSqlite3 from 'better-sqlite3';
import { sealedText, type FieldSealer } from '../../signing/seal.js';
import type { StoreOp } from '../../persistence/store.js';
import { attemptValues, lastParams, recordValues } from '../common/store-rows.js';
import { refusedOp } from '../../persistence/store-errors.js';
import { NOT_FAILED } from '../common/store-query.js';

/**
 * A write batch in the flat form the SQLite store applies: one array of plain values, each op a
 * tag and then its statement parameters in order, and the accepted messages' bodies in one
 * buffer. With `worker: true` this is what crosses to the worker thread: a structured clone of
 * one array of strings and numbers and one transferred buffer costs a fraction of cloning op
 * objects with their nested records (every key written and read again, one buffer per body),
 * on both threads, and the worker binds the values as they come, building no object.
 *
 * Secrets and headers travel as the JSON text the store seals (`FieldSealer.sealText`), as
 * they travelled in the records before: in memory, between two threads of one process.
 */

const ACCEPT = 0;
const ATTEMPT = 1;
const DELIVERED = 2;
const FAILED = 3;
const REPLAYED = 4;
const KINDS = ['accept', 'attempt', 'end', 'end', 'replayed'] as const;

export interface FlatBatch {
  /** How many ops. */
  count: number;
  values: unknown[];
  /**
   * The bodies of the accepts, one after another, when they were copied out (`encodeBatch`'s
   * `copyBodies`); a body's slot in `values` then holds its length (or, for a body that is not
   * bytes, the body in an array of one). Otherwise the slot holds the body.
   */
  bodies?: Uint8Array;
}

/**
 * `ops` (already checked: `checkOps`) in the flat form. `copyBodies`: each Buffer body is copied
 * into one new buffer, to be transferred to another thread (a body is mostly a slice of Node's
 * shared 8 KiB pool, which a clone would copy whole).
 */
export function encodeBatch(ops: readonly StoreOp[], copyBodies: boolean): FlatBatch {
  const v: unknown[] = [];
  let bodyBytes = 0;
  for (const op of ops) {
    if (op.op === 'accept') {
      const r = op.record;
      const body: unknown = r.body;
      let slot: unknown = body;
      if (copyBodies) {
        if (body instanceof Uint8Array) {
          slot = body.byteLength;
          bodyBytes += body.byteLength;
        } else slot = [body]; // not a Buffer (a typing slip): bound as it is, as before
      }
      v.push(ACCEPT, ...recordValues(r, sealedText(r), slot));
    } else if (op.op === 'attempt') {
      v.push(ATTEMPT, op.id, op.attempts, op.dueAt);
      v.push(...lastParams(op.last), ...attemptValues(op.attempt));
    } else if (op.op === 'end') {
      const { outcome } = op;
      if (outcome.state === 'delivered') {
        v.push(DELIVERED, op.id, op.attempts, op.at);
      } else {
        v.push(FAILED, op.id, op.attempts, op.at, outcome.reason);
        v.push(...lastParams(outcome.last));
      }
      if (op.attempt === null) v.push(0);
      else {
        v.push(1, ...attemptValues(op.attempt));
      }
    } else {
      v.push(REPLAYED, op.id, op.as, op.at);
    }
  }
  if (!copyBodies) return { count: ops.length, values: v };
  const bodies = new Uint8Array(bodyBytes);
  let at = 0;
  for (const op of ops) {
    const body: unknown = op.op === 'accept' ? op.record.body : undefined;
    if (body instanceof Uint8Array) {
      bodies.set(body, at);
      at += body.byteLength;
    }
  }
  return { count: ops.length, values: v, bodies };
}


type Statement = BetterSqlite3.Statement<unknown[]>;

/** The statements a batch runs (from `SQL` in `sqlite-rows.ts`). */
export interface WriteStatements {
  insertMessage: Statement;
  attempt: Statement;
  insertAttempt: Statement;
  delivered: Statement;
  failed: Statement;
  deliveredWith: Statement;
  failedWith: Statement;
  replayed: Statement;
}

/**
 * Runs `batch`'s statements, in order, inside the caller's transaction. Throws SQLite's error
 * as is, or `refusedOp` for an op that does not apply; `position.at` is the op being run, for
 * the error that names it (see {@link opAt}).
 */
export function applyBatch(s: WriteStatements, fields: FieldSealer, batch: FlatBatch, position: { at: number; pos: number }): void {
  const v = batch.values;
  const bodies = batch.bodies;
  let p = 0;
  let b = 0;
  for (let i = 0; i < batch.count; i++) {
    position.at = i;
    position.pos = p;
    const tag = v[p];
    const id = v[p + 1];
    if (tag === ACCEPT) {
      let body = v[p + 8];
      if (bodies !== undefined) body = typeof body === 'number' ? bodies.subarray(b, (b += body)) : (body as unknown[])[0];
      const url = v[p + 5] as string;
      s.insertMessage.run(id, v[p + 2], v[p + 3], v[p + 4], url, v[p + 6], fields.sealText(url, v[p + 7] as string), body, v[p + 9], v[p + 10], v[p + 11], v[p + 12], v[p + 13], v[p + 14],
        v[p + 15], v[p + 16], v[p + 17], v[p + 18], v[p + 19]);
      p += 20;
    } else if (tag === ATTEMPT) {
      if (s.attempt.run(v[p + 2], v[p + 3], v[p + 4], v[p + 5], v[p + 6], v[p + 7], v[p + 8], id).changes !== 1) throw refusedAt(batch, i, p, 'names a message that is not pending');
      s.insertAttempt.run(id, v[p + 9], v[p + 10], v[p + 11], v[p + 12], v[p + 13]);
      p += 14;
    } else if (tag === DELIVERED || tag === FAILED) {
      // The attempt that ended the message goes in its row (the `final_*` columns).
      const a = p + (tag === DELIVERED ? 4 : 10);
      const withAttempt = v[a] === 1;
      let changes: number;
      if (tag === DELIVERED) {
        changes = withAttempt
          ? s.deliveredWith.run(v[p + 2], v[p + 3], v[a + 1], v[a + 2], v[a + 3], v[a + 4], v[a + 5], id).changes
          : s.delivered.run(v[p + 2], v[p + 3], id).changes;
      } else {
        changes = withAttempt
          ? s.failedWith.run(v[p + 2], v[p + 3], v[p + 4], v[p + 5], v[p + 6], v[p + 7], v[p + 8], v[p + 9], v[a + 1], v[a + 2], v[a + 3], v[a + 4], v[a + 5], id).changes
          : s.failed.run(v[p + 2], v[p + 3], v[p + 4], v[p + 5], v[p + 6], v[p + 7], v[p + 8], v[p + 9], id).changes;
      }
      if (changes !== 1) throw refusedAt(batch, i, p, 'names a message that is not pending');
      p = a + (withAttempt ? 6 : 1);
    } else if (tag === REPLAYED) {
      if (s.replayed.run(v[p + 2], v[p + 3], id).changes !== 1) throw refusedAt(batch, i, p, NOT_FAILED);
      p += 4;
    } else {
      throw new Error(`Unknown op tag ${String(tag)} at op ${i + 1} of a write batch`);
    }
  }
}

/** The kind and message id of the op at `pos` in `batch.values`. */
export function opAt(batch: FlatBatch, pos: number): { op: (typeof KINDS)[number]; id: string } {
  return { op: KINDS[batch.values[pos] as number] ?? 'accept', id: batch.values[pos + 1] as string };
}

/** `refusedOp` for op `index` of `batch`, worded as for the ops themselves. */
export function refusedAt(batch: FlatBatch, index: number, pos: number, why: string) {
  const { op, id } = opAt(batch, pos);
  // refusedOp reads the op at `index` and the batch's length only.
  const ops = new Array<StoreOp>(batch.count);
  ops[index] = (op === 'accept' ? { op, record: { id } } : { op, id }) as StoreOp;
  return refusedOp(ops, index, why);
}

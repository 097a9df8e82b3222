import { WebhookError, describe, invalidOptions } from '../../core/errors.js';
import { integer, readObject } from '../../core/option-checks.js';
import type { DeadLetterQuery, StoreOp } from '../../persistence/store.js';
import type { FailureReason } from '../../model/types.js';

/**
 * What every store does alike with the queries and batches it is given: checking them, the
 * dead-letter cursor, and the errors a failure becomes.
 */

export const FAILURE_REASONS = ['rejected', 'exhausted', 'expired', 'blocked', 'gone', 'closed', 'cancelled'] as const satisfies readonly FailureReason[];
// Fails to compile when FailureReason gains a member this list lacks.
const everyReason: Record<FailureReason, true> = { rejected: true, exhausted: true, expired: true, blocked: true, gone: true, closed: true, cancelled: true };
void everyReason;

/** Why a store refuses a `replayed` op (`refusedOp`): the same words from every store. */
export const NOT_FAILED = 'names a message that is not failed (unknown, pruned, pending or delivered)';

/** Checks the shape of every op before a store touches anything; throws `WD_STORE_UNAVAILABLE`. */
export function checkOps(ops: readonly StoreOp[]): void {
  if (!Array.isArray(ops)) throw new WebhookError('WD_STORE_UNAVAILABLE', `Write refused: expected an array of operations, got ${describe(ops)}`);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as StoreOp | undefined;
    const kind = op?.op;
    if (kind === 'accept' ? typeof op?.record?.id !== 'string' : (kind !== 'attempt' && kind !== 'end' && kind !== 'replayed') || typeof op?.id !== 'string') {
      throw new WebhookError('WD_STORE_UNAVAILABLE', `Write refused, nothing of it applied: op ${i + 1} of ${ops.length} is not an \`accept\`, \`attempt\`, \`end\` or \`replayed\` with a message id, got ${describe(op)}`);
    }
    const replayed = op as { as?: unknown; at?: unknown };
    if (kind === 'replayed' && (typeof replayed.as !== 'string' || typeof replayed.at !== 'number' || !Number.isFinite(replayed.at))) {
      throw new WebhookError('WD_STORE_UNAVAILABLE', `Write refused, nothing of it applied: op ${i + 1} of ${ops.length} (\`replayed\`) needs \`as\`, the replay's message id, and \`at\`, a time in clock milliseconds, got ${describe(op)}`);
    }
  }
}

export function readPendingQuery(query: { origin?: string; afterId?: string; limit: number }): { origin: string | undefined; afterId: string; limit: number } {
  const get = readObject('pending query', query, ['origin', 'afterId', 'limit'], '');
  const origin = get('origin');
  const afterId = get('afterId');
  if (origin !== undefined && typeof origin !== 'string') throw invalidOptions('origin', 'a string', origin);
  if (afterId !== undefined && typeof afterId !== 'string') throw invalidOptions('afterId', 'a message id', afterId);
  const rawLimit = get('limit');
  if (rawLimit === undefined) throw invalidOptions('limit', 'an integer from 1 to 1_000_000', rawLimit);
  const limit = integer('limit', rawLimit, 1, 1_000_000, 0);
  return { origin, afterId: afterId ?? '', limit };
}

/** The cutoffs of `prune`: clock milliseconds, numbers (`Infinity` prunes every ended message of that kind). */
export function readPruneCutoffs(before: { delivered: number; failed: number }): { delivered: number; failed: number } {
  const get = readObject('prune cutoffs', before, ['delivered', 'failed'], '');
  const cutoff = (name: string) => {
    const value = get(name);
    if (typeof value !== 'number' || Number.isNaN(value)) throw invalidOptions(name, 'a time in clock milliseconds', value);
    return value;
  };
  return { delivered: cutoff('delivered'), failed: cutoff('failed') };
}

/** Where a page of dead letters starts: after this (failedAt, id) in newest-first order. */
export interface DeadLetterPosition {
  at: number;
  id: string;
}

export interface ReadDeadLetterQuery {
  origin: string | undefined;
  reason: FailureReason | undefined;
  limit: number;
  after: DeadLetterPosition | undefined;
}

/** The query, checked, with user-facing names in messages (it comes from `dispatcher.deadLetters`). */
export function readDeadLetterQuery(query: DeadLetterQuery | undefined): ReadDeadLetterQuery {
  const get = readObject('deadLetters query', query ?? {}, ['origin', 'reason', 'limit', 'cursor'], '');
  const origin = get('origin');
  const reason = get('reason');
  const cursor = get('cursor');
  if (origin !== undefined && typeof origin !== 'string') throw invalidOptions('origin', 'an origin string (`https://host:port`)', origin);
  if (reason !== undefined && !(FAILURE_REASONS as readonly unknown[]).includes(reason)) {
    throw invalidOptions('reason', `one of ${FAILURE_REASONS.map((r) => `\`${r}\``).join(', ')}`, reason);
  }
  const limit = integer('limit', get('limit'), 1, 1_000, 100);
  return { origin, reason: reason as FailureReason | undefined, limit, after: cursor === undefined ? undefined : decodeCursor(cursor) };
}

/** The cursor of the page after the one ending at `last`: opaque to callers. */
export function encodeCursor(last: DeadLetterPosition): string {
  return Buffer.from(JSON.stringify([last.at, last.id])).toString('base64url');
}

function decodeCursor(cursor: unknown): DeadLetterPosition {
  if (typeof cursor === 'string') {
    try {
      const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString());
      if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && Number.isFinite(value[0]) && typeof value[1] === 'string') {
        return { at: value[0], id: value[1] };
      }
    } catch {
      // Not JSON: refused below like any other stranger.
    }
  }
  throw invalidOptions('cursor', 'the `cursor` of an earlier `deadLetters` page', cursor);
}

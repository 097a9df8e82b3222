import { WebhookError, isWebhookError, reasonOf } from '../core/errors.js';
import type { StoreOp } from './store.js';

/**
 * The errors of the store seam. Every store failure reaches the user as a `WebhookError` of
 * code `WD_STORE_UNAVAILABLE`; these two helpers are the only places that make one, so the
 * dispatcher, the group commit, the lease keeper and every store word them alike.
 */

/**
 * `WD_STORE_UNAVAILABLE`: ``<what failed>: <the cause's message>``, the cause kept. A
 * `WebhookError` passes through unchanged: it already says what happened (a store refusing a
 * bad query with `WD_INVALID_OPTIONS`, or a more precise store error from deeper down).
 */
export function storeUnavailable(what: string, cause: unknown): WebhookError {
  if (isWebhookError(cause)) return cause;
  return new WebhookError('WD_STORE_UNAVAILABLE', `${what}: ${reasonOf(cause)}`, { cause });
}

/** Which op of a write batch a store refused, as {@link refusedOp} records it on the error. */
export interface RefusedOp {
  /** The op's position in the batch, from 0. */
  index: number;
  /** The message id the op names. */
  messageId: string;
}

/**
 * Marks the error by which a store refuses a whole write batch because one op in it cannot
 * apply (accepting an id it holds; an attempt or end of a message that is not pending, or
 * that this process no longer owns), as opposed to a store that cannot be reached. The
 * dispatcher then writes the batch's other ops alone, so one refused op never fails the
 * commits of unrelated sends. `Symbol.for`: any copy of the library, and any third-party
 * store, can set it.
 */
export const REFUSED_OP = Symbol.for('webhook-dispatcher.refusedOp');

/** The message id an op names. */
export function opId(op: StoreOp): string {
  return op.op === 'accept' ? op.record.id : op.id;
}

/**
 * The error a store throws (or rejects with) to refuse `ops` for the op at `index`: code
 * `WD_STORE_UNAVAILABLE`, nothing of the batch applied, and {@link REFUSED_OP} set. Exported
 * for third-party stores: `throw refusedOp(ops, i, 'names a message that is not pending')`.
 */
export function refusedOp(ops: readonly StoreOp[], index: number, why: string): WebhookError {
  const op = ops[index]!;
  const messageId = opId(op);
  const error = new WebhookError('WD_STORE_UNAVAILABLE', `Write refused, nothing of it applied: op ${index + 1} of ${ops.length} (\`${op.op}\` of message \`${messageId}\`) ${why}`);
  Object.defineProperty(error, REFUSED_OP, { value: { index, messageId } satisfies RefusedOp });
  return error;
}

/** The refused op a store's error names, or `undefined` when the store failed as a whole. */
export function refusedOpOf(error: unknown): RefusedOp | undefined {
  if (!isWebhookError(error) || error.code !== 'WD_STORE_UNAVAILABLE') return undefined;
  const refused = (error as unknown as Record<symbol, unknown>)[REFUSED_OP] as Partial<RefusedOp> | undefined;
  return typeof refused === 'object' && refused !== null && typeof refused.index === 'number' ? (refused as RefusedOp) : undefined;
}

/**
 * Marks a store failure whose outcome is unknown: the connection failed while the commit was on
 * its way (after `COMMIT` was sent, before its answer), so the batch may have been applied. A
 * network store sets it; the group commit then settles each accepted message by writing it
 * again (see {@link GroupCommit}). `Symbol.for`: any copy of the library, and any third-party
 * store, can set it.
 */
export const OUTCOME_UNKNOWN = Symbol.for('webhook-dispatcher.outcomeUnknown');

/** Marks `error` (a store's `WD_STORE_UNAVAILABLE`) as a commit whose outcome is unknown; returns it. */
export function outcomeUnknown(error: WebhookError): WebhookError {
  Object.defineProperty(error, OUTCOME_UNKNOWN, { value: true });
  return error;
}

export function isOutcomeUnknown(error: unknown): boolean {
  return isWebhookError(error) && (error as unknown as Record<symbol, unknown>)[OUTCOME_UNKNOWN] === true;
}

import { WebhookError, type WebhookErrorCode } from '../../core/errors.js';
import type { MessageRecord } from '../../model/message-record.js';
import { REFUSED_OP, refusedOpOf, storeUnavailable, type RefusedOp } from '../../persistence/store-errors.js';

/**
 * What the SQLite store's main-thread side and its worker say to each other. A request names a
 * method of the store and its arguments; the answer carries the value, or the error as plain
 * data: a structured clone keeps an error's message but drops its `code` and the refused op
 * (a symbol-keyed property), which the dispatcher acts on.
 */

export type Method = 'open' | 'write' | 'pending' | 'pendingOrigins' | 'get' | 'deadLetters' | 'history' | 'prune' | 'close';

export interface Request {
  id: number;
  method: Method;
  arg?: unknown;
}

export type Answer = { id: number; value: unknown; error?: undefined } | { id: number; error: WireError };

/** The worker's start-up settings (`workerData`). */
export interface WorkerSettings {
  path: string;
  key: Uint8Array;
  synchronous: 'normal' | 'full';
}

export interface WireError {
  code: WebhookErrorCode | undefined;
  message: string;
  refused?: RefusedOp;
  /** The cause's message and code (SQLite's or the system's), for the error's `cause`. */
  cause?: { message: string; code?: string };
}

export function toWire(error: unknown): WireError {
  const refused = refusedOpOf(error);
  const code = (error as { code?: unknown } | null)?.code;
  const cause = (error as { cause?: unknown } | null)?.cause;
  const causeCode = (cause as { code?: unknown } | null | undefined)?.code;
  return {
    code: error instanceof WebhookError ? (code as WebhookErrorCode) : undefined,
    message: error instanceof Error ? error.message : String(error),
    ...(refused !== undefined && { refused }),
    ...(cause instanceof Error && { cause: { message: cause.message, ...(typeof causeCode === 'string' && { code: causeCode }) } }),
  };
}

/** The worker's error as the caller's `WebhookError` (a non-library error becomes `WD_STORE_UNAVAILABLE`). */
export function fromWire(wire: WireError, what: string): WebhookError {
  if (wire.code === undefined) return storeUnavailable(what, new Error(wire.message));
  const cause = wire.cause === undefined ? undefined : Object.assign(new Error(wire.cause.message), wire.cause.code === undefined ? {} : { code: wire.cause.code });
  const error = new WebhookError(wire.code, wire.message, cause === undefined ? undefined : { cause });
  if (wire.refused !== undefined) Object.defineProperty(error, REFUSED_OP, { value: wire.refused });
  return error;
}

/** A structured clone turns a `Buffer` into a plain `Uint8Array`: a record's body is a `Buffer` again, sharing the copy's memory. */
export function reviveRecord(record: MessageRecord): MessageRecord {
  const body: unknown = record.body;
  if (body instanceof Uint8Array && !Buffer.isBuffer(body)) record.body = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return record;
}

import { WebhookError, describe } from '../core/errors.js';
import { LIMITS } from './options.js';
import type { QueryClient } from '../persistence/shared-store.js';

/** Per-message settings for `send` and `publish`; each overrides the dispatcher's for this message. */
export interface SendOptions {
  /** Attempts in all for this message, the first included. Minimum `1`. @default `retry.attempts` */
  attempts?: number;
  /** Milliseconds after acceptance at which this message fails with `'expired'`. Minimum `1`. @default `ttlMs` */
  ttlMs?: number;
  /**
   * A caller's key for this message, 1 to 256 characters. While a message sent with the same
   * key has not ended, `send` returns that message's receipt instead of accepting another.
   * With `publish`, the key applies per endpoint URL. @default none
   */
  idempotencyKey?: string;
  /**
   * The transactional outbox: a `pg` client (`Client` or `PoolClient`) inside the caller's own
   * open transaction, with a `postgresStore`. The message is written with that client and
   * exists only if the transaction commits: rolled back, nothing is sent and no event fires;
   * committed, a dispatcher process sharing the store claims and delivers it (its events fire
   * there). The receipt resolves once the row is written in the transaction. @default none
   */
  transaction?: QueryClient;
}

const KEYS = new Set(['attempts', 'ttlMs', 'idempotencyKey', 'transaction']);

/** What a message carries of its options. */
export interface ResolvedSendOptions {
  attempts: number;
  ttlMs: number;
  idempotencyKey: string | undefined;
  transaction: QueryClient | undefined;
}

/** Validates `send`/`publish` options against the dispatcher's defaults. Throws `WD_INVALID_OPTIONS`. */
export function resolveSendOptions(input: unknown, defaults: ResolvedSendOptions): ResolvedSendOptions {
  if (input === undefined) return defaults;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected send options to be an object, got ${describe(input)}`);
  }
  const o = input as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KEYS.has(key)) throw new WebhookError('WD_INVALID_OPTIONS', `Unknown send option \`${key.length > 40 ? `${key.slice(0, 40)}…` : key}\`; expected one of ${[...KEYS].map((k) => `\`${k}\``).join(', ')}`);
  }
  const attempts = Object.hasOwn(o, 'attempts') ? o.attempts : undefined;
  const ttlMs = Object.hasOwn(o, 'ttlMs') ? o.ttlMs : undefined;
  // The same bounds as the dispatcher's own `retry.attempts` and `ttlMs`.
  if (attempts !== undefined && (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 1 || attempts > LIMITS.count)) {
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`attempts\` to be an integer from 1 to ${LIMITS.count}, got ${describe(attempts)}`);
  }
  if (ttlMs !== undefined && (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > LIMITS.longWaitMs)) {
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`ttlMs\` to be an integer from 1 to ${LIMITS.longWaitMs} (365 days), got ${describe(ttlMs)}`);
  }
  const key = Object.hasOwn(o, 'idempotencyKey') ? o.idempotencyKey : undefined;
  if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 256)) {
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`idempotencyKey\` to be a string of 1 to 256 characters, got ${describe(key)}`);
  }
  const transaction = Object.hasOwn(o, 'transaction') ? o.transaction : undefined;
  if (transaction !== undefined && (typeof transaction !== 'object' || transaction === null || typeof (transaction as { query?: unknown }).query !== 'function')) {
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`transaction\` to be a pg client in an open transaction (an object with \`query()\`), got ${describe(transaction)}`);
  }
  return { attempts: attempts ?? defaults.attempts, ttlMs: ttlMs ?? defaults.ttlMs, idempotencyKey: key, transaction: transaction as QueryClient | undefined };
}

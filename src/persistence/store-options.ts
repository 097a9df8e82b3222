import { WebhookError, describe } from '../core/errors.js';
import { RETENTION_DEFAULTS, type Retention } from './store.js';
import type { DeadLetterQuery, MessageStore } from './store.js';
import { unknownOption } from '../core/option-checks.js';

const STORE_METHODS = ['open', 'write', 'pending', 'pendingOrigins', 'get', 'deadLetters', 'history', 'prune', 'close'] as const;

/** Checks the `store` option: a {@link MessageStore}, such as `sqliteStore(…)`. `undefined` for the default. */
export function storeOption(value: unknown): MessageStore | undefined {
  if (value === undefined) return undefined;
  const missing = typeof value === 'object' && value !== null ? STORE_METHODS.filter((m) => typeof (value as Record<string, unknown>)[m] !== 'function') : STORE_METHODS;
  if (missing.length > 0) {
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`store\` to be a message store such as \`sqliteStore({ path, encryptionKey })\`, got ${describe(value)}${typeof value === 'object' && value !== null ? ` without ${missing.map((m) => `\`${m}()\``).join(', ')}` : ''}`);
  }
  return value as MessageStore;
}

const MAX_RETENTION_MS = 3650 * 86_400_000;

/** Checks the `retention` option: `{ deliveredMs?, failedMs? }`. */
export function retentionOption(value: unknown): Retention {
  if (value === undefined) return RETENTION_DEFAULTS;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`retention\` to be an object \`{ deliveredMs?, failedMs? }\`, got ${describe(value)}`);
  }
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== 'deliveredMs' && key !== 'failedMs') throw unknownOption('retention.', key, ['deliveredMs', 'failedMs']);
  }
  const read = (key: 'deliveredMs' | 'failedMs'): number => {
    const v = Object.hasOwn(o, key) ? o[key] : undefined;
    if (v === undefined) return RETENTION_DEFAULTS[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_RETENTION_MS) {
      throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`retention.${key}\` to be an integer from 0 to ${MAX_RETENTION_MS}, got ${describe(v)}`);
    }
    return v;
  };
  return { deliveredMs: read('deliveredMs'), failedMs: read('failedMs') };
}

const REASONS = new Set(['rejected', 'exhausted', 'expired', 'blocked', 'gone', 'closed', 'cancelled']);

/** Checks a `deadLetters` query. */
export function deadLetterQuery(value: unknown): DeadLetterQuery {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected the dead-letter query to be an object \`{ origin?, reason?, limit?, cursor? }\`, got ${describe(value)}`);
  }
  const o = value as Record<string, unknown>;
  const query: DeadLetterQuery = {};
  for (const key of Object.keys(o)) {
    const v = o[key];
    if (v === undefined) continue;
    if (key === 'origin' || key === 'cursor') {
      if (typeof v !== 'string') throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`${key}\` to be a string, got ${describe(v)}`);
      query[key] = v;
    } else if (key === 'reason') {
      if (typeof v !== 'string' || !REASONS.has(v)) throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`reason\` to be one of ${[...REASONS].join(', ')}, got ${describe(v)}`);
      query.reason = v as DeadLetterQuery['reason'];
    } else if (key === 'limit') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1_000) throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`limit\` to be an integer from 1 to 1_000, got ${describe(v)}`);
      query.limit = v;
    } else throw unknownOption('', key, ['origin', 'reason', 'limit', 'cursor']);
  }
  return query;
}

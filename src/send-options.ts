import { WebhookError, describe } from './errors.js';

/** Per-message settings for `send` and `publish`; each overrides the dispatcher's for this message. */
export interface SendOptions {
  /** Attempts in all for this message, the first included. Minimum `1`. @default `retry.attempts` */
  attempts?: number;
  /** Milliseconds after acceptance at which this message fails with `'expired'`. Minimum `1`. @default `ttlMs` */
  ttlMs?: number;
}

const KEYS = new Set(['attempts', 'ttlMs']);

/** What a message carries of its options. */
export interface ResolvedSendOptions {
  attempts: number;
  ttlMs: number;
}

/** Validates `send`/`publish` options against the dispatcher's defaults. Throws `WD_INVALID_OPTIONS`. */
export function resolveSendOptions(input: unknown, defaults: ResolvedSendOptions): ResolvedSendOptions {
  if (input === undefined) return defaults;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected send options to be an object, got ${describe(input)}`);
  }
  const o = input as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KEYS.has(key)) throw new WebhookError('WD_INVALID_OPTIONS', `Unknown send option \`${key}\`; expected one of ${[...KEYS].map((k) => `\`${k}\``).join(', ')}`);
  }
  const attempts = Object.hasOwn(o, 'attempts') ? o.attempts : undefined;
  const ttlMs = Object.hasOwn(o, 'ttlMs') ? o.ttlMs : undefined;
  if (attempts !== undefined && (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 1)) {
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`attempts\` to be an integer >= 1, got ${describe(attempts)}`);
  }
  if (ttlMs !== undefined && (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs < 1)) {
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`ttlMs\` to be an integer >= 1, got ${describe(ttlMs)}`);
  }
  return { attempts: attempts ?? defaults.attempts, ttlMs: ttlMs ?? defaults.ttlMs };
}

import { number, readObject } from '../core/option-checks.js';
import type { RateLimit } from './rate-limiter.js';

/** The most permits per second a `rateLimit` may name (and the most `burst`). */
export const MAX_PER_SECOND = 1_000_000;

/**
 * A host's or an endpoint's `rateLimit`: `false` for none, `fallback` when absent; `burst`
 * defaults to one tenth of a second's permits (at least 1). Throws `WD_INVALID_OPTIONS`
 * naming `name` (an endpoint's caller turns it into `WD_INVALID_ENDPOINT`).
 */
export function readRateLimit(name: string, value: unknown, fallback: Required<RateLimit> | undefined): Required<RateLimit> | undefined {
  if (value === undefined) return fallback;
  if (value === false) return undefined;
  const o = readObject(name, value, ['perSecond', 'burst']);
  const perSecond = number(`${name}.perSecond`, o('perSecond'), 0.01, MAX_PER_SECOND, undefined);
  const burst = number(`${name}.burst`, o('burst'), 0, MAX_PER_SECOND, Math.max(1, perSecond / 10));
  return { perSecond, burst };
}

/**
 * Full-jitter exponential backoff: the delay before retry `n` (0 for the first retry) is drawn
 * uniformly from `[0, min(maxDelayMs, baseDelayMs · 2^n))`. Full jitter spreads a crowd of
 * retries evenly instead of in synchronized waves.
 */
export function fullJitterDelay(retryIndex: number, baseDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  // The exponent is capped: 2^n is Infinity past n ≈ 1023, and 0 · Infinity is NaN.
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(retryIndex, 64));
  return Math.floor(random() * ceiling);
}

/**
 * Milliseconds a `Retry-After` header asks to wait: delta-seconds or an HTTP date, measured
 * from `nowMs`. `undefined` when absent or unparseable; never negative.
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its weekday or month; without letters, Date.parse would read "-5" as a year.
  if (!/[A-Za-z]/.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/**
 * The wait before a failed attempt's retry: full-jitter backoff, or longer when the receiver's
 * `Retry-After` (capped at `maxRetryAfterMs`) asks for it. `pauseMs`: how long a host that asked
 * everyone to slow down (429, 503 with `Retry-After`) is held.
 */
export function retryWait(
  attempts: number,
  retryAfterHeader: string | string[] | undefined,
  now: number,
  retry: { baseDelayMs: number; maxDelayMs: number; maxRetryAfterMs: number },
  random: () => number,
): { delay: number; pauseMs: number } {
  const asked = parseRetryAfter(retryAfterHeader, now);
  const retryAfter = asked === undefined ? undefined : Math.min(asked, retry.maxRetryAfterMs);
  const delay = Math.max(fullJitterDelay(attempts - 1, retry.baseDelayMs, retry.maxDelayMs, random), retryAfter ?? 0);
  return { delay, pauseMs: retryAfter ?? Math.max(delay, retry.baseDelayMs) };
}

/** A token bucket: for one host (`rateLimit` in the options) or one endpoint URL. */
export interface RateLimit {
  /** Sustained requests per second to the host. From `0.01` to `1_000_000`. */
  perSecond: number;
  /**
   * Requests that may go out at once after a quiet spell, beyond the steady rate: no
   * one-second window ever sees more than `perSecond + burst`. From `0` to `1_000_000`.
   * @default one refill: `perSecond / 10` (at least 1)
   */
  burst?: number;
}


/**
 * One host's rate limit, as the host actor sees it: one question per send.
 *
 * Implementations: {@link LocalRateLimiter} (an exact token bucket, no timers: the default)
 * and {@link RedisRateLimiter} (one bucket in Redis shared by every process, in batches).
 */
export interface RateLimiter {
  /**
   * Asks for one send at `now`, with `backlog` messages waiting for the host (this one
   * included, so at least 1). Returns `0` when a permit was taken and the send may go;
   * otherwise the milliseconds until asking again can succeed, or `Infinity` when the
   * limiter will call its `wake` callback once it can.
   */
  admit(now: number, backlog: number): number;
  /** The backlog is empty: permits held ahead for it may be let go. */
  idle(): void;
  /** True when a fresh limiter would behave the same from `now` on: dropping this one resets nothing early. */
  settled(now: number): boolean;
  /** Releases whatever the limiter holds (connections, timers). */
  close(): Promise<void>;
}

/** Makes a host's limiter; `wake` is called when an `admit` that answered `Infinity` can succeed. `origin` names a shared limit. */
export type RateLimiterFactory = (limit: Required<RateLimit>, now: number, wake: () => void, origin: string) => RateLimiter;

/** Refills per second when the rate allows: fine enough to spread load, coarse enough to be cheap. */
const REFILLS_PER_SECOND = 10;
/** The finest refill interval: a batch taken more often would cost more than it meters. */
const MIN_INTERVAL_MS = 20;

/** How a rate limit maps onto a bucket refilled in steps. Exported for tests and benchmarks. */
export interface BucketShape {
  /** Permits added per refill. */
  amount: number;
  /** Milliseconds between refills. */
  intervalMs: number;
  /** The most the bucket holds: `max(burst, amount)`. */
  capacity: number;
}

export function bucketShape({ perSecond, burst }: Required<RateLimit>): BucketShape {
  // Refills are whole permits (a fractional one would be lost at the bucket's cap), and one
  // refill must fit in the burst allowance, or a window could see perSecond + one refill.
  let amount = Math.max(1, Math.floor(Math.min(perSecond / REFILLS_PER_SECOND, burst)));
  if ((1000 * amount) / perSecond < MIN_INTERVAL_MS) amount = Math.ceil((perSecond * MIN_INTERVAL_MS) / 1000);
  const intervalMs = (1000 * amount) / perSecond;
  return { amount, intervalMs, capacity: Math.max(burst, amount) };
}

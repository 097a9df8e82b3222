import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { RateLimit } from '../limits/rate-limiter.js';
import { bucketShape, type RateLimiter } from '../limits/rate-limiter.js';
import type { RedisLink } from './redis-link.js';
import { TokenBucket } from '../limits/token-bucket.js';

/**
 * The longest a permit taken from Redis may wait to be spent. Its cost is paid out of the
 * burst (see {@link redisBucketShape}); unspent permits older than this go back.
 */
export const HOLD_MS = 50;
/** Reservations reach at most this far ahead of the bucket, so a process that dies holding some costs the others little. */
const AHEAD_MS = 200;

/** How a host's limit is split between Redis and the time a process may hold a batch of permits. */
export interface RedisBucketShape {
  /** Tokens a second, as in Redis (per millisecond for the script). */
  perMs: number;
  /** The Redis bucket's size: the burst less what a held batch may add. */
  capacity: number;
  /** Permits asked for at most at once. */
  batch: number;
  /** Milliseconds a batch may be held before its unspent permits go back. */
  holdMs: number;
  /** Tokens the bucket may owe to reservations. */
  ahead: number;
}

/**
 * Permits are taken from Redis at one instant and spent up to `holdMs` later, so sends in any
 * window of `w` ms come from permits taken within `w + holdMs`: at most
 * `capacity + perSecond · (w + holdMs) / 1000`. Taking `perSecond · holdMs / 1000` off the
 * bucket's size keeps every one-second window at `perSecond + burst` for all processes
 * together. Counts are whole, so the hold may be a permit's interval longer (less 1 ms) at no
 * cost: `perSecond · hold / 1000 < reserve + 1` still rounds down to `perSecond + burst`. That
 * spare interval is all a small burst gets (10/s with a burst of 1: a 99 ms hold).
 */
export function redisBucketShape(limit: Required<RateLimit>): RedisBucketShape {
  const { amount, capacity } = bucketShape(limit);
  const reserve = Math.min(capacity - 1, Math.ceil((limit.perSecond * HOLD_MS) / 1000));
  const redisCapacity = capacity - reserve;
  const batch = Math.max(1, Math.min(amount, Math.floor(redisCapacity / 2)));
  return {
    perMs: limit.perSecond / 1000,
    capacity: redisCapacity,
    // Half the bucket at most: the other half fills while a process's timer runs late, instead
    // of overflowing (measured: a batch of the whole bucket lost 6% of the rate).
    batch,
    holdMs: Math.max(0, Math.floor(((reserve + 1) * 1000) / limit.perSecond) - 1),
    ahead: Math.max(4 * batch, Math.ceil((limit.perSecond * AHEAD_MS) / 1000)),
  };
}

/**
 * A host's rate limit shared by every process through one token bucket in Redis, taken in
 * batches (one round trip per batch, never per message) and kept exact by the server's clock.
 *
 * Every send also takes a token from this process's own exact {@link TokenBucket} of the
 * host's full shape: while Redis answers, it only smooths a batch; while Redis is away it is
 * the whole limit (each process then allows the full rate on its own), so no send waits on or
 * is refused because of Redis.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly shape: RedisBucketShape;
  readonly #link: RedisLink;
  readonly #key: string;
  readonly #clock: Clock;
  readonly #wake: () => void;
  readonly #bucket: TokenBucket;
  /** Permits taken from Redis and not yet spent, from when they may be spent, and when they must go back. */
  #held = 0;
  #heldFrom = 0;
  #heldUntil = 0;
  #asking = false;
  /** Redis said no permit before this. */
  #retryAt = 0;
  #closed = false;

  constructor(limit: Required<RateLimit>, now: number, wake: () => void, link: RedisLink, origin: string, clock: Clock) {
    this.shape = redisBucketShape(limit);
    this.#bucket = new TokenBucket(limit.perSecond, bucketShape(limit).capacity, now);
    this.#link = link;
    this.#key = link.key('rate', bucketName(origin));
    this.#clock = clock;
    this.#wake = wake;
  }

  admit(now: number, backlog: number): number {
    if (this.#held > 0 && now > this.#heldUntil) this.#giveBack();
    if (this.#held < 1) {
      if (!this.#link.usable(now)) return this.#takeLocal(now);
      if (this.#asking) return Infinity;
      if (now < this.#retryAt) return this.#retryAt - now;
      this.#request(now, backlog);
      return Infinity;
    }
    if (now < this.#heldFrom) return this.#heldFrom - now;
    const wait = this.#takeLocal(now);
    if (wait === 0) this.#held--;
    return wait;
  }

  /** Permits held for a backlog that is gone go back to the other processes. */
  idle(): void {
    this.#giveBack();
  }

  settled(now: number): boolean {
    return !this.#asking && this.#held === 0 && this.#bucket.full(now);
  }

  async close(): Promise<void> {
    this.#giveBack();
    this.#closed = true;
  }

  #takeLocal(now: number): number {
    return this.#bucket.tryTake(now) ? 0 : Math.max(1, this.#bucket.nextAt(now) - now);
  }

  #request(now: number, backlog: number): void {
    this.#asking = true;
    const want = Math.max(1, Math.min(this.shape.batch, backlog));
    const { perMs, capacity, holdMs, ahead } = this.shape;
    this.#link.bucket(this.#key, perMs, capacity, want, ahead).then(
      ({ granted, waitMs }) => {
        this.#asking = false;
        const arrived = this.#clock.now();
        if (granted === 0) this.#retryAt = arrived + Math.max(1, waitMs);
        else {
          // Redis took the batch after `now` and before `arrived`: counted from the arrival the
          // permits are never spent early, counted from the asking never held too long.
          this.#held += granted;
          this.#heldFrom = arrived + waitMs;
          this.#heldUntil = Math.max(now + waitMs + holdMs, this.#heldFrom);
        }
        if (this.#closed) return this.#giveBack();
        this.#wake();
      },
      () => {
        // Redis is now marked away: the next admit works locally.
        this.#asking = false;
        if (!this.#closed) this.#wake();
      },
    );
  }

  #giveBack(): void {
    const n = this.#held;
    this.#held = 0;
    if (n < 1 || !this.#link.usable(this.#clock.now())) return;
    const { perMs, capacity } = this.shape;
    // Given back, they are as if never taken (the bucket caps them): others may use them now.
    this.#link.bucket(this.#key, perMs, capacity, -n).catch(() => {});
  }
}

/**
 * A limit's bucket name in Redis: a host's origin as it is; an endpoint's URL as its origin and a
 * digest of the rest, so a path or query that carries a token (`/in?token=…`) is never written
 * to Redis in clear. Every process names the same URL's bucket alike.
 */
export function bucketName(name: string): string {
  if (!URL.canParse(name)) return name;
  const { origin } = new URL(name);
  return origin === name ? name : `${origin}|${createHash('sha256').update(name).digest('base64url').slice(0, 22)}`;
}

import { bucketShape, type RateLimit, type RateLimiter } from './rate-limiter.js';
import { TokenBucket } from './token-bucket.js';

/**
 * A host's rate limit within one process: an exact {@link TokenBucket}, computed from the
 * clock when asked. It owns no timer and no promise, so an idle rate-limited host costs
 * nothing, and a backlogged one costs one clock read per send; the actor's own timer wakes it
 * at the time `admit` names.
 */
export class LocalRateLimiter implements RateLimiter {
  readonly #bucket: TokenBucket;

  constructor(limit: Required<RateLimit>, now: number) {
    this.#bucket = new TokenBucket(limit.perSecond, bucketShape(limit).capacity, now);
  }

  admit(now: number): number {
    if (this.#bucket.tryTake(now)) return 0;
    return Math.max(1, this.#bucket.nextAt(now) - now);
  }

  idle(): void {}

  settled(now: number): boolean {
    return this.#bucket.full(now);
  }

  async close(): Promise<void> {}
}

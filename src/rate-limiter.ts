import Bottleneck from 'bottleneck';
import type { RateLimit } from './options.js';
import { TokenBucket } from './token-bucket.js';

/** Refills per second when the rate allows: fine enough to spread load, coarse enough to be cheap. */
const REFILLS_PER_SECOND = 10;
/** The finest refill interval. Below it Bottleneck's heartbeat would cost more than it meters. */
const MIN_INTERVAL_MS = 20;
/**
 * Bottleneck refills on a heartbeat and loses however late each beat is (measured: about 5%
 * at 10 refills a second). Its refills are scheduled this much early to make up for it; the
 * exact local bucket still holds every window to `perSecond + burst`.
 */
const HEARTBEAT_HEADROOM = 0.95;

/** How a rate limit maps onto Bottleneck's reservoir. Exported for tests and benchmarks. */
export interface BucketShape {
  /** Permits added per refill. */
  amount: number;
  /** Milliseconds between refills. */
  intervalMs: number;
  /** The most the bucket holds: `max(burst, amount)`. */
  capacity: number;
  /** Bottleneck's heartbeat: how late a refill can be. */
  heartbeatMs: number;
}

export function bucketShape({ perSecond, burst }: Required<RateLimit>): BucketShape {
  // Refills are whole permits (a fractional one would be lost at the bucket's cap), and one
  // refill must fit in the burst allowance, or a window could see perSecond + one refill.
  let amount = Math.max(1, Math.floor(Math.min(perSecond / REFILLS_PER_SECOND, burst)));
  if ((1000 * amount) / perSecond < MIN_INTERVAL_MS) amount = Math.ceil((perSecond * MIN_INTERVAL_MS) / 1000);
  const intervalMs = (1000 * amount) / perSecond;
  const heartbeatMs = Math.min(100, Math.max(5, Math.round(intervalMs / 10)));
  return { amount, intervalMs, capacity: Math.max(burst, amount), heartbeatMs };
}

/**
 * A host's rate limit, in two layers.
 *
 * Bottleneck holds the budget in its reservoir (so a cluster datastore can share it later).
 * It admits only a few hundred jobs a second, so permits are taken from it in batches: one
 * weighted job per refill at most, never one job per message. A batch taken early but spent
 * late could then cluster with the next one, so every send also takes a token from an exact
 * local {@link TokenBucket} of the same shape: that is what keeps any one-second window at or
 * under `perSecond + burst`, whenever the permits arrive.
 */
export class RateLimiter {
  readonly shape: BucketShape;
  readonly #limiter: Bottleneck;
  readonly #bucket: TokenBucket;
  #held = 0;
  #asking = false;
  #lastTakenAt = -Infinity;
  #closed = false;

  constructor(limit: Required<RateLimit>, now: number) {
    this.shape = bucketShape(limit);
    const { amount, intervalMs, capacity, heartbeatMs } = this.shape;
    this.#bucket = new TokenBucket(limit.perSecond, capacity, now);
    this.#limiter = new Bottleneck({
      reservoir: capacity,
      reservoirIncreaseAmount: amount,
      reservoirIncreaseInterval: intervalMs * HEARTBEAT_HEADROOM,
      reservoirIncreaseMaximum: capacity,
      heartbeatInterval: heartbeatMs,
    });
  }

  /**
   * Takes what one send needs at `now`: `'ok'` when it may go; `'ask'` when no Bottleneck
   * permit is held (call {@link request}); or the time at which the local bucket has a token.
   */
  take(now: number): 'ok' | 'ask' | number {
    if (this.#held < 1) return 'ask';
    if (!this.#bucket.tryTake(now)) return this.#bucket.nextAt(now);
    this.#held--;
    this.#lastTakenAt = now;
    return 'ok';
  }

  /** Permits taken from Bottleneck and not yet spent. */
  get held(): number {
    return this.#held;
  }

  /**
   * Asks Bottleneck for up to `want` permits (at most one refill's worth); `onGrant` runs
   * once they are held. One request at a time: a call while one is out does nothing.
   */
  request(want: number, onGrant: () => void): void {
    if (this.#asking || this.#closed) return;
    this.#asking = true;
    const weight = Math.max(1, Math.min(Math.floor(want), this.shape.amount));
    this.#limiter.schedule({ weight }, () => Promise.resolve()).then(
      () => {
        this.#asking = false;
        if (this.#closed) return;
        this.#held += weight;
        onGrant();
      },
      () => {
        // Only a disconnect rejects a job; the actor is going away.
        this.#asking = false;
      },
    );
  }

  /** Forgets held permits: the queue is empty, and saved permits would only be spent in a burst later. */
  drop(): void {
    this.#held = 0;
  }

  /** True once both buckets have had time to refill: dropping the actor now resets nothing early. */
  settled(now: number): boolean {
    if (this.#asking || !this.#bucket.full(now)) return false;
    const { capacity, amount, intervalMs, heartbeatMs } = this.shape;
    return now - this.#lastTakenAt >= Math.ceil(capacity / amount) * intervalMs + heartbeatMs;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#limiter.disconnect(false).catch(() => {});
  }
}

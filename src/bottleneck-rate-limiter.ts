import Bottleneck from 'bottleneck';
import type { RateLimit } from './options.js';
import { bucketShape, type BucketShape, type RateLimiter } from './rate-limiter.js';
import { TokenBucket } from './token-bucket.js';

/**
 * Bottleneck refills on a heartbeat and loses however late each beat is (measured: about 5%
 * at 10 refills a second). Its refills are scheduled this much early to make up for it; the
 * exact local bucket still holds every window to `perSecond + burst`.
 */
const HEARTBEAT_HEADROOM = 0.95;

/**
 * A host's rate limit kept in a Bottleneck reservoir, in two layers, so that a Bottleneck
 * datastore (local, or Redis for several processes) can hold the budget.
 *
 * Bottleneck admits only a few hundred jobs a second, so permits are taken from it in
 * batches: one weighted job per refill at most, never one job per message. A batch taken
 * early but spent late could then cluster with the next one, so every send also takes a token
 * from an exact local {@link TokenBucket} of the same shape: that keeps any one-second window
 * at or under `perSecond + burst`, whenever the permits arrive.
 */
export class BottleneckRateLimiter implements RateLimiter {
  readonly shape: BucketShape;
  readonly #limiter: Bottleneck;
  readonly #bucket: TokenBucket;
  readonly #wake: () => void;
  /** Permits taken from Bottleneck and not yet spent. */
  #held = 0;
  #asking = false;
  #lastTakenAt = -Infinity;
  #closed = false;

  /** @param bottleneck extra Bottleneck options, such as a datastore shared by several processes */
  constructor(limit: Required<RateLimit>, now: number, wake: () => void, bottleneck: Bottleneck.ConstructorOptions = {}) {
    this.shape = bucketShape(limit);
    const { amount, intervalMs, capacity, heartbeatMs } = this.shape;
    this.#bucket = new TokenBucket(limit.perSecond, capacity, now);
    this.#wake = wake;
    this.#limiter = new Bottleneck({
      reservoir: capacity,
      reservoirIncreaseAmount: amount,
      reservoirIncreaseInterval: intervalMs * HEARTBEAT_HEADROOM,
      reservoirIncreaseMaximum: capacity,
      heartbeatInterval: heartbeatMs,
      ...bottleneck,
    });
  }

  admit(now: number, backlog: number): number {
    if (this.#held < 1) {
      this.#request(backlog);
      return Infinity;
    }
    if (!this.#bucket.tryTake(now)) return Math.max(1, this.#bucket.nextAt(now) - now);
    this.#held--;
    this.#lastTakenAt = now;
    // Ask for the next batch while this one is spent, so Bottleneck's hops overlap with
    // sending; but never hold more than about one refill beyond the backlog.
    if (this.#held < this.shape.amount && backlog - 1 > this.#held) this.#request(backlog - 1);
    return 0;
  }

  /** Saved permits would only be spent in a burst later. */
  idle(): void {
    this.#held = 0;
  }

  settled(now: number): boolean {
    if (this.#asking || !this.#bucket.full(now)) return false;
    const { capacity, amount, intervalMs, heartbeatMs } = this.shape;
    return now - this.#lastTakenAt >= Math.ceil(capacity / amount) * intervalMs + heartbeatMs;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#limiter.disconnect(false).catch(() => {});
  }

  /** Asks Bottleneck for up to one refill of permits; one request at a time. */
  #request(want: number): void {
    if (this.#asking || this.#closed) return;
    this.#asking = true;
    const weight = Math.max(1, Math.min(Math.floor(want - this.#held), this.shape.amount));
    this.#limiter.schedule({ weight }, () => Promise.resolve()).then(
      () => {
        this.#asking = false;
        if (this.#closed) return;
        this.#held += weight;
        this.#wake();
      },
      () => {
        // Only a disconnect rejects a job; the actor is going away.
        this.#asking = false;
      },
    );
  }
}

/**
 * An exact token bucket on a clock, with no timers: tokens are computed from elapsed time when
 * asked. It holds at most `capacity` tokens and gains `perSecond` a second, so in any window of
 * `w` ms at most `capacity + perSecond · w / 1000` tokens can be taken.
 */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    readonly perSecond: number,
    readonly capacity: number,
    now: number,
  ) {
    this.#tokens = capacity;
    this.#at = now;
  }

  /** Takes one token at `now` if there is one. */
  tryTake(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** When the next whole token will be there (`now` if it already is). */
  nextAt(now: number): number {
    this.#refill(now);
    return this.#tokens >= 1 ? now : now + Math.ceil(((1 - this.#tokens) * 1000) / this.perSecond);
  }

  /** True when the bucket is full again at `now`. */
  full(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.capacity;
  }

  #refill(now: number): void {
    if (now > this.#at) {
      this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#at) * this.perSecond) / 1000);
      this.#at = now;
    }
  }
}

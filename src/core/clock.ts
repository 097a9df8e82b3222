/**
 * The one source of time and randomness. Everything that reads the time, waits or draws a
 * jitter does it through a {@link Clock} handed down from the dispatcher, so tests can drive
 * the whole library with a manual clock and no sleeps.
 */

/** A scheduled callback; cancelling twice, or after it ran, does nothing. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Wall-clock milliseconds since the epoch (signature timestamps and schedules use it). */
  now(): number;
  /**
   * Runs `fn` once, `ms` milliseconds from now (0 if negative). Any length is allowed: waits
   * past what one Node timer holds are taken in steps.
   * @param keepAlive whether the wait keeps the process alive. Work that is owed (a retry, a
   * drain) does; bookkeeping (a deadline over sockets that keep it alive anyway) does not.
   */
  setTimer(fn: () => void, ms: number, keepAlive: boolean): Timer;
  /** A number in [0, 1), uniformly drawn: jitter and ids. */
  random(): number;
}

/** The longest delay one Node timer honours; beyond it Node fires after 1 ms with a warning. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

class NodeTimer implements Timer {
  #handle: NodeJS.Timeout | undefined;
  readonly #fn: () => void;
  readonly #keepAlive: boolean;

  constructor(fn: () => void, ms: number, keepAlive: boolean) {
    this.#fn = fn;
    this.#keepAlive = keepAlive;
    this.#arm(Math.max(0, ms));
  }

  cancel(): void {
    if (this.#handle !== undefined) clearTimeout(this.#handle);
    this.#handle = undefined;
  }

  #arm(ms: number): void {
    const step = Math.min(ms, MAX_TIMER_MS);
    this.#handle = setTimeout(() => {
      if (ms > step) return this.#arm(ms - step);
      this.#handle = undefined;
      this.#fn();
    }, step);
    if (!this.#keepAlive) this.#handle.unref();
  }
}

/** The process's own clock: `Date.now`, Node timers, `Math.random`. */
export const systemClock: Clock = {
  now: Date.now,
  setTimer: (fn, ms, keepAlive) => new NodeTimer(fn, ms, keepAlive),
  random: Math.random,
};

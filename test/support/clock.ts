import { systemClock, type Clock, type Timer } from '../../src/core/clock.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told: `advance(ms)` runs every timer that falls due, in order,
 * each seeing `now()` at its own due time. Randomness is a fixed sequence (or `0.5`).
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Pending[] = [];
  #randoms: number[];

  constructor(start = 1_800_000_000_000, randoms: number[] = []) {
    this.#now = start;
    this.#randoms = randoms;
  }

  now = (): number => this.#now;

  random = (): number => this.#randoms.shift() ?? 0.5;

  setTimer = (fn: () => void, ms: number): Timer => {
    const timer: Pending = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  };

  /** Timers armed and not yet run or cancelled. */
  get pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** The due time of the earliest live timer. */
  get nextTimerAt(): number | undefined {
    return this.#live()[0]?.at;
  }

  /** Moves time forward by `ms`, running due timers in order. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      const next = this.#live()[0];
      if (next === undefined || next.at > until) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = until;
  }

  #live(): Pending[] {
    this.#timers = this.#timers.filter((t) => !t.cancelled);
    return [...this.#timers].sort((a, b) => a.at - b.at || a.seq - b.seq);
  }
}

/** The system clock, its wall time moved by `offset` ms: real sockets and timers, a later "now". */
export class ShiftedClock implements Clock {
  offset = 0;
  now = (): number => systemClock.now() + this.offset;
  setTimer = systemClock.setTimer;
  random = systemClock.random;
}

import type { AttemptHandler } from './attempt-handler.js';
import type { Timer } from '../core/clock.js';
import type { TransportOptions } from './transport.js';

/**
 * Every attempt in flight of a dispatcher, across all its origins, oldest first, under one
 * timer. All deadlines are `timeoutMs` after their attempt's start, so they fall due in the
 * order the attempts started: the timer is armed for the oldest only. Attempts link through
 * their own `prev`/`next`, so tracking one costs no allocation, and 10,000 hosts with a
 * request in flight hold one timer, not 10,000.
 */
export class Deadlines {
  #oldest: AttemptHandler | undefined;
  #newest: AttemptHandler | undefined;
  #timer: Timer | undefined;
  /** The timer's callback, made on first use. */
  #onTimer: (() => void) | undefined;

  constructor(private readonly options: TransportOptions) {}

  add(attempt: AttemptHandler): void {
    if (this.#newest === undefined) this.#oldest = attempt;
    else {
      this.#newest.next = attempt;
      attempt.prev = this.#newest;
    }
    this.#newest = attempt;
    // A timer left armed for an attempt that has since ended fires, finds nothing due and
    // re-arms for the oldest: cheaper than cancelling and arming one per attempt.
    if (this.#timer === undefined) this.#arm();
  }

  remove(attempt: AttemptHandler): void {
    const { prev, next } = attempt;
    if (prev === undefined) this.#oldest = next;
    else prev.next = next;
    if (next === undefined) this.#newest = prev;
    else next.prev = prev;
    attempt.prev = attempt.next = undefined;
  }

  /** Oldest first; `fn` may end the attempt it is given (and so remove it). */
  forEach(fn: (attempt: AttemptHandler) => void): void {
    for (let attempt = this.#oldest; attempt !== undefined; ) {
      const next = attempt.next;
      fn(attempt);
      attempt = next;
    }
  }

  /** Cancels the timer when nothing is in flight: a closed dispatcher leaves none behind. */
  stopIfIdle(): void {
    if (this.#oldest !== undefined) return;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #arm(): void {
    const oldest = this.#oldest;
    if (oldest === undefined) return;
    const { clock, timeoutMs } = this.options;
    // Not owed work: the sockets of attempts in flight keep the process alive while they
    // last, and once none is left an idle dispatcher must let the process exit.
    this.#timer = clock.setTimer((this.#onTimer ??= () => this.#expire()), Math.max(1, oldest.started + timeoutMs - clock.now()), false);
  }

  #expire(): void {
    this.#timer = undefined;
    if (this.#oldest === undefined || this.#oldest.deadline > this.options.clock.now()) {
      this.#arm();
      return;
    }
    // Something is due. Timers run before the loop polls for I/O, so after a long synchronous
    // stretch of the app an answer that arrived in time still waits unread in its socket:
    // expire only after one poll phase (setImmediate runs right after it) has read it.
    setImmediate(this.#onPolled ??= () => this.#expireDue());
  }

  /** Runs {@link #expireDue} after the poll phase, made on first use. */
  #onPolled: (() => void) | undefined;

  #expireDue(): void {
    // An attempt added meanwhile may have armed the timer: this pass arms it anew.
    this.#timer?.cancel();
    this.#timer = undefined;
    const now = this.options.clock.now();
    // Each expiry ends its attempt, which leaves the list: the oldest is always at the front.
    for (let attempt = this.#oldest; attempt !== undefined && attempt.deadline <= now; attempt = this.#oldest) attempt.expire();
    this.#arm();
  }
}

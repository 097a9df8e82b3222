import type { Clock, Timer } from '../core/clock.js';
import type { ActorHooks } from './actor-hooks.js';

/**
 * An actor's one timer, set to the next moment something can change without an answer
 * arriving, and what the actor waits for (kept here, not on the actor: the actor makes this at
 * the first wait, and most actors never wait for anything). Setting it to the time it already
 * has costs nothing; its callback is made on first use.
 */
export class ActorTimer {
  /** A 429 (or 503 with Retry-After) holds the whole host until then. */
  pausedUntil = 0;
  /** The rate limit's next permit, when the queue waits for one. */
  permitAt = 0;
  #timer: Timer | undefined;
  #at = Infinity;
  #fire: (() => void) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly actor: Pick<ActorHooks, 'timerFired'>,
  ) {}

  /** Fires at `at` (never when `Infinity`), replacing any earlier setting. */
  set(at: number, now: number): void {
    if (at === this.#at) return;
    this.clear();
    if (at === Infinity) return;
    this.#at = at;
    // Owed work: a retry or a held message keeps the process alive until it is done.
    this.#timer = this.clock.setTimer((this.#fire ??= () => this.#fired()), at - now, true);
  }

  clear(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#at = Infinity;
  }

  #fired(): void {
    this.#timer = undefined;
    this.#at = Infinity;
    this.actor.timerFired();
  }
}

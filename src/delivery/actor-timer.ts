import type { Clock, Timer } from '../core/clock.js';
import type { ActorHooks } from './actor-hooks.js';

/**
 * An actor's one timer, set to the next moment something can change without an answer
 * arriving. Setting it to the time it already has costs nothing; its callback is made on first
 * use: most actors never wait for anything.
 */
export class ActorTimer {
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

import type { BreakerOptions } from '../config/options.js';
import type { BreakerState } from '../model/types.js';

/** The breaker's state, one variant per state: no parallel flags to disagree. */
type State =
  | { name: 'closed'; failures: number }
  | { name: 'open'; until: number }
  | { name: 'half-open'; probing: boolean };

/** Up to this fraction is added to each cooldown, so breakers opened together do not probe together. */
const COOLDOWN_JITTER = 0.2;

/**
 * Consecutive-failure circuit breaker for one host:
 * closed → (failureThreshold consecutive failures) → open → (cooldown + jitter) → half-open,
 * one probe → closed on success, open again on failure.
 *
 * Every pass is stamped with a generation, bumped on each state change, so an answer from
 * before a change (a slow request sent while closed, landing after the breaker opened) cannot
 * move the current state.
 */
export class CircuitBreaker {
  #state: State = { name: 'closed', failures: 0 };
  #generation = 0;

  constructor(
    private readonly options: BreakerOptions,
    private readonly onChange: (state: BreakerState) => void = () => {},
    private readonly random: () => number = Math.random,
  ) {}

  get state(): BreakerState {
    return this.#state.name;
  }

  /** When an open breaker lets its probe through; `undefined` unless open. */
  get reopensAt(): number | undefined {
    return this.#state.name === 'open' ? this.#state.until : undefined;
  }

  /** Would {@link tryPass} give a ticket at `now`? Changes nothing. */
  canPass(now: number): boolean {
    const s = this.#state;
    if (s.name === 'closed') return true;
    if (s.name === 'open') return now >= s.until;
    return !s.probing;
  }

  /**
   * Asks to send one request at `now`. Returns a ticket (the generation) to hand back to
   * {@link success} or {@link failure}, or `undefined` when nothing may be sent: open and
   * cooling down, or half-open with its probe out.
   */
  tryPass(now: number): number | undefined {
    const s = this.#state;
    if (s.name === 'closed') return this.#generation;
    if (s.name === 'open') {
      if (now < s.until) return undefined;
      this.#enter({ name: 'half-open', probing: true });
      return this.#generation;
    }
    if (s.probing) return undefined;
    s.probing = true;
    return this.#generation;
  }

  /** The request holding `ticket` showed the host healthy. Returns whether the breaker closed. */
  success(ticket: number): boolean {
    if (ticket !== this.#generation) return false;
    const s = this.#state;
    if (s.name === 'closed') {
      s.failures = 0;
      return false;
    }
    if (s.name === 'half-open') {
      this.#enter({ name: 'closed', failures: 0 });
      return true;
    }
    return false;
  }

  /**
   * The request holding `ticket` ended without showing anything about the host (the client
   * refused to send it). A half-open breaker may send another probe; nothing else changes.
   */
  release(ticket: number): void {
    if (ticket !== this.#generation) return;
    if (this.#state.name === 'half-open') this.#state.probing = false;
  }

  /** The request holding `ticket` failed at `now`. Returns whether the breaker opened. */
  failure(ticket: number, now: number): boolean {
    if (ticket !== this.#generation) return false;
    const s = this.#state;
    if (s.name === 'closed' && ++s.failures < this.options.failureThreshold) return false;
    if (s.name === 'open') return false;
    const cooldown = this.options.cooldownMs * (1 + COOLDOWN_JITTER * this.random());
    this.#enter({ name: 'open', until: now + cooldown });
    return true;
  }

  #enter(state: State): void {
    this.#state = state;
    this.#generation++;
    this.onChange(state.name);
  }
}

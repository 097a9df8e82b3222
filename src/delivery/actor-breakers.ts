import { CircuitBreaker } from './circuit-breaker.js';
import type { Outcome } from './classify.js';
import type { Clock } from '../core/clock.js';
import type { BreakerOptions } from '../config/options.js';
import type { ActorContext } from './actor-context.js';
import type { BreakerState } from '../model/types.js';

/**
 * A host actor's breakers: the host's own (made at its first failure: a host that never fails
 * never needs one) and, in a cluster, the open breakers other processes share for the origin.
 * Each attempt holds a ticket (the breaker's generation when it was sent), so an answer from
 * before a state change cannot move the current state.
 */
export class ActorBreakers {
  #host: CircuitBreaker | undefined;
  /** Another process's breaker holds this host open until then (a cluster only). */
  #sharedOpenUntil = 0;

  constructor(
    private readonly origin: string,
    private readonly options: BreakerOptions | false,
    private readonly ctx: ActorContext,
    private readonly clock: Clock,
  ) {}

  /** Asks the cluster again (at most every second per origin, answered from memory): call before sending. */
  refresh(now: number): void {
    const shared = this.ctx.sharedBreakers;
    if (shared !== undefined) this.#sharedOpenUntil = shared.openUntil(this.origin, now);
  }

  /** The host is held by a breaker, this process's or another's. */
  holds(now: number): boolean {
    return now < this.#sharedOpenUntil || (this.#host !== undefined && !this.#host.canPass(now));
  }

  /** When the host's hold may end (0 when nothing holds it). */
  holdsUntil(): number {
    return Math.max(this.#sharedOpenUntil, this.#host?.reopensAt ?? 0);
  }

  /** The host's ticket for one attempt at `now` (call only when not {@link holds}). */
  ticket(now: number): number {
    return this.#host?.tryPass(now) ?? 0;
  }

  state(now: number): BreakerState {
    return this.#sharedOpenUntil > now ? 'open' : (this.#host?.state ?? 'closed');
  }

  /**
   * What one attempt's outcome says about the host. `endpointFailure`: the failure is its
   * endpoint's (a 5xx, a timeout), which counts against the host only once that endpoint's
   * breaker opens ({@link failure}); the connection worked, so it is neither a success nor a failure here.
   */
  record(outcome: Outcome, endpointFailure: boolean, ticket: number, now: number): void {
    if (outcome.kind === 'retry' && outcome.breakerFailure) {
      if (endpointFailure) this.#host?.release(ticket);
      else this.failure(ticket, now);
    } else if (outcome.kind !== 'refused') this.#host?.success(ticket);
    else this.#host?.release(ticket);
  }

  /** One failure against the host's breaker. Made at the first, at generation 0: the ticket every attempt got without one. */
  failure(ticket: number, now: number): void {
    this.#hostBreaker()?.failure(ticket, now);
  }

  #hostBreaker(): CircuitBreaker | undefined {
    if (this.#host === undefined && this.options !== false) {
      this.#host = new CircuitBreaker(this.options, (state) => this.#changed(state), this.clock.random);
    }
    return this.#host;
  }

  #changed(state: BreakerState): void {
    this.ctx.sink.breaker(this.origin, state);
    this.ctx.sharedBreakers?.changed(this.origin, state, this.#host?.reopensAt);
  }
}

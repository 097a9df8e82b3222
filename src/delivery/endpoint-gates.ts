import { CircuitBreaker } from './circuit-breaker.js';
import type { Outcome } from './classify.js';
import type { ActorContext } from './actor-context.js';
import type { EndpointTurns, Lane } from './endpoint-turns.js';
import type { BreakerOptions } from '../config/options.js';
import type { Message } from '../model/message.js';
import type { ActorHooks } from './actor-hooks.js';

/**
 * What may hold one endpoint URL of a host without holding the others: its own rate limit
 * (`rateLimit` on the endpoint) and its own breaker (its 5xx and timeouts). Both live on the
 * URL's lane, made on first need. A held endpoint is parked: out of the turns, so the host's
 * other endpoints keep theirs, and back when its permit or its breaker's probe is due.
 */
export class EndpointGates {
  /**
   * @param actor told when an endpoint's breaker opened (a failure of the host's), and woken
   * when a parked endpoint may take turns again before its time (a shared limiter woke)
   */
  constructor(
    private readonly origin: string,
    private readonly options: BreakerOptions | false,
    private readonly ctx: ActorContext,
    private readonly turns: EndpointTurns,
    private readonly actor: Pick<ActorHooks, 'wake' | 'endpointBreakerOpened'>,
  ) {}

  /**
   * May the current lane send `head` now? Its breaker must let it pass and its limiter give it a
   * permit (taken here, kept on the lane until the send goes). When not, the lane is parked
   * until then and `false` is returned: the caller moves on to the next lane.
   */
  ready(lane: Lane, head: Message, now: number): boolean {
    const breaker = lane.breaker;
    if (breaker !== undefined && !breaker.canPass(now)) {
      // Open: until its probe is due; half-open with its probe out: until the probe's answer.
      // No later than its head's deadline: it then ends as expired, on time.
      this.turns.park(Math.min(breaker.reopensAt ?? Infinity, head.expiresAt), 'breaker');
      return false;
    }
    if (lane.permit) return true;
    const limit = head.endpoint.rateLimit;
    if (lane.limiter === undefined && limit !== undefined) {
      // A key of its own: the URL (an origin has no path, a URL always has one), shared through Redis in a cluster.
      lane.limiter = this.ctx.rateLimiter(limit, now, () => this.#woken(lane), lane.url);
    }
    if (lane.limiter === undefined) return true;
    const wait = lane.limiter.admit(now, lane.queue.length);
    if (wait > 0) {
      this.turns.park(Math.min(now + wait, head.expiresAt), 'rate');
      return false;
    }
    lane.permit = true;
    return true;
  }

  /** The lane's send goes: its permit is used; its breaker's ticket. */
  ticket(lane: Lane, now: number): number {
    lane.permit = false;
    if (lane.limiter !== undefined && lane.queue.length === 0) lane.limiter.idle();
    return lane.breaker?.tryPass(now) ?? 0;
  }

  /**
   * What an attempt's outcome says about its endpoint. `endpointFailure`: a 5xx or a timeout
   * (not a connection failure, which is the host's). Its breaker is made at the endpoint's
   * first failure, at generation 0: the ticket every attempt got without one. When it opens, it
   * counts one failure against the host's breaker (`hostTicket`: the attempt's), so failures
   * across several endpoints open the host's.
   */
  record(lane: Lane, outcome: Outcome, endpointFailure: boolean, ticket: number, hostTicket: number, now: number): void {
    if (endpointFailure) {
      if (lane.breaker === undefined && this.options !== false) {
        const url = lane.url;
        lane.breaker = new CircuitBreaker(this.options, (state) => this.ctx.sink.breaker(this.origin, state, url), this.ctx.clock.random);
      }
      if (lane.breaker?.failure(ticket, now) === true) this.actor.endpointBreakerOpened(hostTicket, now);
    } else if (outcome.kind === 'refused' || (outcome.kind === 'retry' && outcome.breakerFailure)) {
      // Refused before sending, or the host's failure: nothing about the endpoint.
      lane.breaker?.release(ticket);
    } else lane.breaker?.success(ticket);
    // A lane parked for its breaker looks again (its probe answered): the next pump parks it anew if it must wait.
    if (lane.parked && lane.why === 'breaker') this.turns.unpark(lane);
  }

  #woken(lane: Lane): void {
    if (lane.parked && lane.why === 'rate') this.turns.unpark(lane);
    this.actor.wake();
  }
}

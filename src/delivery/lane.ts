import type { WebhookError } from '../core/errors.js';
import type { Message } from '../model/message.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { FrontQueue } from './front-queue.js';

/** What may hold a lane, and its refusal: most endpoints never need any of it, so it is made on first need. */
class LaneGate {
  dueAt = 0;
  why: 'breaker' | 'rate' | undefined = undefined;
  breaker: CircuitBreaker | undefined = undefined;
  limiter: RateLimiter | undefined = undefined;
  permit = false;
  full: WebhookError | undefined = undefined;
}

/**
 * One endpoint URL inside its host's actor: its queue, how much of the host's room it holds,
 * and what may hold it (its own breaker and rate limit, made on first need). Dropped when it
 * holds nothing, so a host with 100,000 endpoints that went quiet keeps no state for them.
 *
 * What may hold it (parking, breaker, limiter, permit, refusal) lives in a {@link LaneGate} made
 * at the first write of something other than its default: six fields fewer (48 bytes) on each
 * of 10,000 hosts' lanes that never need them. Reads without one give the defaults.
 */
export class Lane extends FrontQueue<Message> {
  /** The lane's queued messages: the lane is its own queue, one object less per endpoint. */
  get queue(): FrontQueue<Message> {
    return this;
  }

  /** Messages of this URL the actor holds and has not sent: queued, waiting to retry, on disk, being committed. */
  held = 0;
  inFlight = 0;
  /**
   * The next lane in its host's ring of lanes taking turns ({@link EndpointTurns}): `null` at
   * the ring's tail, `undefined` out of the ring.
   */
  ringNext: Lane | null | undefined = undefined;
  #gate: LaneGate | undefined = undefined;

  constructor(readonly url: string) {
    super();
  }

  /** In the ring of lanes taking turns. */
  get inRing(): boolean {
    return this.ringNext !== undefined;
  }

  /** When a parked lane is due. */
  get dueAt(): number {
    return this.#gate?.dueAt ?? 0;
  }
  set dueAt(at: number) {
    if (at !== 0 || this.#gate !== undefined) (this.#gate ??= new LaneGate()).dueAt = at;
  }

  /** Why it is parked (out of the ring until `dueAt`, `Infinity`: until woken), for `stats()`; `undefined` when not. */
  get why(): 'breaker' | 'rate' | undefined {
    return this.#gate?.why;
  }
  set why(why: 'breaker' | 'rate' | undefined) {
    if (why !== undefined || this.#gate !== undefined) (this.#gate ??= new LaneGate()).why = why;
  }

  /** Out of the ring: its breaker is open, or it waits for its permit. */
  get parked(): boolean {
    return this.#gate?.why !== undefined;
  }

  get breaker(): CircuitBreaker | undefined {
    return this.#gate?.breaker;
  }
  set breaker(breaker: CircuitBreaker | undefined) {
    if (breaker !== undefined || this.#gate !== undefined) (this.#gate ??= new LaneGate()).breaker = breaker;
  }

  get limiter(): RateLimiter | undefined {
    return this.#gate?.limiter;
  }
  set limiter(limiter: RateLimiter | undefined) {
    if (limiter !== undefined || this.#gate !== undefined) (this.#gate ??= new LaneGate()).limiter = limiter;
  }

  /** Holds a permit of its own limiter, taken while the host's limiter had none: the next send uses it. */
  get permit(): boolean {
    return this.#gate?.permit ?? false;
  }
  set permit(permit: boolean) {
    if (permit || this.#gate !== undefined) (this.#gate ??= new LaneGate()).permit = permit;
  }

  /** The refusal naming this endpoint's full share, made at its first refusal. */
  get full(): WebhookError | undefined {
    return this.#gate?.full;
  }
  set full(full: WebhookError | undefined) {
    if (full !== undefined || this.#gate !== undefined) (this.#gate ??= new LaneGate()).full = full;
  }
}

import { afterAttempt } from './attempt-outcome.js';
import { ActorBreakers } from './actor-breakers.js';
import { classifyError, classifyStatus, isConnectionFailure } from './classify.js';
import { EndpointGates } from './endpoint-gates.js';
import { endpointStats } from './endpoint-stats.js';
import type { WebhookError } from '../core/errors.js';
import type { Message } from '../model/message.js';
import type { ResolvedHostOptions } from '../config/options.js';
import type { ActorContext } from './actor-context.js';
import { ActorTimer } from './actor-timer.js';
import type { ActorHooks } from './actor-hooks.js';
import type { Lane } from './endpoint-turns.js';
import { HostHoldings } from './host-holdings.js';
import { InFlight, type InFlightOwner } from './in-flight.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import { attemptHeadersFor } from './send-attempt.js';
import type { AttemptResult, Transport } from '../transport/transport.js';
import type { HostStats } from '../model/types.js';

/**
 * Everything for one origin: a bounded queue served one endpoint URL at a time in turn
 * (acceptance order on an ordered host), a retry heap with one timer, a concurrency limit, an
 * optional rate limiter and circuit breaker, and the transport. Each endpoint may hold at most
 * its share of the queue (`endpointQueueShare`; counted in {@link HostHoldings}). The actor decides
 * *when* each attempt runs and what its outcome does to the message; classification,
 * backoff, breaker state and rate accounting each live in their own module.
 *
 * Its helpers are `private` methods, not `#` ones: a class with `#` methods gives each instance
 * one more slot (its brand), 8 bytes that 10,000 hosts hold 10,000 times.
 */
export class HostActor implements ActorHooks, InFlightOwner {
  readonly #held: HostHoldings;
  /**
   * The host's breakers: made at the first failure that counts against the host, or at once in
   * a cluster (whose shared breakers it asks); until then nothing holds the host.
   */
  #breakers: ActorBreakers | undefined;
  /** Each endpoint's own limit and breaker; none on an ordered host, whose one queue keeps acceptance order. */
  #gates: EndpointGates | undefined;
  readonly #limiter: RateLimiter | undefined;
  #inFlight = 0;
  /**
   * What the actor waits for (a 429's pause, the rate limit's next permit) and its one timer:
   * made the first time there is something to wait for. Most actors never wait.
   */
  #timer: ActorTimer | undefined;
  #lastActive: number;
  /**
   * `running`; `paused` by the user (nothing new is sent; time to live still runs); or
   * `aborted`, closed without draining (whatever is left or comes back fails with `'closed'`).
   */
  #mode: 'running' | 'paused' | 'aborted' = 'running';

  constructor(
    readonly origin: string,
    private readonly host: ResolvedHostOptions,
    private readonly transport: Transport,
    private readonly ctx: ActorContext,
  ) {
    this.#held = new HostHoldings(host, ctx, this);
    if (ctx.sharedBreakers !== undefined) this.actorBreakers();
    this.#lastActive = this.ctx.clock.now();
    if (host.rateLimit !== undefined) this.#limiter = ctx.rateLimiter(host.rateLimit, this.#lastActive, () => this.pump(), origin);
  }

  /** Is there room for one more message (retries count against the capacity)? */
  get hasRoom(): boolean {
    return this.#held.hasRoom;
  }

  /** Is there room for one more message to `url`: room in the host's queue and in the endpoint's share? */
  hasRoomFor(url: string): boolean {
    return this.#held.hasRoomFor(url);
  }

  /** Holds room for a message to `url` being committed to the store; {@link accept} or {@link unreserve} gives it back. */
  reserve(url: string): void {
    this.#held.reserve(url);
  }

  unreserve(url: string): void {
    this.#held.unreserve(url, this.ctx.clock.now());
  }

  private left(lane: Lane): void {
    this.#held.left(lane, this.ctx.clock.now());
  }

  /**
   * Takes a message; call only when {@link hasRoom} (or it was reserved). An aborted actor ends
   * it at once. With a backlog, a message beyond the in-memory window stays on disk only.
   */
  accept(message: Message, reserved = false): void {
    this.#held.accept(message, reserved);
  }

  /**
   * A message this process claimed from a shared store (another process's, or nobody's); call
   * only when {@link hasRoom}. A retry scheduled elsewhere keeps its time.
   */
  adopt(message: Message): void {
    this.#held.adopt(message);
  }

  /** Messages an earlier run left pending for this host: they are paged in from the store. */
  recover(count: number): void {
    this.#held.recover(count);
  }

  get capacity(): number {
    return this.host.queueCapacity;
  }

  /**
   * `WD_QUEUE_FULL` for this host, or for the endpoint `url` when the host has room but the
   * endpoint holds its share: one frozen, stackless error per host (per endpoint), shared by every refusal.
   */
  queueFullError(url?: string): WebhookError {
    return this.#held.queueFullError(url);
  }

  /** Resolves once {@link hasRoom} holds (or {@link hasRoomFor} `url`), at once if it does now, or the actor is aborted. */
  waitForRoom(url?: string): Promise<void> {
    return this.#held.waitForRoom(url, this.#mode === 'aborted');
  }

  /** Stops sending new attempts until {@link resume}; in-flight attempts finish. */
  pause(): void {
    if (this.#mode === 'running') this.#mode = 'paused';
  }

  resume(): void {
    if (this.#mode !== 'paused') return;
    this.#mode = 'running';
    this.pump();
  }

  get paused(): boolean {
    return this.#mode === 'paused';
  }

  /**
   * Ends with `'cancelled'` every queued or waiting message `match` picks (all of them without
   * one). In-flight attempts are not cut: their answer decides. Returns how many ended.
   */
  cancel(match?: (message: Message) => boolean): number {
    const ended = this.#held.removeWhere(match ?? (() => true));
    for (const m of ended) this.leftWith(m);
    for (const m of ended) this.ctx.sink.failed(m, 'cancelled');
    if (ended.length > 0) this.pump();
    return ended.length;
  }

  /**
   * Drops the queued or waiting messages of `ids` with no event (each goes to the sink as
   * released): another process owns them now. In-flight attempts are not cut: the store
   * refuses their ends. Returns how many it dropped.
   */
  forget(ids: ReadonlySet<string>): number {
    const dropped = this.#held.removeWhere((m) => ids.has(m.id));
    for (const m of dropped) this.ctx.sink.released(m);
    if (dropped.length > 0) this.pump();
    return dropped.length;
  }

  stats(): HostStats {
    return {
      queued: this.#held.queued,
      inFlight: this.#inFlight,
      waiting: this.#held.retries.size,
      breaker: this.#breakers?.state(this.ctx.clock.now()) ?? 'closed',
      paused: this.#mode === 'paused',
      ...endpointStats(this.#held.queue, this.host.queueCapacity, this.ctx.clock.now()),
    };
  }

  /**
   * Nothing held, nothing in flight, idle for `idleMs` and its rate limit refilled: dropping
   * it now loses nothing a new actor would not rebuild. An open breaker does not keep an idle
   * actor: with nothing queued there is nobody for it to protect.
   */
  evictable(now: number, idleMs: number): boolean {
    return (
      this.#mode === 'running' &&
      this.#inFlight === 0 &&
      this.#held.empty(now) &&
      now - this.#lastActive >= idleMs &&
      (this.#limiter === undefined || this.#limiter.settled(now))
    );
  }

  /**
   * Fails everything held with `'closed'`; in-flight attempts are cut and fail the same way.
   * With a durable store nothing fails: unfinished messages are handed back to the store,
   * which keeps them for the next run.
   */
  abort(): void {
    this.#mode = 'aborted';
    this.#timer?.clear();
    const { sink } = this.ctx;
    const durable = this.keeps;
    for (const m of this.#held.drain()) {
      this.leftWith(m);
      if (durable) sink.released(m);
      else sink.failed(m, 'closed');
    }
    // Counted as released too, or the close waiting for every accepted message would wait forever.
    const onDisk = this.#held.disk?.drop() ?? 0;
    if (durable && onDisk > 0) sink.releasedOnDisk(onDisk);
    this.#held.notifyRoom(true);
    void this.transport.destroy();
  }

  private get keeps(): boolean {
    return this.ctx.backlog !== undefined || this.ctx.keepsUnfinished === true;
  }

  /** Releases the connections, the limiter and the timer. Call when nothing is pending. */
  async dispose(): Promise<void> {
    this.#timer?.clear();
    await Promise.all([this.transport.close(), this.#limiter?.close()]);
  }

  /** Looks at the queue again: another process's breaker let this host go. */
  wake(): void {
    this.pump();
  }

  /** Closed without draining (for its parts, see {@link ActorHooks}). */
  get aborted(): boolean {
    return this.#mode === 'aborted';
  }

  /** For its timer (see {@link ActorHooks}). */
  timerFired(): void {
    this.onTimer();
  }

  /** For its endpoint gates (see {@link ActorHooks}). */
  endpointBreakerOpened(ticket: number, now: number): void {
    this.actorBreakers().failure(ticket, now);
  }

  private pump(): void {
    if (this.#mode === 'aborted') return;
    const now = this.ctx.clock.now();
    const held = this.#held;
    const turns = held.queue;
    if (turns.length > 0) this.#breakers?.refresh(now);
    // Endpoints parked until now take turns again (their timer may not have fired yet).
    if (turns.parked > 0) turns.unparkDue(now);
    const { concurrency, ordered } = this.host;
    const limiter = this.#limiter;
    for (let lane = turns.current(); lane !== undefined; lane = turns.current()) {
      if (this.#inFlight >= concurrency) break;
      if (ordered && (this.#inFlight > 0 || held.retries.size > 0)) break;
      const head = lane.queue.peek()!;
      if (now >= head.expiresAt) {
        turns.dropHead();
        this.left(lane);
        this.ctx.sink.failed(head, 'expired');
        continue;
      }
      if (this.blocked(now)) break;
      // The endpoint's permit first: a host permit is not taken for an endpoint that has none.
      // Made at the first endpoint with a limit of its own or a failure of its own: until then no lane has a gate.
      if (!ordered && (this.#gates !== undefined || head.endpoint.rateLimit !== undefined) && !this.endpointGates().ready(lane, head, now)) continue;
      if (limiter !== undefined) {
        const wait = limiter.admit(now, turns.length);
        if (wait > 0) {
          this.waits().permitAt = now + wait;
          break;
        }
      }
      // The turn passes to the next endpoint: one message per endpoint per turn.
      turns.take();
      lane.held--;
      lane.inFlight++;
      this.dispatch(head, this.#breakers?.ticket(now) ?? 0, this.#gates?.ticket(lane, now) ?? 0, now);
    }
    if (limiter !== undefined && turns.length === 0) limiter.idle();
    if (held.disk !== undefined && held.disk.count > 0) held.pageIn();
    held.notifyRoom();
    this.arm(now);
  }

  /** Nothing may be sent now: paused, slowed by a 429, or held by a breaker (this process's or another's). */
  private actorBreakers(): ActorBreakers {
    return (this.#breakers ??= new ActorBreakers(this.origin, this.host.breaker, this.ctx, this.ctx.clock));
  }

  /** Each endpoint's own limit and breaker (not on an ordered host), made at first need. */
  private endpointGates(): EndpointGates {
    return (this.#gates ??= new EndpointGates(this.origin, this.host.breaker, this.ctx, this.#held.queue, this));
  }

  private blocked(now: number): boolean {
    return this.#mode === 'paused' || now < (this.#timer?.pausedUntil ?? 0) || this.#breakers?.holds(now) === true;
  }

  /** `ticket`: the host breaker's for this attempt; `laneTicket`: its endpoint's. */
  private dispatch(message: Message, ticket: number, laneTicket: number, now: number): void {
    this.#inFlight++;
    const headers = attemptHeadersFor(this.ctx, message, now);
    // Undefined unless someone observes attempts: then it may add `traceparent` to the headers.
    const trace = this.ctx.telemetry.start(message, headers);
    const attempt = new InFlight(this, message, ticket, laneTicket, trace);
    const { transport } = this;
    const { path } = message.endpoint;
    // The attempt itself listens when the transport can tell it; a callback otherwise.
    if (transport.sendTo !== undefined) transport.sendTo(path, headers, message.event.body, attempt);
    else transport.send(path, headers, message.event.body, (result) => attempt.attemptDone(result));
  }

  /** For its attempts in flight (see {@link InFlight}): `attempt` has its outcome. */
  attemptEnded(attempt: InFlight, result: AttemptResult): void {
    const { message, ticket, laneTicket, trace } = attempt;
    if (trace !== undefined) this.ctx.telemetry.end(trace, message, result);
    this.#inFlight--;
    const now = this.ctx.clock.now();
    this.#lastActive = now;
    const lane = this.#held.queue.lane(message.endpoint.url);
    lane.inFlight--;
    const { sink } = this.ctx;
    if (this.#mode === 'aborted') {
      message.last = result;
      if (this.keeps) sink.released(message);
      else sink.failed(message, 'closed', result);
      return;
    }
    sink.attempted(message, result);
    const outcome = result.error === undefined ? classifyStatus(result.status, result.retryAfter !== undefined) : classifyError(result.error.original as { code?: unknown });
    // A 5xx or a timeout is its endpoint's failure; a connection failure is the host's.
    const gates = this.#gates;
    const endpointFailure = !this.host.ordered && outcome.kind === 'retry' && outcome.breakerFailure && (result.error === undefined || !isConnectionFailure(result.error));
    const hostFailure = outcome.kind === 'retry' && outcome.breakerFailure && !endpointFailure;
    if (this.#breakers !== undefined || hostFailure) this.actorBreakers().record(outcome, endpointFailure, ticket, now);
    if (gates !== undefined || endpointFailure) this.endpointGates().record(lane, outcome, endpointFailure, laneTicket, ticket, now);

    const pausedUntil = afterAttempt(this.ctx, this.#held, message, result, outcome, now);
    if (pausedUntil > (this.#timer?.pausedUntil ?? 0)) this.waits().pausedUntil = pausedUntil;
    if (lane.held === 0) this.#held.queue.release(lane, now);
    this.pump();
  }

  /** Sets the one timer to the next moment something can change without an answer arriving. */
  private arm(now: number): void {
    const { queue, retries } = this.#held;
    let at = Math.min(retries.peek()?.dueAt ?? Infinity, queue.nextUnpark);
    const head = queue.current()?.queue.peek();
    if (head !== undefined) {
      const blockedUntil = this.#mode === 'paused' ? Infinity : Math.max(this.#timer?.pausedUntil ?? 0, this.#breakers?.holdsUntil() ?? 0);
      const permitAt = this.#timer?.permitAt ?? 0;
      if (blockedUntil > now) at = Math.min(at, blockedUntil, head.expiresAt);
      else if (permitAt > now && this.#inFlight < this.host.concurrency) at = Math.min(at, permitAt);
    }
    if (at !== Infinity || this.#timer !== undefined) this.waits().set(at, now);
  }

  private waits(): ActorTimer {
    return (this.#timer ??= new ActorTimer(this.ctx.clock, this));
  }

  private onTimer(): void {
    const now = this.ctx.clock.now();
    this.#held.due(now);
    if (this.blocked(now)) {
      for (const m of this.#held.queue.removeWhere((m) => now >= m.expiresAt)) {
        this.leftWith(m);
        this.ctx.sink.failed(m, 'expired');
      }
    }
    this.pump();
  }

  private leftWith(message: Message): void {
    this.#held.leftWith(message, this.ctx.clock.now());
  }
}

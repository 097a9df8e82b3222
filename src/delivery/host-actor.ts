import { retryWait } from './backoff.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { classifyError, classifyStatus } from './classify.js';
import type { Clock, Timer } from '../core/clock.js';
import { refusal, type WebhookError } from '../core/errors.js';
import type { Message } from '../model/message.js';
import type { ResolvedHostOptions } from '../config/options.js';
import type { ActorContext } from './actor-context.js';
import { DiskBacklog } from './disk-backlog.js';
import { EndpointTurns, type Lane } from './endpoint-turns.js';
import { RoomWaiters } from './room-waiters.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import { RetryHeap } from '../core/retry-heap.js';
import { attemptHeaders } from '../signing/signatures.js';
import type { AttemptResult, Transport } from '../transport/transport.js';
import type { BreakerState, HostStats } from '../model/types.js';

/**
 * Everything for one origin: a bounded queue served one endpoint URL at a time in turn
 * (acceptance order on an ordered host), a retry heap with one timer, a concurrency limit, an
 * optional rate limiter and circuit breaker, and the transport. Each endpoint may hold at most
 * its share of the queue (`endpointQueueShare`). The actor decides
 * *when* each attempt runs and what its outcome does to the message; classification,
 * backoff, breaker state and rate accounting each live in their own module.
 */
export class HostActor {
  readonly #queue: EndpointTurns;
  /** The most one endpoint may hold: its share of `queueCapacity`. */
  readonly #endpointRoom: number;
  readonly #retries = new RetryHeap<Message>();
  /** Made at the host's first failure: a host that never fails never needs one. */
  #breaker: CircuitBreaker | undefined;
  readonly #limiter: RateLimiter | undefined;
  readonly #clock: Clock;
  #inFlight = 0;
  /** A 429 (or 503 with Retry-After) holds the whole host until then. */
  #pausedUntil = 0;
  /** The rate limit's next permit, when the queue waits for one. */
  #permitAt = 0;
  /** Another process's breaker holds this host open until then (a cluster only). */
  #sharedOpenUntil = 0;
  #timer: Timer | undefined;
  #timerAt = Infinity;
  /** The timer's callback, made on first use: most actors never wait for anything. */
  #fire: (() => void) | undefined;
  #lastActive: number;
  /**
   * `running`; `paused` by the user (nothing new is sent; time to live still runs); or
   * `aborted`, closed without draining (whatever is left or comes back fails with `'closed'`).
   */
  #mode: 'running' | 'paused' | 'aborted' = 'running';
  /** With a durable store: the backlog past the in-memory window, on disk. */
  readonly #disk: DiskBacklog | undefined;
  /** Messages the dispatcher is committing for this host: they count against the capacity. */
  #reserved = 0;
  /** The refusal for a full queue, made once: during a flood it is thrown thousands of times a second. */
  #queueFull: WebhookError | undefined;
  /** Callers of {@link waitForRoom}, resolved when the queue (or their endpoint's share) has room again. */
  readonly #roomWaiters = new RoomWaiters();
  readonly #roomAt = (url: string | undefined): boolean => (url === undefined ? this.hasRoom : this.hasRoomFor(url));

  constructor(
    readonly origin: string,
    private readonly host: ResolvedHostOptions,
    private readonly transport: Transport,
    private readonly ctx: ActorContext,
  ) {
    this.#clock = ctx.clock;
    this.#queue = new EndpointTurns(host.ordered);
    this.#endpointRoom = Math.max(1, Math.floor(host.queueCapacity * host.endpointQueueShare));
    this.#lastActive = this.#clock.now();
    if (ctx.backlog !== undefined) this.#disk = new DiskBacklog(ctx.backlog, origin, Math.max(64, 4 * host.concurrency, Math.min(1_024, host.queueCapacity >> 3)));
    if (host.rateLimit !== undefined) this.#limiter = ctx.rateLimiter(host.rateLimit, this.#lastActive, () => this.#pump(), origin);
  }

  /** Is there room for one more message (retries count against the capacity)? */
  get hasRoom(): boolean {
    return this.#queue.length + this.#retries.size + (this.#disk?.count ?? 0) + this.#reserved < this.host.queueCapacity;
  }

  /** Is there room for one more message to `url`: room in the host's queue and in the endpoint's share? */
  hasRoomFor(url: string): boolean {
    return this.hasRoom && (this.host.ordered || this.#queue.holds(url) < this.#endpointRoom);
  }

  /** Holds room for a message to `url` being committed to the store; {@link accept} or {@link unreserve} gives it back. */
  reserve(url: string): void {
    this.#reserved++;
    this.#queue.lane(url).held++;
  }

  unreserve(url: string): void {
    this.#reserved--;
    const lane = this.#queue.find(url);
    if (lane !== undefined) this.#left(lane);
    if (this.#roomWaiters.any && this.hasRoom) this.#roomWaiters.notify(this.#roomAt);
  }

  #left(lane: Lane): void {
    this.#queue.left(lane, this.#clock.now());
  }

  /**
   * Takes a message; call only when {@link hasRoom} (or it was reserved). An aborted actor ends
   * it at once. With a backlog, a message beyond the in-memory window stays on disk only.
   */
  accept(message: Message, reserved = false): void {
    if (reserved) this.#reserved--;
    const lane = this.#queue.lane(message.endpoint.url);
    if (!reserved) lane.held++;
    if (this.#mode === 'aborted') {
      this.#left(lane);
      return this.ctx.sink.failed(message, 'closed');
    }
    const disk = this.#disk;
    if (disk !== undefined && disk.keeps(message, this.#queue.length)) return;
    this.#queue.push(message);
    this.#pump();
  }

  /**
   * A message this process claimed from a shared store (another process's, or nobody's); call
   * only when {@link hasRoom}. A retry scheduled elsewhere keeps its time.
   */
  adopt(message: Message): void {
    if (this.#mode === 'aborted') return this.ctx.sink.released(message);
    this.#queue.lane(message.endpoint.url).held++;
    if (message.attempts > 0 && message.dueAt > this.#clock.now()) this.#retries.push(message);
    else this.#queue.push(message);
    this.#pump();
  }

  /** Messages an earlier run left pending for this host: they are paged in from the store. */
  recover(count: number): void {
    this.#disk?.recovered(count);
    this.#pageIn();
  }

  #pageIn(): void {
    const disk = this.#disk;
    if (disk === undefined || this.#mode === 'aborted') return;
    disk.pageIn(this.#queue.length, (messages, uncounted) => {
      if (this.#mode === 'aborted') return;
      const now = this.#clock.now();
      for (const m of messages) {
        // Recovered ones count against their endpoint once their URL is known.
        if (uncounted-- > 0) this.#queue.lane(m.endpoint.url).held++;
        // A retry scheduled by an earlier run keeps its time.
        if (m.attempts > 0 && m.dueAt > now) this.#retries.push(m);
        else this.#queue.push(m);
      }
      this.#pump();
    });
  }

  get capacity(): number {
    return this.host.queueCapacity;
  }

  /**
   * `WD_QUEUE_FULL` for this host, or for the endpoint `url` when the host has room but the
   * endpoint holds its share: one frozen, stackless error per host (per endpoint), shared by every refusal.
   */
  queueFullError(url?: string): WebhookError {
    const lane = url === undefined || !this.hasRoom ? undefined : this.#queue.find(url);
    if (lane !== undefined) {
      return (lane.full ??= Object.freeze(
        refusal('WD_QUEUE_FULL', `Expected room in the queue for ${url}, got its full share (\`endpointQueueShare\` ${this.host.endpointQueueShare} of \`queueCapacity\` ${this.host.queueCapacity}: ${this.#endpointRoom} messages)`),
      ));
    }
    return (this.#queueFull ??= Object.freeze(refusal('WD_QUEUE_FULL', `Expected room in the queue for ${this.origin}, got a full queue (\`queueCapacity\` ${this.host.queueCapacity})`)));
  }

  /** Resolves once {@link hasRoom} holds (or {@link hasRoomFor} `url`), at once if it does now, or the actor is aborted. */
  waitForRoom(url?: string): Promise<void> {
    if (this.#roomAt(url) || this.#mode === 'aborted') return Promise.resolve();
    return this.#roomWaiters.wait(url);
  }

  /** Stops sending new attempts until {@link resume}; in-flight attempts finish. */
  pause(): void {
    if (this.#mode === 'running') this.#mode = 'paused';
  }

  resume(): void {
    if (this.#mode !== 'paused') return;
    this.#mode = 'running';
    this.#pump();
  }

  get paused(): boolean {
    return this.#mode === 'paused';
  }

  /**
   * Ends with `'cancelled'` every queued or waiting message `match` picks (all of them without
   * one). In-flight attempts are not cut: their answer decides. Returns how many ended.
   */
  cancel(match?: (message: Message) => boolean): number {
    const pick = match ?? (() => true);
    const ended = [...this.#queue.removeWhere(pick), ...this.#retries.removeWhere(pick)];
    for (const m of ended) this.#leftWith(m);
    for (const m of ended) this.ctx.sink.failed(m, 'cancelled');
    if (ended.length > 0) this.#pump();
    return ended.length;
  }

  /**
   * Drops the queued or waiting messages of `ids` with no event (each goes to the sink as
   * released): another process owns them now. In-flight attempts are not cut: the store
   * refuses their ends. Returns how many it dropped.
   */
  forget(ids: ReadonlySet<string>): number {
    const pick = (m: Message) => ids.has(m.id);
    const dropped = [...this.#queue.removeWhere(pick), ...this.#retries.removeWhere(pick)];
    for (const m of dropped) this.ctx.sink.released(m);
    if (dropped.length > 0) this.#pump();
    return dropped.length;
  }

  stats(): HostStats {
    return {
      queued: this.#queue.length + (this.#disk?.count ?? 0),
      inFlight: this.#inFlight,
      waiting: this.#retries.size,
      breaker: this.#sharedOpenUntil > this.#clock.now() ? 'open' : (this.#breaker?.state ?? 'closed'),
      paused: this.#mode === 'paused',
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
      this.#queue.length === 0 &&
      this.#queue.settled(now) &&
      (this.#disk?.count ?? 0) === 0 &&
      this.#reserved === 0 &&
      this.#inFlight === 0 &&
      this.#retries.size === 0 &&
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
    this.#clearTimer();
    const { sink } = this.ctx;
    const durable = this.#keeps;
    for (const m of [...this.#queue.drain(), ...this.#retries.drain()]) {
      this.#leftWith(m);
      if (durable) sink.released(m);
      else sink.failed(m, 'closed');
    }
    // Counted as released too, or the close waiting for every accepted message would wait forever.
    const onDisk = this.#disk?.drop() ?? 0;
    if (durable && onDisk > 0) sink.releasedOnDisk(onDisk);
    this.#roomWaiters.notify(this.#roomAt, true);
    void this.transport.destroy();
  }

  get #keeps(): boolean {
    return this.ctx.backlog !== undefined || this.ctx.keepsUnfinished === true;
  }

  /** Releases the connections, the limiter and the timer. Call when nothing is pending. */
  async dispose(): Promise<void> {
    this.#clearTimer();
    await Promise.all([this.transport.close(), this.#limiter?.close()]);
  }

  /** Looks at the queue again: another process's breaker let this host go. */
  wake(): void {
    this.#pump();
  }

  #pump(): void {
    if (this.#mode === 'aborted') return;
    const now = this.#clock.now();
    const shared = this.ctx.sharedBreakers;
    if (shared !== undefined && this.#queue.length > 0) this.#sharedOpenUntil = shared.openUntil(this.origin, now);
    const { concurrency, ordered } = this.host;
    const limiter = this.#limiter;
    const turns = this.#queue;
    for (let lane = turns.current(); lane !== undefined; lane = turns.current()) {
      if (this.#inFlight >= concurrency) break;
      if (ordered && (this.#inFlight > 0 || this.#retries.size > 0)) break;
      const head = lane.queue.peek()!;
      if (now >= head.expiresAt) {
        turns.dropHead();
        this.#left(lane);
        this.ctx.sink.failed(head, 'expired');
        continue;
      }
      if (this.#blocked(now)) break;
      if (limiter !== undefined) {
        const wait = limiter.admit(now, turns.length);
        if (wait > 0) {
          this.#permitAt = now + wait;
          break;
        }
      }
      // The turn passes to the next endpoint: one message per endpoint per turn.
      turns.take();
      lane.held--;
      lane.inFlight++;
      this.#dispatch(head, this.#breaker?.tryPass(now) ?? 0, now);
    }
    if (limiter !== undefined && this.#queue.length === 0) limiter.idle();
    if (this.#disk !== undefined && this.#disk.count > 0) this.#pageIn();
    if (this.#roomWaiters.any && this.hasRoom) this.#roomWaiters.notify(this.#roomAt);
    this.#arm(now);
  }

  /** Nothing may be sent now: paused, slowed by a 429, or held by a breaker (this process's or another's). */
  #blocked(now: number): boolean {
    return this.#mode === 'paused' || now < this.#pausedUntil || now < this.#sharedOpenUntil || (this.#breaker !== undefined && !this.#breaker.canPass(now));
  }

  #dispatch(message: Message, ticket: number, now: number): void {
    const { options } = this.ctx;
    message.attempts++;
    this.#inFlight++;
    const { endpoint, event } = message;
    const headers = attemptHeaders(options.userAgent, endpoint.headers, endpoint.scheme, endpoint.keys, event.id, Math.floor(now / 1000), event.body, options.signatureHeader);
    // Undefined unless someone observes attempts: then it may add `traceparent` to the headers.
    const trace = this.ctx.telemetry.start(message, headers);
    this.transport.send(endpoint.path, headers, event.body, (result) => {
      if (trace !== undefined) this.ctx.telemetry.end(trace, message, result);
      this.#complete(message, ticket, result);
    });
  }

  #complete(message: Message, ticket: number, result: AttemptResult): void {
    this.#inFlight--;
    const now = this.#clock.now();
    this.#lastActive = now;
    const lane = this.#queue.lane(message.endpoint.url);
    lane.inFlight--;
    const { sink } = this.ctx;
    if (this.#mode === 'aborted') {
      message.last = result;
      if (this.#keeps) sink.released(message);
      else sink.failed(message, 'closed', result);
      return;
    }
    sink.attempted(message, result);
    const outcome = result.error === undefined ? classifyStatus(result.status, result.retryAfter !== undefined) : classifyError(result.error.original as { code?: unknown });
    // The breaker is made at the first failure that counts against it, at generation 0: the
    // ticket every attempt got without one.
    if (outcome.kind === 'retry' && outcome.breakerFailure && this.#breaker === undefined && this.host.breaker !== false) {
      this.#breaker = new CircuitBreaker(this.host.breaker, (state) => this.#breakerChanged(state), this.#clock.random);
    }
    if (outcome.kind === 'retry' && outcome.breakerFailure) this.#breaker?.failure(ticket, now);
    else if (outcome.kind !== 'refused') this.#breaker?.success(ticket);
    else this.#breaker?.release(ticket);

    if (outcome.kind === 'delivered') {
      sink.delivered(message, result.status!, result.latencyMs);
    } else {
      // Kept for the terminal event, whenever it comes.
      message.last = result;
      if (outcome.kind === 'retry') this.#retryLater(message, result, outcome.slowHost, now);
      else {
        if (outcome.kind === 'gone') sink.gone(message);
        sink.failed(message, outcome.kind === 'refused' ? 'rejected' : outcome.kind, result);
      }
    }
    if (lane.held === 0) this.#queue.release(lane, now);
    this.#pump();
  }

  #breakerChanged(state: BreakerState): void {
    this.ctx.sink.breaker(this.origin, state);
    this.ctx.sharedBreakers?.changed(this.origin, state, this.#breaker?.reopensAt);
  }

  #retryLater(message: Message, result: AttemptResult, slowHost: boolean, now: number): void {
    const { sink } = this.ctx;
    if (message.attempts >= message.maxAttempts) return sink.failed(message, 'exhausted', result);
    const { delay, pauseMs } = retryWait(message.attempts, result.error === undefined ? result.retryAfter : undefined, now, this.ctx.options.retry, this.#clock.random);
    if (slowHost) this.#pausedUntil = Math.max(this.#pausedUntil, now + pauseMs);
    message.dueAt = now + delay;
    if (message.dueAt >= message.expiresAt) return sink.failed(message, 'expired', result);
    this.#retries.push(message);
    this.#queue.lane(message.endpoint.url).held++;
    sink.retrying(message, delay);
  }

  /** Sets the one timer to the next moment something can change without an answer arriving. */
  #arm(now: number): void {
    let at = Math.min(this.#retries.peek()?.dueAt ?? Infinity, this.#queue.nextUnpark);
    const head = this.#queue.current()?.queue.peek();
    if (head !== undefined) {
      const blockedUntil = this.#mode === 'paused' ? Infinity : Math.max(this.#pausedUntil, this.#sharedOpenUntil, this.#breaker?.reopensAt ?? 0);
      if (blockedUntil > now) at = Math.min(at, blockedUntil, head.expiresAt);
      else if (this.#permitAt > now && this.#inFlight < this.host.concurrency) at = Math.min(at, this.#permitAt);
    }
    if (at === this.#timerAt) return;
    this.#clearTimer();
    if (at === Infinity) return;
    this.#timerAt = at;
    // Owed work: a retry or a held message keeps the process alive until it is done.
    this.#timer = this.#clock.setTimer((this.#fire ??= () => this.#onTimer()), at - now, true);
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    const due: Message[] = [];
    while ((this.#retries.peek()?.dueAt ?? Infinity) <= now) due.push(this.#retries.pop()!);
    // Retries are older than anything queued: they go first in their endpoint's queue, earliest due at the very front.
    for (let i = due.length - 1; i >= 0; i--) this.#queue.unshift(due[i]!);
    this.#queue.unparkDue(now);
    if (this.#blocked(now)) {
      for (const m of this.#queue.removeWhere((m) => now >= m.expiresAt)) {
        this.#leftWith(m);
        this.ctx.sink.failed(m, 'expired');
      }
    }
    this.#pump();
  }

  #leftWith(message: Message): void {
    this.#queue.leftWith(message, this.#clock.now());
  }

  #clearTimer(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }
}

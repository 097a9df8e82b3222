import { fullJitterDelay, parseRetryAfter } from './backoff.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { classifyError, classifyStatus } from './classify.js';
import { Deque } from './deque.js';
import type { ResolvedEndpoint } from './endpoint.js';
import type { PreparedEvent } from './envelope.js';
import type { ResolvedHostOptions, ResolvedOptions } from './options.js';
import { RateLimiter } from './rate-limiter.js';
import { RetryHeap } from './retry-heap.js';
import { pushSignatureHeaders } from './signing.js';
import type { AttemptResult, Transport } from './transport.js';
import type { BreakerState, FailureReason, HostStats } from './types.js';

/** One event on its way to one endpoint. Kept small: a million of these may wait in memory. */
export interface Message {
  readonly id: string;
  readonly endpoint: ResolvedEndpoint;
  /** Shared by every message of a fan-out: the body is serialized once. */
  readonly event: PreparedEvent;
  readonly acceptedAt: number;
  attempts: number;
  /** When its retry may run; meaningless while it is not waiting. */
  dueAt: number;
  /** What the last failed attempt saw, for the terminal event. */
  last: AttemptResult | undefined;
}

/** Where an actor reports what happens to its messages. Implementations must not throw. */
export interface ActorSink {
  delivered(message: Message, status: number, latencyMs: number): void;
  failed(message: Message, reason: FailureReason): void;
  retrying(message: Message, delayMs: number): void;
  attempted(message: Message, result: AttemptResult): void;
  gone(message: Message): void;
  breaker(origin: string, state: BreakerState): void;
}

export interface ActorContext {
  readonly options: ResolvedOptions;
  readonly sink: ActorSink;
  readonly now: () => number;
  readonly random: () => number;
}

/**
 * Everything for one origin: a bounded queue, a retry heap with one timer, a concurrency
 * limit, an optional rate limiter and circuit breaker, and the transport. The actor decides
 * only *when* each attempt runs; classification, backoff, breaker and bucket live elsewhere.
 */
export class HostActor {
  readonly #queue = new Deque<Message>();
  readonly #retries = new RetryHeap<Message>();
  readonly #breaker: CircuitBreaker | undefined;
  readonly #limiter: RateLimiter | undefined;
  #inFlight = 0;
  /** A 429 (or 503 with Retry-After) holds the whole host until then. */
  #pausedUntil = 0;
  /** The rate limit's next token, when the queue waits for one. */
  #tokenAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #lastActive: number;
  /** Closed without draining: whatever is left or comes back fails with `'closed'`. */
  #aborted = false;

  constructor(
    readonly origin: string,
    private readonly host: ResolvedHostOptions,
    private readonly transport: Transport,
    private readonly ctx: ActorContext,
  ) {
    this.#lastActive = ctx.now();
    if (host.breaker !== false) {
      this.#breaker = new CircuitBreaker(host.breaker, (state) => ctx.sink.breaker(origin, state), ctx.random);
    }
    if (host.rateLimit !== undefined) this.#limiter = new RateLimiter(host.rateLimit, this.#lastActive);
  }

  /** Is there room for one more message (retries count against the capacity)? */
  get hasRoom(): boolean {
    return this.#queue.length + this.#retries.size < this.host.queueCapacity;
  }

  /** Takes a message; call only when {@link hasRoom}. */
  accept(message: Message): void {
    this.#queue.push(message);
    this.#pump();
  }

  get capacity(): number {
    return this.host.queueCapacity;
  }

  stats(): HostStats {
    return {
      queued: this.#queue.length,
      inFlight: this.#inFlight,
      waiting: this.#retries.size,
      breaker: this.#breaker?.state ?? 'closed',
    };
  }

  /** Nothing held, nothing in flight, its breaker closed and its bucket full again: dropping it now changes nothing. */
  evictable(now: number, idleMs: number): boolean {
    return (
      this.#queue.length === 0 &&
      this.#inFlight === 0 &&
      this.#retries.size === 0 &&
      now - this.#lastActive >= idleMs &&
      (this.#breaker === undefined || this.#breaker.state === 'closed') &&
      (this.#limiter === undefined || this.#limiter.settled(now))
    );
  }

  /** Fails everything held with `'closed'`; in-flight attempts are cut and fail the same way. */
  abort(): void {
    this.#aborted = true;
    this.#clearTimer();
    for (const m of this.#queue.drain()) this.ctx.sink.failed(m, 'closed');
    for (const m of this.#retries.drain()) this.ctx.sink.failed(m, 'closed');
    void this.transport.destroy();
  }

  /** Releases the connections, the limiter and the timer. Call when nothing is pending. */
  async dispose(): Promise<void> {
    this.#clearTimer();
    await Promise.all([this.transport.close(), this.#limiter?.close()]);
  }

  #pump(): void {
    if (this.#aborted) return;
    const now = this.ctx.now();
    const { concurrency, ordered } = this.host;
    const ttl = this.ctx.options.ttlMs;
    const limiter = this.#limiter;
    /** Stopped by a pause or an open breaker: nothing to ask the rate limiter for. */
    let blocked = false;
    while (this.#queue.length > 0) {
      if (this.#inFlight >= concurrency) break;
      if (ordered && (this.#inFlight > 0 || this.#retries.size > 0)) break;
      const head = this.#queue.peek()!;
      if (now - head.acceptedAt >= ttl) {
        this.#queue.shift();
        this.ctx.sink.failed(head, 'expired');
        continue;
      }
      if (now < this.#pausedUntil || (this.#breaker !== undefined && !this.#breaker.canPass(now))) {
        blocked = true;
        break;
      }
      if (limiter !== undefined) {
        const permit = limiter.take(now);
        if (permit !== 'ok') {
          if (permit !== 'ask') this.#tokenAt = permit;
          break;
        }
      }
      this.#queue.shift();
      this.#dispatch(head, this.#breaker?.tryPass(now) ?? 0);
    }
    if (limiter !== undefined) {
      // Ask for the next batch while this one is being spent, so Bottleneck's hops overlap
      // with sending; but never hold more than about one refill beyond what is queued.
      if (this.#queue.length === 0) limiter.drop();
      else if (!blocked && limiter.held < limiter.shape.amount && this.#queue.length > limiter.held) {
        limiter.request(this.#queue.length - limiter.held, this.#onPermits);
      }
    }
    this.#arm(now);
  }

  readonly #onPermits = (): void => this.#pump();

  #dispatch(message: Message, ticket: number): void {
    const { options } = this.ctx;
    message.attempts++;
    this.#inFlight++;
    const { endpoint, event } = message;
    const headers = ['content-type', 'application/json', 'user-agent', options.userAgent, ...endpoint.headers];
    pushSignatureHeaders(headers, options.signature, endpoint.keys, event.id, Math.floor(Date.now() / 1000), event.body);
    this.transport.send(endpoint.path, headers, event.body, (result) => this.#complete(message, ticket, result));
  }

  #complete(message: Message, ticket: number, result: AttemptResult): void {
    this.#inFlight--;
    const now = this.ctx.now();
    this.#lastActive = now;
    const { sink } = this.ctx;
    if (this.#aborted) {
      message.last = result;
      sink.failed(message, 'closed');
      return;
    }
    sink.attempted(message, result);
    const outcome = result.error === undefined ? classifyStatus(result.status, result.retryAfter !== undefined) : classifyError(result.error.original as { code?: unknown });
    if (outcome.kind === 'retry' && outcome.breakerFailure) this.#breaker?.failure(ticket, now);
    else this.#breaker?.success(ticket);

    if (outcome.kind === 'delivered') {
      sink.delivered(message, result.status!, result.latencyMs);
    } else {
      // Kept for the terminal event, whenever it comes.
      message.last = result;
      if (outcome.kind === 'retry') this.#retryLater(message, result, outcome.slowHost, now);
      else {
        if (outcome.kind === 'gone') sink.gone(message);
        sink.failed(message, outcome.kind);
      }
    }
    this.#pump();
  }

  #retryLater(message: Message, result: AttemptResult, slowHost: boolean, now: number): void {
    const { sink, options } = this.ctx;
    const { retry, ttlMs } = options;
    if (message.attempts >= retry.attempts) return sink.failed(message, 'exhausted');
    const asked = result.error === undefined ? parseRetryAfter(result.retryAfter, Date.now()) : undefined;
    const retryAfter = asked === undefined ? undefined : Math.min(asked, retry.maxRetryAfterMs);
    const delay = Math.max(fullJitterDelay(message.attempts - 1, retry.baseDelayMs, retry.maxDelayMs, this.ctx.random), retryAfter ?? 0);
    if (slowHost) this.#pausedUntil = Math.max(this.#pausedUntil, now + (retryAfter ?? Math.max(delay, retry.baseDelayMs)));
    message.dueAt = now + delay;
    if (message.dueAt - message.acceptedAt >= ttlMs) return sink.failed(message, 'expired');
    this.#retries.push(message);
    sink.retrying(message, delay);
  }

  /** Sets the one timer to the next moment something can change without an answer arriving. */
  #arm(now: number): void {
    let at = this.#retries.peek()?.dueAt ?? Infinity;
    const head = this.#queue.peek();
    if (head !== undefined) {
      const blockedUntil = Math.max(this.#pausedUntil, this.#breaker?.reopensAt ?? 0);
      if (blockedUntil > now) at = Math.min(at, blockedUntil, head.acceptedAt + this.ctx.options.ttlMs);
      else if (this.#tokenAt > now && this.#inFlight < this.host.concurrency) at = Math.min(at, this.#tokenAt);
    }
    if (at === this.#timerAt) return;
    this.#clearTimer();
    if (at === Infinity) return;
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(0, at - now));
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.ctx.now();
    const due: Message[] = [];
    while ((this.#retries.peek()?.dueAt ?? Infinity) <= now) due.push(this.#retries.pop()!);
    // Retries are older than anything queued: they go first, earliest due at the very front.
    for (let i = due.length - 1; i >= 0; i--) this.#queue.unshift(due[i]!);
    const ttl = this.ctx.options.ttlMs;
    if (now < this.#pausedUntil || (this.#breaker !== undefined && !this.#breaker.canPass(now))) {
      for (const m of this.#queue.removeWhere((m) => now - m.acceptedAt >= ttl)) this.ctx.sink.failed(m, 'expired');
    }
    this.#pump();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }
}

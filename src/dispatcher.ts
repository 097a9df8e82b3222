import { AddressPolicy, type LookupFunction } from './address-policy.js';
import { EventStream, type Subscribable } from './event-stream.js';
import { EndpointResolver, type ResolvedEndpoint } from './endpoint.js';
import { nextId, prepareEvent, type PreparedEvent } from './envelope.js';
import { WebhookError, describe } from './errors.js';
import type { ActorSink, HostActor, Message } from './host-actor.js';
import { resolveCloseOptions, resolveOptions, type CloseOptions, type DispatcherOptions, type ResolvedOptions } from './options.js';
import { Router } from './router.js';
import type { AttemptResult } from './transport.js';
import type { DispatcherEvents, DispatcherStats, Endpoint, Failed, FailureReason, HostStats, PublishResult, Receipt, WebhookEvent } from './types.js';

type Lifecycle =
  | { state: 'open' }
  | { state: 'closing'; done: Promise<void> }
  | { state: 'closed'; done: Promise<void> };

/** Options for tests and embedding that are not part of everyday configuration. */
export interface DispatcherInternals {
  /** Resolves host names; its answers are still checked against the address policy. @default dns.lookup */
  lookup?: LookupFunction;
}

function errorOf(result: AttemptResult | undefined): { code: string; message: string } | undefined {
  return result?.error === undefined ? undefined : { code: result.error.code, message: result.error.message };
}

function facts(m: Message) {
  return { messageId: m.id, eventId: m.event.id, eventType: m.event.type, url: m.endpoint.url, origin: m.endpoint.origin };
}

/**
 * Sends signed webhooks. One per process is typical: it keeps a host actor (queue, limiter,
 * breaker, connection pool) per destination origin, and reports every accepted message's end
 * as exactly one `delivered` or `failed` event.
 */
export class Dispatcher implements Subscribable<DispatcherEvents> {
  readonly #events = new EventStream<DispatcherEvents>((error) => this.#listenerThrew(error));
  readonly #options: ResolvedOptions;
  readonly #endpoints: EndpointResolver;
  readonly #router: Router;
  #life: Lifecycle = { state: 'open' };
  #accepted = 0;
  #delivered = 0;
  #failed = 0;
  #retries = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(options?: DispatcherOptions, internals: DispatcherInternals = {}) {
    this.#options = resolveOptions(options);
    const policy = new AddressPolicy(this.#options.allowPrivateNetworks, this.#options.allowedNetworks, internals.lookup);
    this.#endpoints = new EndpointResolver(this.#options.signature, policy, this.#options.httpsOnly);
    this.#router = new Router({ options: this.#options, sink: this.#sink, now: () => Date.now(), random: () => Math.random() }, policy);
  }

  /**
   * Accepts one event for one endpoint. Resolves once the message is in its host's queue;
   * rejects with a `WebhookError` (and emits nothing) when it is not accepted.
   */
  send(endpoint: Endpoint, event: WebhookEvent): Promise<Receipt> {
    try {
      this.#assertOpen();
      // The cheap refusals (bad endpoint, full queue) come before serializing the body.
      const [resolved, actor] = this.#route(endpoint);
      return Promise.resolve(this.#enqueue(resolved, actor, prepareEvent(event, this.#options.maxPayloadBytes)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Fans one event out to many endpoints; the body is serialized once. Resolves with one
   * result per endpoint, in order: a refused endpoint does not reject the whole call.
   * Rejects only when nothing can be accepted (closed, invalid event, `endpoints` not an array).
   */
  publish(event: WebhookEvent, endpoints: Endpoint[]): Promise<PublishResult[]> {
    try {
      this.#assertOpen();
      if (!Array.isArray(endpoints)) {
        throw new WebhookError('WD_INVALID_ENDPOINT', `Expected \`endpoints\` to be an array, got ${describe(endpoints)}`);
      }
      const prepared = prepareEvent(event, this.#options.maxPayloadBytes);
      const results = new Array<PublishResult>(endpoints.length);
      for (let i = 0; i < endpoints.length; i++) {
        try {
          const [resolved, actor] = this.#route(endpoints[i]);
          results[i] = { ok: true, receipt: this.#enqueue(resolved, actor, prepared) };
        } catch (error) {
          if (!(error instanceof WebhookError)) throw error;
          results[i] = { ok: false, error };
        }
      }
      return Promise.resolve(results);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Resolves when nothing is queued, in flight or waiting to retry. */
  onIdle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  stats(): DispatcherStats {
    const hosts: Record<string, HostStats> = {};
    for (const actor of this.#router.actors()) hosts[actor.origin] = actor.stats();
    return {
      accepted: this.#accepted,
      delivered: this.#delivered,
      failed: this.#failed,
      retries: this.#retries,
      pending: this.#pending,
      hosts,
    };
  }

  /**
   * Stops accepting (`send` then rejects with `WD_CLOSED`). With `drain`, delivers what was
   * accepted first, for at most `timeoutMs`; whatever is left then (or at once, without
   * `drain`) fails with reason `'closed'`. Resolves after every accepted message has had its
   * terminal event and every connection and timer is released. Calling it again returns the same promise.
   */
  close(options?: CloseOptions): Promise<void> {
    if (this.#life.state !== 'open') return this.#life.done;
    let resolved: { drain: boolean; timeoutMs: number };
    try {
      resolved = resolveCloseOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    const done = this.#shutdown(resolved.drain, resolved.timeoutMs).then(() => {
      this.#life = { state: 'closed', done };
    });
    this.#life = { state: 'closing', done };
    return done;
  }

  /** Drops idle host actors now instead of at the next sweep. Returns how many were dropped. */
  evictIdle(): number {
    return this.#router.evictIdle();
  }

  get #pending(): number {
    return this.#accepted - this.#delivered - this.#failed;
  }

  async #shutdown(drain: boolean, timeoutMs: number): Promise<void> {
    if (drain && this.#pending > 0) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = Number.isFinite(timeoutMs) ? new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))) : undefined;
      await (timeout === undefined ? this.onIdle() : Promise.race([this.onIdle(), timeout]));
      clearTimeout(timer);
    }
    if (this.#pending > 0) {
      for (const actor of this.#router.actors()) actor.abort();
      await this.onIdle();
    }
    await this.#router.dispose();
  }

  #assertOpen(): void {
    if (this.#life.state !== 'open') throw new WebhookError('WD_CLOSED', `Expected an open dispatcher, got one that is ${this.#life.state}`);
  }

  /** The endpoint, validated, and its host actor, which has room. Throws a `WebhookError` otherwise. */
  #route(endpoint: unknown): [ResolvedEndpoint, HostActor] {
    const resolved = this.#endpoints.resolve(endpoint);
    const actor = this.#router.actorFor(resolved.origin);
    if (!actor.hasRoom) {
      throw new WebhookError('WD_QUEUE_FULL', `Expected room in the queue for ${resolved.origin}, got a full queue (\`queueCapacity\` ${actor.capacity})`);
    }
    return [resolved, actor];
  }

  #enqueue(endpoint: ResolvedEndpoint, actor: HostActor, event: PreparedEvent): Receipt {
    const message: Message = {
      id: nextId('msg'),
      endpoint,
      event,
      acceptedAt: Date.now(),
      attempts: 0,
      dueAt: 0,
      last: undefined,
    };
    // Counted before the actor sees it: a message can end inside accept() (already expired).
    this.#accepted++;
    actor.accept(message);
    return { messageId: message.id, eventId: event.id, origin: endpoint.origin };
  }

  #ended(): void {
    if (this.#pending !== 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * Adds a listener. Listeners run synchronously, in the order added, with `this` set to the
   * dispatcher; one that throws is reported on `error` and never stops the others.
   */
  on<E extends keyof DispatcherEvents>(name: E, listener: DispatcherEvents[E]): this {
    this.#events.add(name, listener, false);
    return this;
  }

  /** Adds a listener that is removed before its first call. */
  once<E extends keyof DispatcherEvents>(name: E, listener: DispatcherEvents[E]): this {
    this.#events.add(name, listener, true);
    return this;
  }

  /** Removes one listener, or every listener of `name` when none is given. */
  off<E extends keyof DispatcherEvents>(name: E, listener?: DispatcherEvents[E]): this {
    this.#events.remove(name, listener);
    return this;
  }

  listenerCount(name: keyof DispatcherEvents): number {
    return this.#events.count(name);
  }

  #emit<E extends keyof DispatcherEvents>(name: E, payload: Parameters<DispatcherEvents[E]>[0]): void {
    this.#events.emit(name, payload, this);
  }

  #listenerThrew(error: unknown): void {
    if (!this.#events.has('error')) {
      process.emitWarning(`A webhook-dispatcher event listener threw: ${String(error)}`, 'WebhookDispatcherWarning');
      return;
    }
    // What an error listener throws has nowhere left to go.
    this.#events.emit('error', error, this, () => {});
  }

  readonly #sink: ActorSink = {
    delivered: (m, status, latencyMs) => {
      this.#delivered++;
      if (this.#events.has('delivered')) {
        // Written out rather than `...facts(m)`: this runs once per delivery, and the spread
        // showed in profiles of the hot path. The other events are rarer.
        const { endpoint, event } = m;
        this.#emit('delivered', { messageId: m.id, eventId: event.id, eventType: event.type, url: endpoint.url, origin: endpoint.origin, attempts: m.attempts, status, latencyMs });
      }
      this.#ended();
    },
    failed: (m: Message, reason: FailureReason) => {
      this.#failed++;
      if (this.#events.has('failed')) {
        const event: Failed = { ...facts(m), attempts: m.attempts, reason };
        const last = m.last;
        if (last?.status !== undefined) {
          event.status = last.status;
          if (last.body) event.responseBody = last.body;
        }
        const error = errorOf(last);
        if (error !== undefined) event.error = error;
        this.#emit('failed', event);
      }
      this.#ended();
    },
    retrying: (m, delayMs) => {
      this.#retries++;
      if (this.#events.has('retry')) {
        this.#emit('retry', { ...facts(m), attempt: m.attempts, delayMs, status: m.last?.status, error: errorOf(m.last) });
      }
    },
    attempted: (m, result) => {
      if (this.#events.has('attempt')) {
        this.#emit('attempt', { ...facts(m), attempt: m.attempts, status: result.status, error: errorOf(result), latencyMs: result.latencyMs });
      }
    },
    gone: (m) => {
      if (this.#events.has('gone')) this.#emit('gone', facts(m));
    },
    breaker: (origin, state) => {
      if (this.#events.has('breaker')) this.#emit('breaker', { origin, state });
    },
  };
}

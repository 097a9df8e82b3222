import { systemClock, type Clock, type Timer } from './core/clock.js';
import { WebhookError, describe, guarded, isWebhookError, refusal } from './core/errors.js';
import { uuidv7 } from './core/ids.js';
import { readInternals, type DispatcherInternals } from './config/internals.js';
import { type CloseOptions, type DispatcherOptions, type ResolvedOptions } from './config/options.js';
import { optionsForOrigin, resolveCloseOptions, resolveOptions } from './config/resolve-options.js';
import { resolveSendOptions, type ResolvedSendOptions, type SendOptions } from './config/send-options.js';
import { startCluster, type Cluster } from './cluster/cluster.js';
import type { HostActor } from './delivery/host-actor.js';
import { Router } from './delivery/router.js';
import { Admission } from './dispatch/admission.js';
import { EventStream, type Subscribable } from './dispatch/event-stream.js';
import { Ledger } from './dispatch/ledger.js';
import { MessageQueries } from './dispatch/message-queries.js';
import { fencedSink, type FencedSink } from './dispatch/fenced-sink.js';
import { createSink } from './dispatch/sink.js';
import { LocalRateLimiter } from './limits/local-rate-limiter.js';
import { EndpointResolver, type ResolvedEndpoint } from './model/endpoint.js';
import { prepareEvent } from './model/envelope.js';
import { cancelSelector, originOf } from './model/targets.js';
import type { DispatcherEvents, DispatcherStats, DispatcherWarning, Endpoint, HostStats, PublishResult, Receipt, WebhookEvent } from './model/types.js';
import { CLAIM_BATCH } from './persistence/lease-keeper.js';
import { Persistence } from './persistence/persistence.js';
import { isShared } from './persistence/shared-store.js';
import type { DeadLetter, DeadLetterQuery, MessageHistory } from './persistence/store.js';
import { retentionOption, storeOption } from './persistence/store-options.js';
import { AddressPolicy } from './security/address-policy.js';
import { MemoryStore } from './stores/memory/memory-store.js';
import { AttemptTelemetry } from './telemetry/attempt-telemetry.js';
import { OpenTelemetry } from './telemetry/open-telemetry.js';
import { undiciTransports } from './transport/undici-transport.js';

/**
 * With a shared store, claiming stops while this many messages are held in this process (its
 * own and claimed ones): claimed work never grows memory past it.
 */
const MAX_HELD = 10 * CLAIM_BATCH;

type Lifecycle =
  | { state: 'open' }
  | { state: 'closing'; done: Promise<void> }
  | { state: 'closed'; done: Promise<void> };

/**
 * Sends signed webhooks. One per process is typical: it keeps a host actor (queue, limiter,
 * breaker, connections) per destination origin, and reports every accepted message's end as
 * exactly one `delivered` or `failed` event. Only the dispatcher emits its events: users
 * subscribe with `on`, `once` and `off`.
 */
export class Dispatcher implements Subscribable<DispatcherEvents> {
  readonly #events: EventStream<DispatcherEvents>;
  readonly #options: ResolvedOptions;
  readonly #perMessage: ResolvedSendOptions;
  readonly #clock: Clock;
  readonly #endpoints: EndpointResolver;
  readonly #router: Router;
  readonly #ledger = new Ledger();
  readonly #persistence: Persistence;
  readonly #admission: Admission;
  readonly #queries: MessageQueries;
  /** Spans and metrics, when `@opentelemetry/api` is installed and telemetry is on. */
  readonly #otel: OpenTelemetry | undefined;
  /** The store is shared with other processes (Postgres): work is claimed under leases. */
  readonly #shared: boolean;
  readonly #cluster: Cluster | undefined;
  /** What the actors report into; closing gives up the ends it is still writing again. */
  readonly #sink: FencedSink;
  #life: Lifecycle = { state: 'open' };

  constructor(options?: DispatcherOptions, internals?: DispatcherInternals) {
    this.#events = new EventStream<DispatcherEvents>(this, (error) => this.#listenerThrew(error), 'error');
    const opts = (this.#options = guarded('WD_INVALID_OPTIONS', 'the options', () => resolveOptions(options)));
    this.#perMessage = { attempts: opts.retry.attempts, ttlMs: opts.ttlMs, idempotencyKey: undefined, transaction: undefined };
    const seams = readInternals(internals);
    const clock = (this.#clock = seams.clock ?? systemClock);
    const policy = new AddressPolicy(opts.allowPrivateNetworks, opts.allowedNetworks, seams.lookup);
    const endpoints = (this.#endpoints = new EndpointResolver(opts.signature, policy, opts.httpsOnly, opts.signatureHeader));
    const resolve = (endpoint: Endpoint): ResolvedEndpoint => endpoints.resolve(endpoint);
    const transport = seams.transport ?? undiciTransports({ timeoutMs: opts.timeoutMs, responseBodyBytes: opts.responseBodyBytes, lookup: policy.lookup, clock });
    const store = guarded('WD_INVALID_OPTIONS', 'the `store` option', () => storeOption(opts.store)) ?? new MemoryStore();
    const retention = guarded('WD_INVALID_OPTIONS', 'the `retention` option', () => retentionOption(opts.retention));
    // Checked before the store is opened: a refused `cluster` leaves nothing open behind it.
    const cluster = (this.#cluster = startCluster(opts.cluster, clock, opts.timeoutMs, (w) => this.#warn(w), (origin) => this.#router.get(origin)?.wake()));
    const shared = (this.#shared = isShared(store));
    this.#persistence = new Persistence({
      store,
      clock,
      resolve,
      retention,
      recover: (origins) => this.#admission.recover(origins),
      onStoreError: (error) => this.#warn({ kind: 'store-write-failed', message: error.message, error }),
      shared: shared
        ? {
            // This process's id in the shared store: time-sortable, unique across processes.
            owner: uuidv7(clock.now()),
            target: { room: () => MAX_HELD - this.#ledger.pending, adopt: (records) => this.#admission.adopt(records) },
            ordered: (origin) => optionsForOrigin(opts, origin).ordered,
          }
        : undefined,
    });
    const otel = (this.#otel = OpenTelemetry.create(opts.telemetry, () => this.stats()));
    const reports = createSink({ ledger: this.#ledger, events: this.#events, journal: this.#persistence.journal, otel, ended: (m) => this.#admission.ended(m) });
    // With a shared store an end is written under its lease before its event: see fencedSink.
    const sink = (this.#sink = fencedSink(reports, this.#persistence.journal, clock));
    this.#router = new Router(
      {
        options: opts,
        sink,
        clock,
        backlog: this.#persistence.backlog,
        keepsUnfinished: shared,
        rateLimiter: cluster?.rateLimiter ?? ((limit, now) => new LocalRateLimiter(limit, now)),
        sharedBreakers: cluster?.breakers,
        telemetry: new AttemptTelemetry(otel),
      },
      transport,
    );
    const assertOpen = () => this.#assertOpen();
    this.#admission = new Admission({ options: opts, clock, ledger: this.#ledger, router: this.#router, persistence: this.#persistence, otel, resolve, assertOpen, isOpen: () => this.#life.state === 'open' });
    this.#queries = new MessageQueries({ clock, persistence: this.#persistence, admission: this.#admission, perMessage: this.#perMessage, assertOpen });
  }

  /**
   * Resolves once the store is open and the messages an earlier run left unfinished are
   * queued again (their attempts and retry times kept); rejects with `WD_STORE_UNAVAILABLE`
   * when the store cannot be opened. Sends made before it wait for it. With `cluster`, it also
   * waits for Redis's first connection (up, refused, or 2 s at most), so the first sends already
   * share the host limits.
   */
  ready(): Promise<void> {
    const cluster = this.#cluster;
    return cluster === undefined ? this.#persistence.ready : Promise.all([this.#persistence.ready, cluster.ready]).then(() => {});
  }

  /** Failed messages kept by the store, newest first: `{ origin?, reason?, limit?, cursor? }`. */
  deadLetters(query: DeadLetterQuery = {}): Promise<{ items: DeadLetter[]; cursor?: string }> {
    return this.#queries.deadLetters(query);
  }

  /** A message's state and every attempt, while the store keeps it; `undefined` for an id the store does not hold. */
  history(messageId: string): Promise<MessageHistory | undefined> {
    return this.#queries.history(messageId);
  }

  /**
   * Sends stored messages again: each becomes a new message (a new `messageId`, attempts from
   * zero) with the same event id, body and endpoint, with its own terminal event. One result
   * per id, in order; an id the store does not hold gives `{ ok: false }`. At most 10,000 ids a call.
   */
  replay(messageIds: readonly string[]): Promise<PublishResult[]> {
    return this.#queries.replay(messageIds);
  }

  /**
   * Accepts one event for one endpoint. Resolves once the message is in its host's queue;
   * rejects with a `WebhookError` (and emits nothing) when it is not accepted.
   */
  send(endpoint: Endpoint, event: WebhookEvent, options?: SendOptions): Promise<Receipt> {
    try {
      this.#assertOpen();
      const perMessage = this.#sendOptions(options);
      const key = perMessage.idempotencyKey;
      const earlier = this.#admission.earlier(key);
      if (earlier !== undefined) return Promise.resolve(earlier);
      // The cheap refusals (bad endpoint, full queue) come before serializing the body.
      const [resolved, actor] = this.#route(endpoint);
      const now = this.#clock.now();
      const prepared = guarded('WD_INVALID_EVENT', 'the event', () => prepareEvent(event, this.#options.maxPayloadBytes, now));
      const receipt = this.#admission.enqueue(resolved, actor, prepared, perMessage, key, now);
      return receipt instanceof Promise ? receipt : Promise.resolve(receipt);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Fans one event out to many endpoints; the body is serialized once. Resolves with one
   * result per endpoint, in order: a refused endpoint gives `{ ok: false, error }` and never
   * rejects the whole call. Rejects only when nothing can be accepted (closed, invalid event
   * or options, `endpoints` not an array).
   */
  publish(event: WebhookEvent, endpoints: Endpoint[], options?: SendOptions): Promise<PublishResult[]> {
    try {
      this.#assertOpen();
      const perMessage = this.#sendOptions(options);
      if (!guarded('WD_INVALID_ENDPOINT', '`endpoints`', () => Array.isArray(endpoints))) {
        throw new WebhookError('WD_INVALID_ENDPOINT', `Expected \`endpoints\` to be an array, got ${describe(endpoints)}`);
      }
      const now = this.#clock.now();
      const prepared = guarded('WD_INVALID_EVENT', 'the event', () => prepareEvent(event, this.#options.maxPayloadBytes, now));
      const count = guarded('WD_INVALID_ENDPOINT', '`endpoints`', () => endpoints.length);
      const results = new Array<PublishResult | Promise<PublishResult>>(count);
      let waits = false;
      for (let i = 0; i < count; i++) {
        try {
          // A listener may close the dispatcher between two endpoints.
          this.#assertOpen();
          const [resolved, actor] = this.#route(guarded('WD_INVALID_ENDPOINT', `\`endpoints[${i}]\``, () => endpoints[i]));
          const key = perMessage.idempotencyKey === undefined ? undefined : `${perMessage.idempotencyKey} ${resolved.url}`;
          const earlier = this.#admission.earlier(key);
          const receipt = earlier ?? this.#admission.enqueue(resolved, actor, prepared, perMessage, key, now);
          if (receipt instanceof Promise) {
            waits = true;
            results[i] = receipt.then((r): PublishResult => ({ ok: true, receipt: r }), (error: WebhookError): PublishResult => ({ ok: false, error }));
          } else results[i] = { ok: true, receipt };
        } catch (error) {
          results[i] = { ok: false, error: isWebhookError(error) ? error : new WebhookError('WD_INVALID_ENDPOINT', `Expected \`endpoints[${i}]\` to be usable, got an error: ${describe(error)}`, { cause: error }) };
        }
      }
      return waits ? Promise.all(results) : Promise.resolve(results as PublishResult[]);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Resolves when nothing is queued, in flight or waiting to retry. */
  onIdle(): Promise<void> {
    return this.#ledger.onIdle();
  }

  stats(): DispatcherStats {
    const hosts: Record<string, HostStats> = {};
    for (const actor of this.#router.actors()) hosts[actor.origin] = actor.stats();
    return { ...this.#ledger.totals(), hosts };
  }

  /**
   * Stops accepting: from the first instant of the call, `send` and `publish` reject with
   * `WD_CLOSED`, listeners of the messages failed here included. With `drain`, delivers what
   * was accepted first, for at most `timeoutMs`; whatever is left then (or at once, without
   * `drain`) fails with reason `'closed'`. Resolves after every accepted message has had its
   * terminal event and every connection and timer is released. Calling it again returns the
   * same promise.
   */
  close(options?: CloseOptions): Promise<void> {
    if (this.#life.state !== 'open') return this.#life.done;
    let resolved: { drain: boolean; timeoutMs: number };
    try {
      resolved = guarded('WD_INVALID_OPTIONS', 'the close options', () => resolveCloseOptions(options));
    } catch (error) {
      return Promise.reject(error);
    }
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    this.#life = { state: 'closing', done };
    void this.#shutdown(resolved.drain, resolved.timeoutMs).finally(() => {
      this.#life = { state: 'closed', done };
      finish();
    });
    return done;
  }

  /**
   * Stops sending new attempts to one origin (a receiver under maintenance) until
   * {@link resume}. Messages keep being accepted and queued, in-flight attempts finish, and
   * time to live keeps running. `target` is an origin or any URL of it.
   */
  pause(target: string): void {
    const origin = originOf(target);
    const actor = this.#router.actorFor(origin);
    if (actor === undefined) throw refusal('WD_QUEUE_FULL', `Expected room for a new host (${origin}) to pause, got ${this.#router.size} busy hosts (\`maxHosts\` ${this.#options.maxHosts})`);
    actor.pause();
  }

  /** Lets a paused origin send again, in queue order. Does nothing for an origin that is not paused. */
  resume(target: string): void {
    this.#router.get(originOf(target))?.resume();
  }

  /**
   * Ends queued and waiting messages with `failed` reason `'cancelled'`: every message of one
   * origin (`{ origin }`), or the messages with these ids. Attempts in flight are not cut: their
   * answer decides. Returns how many messages were cancelled.
   */
  cancel(which: { origin: string } | readonly string[]): number {
    const selector = cancelSelector(which);
    if ('origin' in selector) return this.#router.get(selector.origin)?.cancel() ?? 0;
    let cancelled = 0;
    for (const actor of this.#router.actors()) cancelled += actor.cancel((m) => selector.ids.has(m.id));
    return cancelled;
  }

  /**
   * Resolves when the origin's queue has room for another message: after `WD_QUEUE_FULL`,
   * await it before sending again, as with a stream's `drain`. `target` a URL with a path
   * (an endpoint's `url`): when that endpoint's share of its host's queue has room too
   * (`endpointQueueShare`). Resolves at once when there is room (or no actor yet), and when
   * the dispatcher closes.
   */
  onRoom(target: string): Promise<void> {
    try {
      const actor = this.#router.get(originOf(target));
      // Anything after the authority (a path, even `/`, or a query) names one endpoint URL.
      const url = /^[a-z][a-z\d+.-]*:\/\/[^/?#]*[/?#]/i.test(target) ? new URL(target).href : undefined;
      return actor?.waitForRoom(url) ?? Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Drops idle host actors now instead of at the next sweep. Returns how many were dropped. */
  evictIdle(): number {
    return this.#router.evictIdle();
  }

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

  async #shutdown(drain: boolean, timeoutMs: number): Promise<void> {
    // Closing takes no new work from a shared store; what is held keeps its leases while draining.
    // (Awaited only then: without one, the drain timer is armed in this same turn.)
    if (this.#shared) await this.#persistence.stopClaiming();
    if (drain && this.#ledger.pending > 0) {
      let timer: Timer | undefined;
      const timeout = Number.isFinite(timeoutMs) ? new Promise<void>((resolve) => (timer = this.#clock.setTimer(resolve, timeoutMs, true))) : undefined;
      await (timeout === undefined ? this.onIdle() : Promise.race([this.onIdle(), timeout]));
      timer?.cancel();
    }
    if (this.#ledger.pending > 0) {
      for (const actor of this.#router.actors()) actor.abort();
      // With the store down, ends waiting to be written again are released, not waited for.
      this.#sink.abandon();
      await this.onIdle();
    }
    await this.#router.dispose();
    this.#otel?.close();
    await this.#cluster?.close();
    await this.#persistence.close();
  }

  #sendOptions(options: unknown): ResolvedSendOptions {
    if (options === undefined) return this.#perMessage;
    const resolved = guarded('WD_INVALID_OPTIONS', 'the send options', () => resolveSendOptions(options, this.#perMessage));
    if (resolved.transaction !== undefined && !this.#shared) {
      throw new WebhookError('WD_INVALID_OPTIONS', 'Expected a dispatcher with `store: postgresStore(…)` for the `transaction` send option (the transactional outbox), got one whose store is not shared');
    }
    return resolved;
  }

  #assertOpen(): void {
    if (this.#life.state !== 'open') throw new WebhookError('WD_CLOSED', `Expected an open dispatcher, got one that is ${this.#life.state}`);
  }

  /**
   * The endpoint, validated, and its host actor if it has one, which has room. A missing actor
   * is made only at acceptance: a send refused for its event must leave no host behind.
   */
  #route(endpoint: unknown): [ResolvedEndpoint, HostActor | undefined] {
    const resolved = guarded('WD_INVALID_ENDPOINT', 'the endpoint', () => this.#endpoints.resolve(endpoint));
    const actor = this.#router.get(resolved.origin);
    if (actor !== undefined && !actor.hasRoom) throw actor.queueFullError();
    return [resolved, actor];
  }

  /** Degraded, not failing: to `warning` listeners, or a process warning without one. */
  #warn(warning: DispatcherWarning): void {
    if (this.#events.has('warning')) this.#events.emit('warning', warning);
    else process.emitWarning(warning.message, 'WebhookDispatcherWarning');
  }

  #listenerThrew(error: unknown): void {
    if (!this.#events.has('error')) {
      process.emitWarning(`A webhook-dispatcher event listener threw: ${String(error)}`, 'WebhookDispatcherWarning');
      return;
    }
    // What an error listener throws has nowhere left to go (the stream drops it).
    this.#events.emit('error', error);
  }
}

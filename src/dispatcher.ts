import { AddressPolicy } from './security/address-policy.js';
import { systemClock, type Clock, type Timer } from './core/clock.js';
import { cancelSelector, originOf } from './model/targets.js';
import { guarded, readInternals, type DispatcherInternals } from './config/internals.js';
import { EndpointResolver, type ResolvedEndpoint } from './model/endpoint.js';
import { prepareEvent, type PreparedEvent } from './model/envelope.js';
import { WebhookError, describe, isWebhookError, refusal } from './core/errors.js';
import { EventStream, type Subscribable } from './dispatch/event-stream.js';
import type { HostActor } from './delivery/host-actor.js';
import { uuidv7 } from './core/ids.js';
import { startCluster, type Cluster } from './cluster/cluster.js';
import { LocalRateLimiter } from './limits/local-rate-limiter.js';
import { CLAIM_BATCH } from './persistence/lease-keeper.js';
import { fromRecord, type MessageRecord } from './model/message-record.js';
import { Persistence } from './persistence/persistence.js';
import { isShared, type QueryClient } from './persistence/shared-store.js';
import type { DeadLetter, DeadLetterQuery, MessageHistory } from './persistence/store.js';
import { retentionOption, storeOption, deadLetterQuery } from './persistence/store-options.js';
import { MemoryStore } from './stores/memory/memory-store.js';
import type { Message } from './model/message.js';
import { optionsForOrigin, resolveCloseOptions, resolveOptions, type CloseOptions, type DispatcherOptions, type ResolvedOptions } from './config/options.js';
import { Router } from './delivery/router.js';
import { resolveSendOptions, type ResolvedSendOptions, type SendOptions } from './config/send-options.js';
import { createSink } from './delivery/sink.js';
import { publishAccepted } from './telemetry/diagnostics.js';
import { OpenTelemetry } from './telemetry/open-telemetry.js';
import { AttemptTelemetry } from './telemetry/attempt-telemetry.js';
import { UndiciTransport, clientOptions, type TransportFactory } from './transport/undici-transport.js';
import type { ClusterWarning, DispatcherEvents, DispatcherStats, Endpoint, HostStats, PublishResult, Receipt, WebhookEvent } from './model/types.js';

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
  readonly #events = new EventStream<DispatcherEvents>((error) => this.#listenerThrew(error));
  readonly #options: ResolvedOptions;
  readonly #perMessage: ResolvedSendOptions;
  readonly #clock: Clock;
  readonly #endpoints: EndpointResolver;
  readonly #router: Router;
  readonly #counts = { accepted: 0, delivered: 0, failed: 0, retries: 0, released: 0 };
  readonly #persistence: Persistence;
  /** Spans and metrics, when `@opentelemetry/api` is installed and telemetry is on. */
  readonly #otel: OpenTelemetry | undefined;
  /** The store is shared with other processes (Postgres): work is claimed under leases. */
  readonly #shared: boolean;
  readonly #cluster: Cluster | undefined;
  /** Durable sends waiting for their commit. */
  #committing = 0;
  #life: Lifecycle = { state: 'open' };
  /** Receipts of pending messages sent with an idempotency key. */
  readonly #byKey = new Map<string, Receipt>();
  #idleWaiters: (() => void)[] = [];

  constructor(options?: DispatcherOptions, internals?: DispatcherInternals) {
    this.#options = guarded('WD_INVALID_OPTIONS', 'the options', () => resolveOptions(options));
    this.#perMessage = { attempts: this.#options.retry.attempts, ttlMs: this.#options.ttlMs, idempotencyKey: undefined, transaction: undefined };
    const seams = readInternals(internals);
    const clock = (this.#clock = seams.clock ?? systemClock);
    const policy = new AddressPolicy(this.#options.allowPrivateNetworks, this.#options.allowedNetworks, seams.lookup);
    this.#endpoints = new EndpointResolver(this.#options.signature, policy, this.#options.httpsOnly, this.#options.signatureHeader);
    const { timeoutMs, responseBodyBytes } = this.#options;
    const transportOptions = { timeoutMs, responseBodyBytes, lookup: policy.lookup, clock };
    const shared = clientOptions(transportOptions);
    const transport: TransportFactory = seams.transport ?? ((origin, connections) => new UndiciTransport(origin, connections, transportOptions, shared));
    const store = guarded('WD_INVALID_OPTIONS', 'the `store` option', () => storeOption(this.#options.store)) ?? new MemoryStore();
    const retention = guarded('WD_INVALID_OPTIONS', 'the `retention` option', () => retentionOption(this.#options.retention));
    // Checked before the store is opened: a refused `cluster` leaves nothing open behind it.
    const cluster = (this.#cluster = startCluster(this.#options.cluster, clock, timeoutMs, (w) => this.#warn(w), (origin) => this.#router.get(origin)?.wake()));
    this.#persistence = new Persistence(
      store,
      clock,
      (endpoint) => this.#endpoints.resolve(endpoint),
      retention,
      (origins) => this.#recover(origins),
      (error) => this.#listenerThrew(error),
      isShared(store)
        ? {
            // This process's id in the shared store: time-sortable, unique across processes.
            owner: uuidv7(clock.now()),
            target: { room: () => MAX_HELD - this.#pending, adopt: (records) => this.#adopt(records) },
            ordered: (origin) => optionsForOrigin(this.#options, origin).ordered,
          }
        : undefined,
    );
    this.#shared = isShared(store);
    const otel = (this.#otel = OpenTelemetry.create(this.#options.telemetry, () => this.stats()));
    const sink = createSink(this.#counts, (name, payload) => this.#events.emit(name, payload as never, this), (name) => this.#events.has(name), (m) => this.#ended(m), this.#persistence.journal, otel);
    this.#router = new Router(
      {
        options: this.#options,
        sink,
        clock,
        backlog: this.#persistence.backlog,
        keepsUnfinished: this.#shared,
        rateLimiter: cluster?.rateLimiter ?? ((limit, now) => new LocalRateLimiter(limit, now)),
        sharedBreakers: cluster?.breakers,
        telemetry: new AttemptTelemetry(otel),
      },
      transport,
    );
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
    // In a cluster, also the first Redis connection: sends made before it limit per process.
    return cluster === undefined ? this.#persistence.ready : Promise.all([this.#persistence.ready, cluster.ready]).then(() => {});
  }

  /** Failed messages kept by the store, newest first: `{ origin?, reason?, limit?, cursor? }`. */
  deadLetters(query: DeadLetterQuery = {}): Promise<{ items: DeadLetter[]; cursor?: string }> {
    try {
      return this.#persistence.deadLetters(deadLetterQuery(query));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A message's state and every attempt, while the store keeps it. */
  history(messageId: string): Promise<MessageHistory | undefined> {
    if (typeof messageId !== 'string') return Promise.reject(new WebhookError('WD_INVALID_OPTIONS', `Expected \`messageId\` to be a string, got ${describe(messageId)}`));
    return this.#persistence.history(messageId);
  }

  /**
   * Sends stored messages again: each becomes a new message (a new `messageId`, attempts from
   * zero) with the same event id, body and endpoint, with its own terminal event. One result
   * per id, in order; an id the store does not hold gives `{ ok: false }`.
   */
  async replay(messageIds: readonly string[]): Promise<PublishResult[]> {
    if (!Array.isArray(messageIds) || !messageIds.every((id) => typeof id === 'string')) {
      throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`messageIds\` to be an array of strings, got ${describe(messageIds)}`);
    }
    this.#assertOpen();
    return Promise.all(
      messageIds.map(async (id): Promise<PublishResult> => {
        try {
          const now = this.#clock.now();
          const message = await this.#persistence.replayable(id, uuidv7(now), now, this.#perMessage.attempts, this.#perMessage.ttlMs);
          if (message === undefined) return { ok: false, error: new WebhookError('WD_INVALID_OPTIONS', `Expected a message id the store holds, got ${describe(id)}`) };
          this.#assertOpen();
          const actor = this.#actorWithRoom(message.endpoint.origin);
          return { ok: true, receipt: await this.#admit(message, actor) };
        } catch (error) {
          return { ok: false, error: isWebhookError(error) ? error : new WebhookError('WD_STORE_UNAVAILABLE', `Expected to replay ${describe(id)}, got an error: ${describe(error)}`, { cause: error }) };
        }
      }),
    );
  }

  /** Queues again what an earlier run left: one call per origin with pending messages. */
  #recover(origins: { origin: string; count: number }[]): void {
    for (const { origin, count } of origins) {
      const actor = this.#router.actorFor(origin, true);
      if (actor === undefined) continue;
      this.#counts.accepted += count;
      actor.recover(count);
    }
  }

  /**
   * Messages claimed from a shared store, to their host actors. Returns the ids of those no
   * actor has room for, which go back to the store for any process to take.
   */
  #adopt(records: readonly MessageRecord[]): string[] {
    const refused: string[] = [];
    for (const record of records) {
      let message: Message;
      try {
        message = fromRecord(record, (endpoint) => this.#endpoints.resolve(endpoint));
      } catch {
        // An endpoint this dispatcher's options refuse: held, not sent (as with recovery).
        continue;
      }
      const actor = this.#life.state === 'open' ? this.#router.actorFor(message.endpoint.origin, true) : undefined;
      if (actor === undefined || !actor.hasRoom) {
        refused.push(record.id);
        continue;
      }
      this.#counts.accepted++;
      actor.adopt(message);
    }
    return refused;
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
      const earlier = key === undefined ? undefined : this.#byKey.get(key);
      if (earlier !== undefined) return Promise.resolve(earlier);
      // The cheap refusals (bad endpoint, full queue) come before serializing the body.
      const [resolved, actor] = this.#route(endpoint);
      const now = this.#clock.now();
      const prepared = guarded('WD_INVALID_EVENT', 'the event', () => prepareEvent(event, this.#options.maxPayloadBytes, now));
      const receipt = this.#enqueue(resolved, actor, prepared, perMessage, key, now);
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
          const earlier = key === undefined ? undefined : this.#byKey.get(key);
          const receipt = earlier ?? this.#enqueue(resolved, actor, prepared, perMessage, key, now);
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
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  stats(): DispatcherStats {
    const hosts: Record<string, HostStats> = {};
    for (const actor of this.#router.actors()) hosts[actor.origin] = actor.stats();
    const { accepted, delivered, failed, retries } = this.#counts;
    return { accepted, delivered, failed, retries, pending: accepted - delivered - failed - this.#counts.released, hosts };
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
   * await it before sending again, as with a stream's `drain`. Resolves at once when there is
   * room (or no actor yet), and when the dispatcher closes.
   */
  onRoom(target: string): Promise<void> {
    try {
      return this.#router.get(originOf(target))?.waitForRoom() ?? Promise.resolve();
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

  /** Accepted and not ended, plus sends whose commit is on its way. */
  get #pending(): number {
    const c = this.#counts;
    return c.accepted - c.delivered - c.failed - c.released + this.#committing;
  }

  async #shutdown(drain: boolean, timeoutMs: number): Promise<void> {
    // Closing takes no new work from a shared store; what is held keeps its leases while draining.
    // (Awaited only then: without one, the drain timer is armed in this same turn.)
    const leases = this.#persistence.leases;
    if (leases !== undefined) await leases.stopClaiming();
    if (drain && this.#pending > 0) {
      let timer: Timer | undefined;
      const timeout = Number.isFinite(timeoutMs) ? new Promise<void>((resolve) => (timer = this.#clock.setTimer(resolve, timeoutMs, true))) : undefined;
      await (timeout === undefined ? this.onIdle() : Promise.race([this.onIdle(), timeout]));
      timer?.cancel();
    }
    if (this.#pending > 0) {
      for (const actor of this.#router.actors()) actor.abort();
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

  /** The endpoint, validated, and its host actor, which has room. Throws a `WebhookError` otherwise. */
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

  #actorWithRoom(origin: string): HostActor {
    const actor = this.#router.actorFor(origin);
    if (actor === undefined) {
      throw refusal('WD_QUEUE_FULL', `Expected room for a new host (${origin}), got ${this.#router.size} busy hosts (\`maxHosts\` ${this.#options.maxHosts})`);
    }
    if (!actor.hasRoom) throw actor.queueFullError();
    return actor;
  }

  #enqueue(endpoint: ResolvedEndpoint, known: HostActor | undefined, event: PreparedEvent, options: ResolvedSendOptions, key: string | undefined, now: number): Receipt | Promise<Receipt> {
    const message: Message = {
      id: uuidv7(now),
      endpoint,
      event,
      acceptedAt: now,
      maxAttempts: options.attempts,
      expiresAt: now + options.ttlMs,
      idempotencyKey: key,
      attempts: 0,
      dueAt: 0,
      trace: this.#otel?.capture(),
      last: undefined,
    };
    if (options.transaction !== undefined) return this.#outbox(message, options.transaction);
    return this.#admit(message, known ?? this.#actorWithRoom(endpoint.origin));
  }

  /**
   * The transactional outbox: the row is written by the caller's client in the caller's
   * transaction, owned by nobody. This process holds nothing of it: whichever process claims
   * it after the commit delivers it and emits its event; a rollback leaves nothing.
   */
  async #outbox(message: Message, client: QueryClient): Promise<Receipt> {
    await this.#persistence.outbox(client, message, optionsForOrigin(this.#options, message.endpoint.origin).ordered);
    return { messageId: message.id, eventId: message.event.id, origin: message.endpoint.origin };
  }

  /**
   * Accepts a built message into its actor, which has room. In memory at once; with a durable
   * store once the message is committed (the actor holds its room meanwhile), and a failed
   * commit rejects with `WD_STORE_UNAVAILABLE` and leaves nothing behind.
   */
  #admit(message: Message, actor: HostActor): Receipt | Promise<Receipt> {
    // Checked again at the moment of acceptance: reading the endpoint or the event runs the
    // caller's getters, and one of them may have closed the dispatcher or filled the queue.
    this.#assertOpen();
    if (!actor.hasRoom) throw actor.queueFullError();
    const receipt: Receipt = { messageId: message.id, eventId: message.event.id, origin: message.endpoint.origin };
    const key = message.idempotencyKey;
    if (!this.#persistence.durable) {
      // Counted (and keyed) before the actor sees it: a message can end inside accept().
      this.#counts.accepted++;
      if (key !== undefined) this.#byKey.set(key, receipt);
      publishAccepted(message);
      actor.accept(message);
      return receipt;
    }
    actor.reserve();
    this.#committing++;
    if (key !== undefined) this.#byKey.set(key, receipt);
    const ordered = this.#shared && optionsForOrigin(this.#options, message.endpoint.origin).ordered;
    return this.#persistence.journal.accepted(message).then(
      () => {
        this.#committing--;
        if (ordered) {
          // Written unowned: an ordered host is served by the one process holding its lease,
          // which claims its messages in id order (perhaps this one: claim now).
          if (key !== undefined) this.#byKey.delete(key);
          actor.unreserve();
          this.#persistence.leases?.nudge();
          this.#ended(message);
          return receipt;
        }
        this.#counts.accepted++;
        publishAccepted(message);
        actor.accept(message, true);
        return receipt;
      },
      (error: WebhookError) => {
        this.#committing--;
        if (key !== undefined) this.#byKey.delete(key);
        actor.unreserve();
        this.#ended(message);
        throw error;
      },
    );
  }

  /** After a message ended or was released; `undefined` after messages released unread from disk. */
  #ended(message: Message | undefined): void {
    if (message?.idempotencyKey !== undefined) this.#byKey.delete(message.idempotencyKey);
    this.#persistence.leases?.roomOpened();
    if (this.#pending !== 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Degraded, not failing: to `warning` listeners, or a process warning without one. */
  #warn(warning: ClusterWarning): void {
    if (this.#events.has('warning')) this.#events.emit('warning', warning, this);
    else process.emitWarning(warning.message, 'WebhookDispatcherWarning');
  }

  #listenerThrew(error: unknown): void {
    if (!this.#events.has('error')) {
      process.emitWarning(`A webhook-dispatcher event listener threw: ${String(error)}`, 'WebhookDispatcherWarning');
      return;
    }
    // What an error listener throws has nowhere left to go.
    this.#events.emit('error', error, this, () => {});
  }
}

import type { Clock } from '../core/clock.js';
import { WebhookError, refusal } from '../core/errors.js';
import { uuidv7 } from '../core/ids.js';
import { type ResolvedOptions } from '../config/options.js';
import { optionsForOrigin } from '../config/resolve-options.js';
import type { ResolvedSendOptions } from '../config/send-options.js';
import type { HostActor } from '../delivery/host-actor.js';
import type { Router } from '../delivery/router.js';
import type { ResolvedEndpoint } from '../model/endpoint.js';
import type { PreparedEvent } from '../model/envelope.js';
import type { Message } from '../model/message.js';
import { fromRecord, type MessageRecord } from '../model/message-record.js';
import type { Endpoint, Receipt } from '../model/types.js';
import type { Persistence } from '../persistence/persistence.js';
import type { QueryClient } from '../persistence/shared-store.js';
import { publishAccepted } from '../telemetry/diagnostics.js';
import type { OpenTelemetry } from '../telemetry/open-telemetry.js';
import type { Ledger } from './ledger.js';

/** What admission needs from the dispatcher that wires it. */
export interface AdmissionContext {
  readonly options: ResolvedOptions;
  readonly clock: Clock;
  readonly ledger: Ledger;
  readonly router: Router;
  readonly persistence: Persistence;
  readonly otel: OpenTelemetry | undefined;
  /** The dispatcher's endpoint resolver, for rows read back from the store. */
  readonly resolve: (endpoint: Endpoint) => ResolvedEndpoint;
  /** Throws `WD_CLOSED` unless the dispatcher is open. */
  assertOpen(): void;
  /** Is the dispatcher still taking work (claims from a shared store)? */
  isOpen(): boolean;
}

/**
 * How messages come in: a send or a replay (accepted into memory at once, or once committed
 * to a durable store), the transactional outbox (written in the caller's transaction), and
 * what the store hands back (recovered after a restart, claimed from other processes). Every
 * way in counts the message in the {@link Ledger} exactly once, and every end counts it out.
 */
export class Admission {
  readonly #ctx: AdmissionContext;
  /** Receipts of pending messages sent with an idempotency key. */
  readonly #byKey = new Map<string, Receipt>();

  /** Actors paused while this process's leases may have lapsed (a stall): resumed by a renewal. */
  readonly #held = new Set<HostActor>();

  constructor(ctx: AdmissionContext) {
    this.#ctx = ctx;
    ctx.persistence.leases?.attach({ forget: (lost) => this.#forget(lost), hold: () => this.#hold(), resume: () => this.#resume() });
  }

  /** Messages another process took over (this one stalled past its lease): out of their actors, with no event. */
  #forget(lost: readonly { id: string; origin: string }[]): void {
    const byOrigin = new Map<string, Set<string>>();
    for (const { id, origin } of lost) {
      let ids = byOrigin.get(origin);
      if (ids === undefined) byOrigin.set(origin, (ids = new Set()));
      ids.add(id);
    }
    for (const [origin, ids] of byOrigin) this.#ctx.router.get(origin)?.forget(ids);
  }

  /** Starts no attempt until a renewal says what this process still holds. A host the user paused stays the user's. */
  #hold(): void {
    for (const actor of this.#ctx.router.actors()) {
      if (actor.paused) continue;
      actor.pause();
      this.#held.add(actor);
    }
  }

  #resume(): void {
    for (const actor of this.#held) actor.resume();
    this.#held.clear();
  }

  /** The receipt of a pending message sent earlier with `key`. */
  earlier(key: string | undefined): Receipt | undefined {
    return key === undefined ? undefined : this.#byKey.get(key);
  }

  /** The actor of `origin`, made if needed, which has room; throws `WD_QUEUE_FULL` otherwise. */
  actorWithRoom(origin: string): HostActor {
    const { router, options } = this.#ctx;
    const actor = router.actorFor(origin);
    if (actor === undefined) {
      throw refusal('WD_QUEUE_FULL', `Expected room for a new host (${origin}), got ${router.size} busy hosts (\`maxHosts\` ${options.maxHosts})`);
    }
    if (!actor.hasRoom) throw actor.queueFullError();
    return actor;
  }

  /** Builds the message for one endpoint and accepts it (or writes it to the caller's outbox). */
  enqueue(endpoint: ResolvedEndpoint, known: HostActor | undefined, event: PreparedEvent, options: ResolvedSendOptions, key: string | undefined, now: number): Receipt | Promise<Receipt> {
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
      trace: this.#ctx.otel?.capture(),
      last: undefined,
    };
    if (options.transaction !== undefined) return this.#outbox(message, options.transaction);
    return this.admit(message, known ?? this.actorWithRoom(endpoint.origin));
  }

  /**
   * Accepts a built message into its actor, which has room. In memory at once; with a durable
   * store once the message is committed (the actor holds its room meanwhile), and a failed
   * commit rejects with `WD_STORE_UNAVAILABLE` and leaves nothing behind.
   */
  admit(message: Message, actor: HostActor): Receipt | Promise<Receipt> {
    const { ledger, persistence } = this.#ctx;
    // Checked again at the moment of acceptance: reading the endpoint or the event runs the
    // caller's getters, and one of them may have closed the dispatcher or filled the queue.
    this.#ctx.assertOpen();
    if (!actor.hasRoomFor(message.endpoint.url)) throw actor.queueFullError(message.endpoint.url);
    const receipt: Receipt = { messageId: message.id, eventId: message.event.id, origin: message.endpoint.origin };
    const key = message.idempotencyKey;
    if (!persistence.durable) {
      // Counted (and keyed) before the actor sees it: a message can end inside accept().
      ledger.accepted();
      if (key !== undefined) this.#byKey.set(key, receipt);
      publishAccepted(message);
      actor.accept(message);
      return receipt;
    }
    actor.reserve(message.endpoint.url);
    ledger.committing();
    if (key !== undefined) this.#byKey.set(key, receipt);
    return persistence.accept(message).then(
      () => {
        ledger.committed();
        if (this.#servedElsewhere(message)) {
          // Written unowned: an ordered host is served by the one process holding its lease,
          // which claims its messages in id order (perhaps this one: claim now).
          actor.unreserve(message.endpoint.url);
          persistence.claimSoon();
          this.ended(message);
          return receipt;
        }
        ledger.accepted();
        publishAccepted(message);
        actor.accept(message, true);
        return receipt;
      },
      (error: WebhookError) => {
        ledger.committed();
        actor.unreserve(message.endpoint.url);
        this.ended(message);
        throw error;
      },
    );
  }

  /** After a message ended or was released; `undefined` after messages released unread from disk. */
  ended(message: Message | undefined): void {
    if (message?.idempotencyKey !== undefined) this.#byKey.delete(message.idempotencyKey);
    this.#ctx.persistence.roomOpened();
    this.#ctx.ledger.settle();
  }

  /** Queues again what an earlier run left: one call per origin with pending messages. */
  recover(origins: { origin: string; count: number }[]): void {
    for (const { origin, count } of origins) {
      const actor = this.#ctx.router.actorFor(origin, true);
      if (actor === undefined) continue;
      this.#ctx.ledger.accepted(count);
      actor.recover(count);
    }
  }

  /**
   * Messages claimed from a shared store, to their host actors. Returns the ids of those no
   * actor has room for, which go back to the store for any process to take.
   */
  adopt(records: readonly MessageRecord[]): string[] {
    const refused: string[] = [];
    for (const record of records) {
      let message: Message;
      try {
        message = fromRecord(record, this.#ctx.resolve);
      } catch {
        // An endpoint this dispatcher's options refuse: held, not sent (as with recovery).
        continue;
      }
      const actor = this.#ctx.isOpen() ? this.#ctx.router.actorFor(message.endpoint.origin, true) : undefined;
      if (actor === undefined || !actor.hasRoomFor(message.endpoint.url)) {
        refused.push(record.id);
        continue;
      }
      this.#ctx.ledger.accepted();
      actor.adopt(message);
    }
    return refused;
  }

  /** With a shared store, an ordered host's messages are written unowned and served by whoever holds its lease. */
  #servedElsewhere(message: Message): boolean {
    return this.#ctx.persistence.shared && optionsForOrigin(this.#ctx.options, message.endpoint.origin).ordered;
  }

  /**
   * The transactional outbox: the row is written by the caller's client in the caller's
   * transaction, owned by nobody. This process holds nothing of it: whichever process claims
   * it after the commit delivers it and emits its event; a rollback leaves nothing.
   */
  async #outbox(message: Message, client: QueryClient): Promise<Receipt> {
    await this.#ctx.persistence.outbox(client, message, optionsForOrigin(this.#ctx.options, message.endpoint.origin).ordered);
    return { messageId: message.id, eventId: message.event.id, origin: message.endpoint.origin };
  }
}

import type { Clock, Timer } from '../core/clock.js';
import type { WebhookError } from '../core/errors.js';
import { storeUnavailable } from './store-errors.js';
import { GroupCommit } from './group-commit.js';
import type { Backlog } from './backlog.js';
import { Journal } from './journal.js';
import type { Message } from '../model/message.js';
import { fromRecord, toRecord, type MessageRecord } from '../model/message-record.js';
import type { DeadLetter, DeadLetterQuery, MessageHistory, MessageStore, Retention } from './store.js';
import type { Endpoint } from '../model/types.js';
import type { ResolvedEndpoint } from '../model/endpoint.js';
import { LeaseKeeper, type ClaimTarget } from './lease-keeper.js';
import { isShared, type QueryClient, type SharedStore } from './shared-store.js';


/** At most one store-error report this often, in milliseconds. */
const STORE_ERROR_EVERY_MS = 1_000;

/** Pruning runs this often, whatever the retention. */
const PRUNE_EVERY_MS = 10 * 60_000;

/** What {@link Persistence} needs from the dispatcher. */
export interface PersistenceContext {
  readonly store: MessageStore;
  readonly clock: Clock;
  /** The dispatcher's endpoint resolver: a row's endpoint is checked again as a new send's is. */
  readonly resolve: (endpoint: Endpoint) => ResolvedEndpoint;
  readonly retention: Retention;
  /** Queues again what an earlier run left: origins with pending messages. */
  recover(origins: { origin: string; count: number }[]): void;
  /** A write behind the hot path, a claim or a renewal failed: the store's trouble, reported as such (at most once a second). */
  onStoreError(error: WebhookError): void;
  /** With a shared store: this process's owner id, where claimed messages go, and which hosts are ordered. */
  readonly shared?: { owner: string; target: ClaimTarget; ordered: (origin: string) => boolean } | undefined;
}

/**
 * The dispatcher's side of its store: opening and recovery, the journal of what happens to
 * messages, the backlog actors page in from disk, queries, and pruning.
 */
export class Persistence {
  readonly journal: Journal;
  /** Resolves once the store is open and what an earlier run left is queued again. */
  readonly ready: Promise<void>;
  readonly backlog: Backlog | undefined;
  /** With a shared store: this process's leases, claims and renewals. */
  readonly leases: LeaseKeeper | undefined;
  #prune: Timer | undefined;

  readonly store: MessageStore;
  readonly #clock: Clock;
  readonly #resolve: (endpoint: Endpoint) => ResolvedEndpoint;
  readonly #retention: Retention;

  constructor({ store, clock, resolve, retention, recover, onStoreError, shared }: PersistenceContext) {
    this.store = store;
    this.#clock = clock;
    this.#resolve = resolve;
    this.#retention = retention;
    // A full disk fails every write behind delivery: one report a second says so, not thousands.
    let quietUntil = -Infinity;
    const onError = (error: WebhookError): void => {
      const now = clock.now();
      if (now < quietUntil) return;
      quietUntil = now + STORE_ERROR_EVERY_MS;
      onStoreError(error);
    };
    const durable = store.durable === true;
    // A shared store's messages are claimed, not recovered or paged: another process may hold
    // any of them, and what this process holds is in its actors (bounded by their room).
    const leases = (this.leases = shared !== undefined && isShared(store) ? new LeaseKeeper(shared.owner, store, clock, shared.target, onError) : undefined);
    this.ready = (async () => {
      try {
        await store.open();
      } catch (error) {
        throw storeUnavailable('Could not open the store', error);
      }
      if (leases !== undefined) await leases.start();
      else if (durable) recover(await store.pendingOrigins().catch((error: unknown) => Promise.reject(storeUnavailable('Could not list the pending messages in the store', error))));
    })();
    // A failed open is reported to each caller that needs the store; it is no unhandled rejection.
    this.ready.catch(() => {});
    const lease =
      leases === undefined || shared === undefined
        ? undefined
        : (m: Message) => (shared.ordered(m.endpoint.origin) ? { owner: null, until: 0, ordered: true } : { owner: shared.owner, until: m.acceptedAt + leases.store.leaseMs, ordered: false });
    this.journal = new Journal(store, durable ? new GroupCommit(store, this.ready) : undefined, clock, onError, lease, leases);
    this.backlog = durable && leases === undefined ? { page: (origin, afterId, limit) => this.#page(origin, afterId, limit) } : undefined;
    this.#schedulePrune();
  }

  get durable(): boolean {
    return this.journal.durable;
  }

  /** Is the store shared with other processes (work claimed under leases)? */
  get shared(): boolean {
    return this.leases !== undefined;
  }


  /** Durable: resolves once `message` is committed; rejects with `WD_STORE_UNAVAILABLE`. */
  accept(message: Message): Promise<void> {
    return this.journal.accepted(message);
  }

  /** With a shared store: claim now (an ordered message was just written for whoever holds its host). */
  claimSoon(): void {
    this.leases?.nudge();
  }

  /** With a shared store: this process has room again, so claiming may go on. */
  roomOpened(): void {
    this.leases?.roomOpened();
  }

  /** With a shared store: take no new work (a closing dispatcher); what is held keeps its leases. */
  async stopClaiming(): Promise<void> {
    await this.leases?.stopClaiming();
  }

  /** A message as a store row holds it, made anew for `replay`: a new id, no attempts, the same event. */
  async replayable(messageId: string, id: string, now: number, maxAttempts: number, ttlMs: number): Promise<Message | undefined> {
    await this.ready;
    let record: MessageRecord | undefined;
    try {
      record = await this.store.get(messageId);
    } catch (error) {
      throw storeUnavailable('Could not read a message from the store', error);
    }
    if (record === undefined) return undefined;
    const old = fromRecord(record, this.#resolve);
    return { ...old, id, acceptedAt: now, maxAttempts, expiresAt: now + ttlMs, idempotencyKey: undefined, attempts: 0, dueAt: 0, trace: undefined, last: undefined };
  }

  async deadLetters(query: DeadLetterQuery): Promise<{ items: DeadLetter[]; cursor?: string }> {
    await this.ready;
    // Read what was written: ends still on their way to the store come first.
    await this.journal.flushed();
    try {
      return await this.store.deadLetters(query);
    } catch (error) {
      throw storeUnavailable('Could not list the dead letters in the store', error);
    }
  }

  async history(messageId: string): Promise<MessageHistory | undefined> {
    await this.ready;
    await this.journal.flushed();
    try {
      return await this.store.history(messageId);
    } catch (error) {
      throw storeUnavailable('Could not read a history from the store', error);
    }
  }

  /**
   * The transactional outbox: writes `message` with the caller's client, inside the caller's
   * transaction, owned by nobody. Rejects with `WD_STORE_UNAVAILABLE` when it cannot.
   */
  async outbox(client: QueryClient, message: Message, ordered: boolean): Promise<void> {
    await this.ready;
    await (this.store as SharedStore).insertWith(client, [{ record: toRecord(message), lease: { owner: null, until: 0, ordered } }]);
  }

  /** Writes what is pending, gives back its leases, stops pruning and closes the store. */
  async close(): Promise<void> {
    this.#prune?.cancel();
    this.#prune = undefined;
    await this.leases?.stop();
    await this.journal.flushed();
    // After the ends are written: what is left is anybody's at once, not after `leaseMs`.
    if (this.leases !== undefined) await this.ready.then(() => this.leases!.release()).catch(() => {});
    await this.store.close().catch(() => {});
  }

  async #page(origin: string, afterId: string, limit: number): Promise<Message[]> {
    const records = await this.store.pending(afterId === '' ? { origin, limit } : { origin, afterId, limit });
    const messages: Message[] = [];
    for (const record of records) {
      try {
        messages.push(fromRecord(record, this.#resolve));
      } catch {
        // An endpoint this dispatcher's options now refuse: left in the store, not sent.
      }
    }
    return messages;
  }

  #schedulePrune(): void {
    const every = Math.min(PRUNE_EVERY_MS, Math.max(1_000, Math.min(this.#retention.deliveredMs, this.#retention.failedMs) / 2));
    this.#prune = this.#clock.setTimer(
      () => {
        const now = this.#clock.now();
        this.ready
          .then(() => this.store.prune({ delivered: now - this.#retention.deliveredMs, failed: now - this.#retention.failedMs }))
          .catch(() => {})
          .finally(() => this.#prune !== undefined && this.#schedulePrune());
      },
      every,
      false,
    );
  }
}

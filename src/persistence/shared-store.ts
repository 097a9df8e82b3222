import type { MessageRecord } from '../model/message-record.js';
import type { AcceptLease, MessageStore } from './store.js';

/**
 * A durable store several processes share (Postgres). Each pending message has an owner, a
 * process id, and a lease: a process serves only the messages it owns, renews their leases
 * while it lives, and takes due messages that nobody owns or whose lease lapsed (a dead
 * process's). An `ordered` host is served by one process at a time: a lease per origin.
 *
 * Times are the callers' clock milliseconds: processes sharing a store need clocks in step
 * (NTP) to well under `leaseMs`.
 */
export interface SharedStore extends MessageStore {
  /** Milliseconds a claim or a renewal holds a message. */
  readonly leaseMs: number;
  /**
   * Takes up to `limit` messages for `owner`, leased until `now + leaseMs`, in one transaction
   * that skips rows another claimer holds: due messages nobody owns or whose lease lapsed,
   * and the messages of `ordered` origins whose origin lease `owner` holds or takes (in id
   * order, due or not: the actor keeps their order). Resolves with their records.
   */
  claim(owner: string, limit: number, now: number): Promise<MessageRecord[]>;
  /** Extends every lease `owner` holds (messages and origins) to `now + leaseMs`. Resolves with how many messages it holds. */
  renew(owner: string, now: number): Promise<number>;
  /** Gives up `owner`'s leases: of these messages only, or of all it holds (closing). */
  release(owner: string, messageIds?: readonly string[]): Promise<void>;
  /**
   * Calls `onNew` when another process (or a committed outbox transaction) wrote messages
   * nobody owns. Best effort: callers poll as well. Resolves with a function that stops it;
   * `onLost` is called once if the subscription dies (its connection dropped).
   */
  subscribe(onNew: () => void, onLost?: () => void): Promise<() => Promise<void>>;
  /**
   * Writes accepted messages with the caller's own connection (a `pg` client inside the
   * caller's transaction): they exist only if that transaction commits, and waiting
   * processes are notified at its commit.
   */
  insertWith(client: QueryClient, records: readonly { record: MessageRecord; lease: AcceptLease }[]): Promise<void>;
}

/** What the transactional outbox needs of a caller's connection: `pg`'s `Client` and `PoolClient` have it. */
export interface QueryClient {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

export function isShared(store: MessageStore): store is SharedStore {
  const s = store as Partial<SharedStore>;
  return typeof s.claim === 'function' && typeof s.renew === 'function' && typeof s.release === 'function' && typeof s.insertWith === 'function' && typeof s.leaseMs === 'number';
}

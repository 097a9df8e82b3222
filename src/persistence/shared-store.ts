import type { MessageRecord } from '../model/message-record.js';
import type { AcceptLease, MessageStore } from './store.js';

/**
 * A durable store several processes share (Postgres). Each pending message has an owner, a
 * process id, and a lease: a process serves only the messages it owns, renews their leases
 * while it lives, and takes due messages that nobody owns or whose lease lapsed (a dead
 * process's). An `ordered` host is served by one process at a time: a lease per origin.
 *
 * Leases are timed by the database's clock, not the processes': a claim or a renewal holds a
 * message for `leaseMs` from the moment the database applies it, and "lapsed" is judged by
 * the database's clock too, so processes whose clocks disagree (by seconds or by hours) never
 * take each other's live leases. No NTP is needed for leases. (A retry's `dueAt` stays in the
 * writing process's clock: a skewed clock shifts when a retry is due, never who holds it.)
 *
 * Every claim by a new owner bumps the message's lease generation, a fencing token: attempts
 * and ends carry the {@link Fence} they were claimed under, and the store applies them only
 * while that owner still holds that generation, in the same statement. A process that lost a
 * message (it stalled past `leaseMs` and another took it) has its writes refused, so the store
 * keeps one end per message, the lease holder's.
 */
export interface SharedStore extends MessageStore {
  /** Milliseconds a claim or a renewal holds a message. */
  readonly leaseMs: number;
  /**
   * Takes up to `limit` messages for `owner`, leased for `leaseMs` on the store's clock, in
   * one transaction that skips rows another claimer holds: due messages (`dueAt <= now`, the
   * caller's clock) nobody owns or whose lease lapsed (never `owner`'s own), and the messages
   * of `ordered` origins whose origin lease `owner` holds or takes (in id order, due or not:
   * the actor keeps their order). Resolves with their records and lease generations. `now`
   * says only which retries are due: however far ahead it is, a live lease is never taken.
   */
  claim(owner: string, limit: number, now: number): Promise<ClaimedRecord[]>;
  /**
   * Extends every lease `owner` holds (messages and origins) by `leaseMs` on the store's
   * clock. Resolves with the ids of the messages it holds: one the caller thinks it holds and
   * that is not listed was taken by another process (the caller stalled past its lease).
   * `now` is not a lease time: a lease is timed by the store's clock (the Postgres store
   * ignores it; kept for the seam's shape).
   */
  renew(owner: string, now: number): Promise<string[]>;
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

/** A claimed message: its record, and the lease generation (fencing token) its writes carry. */
export interface ClaimedRecord extends MessageRecord {
  readonly leaseGen: number;
}

/** What the transactional outbox needs of a caller's connection: `pg`'s `Client` and `PoolClient` have it. */
export interface QueryClient {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

export function isShared(store: MessageStore): store is SharedStore {
  const s = store as Partial<SharedStore>;
  return typeof s.claim === 'function' && typeof s.renew === 'function' && typeof s.release === 'function' && typeof s.insertWith === 'function' && typeof s.leaseMs === 'number';
}

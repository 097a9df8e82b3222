import type { MessageRecord } from '../model/message-record.js';
import type { Failed, FailureReason } from '../model/types.js';

/**
 * Where accepted messages live: the seam between the dispatcher and memory, SQLite or
 * Postgres. Every implementation passes the same contract tests.
 *
 * Writes arrive as batches of {@link StoreOp}s; a store applies one batch as one transaction
 * (the dispatcher groups the writes of many sends into one batch: group commit). Reads serve
 * recovery, paging a backlog in from disk, dead letters, history and replay.
 *
 * A store that cannot be opened or written rejects with a `WebhookError` of code
 * `WD_STORE_UNAVAILABLE` saying what failed; it never throws anything else.
 */
export interface MessageStore {
  /**
   * Whether what is written survives the process. A durable store makes `send` wait for the
   * commit, keeps a host's backlog on disk and is recovered by the next dispatcher; the
   * memory store is written only for messages that had trouble (dead letters and history).
   */
  readonly durable: boolean;
  /** Creates or migrates the schema and opens files or connections. */
  open(): Promise<void>;
  /**
   * Applies `ops` in order, atomically: all or none. Resolves once they are durable. An op that
   * cannot apply (accepting an id the store holds, an attempt or end of a message that is not
   * pending, `replayed` of a message that is not failed) refuses the whole batch with
   * `WD_STORE_UNAVAILABLE` naming the op (see `refusedOp`).
   */
  write(ops: readonly StoreOp[]): Promise<void>;
  /**
   * Pending messages (accepted, not ended) in acceptance order (ids are UUIDv7, so id order),
   * after `afterId` when given, at most `limit`; of one origin when given.
   */
  pending(query: { origin?: string; afterId?: string; limit: number }): Promise<MessageRecord[]>;
  /** Origins that have pending messages, with how many each, in origin order. */
  pendingOrigins(): Promise<{ origin: string; count: number }[]>;
  /**
   * One message's row, pending or ended (until pruned): what `replay` sends again. The memory
   * store keeps fewer: pending messages and the dead letters it keeps, not delivered ones.
   */
  get(messageId: string): Promise<MessageRecord | undefined>;
  /**
   * Failed messages, newest first (by `failedAt`, then id), filtered; `cursor` continues a
   * previous page. A bad query is refused with `WD_INVALID_OPTIONS` (it comes from the user as is).
   */
  deadLetters(query: DeadLetterQuery): Promise<{ items: DeadLetter[]; cursor?: string }>;
  history(messageId: string): Promise<MessageHistory | undefined>;
  /** Deletes ended messages (and their attempts) that ended before these times. Returns how many. */
  prune(before: { delivered: number; failed: number }): Promise<number>;
  close(): Promise<void>;
}

/** Who holds a message a shared store accepts. */
export interface AcceptLease {
  /** The owning process's id, or `null`: unowned, claimable by any process. */
  owner: string | null;
  /**
   * Clock milliseconds until which the owner holds it. The Postgres store ignores it: its
   * leases run `leaseMs` from the commit, on the database's clock.
   */
  until: number;
  /** The message's host is `ordered`: only the process holding the origin's lease serves it. */
  ordered: boolean;
}

/** One attempt as history keeps it. */
export interface AttemptRecord {
  /** Clock milliseconds when the attempt ended. */
  at: number;
  status: number | null;
  error: { code: string; message: string } | null;
  latencyMs: number;
}

/**
 * The lease an attempt or end is written under (a shared store): the write applies only while
 * `owner` still holds the message under generation `gen` (the fencing token its claim got);
 * otherwise the store refuses it (`refusedOp`) and applies nothing. Stores with one owner
 * (memory, SQLite) ignore it.
 */
export interface Fence {
  owner: string;
  gen: number;
}

export type StoreOp =
  /**
   * A message was accepted. `lease` matters only to a shared store (see `SharedStore`): who
   * holds the message on acceptance; without one the row is unowned and any process may claim it.
   */
  | { op: 'accept'; record: MessageRecord; lease?: AcceptLease }
  /** An attempt ended and the message waits for another (or goes on): its new counters. */
  | { op: 'attempt'; id: string; attempt: AttemptRecord; attempts: number; dueAt: number; last: MessageRecord['last']; fence?: Fence }
  /**
   * The message ended. `attempt` is the last attempt when the end came from one. A failed end
   * sets the record's `last` (what the dead letter shows); a delivered one leaves it as it was.
   */
  | { op: 'end'; id: string; at: number; attempt: AttemptRecord | null; attempts: number; fence?: Fence; outcome: { state: 'delivered'; status: number } | { state: 'failed'; reason: FailureReason; last: MessageRecord['last'] } }
  /**
   * The failed message `id` (a dead letter) was replayed as the new message `as`, whose accept
   * committed, at clock milliseconds `at`: the dead letter shows `replayedAs` and `replayedAt`
   * from then on (a later replay replaces them). A store refuses it (`refusedOp`) when `id` is
   * not a failed message it holds: unknown, pruned, pending or delivered.
   */
  | { op: 'replayed'; id: string; as: string; at: number };

export interface DeadLetterQuery {
  origin?: string;
  reason?: FailureReason;
  /** Items per page. From `1` to `1_000`. @default 100 */
  limit?: number;
  cursor?: string;
}

/** A failed message, kept for review and replay. */
export interface DeadLetter extends Failed {
  failedAt: Date;
  /**
   * Present once the dead letter was replayed: the `messageId` of its newest replay (the new
   * message `replay` accepted; follow it with `history`). Recorded once that message's accept
   * committed, so a replay answered `{ ok: false }` leaves nothing here. A dead letter replayed again
   * shows its newest replay: one id, not a list, so the row stays the same size however often
   * a script replays it. Absent on a dead letter never replayed.
   */
  replayedAs?: string;
  /** When the newest replay was accepted; present with {@link replayedAs}. */
  replayedAt?: Date;
}

export interface MessageHistory {
  messageId: string;
  eventId: string;
  eventType: string;
  url: string;
  origin: string;
  state: 'pending' | 'delivered' | 'failed';
  acceptedAt: Date;
  /** A failed message that was replayed: its newest replay's `messageId` (as on its {@link DeadLetter}). */
  replayedAs?: string;
  attempts: { at: Date; status?: number; error?: { code: string; message: string }; latencyMs: number }[];
}

/** How long ended messages are kept. */
export interface Retention {
  /** Milliseconds a delivered message's record is kept. Minimum `0`. @default 259_200_000 (3 days) */
  deliveredMs: number;
  /** Milliseconds a failed message (a dead letter) is kept. Minimum `0`. @default 2_592_000_000 (30 days) */
  failedMs: number;
}

export const RETENTION_DEFAULTS: Retention = { deliveredMs: 3 * 86_400_000, failedMs: 30 * 86_400_000 };

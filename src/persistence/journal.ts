import type { Clock } from '../core/clock.js';
import type { WebhookError } from '../core/errors.js';
import type { GroupCommit } from './group-commit.js';
import type { Message } from '../model/message.js';
import { lastRecord, toRecord } from '../model/message-record.js';
import type { AcceptLease, AttemptRecord, MessageStore, StoreOp } from './store.js';
import type { AttemptResult } from '../transport/transport.js';
import type { FailureReason } from '../model/types.js';
import { refusedOpOf } from './store-errors.js';
import type { LeaseKeeper } from './lease-keeper.js';
import { ReplayMarks } from './replay-marks.js';

/** What became of an end written under a lease: kept, refused (another process holds the message), or not written. */
export type EndOutcome = 'kept' | 'lost' | 'unwritten';

function attemptRecord(result: AttemptResult, at: number): AttemptRecord {
  return { at, status: result.status ?? null, error: result.error === undefined ? null : { code: result.error.code, message: result.error.message }, latencyMs: result.latencyMs };
}

/**
 * What the dispatcher writes to its store as messages move.
 *
 * Durable: every accept, attempt and end, through group commit; an accept is awaited by its
 * `send`, the rest are written behind (a failure is reported, the message goes on in memory).
 *
 * Memory (the default store): the hot path writes nothing. A message is recorded from its
 * first failed attempt on, so dead letters, history and replay cover every message that had
 * trouble, at no cost to the messages that did not.
 *
 * Shared (Postgres, with `leases`): attempts and ends carry the lease generation the message
 * is held under, and an end is written *before* its terminal event, by {@link end} (see
 * `fencedSink`): the event fires only in the process whose end the store kept.
 */
export class Journal {
  readonly #marks: ReplayMarks;

  constructor(
    readonly store: MessageStore,
    /** Present when the store is durable. */
    private readonly commit: GroupCommit | undefined,
    private readonly clock: Clock,
    private readonly onError: (error: WebhookError) => void,
    /** A shared store's lease for an accepted message: who holds it. */
    private readonly lease?: (m: Message) => AcceptLease,
    /** A shared store's leases: what this process holds, under which generation. */
    readonly leases?: LeaseKeeper,
  ) {
    this.#marks = new ReplayMarks(store, () => this.flushed(), onError);
  }

  /** Ends are written under a lease, before their events ({@link end}). */
  get fenced(): boolean {
    return this.leases !== undefined && this.commit !== undefined;
  }

  get durable(): boolean {
    return this.commit !== undefined;
  }

  /** Resolves once everything journaled so far is written. */
  flushed(): Promise<void> {
    return this.commit?.flushed() ?? Promise.resolve();
  }

  /** Durable: resolves once the message is committed. */
  accepted(m: Message): Promise<void> {
    const record = toRecord(m);
    if (this.lease === undefined) return this.commit!.add({ op: 'accept', record });
    const lease = this.lease(m);
    const held = lease.owner !== null ? this.leases?.held : undefined;
    if (held === undefined) return this.commit!.add({ op: 'accept', record, lease });
    held.accepting(m.id, m.endpoint.origin);
    return this.commit!.add({ op: 'accept', record, lease }).then(
      () => held.confirm(m.id, m.endpoint.origin),
      (error: unknown) => {
        held.drop(m.id);
        throw error;
      },
    );
  }

  retrying(m: Message): void {
    const last = m.last;
    if (last === undefined) return;
    const op: StoreOp = { op: 'attempt', id: m.id, attempt: attemptRecord(last, this.clock.now()), attempts: m.attempts, dueAt: m.dueAt, last: lastRecord(m.last) };
    const leases = this.leases;
    if (this.commit !== undefined && leases !== undefined) {
      // Refused: another process holds the message now; it leaves this process's retries.
      return this.commit.push({ ...op, fence: leases.held.fence(m.id) }, (error) => (refusedOpOf(error) !== undefined ? leases.refused([m.id]) : this.onError(error)));
    }
    if (this.commit !== undefined) return this.commit.push(op, this.onError);
    // Memory: the first failed attempt brings the message into the store.
    this.#writeMemory(m.attempts === 1 ? [{ op: 'accept', record: toRecord(m) }, op] : [op]);
  }

  /** Fenced: written already, by {@link end}, before the event that calls this. */
  delivered(m: Message, status: number, latencyMs: number): void {
    if (this.fenced) return;
    const op = this.deliveredOp(m, status, latencyMs);
    if (this.commit !== undefined) return this.commit.push(op, this.onError);
    if (m.attempts > 1) this.#writeMemory([op]);
  }

  /** Fenced: written already, by {@link end}, before the event that calls this. */
  failed(m: Message, reason: FailureReason, result: AttemptResult | undefined): void {
    if (this.fenced) return;
    const op = this.failedOp(m, reason, result);
    if (this.commit !== undefined) return this.commit.push(op, this.onError);
    // Recorded already when an earlier attempt failed and was retried.
    const known = m.attempts > 1 || (m.attempts === 1 && result === undefined);
    this.#writeMemory(known ? [op] : [{ op: 'accept', record: toRecord(m) }, op]);
  }

  deliveredOp(m: Message, status: number, latencyMs: number): StoreOp {
    const now = this.clock.now();
    return { op: 'end', id: m.id, at: now, attempt: { at: now, status, error: null, latencyMs }, attempts: m.attempts, outcome: { state: 'delivered', status } };
  }

  failedOp(m: Message, reason: FailureReason, result: AttemptResult | undefined): StoreOp {
    const now = this.clock.now();
    return { op: 'end', id: m.id, at: now, attempt: result === undefined ? null : attemptRecord(result, now), attempts: m.attempts, outcome: { state: 'failed', reason, last: lastRecord(m.last) } };
  }

  /**
   * Fenced: writes an end under the lease `m` is held by, and resolves with what became of it:
   * `kept`; `lost`, refused because another process holds the message (nothing of it applied,
   * and this process lets it go); `unwritten`, the store failed (reported to `onError`).
   */
  async end(m: Message, op: StoreOp): Promise<EndOutcome> {
    const leases = this.leases!;
    try {
      await this.commit!.add({ ...op, fence: leases.held.fence(m.id) } as StoreOp);
      return 'kept';
    } catch (error) {
      if (refusedOpOf(error) !== undefined) return 'lost';
      this.onError(error as WebhookError);
      return 'unwritten';
    } finally {
      leases.held.drop(m.id);
    }
  }

  /**
   * The dead letter `originalId` was replayed as `replayId`, whose accept is committed (durable)
   * or taken (memory). Resolves once the mark is written, never rejects: the replay stands
   * either way. A store that refuses it (the original is not a dead letter: a replay of a
   * delivered message, or one pruned meanwhile) has nothing to mark; any other failure is the
   * store's trouble, reported to `onError`. See {@link ReplayMarks}.
   */
  replayed(originalId: string, replayId: string): Promise<void> {
    return this.#marks.add({ op: 'replayed', id: originalId, as: replayId, at: this.clock.now() });
  }

  #writeMemory(ops: StoreOp[]): void {
    this.store.write(ops).catch(this.onError);
  }
}

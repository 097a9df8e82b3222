import type { Clock } from '../core/clock.js';
import type { WebhookError } from '../core/errors.js';
import type { GroupCommit } from './group-commit.js';
import type { Message } from '../model/message.js';
import { lastRecord, toRecord } from '../model/message-record.js';
import type { AcceptLease, AttemptRecord, MessageHistory, MessageStore, StoreOp } from './store.js';
import type { AttemptResult } from '../transport/transport.js';
import type { FailureReason } from '../model/types.js';
import { refusedOpOf, storeUnavailable } from './store-errors.js';
import type { LeaseKeeper } from './lease-keeper.js';
import { ReplayMarks } from './replay-marks.js';

/**
 * What became of an end written under a lease: kept; refused (another process holds the
 * message); or not written (the store failed: the message is still held, to be written again).
 */
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
 * `fencedSink`, which writes an unwritten end again until the store keeps or refuses it): the
 * event fires only in the process whose end the store kept.
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
   * and this process lets it go); `unwritten`, the store failed (reported to `onError`). An
   * unwritten end leaves the message held (its lease renewed, its fence kept): the caller
   * writes it again with `again` set, or drops it from {@link LeaseKeeper.held} to give it up.
   *
   * `again`: an earlier write of this same `op` failed, and may have landed all the same (its
   * commit's answer was lost). A refusal then reads the message's history: ended as this op
   * ends it, with this op's attempt as its last, it was this write that landed (`kept`). An end
   * with no attempt (expired, cancelled) cannot be told apart and counts as `lost`.
   */
  async end(m: Message, op: StoreOp, again = false): Promise<EndOutcome> {
    const leases = this.leases!;
    let outcome: EndOutcome = 'kept';
    try {
      await this.commit!.add({ ...op, fence: leases.held.fence(m.id) } as StoreOp);
    } catch (error) {
      if (refusedOpOf(error) === undefined) {
        this.onError(error as WebhookError);
        return 'unwritten';
      }
      outcome = again ? await this.#landedBefore(m.id, op) : 'lost';
      if (outcome === 'unwritten') return outcome;
    }
    leases.held.drop(m.id);
    return outcome;
  }

  /** An end written again was refused: `kept` if the store shows an earlier write of it landed. */
  async #landedBefore(id: string, op: StoreOp): Promise<EndOutcome> {
    if (op.op !== 'end' || op.attempt === null) return 'lost';
    const { attempt, outcome } = op;
    let history: MessageHistory | undefined;
    try {
      history = await this.store.history(id);
    } catch (error) {
      this.onError(storeUnavailable('Could not read whether an end was written', error));
      return 'unwritten';
    }
    const last = history?.attempts.at(-1);
    const ours = history?.state === outcome.state && last !== undefined && last.at.getTime() === attempt.at && last.latencyMs === attempt.latencyMs;
    return ours ? 'kept' : 'lost';
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

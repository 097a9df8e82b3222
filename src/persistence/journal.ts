import type { Clock } from '../core/clock.js';
import type { WebhookError } from '../core/errors.js';
import type { GroupCommit } from './group-commit.js';
import type { Message } from '../model/message.js';
import { lastRecord, toRecord } from '../model/message-record.js';
import type { AcceptLease, AttemptRecord, MessageStore, StoreOp } from './store.js';
import type { AttemptResult } from '../transport/transport.js';
import type { FailureReason } from '../model/types.js';

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
 */
export class Journal {
  constructor(
    readonly store: MessageStore,
    /** Present when the store is durable. */
    private readonly commit: GroupCommit | undefined,
    private readonly clock: Clock,
    private readonly onError: (error: WebhookError) => void,
    /** A shared store's lease for an accepted message: who holds it. */
    private readonly lease?: (m: Message) => AcceptLease,
  ) {}

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
    return this.commit!.add(this.lease === undefined ? { op: 'accept', record } : { op: 'accept', record, lease: this.lease(m) });
  }

  retrying(m: Message): void {
    const last = m.last;
    if (last === undefined) return;
    const op: StoreOp = { op: 'attempt', id: m.id, attempt: attemptRecord(last, this.clock.now()), attempts: m.attempts, dueAt: m.dueAt, last: lastRecord(m.last) };
    if (this.commit !== undefined) return this.commit.push(op, this.onError);
    // Memory: the first failed attempt brings the message into the store.
    this.#writeMemory(m.attempts === 1 ? [{ op: 'accept', record: toRecord(m) }, op] : [op]);
  }

  delivered(m: Message, status: number, latencyMs: number): void {
    const now = this.clock.now();
    const op: StoreOp = { op: 'end', id: m.id, at: now, attempt: { at: now, status, error: null, latencyMs }, attempts: m.attempts, outcome: { state: 'delivered', status } };
    if (this.commit !== undefined) return this.commit.push(op, this.onError);
    if (m.attempts > 1) this.#writeMemory([op]);
  }

  failed(m: Message, reason: FailureReason, result: AttemptResult | undefined): void {
    const now = this.clock.now();
    const op: StoreOp = { op: 'end', id: m.id, at: now, attempt: result === undefined ? null : attemptRecord(result, now), attempts: m.attempts, outcome: { state: 'failed', reason, last: lastRecord(m.last) } };
    if (this.commit !== undefined) return this.commit.push(op, this.onError);
    // Recorded already when an earlier attempt failed and was retried.
    const known = m.attempts > 1 || (m.attempts === 1 && result === undefined);
    this.#writeMemory(known ? [op] : [{ op: 'accept', record: toRecord(m) }, op]);
  }

  #writeMemory(ops: StoreOp[]): void {
    this.store.write(ops).catch(this.onError);
  }
}

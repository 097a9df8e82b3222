import type { MessageStore, StoreOp } from './store.js';
import { WebhookError as WebhookError } from '../core/errors.js';
import { isOutcomeUnknown, refusedOpOf, storeUnavailable } from './store-errors.js';

/** The most ops one transaction takes; a larger backlog is written in several. */
const MAX_BATCH = 5_000;

/**
 * Group commit: every write of one turn of the event loop (the accepts of many sends, the
 * attempts and ends of many answers) goes to the store as one batch, one transaction. A batch
 * is written only after the one before it is durable, so ops reach the store in the order
 * they were added. `add` resolves when its batch is durable, or rejects with the store's
 * `WD_STORE_UNAVAILABLE`.
 */
export class GroupCommit {
  #ops: StoreOp[] = [];
  #waiters: Waiter[] = [];
  #scheduled = false;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: MessageStore,
    /** Resolves when the store is open; every batch waits for it. */
    private readonly opened: Promise<void>,
  ) {}

  /** Queues one op for the next batch; resolves once it is durable. */
  add(op: StoreOp): Promise<void> {
    this.#ops.push(op);
    this.#schedule();
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Queues one op for the next batch without waiting for it; a failure goes to `onError`. */
  push(op: StoreOp, onError: (error: WebhookError) => void): void {
    this.#ops.push(op);
    this.#schedule();
    this.#waiters.push({ resolve: noop, reject: onError });
  }

  /** Resolves once everything added so far is written (or failed). */
  flushed(): Promise<void> {
    this.#scheduled = false;
    this.#writing = this.#writing.then(() => this.#flush());
    return this.#writing;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // After this turn's I/O callbacks: every send and answer of the turn joins the batch.
    setImmediate(() => {
      if (!this.#scheduled) return;
      this.#scheduled = false;
      this.#writing = this.#writing.then(() => this.#flush());
    });
  }

  async #flush(): Promise<void> {
    while (this.#ops.length > 0) {
      const ops = this.#ops.splice(0, MAX_BATCH);
      const waiters = this.#waiters.splice(0, ops.length);
      try {
        await this.opened;
        await this.store.write(ops);
        for (const w of waiters) w.resolve();
      } catch (error) {
        // One op the store refuses (with a shared store: the end of a message another process
        // took over and ended) must not cost the others: each is written alone, in order.
        if (ops.length > 1 && refusedOpOf(error) !== undefined) {
          await this.#oneByOne(ops, waiters);
          continue;
        }
        if (isOutcomeUnknown(error)) {
          await settleUnknown(this.store, ops, waiters, error);
          continue;
        }
        const failure = storeUnavailable(`Could not write ${ops.length} change(s) to the store`, error);
        for (const w of waiters) w.reject(failure);
      }
    }
  }

  async #oneByOne(ops: StoreOp[], waiters: Waiter[]): Promise<void> {
    for (let i = 0; i < ops.length; i++) {
      try {
        await this.store.write([ops[i]!]);
        waiters[i]!.resolve();
      } catch (error) {
        waiters[i]!.reject(storeUnavailable('Could not write a change to the store', error));
      }
    }
  }
}

/**
 * Writes the accepts of a batch whose commit's outcome is unknown again, one at a time, so no
 * send is answered "not accepted" for a row that was written (and will be delivered by
 * whichever process claims it). A store that already holds the id refuses it: the first commit
 * landed, and the send is accepted. Written now: accepted. Still no answer: the send rejects
 * with `WD_STORE_OUTCOME_UNKNOWN`. The batch's other ops (attempts, ends) are reported as
 * failed writes, as any failed write behind delivery is.
 */
async function settleUnknown(store: MessageStore, ops: readonly StoreOp[], waiters: readonly Waiter[], error: unknown): Promise<void> {
  const failure = storeUnavailable('Could not write to the store', error);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.op !== 'accept') {
      waiters[i]!.reject(failure);
      continue;
    }
    try {
      await store.write([op]);
      waiters[i]!.resolve();
    } catch (again) {
      if (refusedOpOf(again) !== undefined) waiters[i]!.resolve();
      else waiters[i]!.reject(new WebhookError('WD_STORE_OUTCOME_UNKNOWN', `Expected to learn whether message \`${op.record.id}\` was written, got no answer: the connection failed while committing it, and writing it again failed too (${failure.message}). It may have been written: then whichever process claims it delivers it`, { cause: again }));
    }
  }
}

type Waiter = { resolve: () => void; reject: (error: WebhookError) => void };

function noop(): void {}

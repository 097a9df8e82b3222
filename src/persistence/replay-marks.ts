import { WebhookError, reasonOf } from '../core/errors.js';
import type { MessageStore, StoreOp } from './store.js';
import { refusedOpOf } from './store-errors.js';

type ReplayedOp = Extract<StoreOp, { op: 'replayed' }>;

/**
 * Writes the `replayed` marks of dead letters (see {@link StoreOp}): the marks of one turn of
 * the event loop (the replays of one `replay` call commit together) as one batch of their own,
 * after everything journaled before them is written (the original's end among it).
 *
 * Their own batch, not the group commit's: a mark the store refuses (a replay of a delivered
 * message, or of one pruned meanwhile) or cannot write (a store of an older design that knows
 * no `replayed` op) costs only the marks, never the commits of unrelated sends. A mark touches
 * only an ended message, which no other write touches again, so writing beside the group
 * commit reorders nothing that matters.
 */
export class ReplayMarks {
  #queued: { op: ReplayedOp; done: () => void }[] = [];

  constructor(
    private readonly store: MessageStore,
    /** Resolves once everything journaled so far is written. */
    private readonly flushed: () => Promise<void>,
    private readonly onError: (error: WebhookError) => void,
  ) {}

  /** Resolves once the mark is written, refused or reported: never rejects (the replay stands either way). */
  add(op: ReplayedOp): Promise<void> {
    return new Promise((done) => {
      this.#queued.push({ op, done });
      if (this.#queued.length === 1) setImmediate(() => void this.#write());
    });
  }

  async #write(): Promise<void> {
    const batch = this.#queued.splice(0);
    await this.flushed().catch(() => {});
    await this.#mark(batch.map((b) => b.op));
    for (const b of batch) b.done();
  }

  /** One refused mark (nothing to mark) does not cost the others: they are written alone. */
  async #mark(ops: ReplayedOp[]): Promise<void> {
    try {
      await this.store.write(ops);
    } catch (error) {
      if (refusedOpOf(error) === undefined) {
        // One warning a batch, in its own words: which dead letters stay unmarked, though replayed.
        const named = ops.slice(0, 3).map((op) => `\`${op.id}\` (as \`${op.as}\`)`);
        if (ops.length > 3) named.push(`${ops.length - 3} more`);
        const which = `message${ops.length > 1 ? 's' : ''} ${named.join(', ')} ${ops.length > 1 ? 'were' : 'was'}`;
        this.onError(new WebhookError('WD_STORE_UNAVAILABLE', `Could not record that ${which} replayed: ${reasonOf(error)}`, { cause: error }));
      } else if (ops.length > 1) {
        for (const op of ops) await this.#mark([op]);
      }
    }
  }
}

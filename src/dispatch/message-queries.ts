import type { Clock } from '../core/clock.js';
import { WebhookError, describe, guarded } from '../core/errors.js';
import { storeUnavailable } from '../persistence/store-errors.js';
import { uuidv7 } from '../core/ids.js';
import type { ResolvedSendOptions } from '../config/send-options.js';
import type { PublishResult } from '../model/types.js';
import type { Persistence } from '../persistence/persistence.js';
import { deadLetterQuery } from '../persistence/store-options.js';
import type { DeadLetter, DeadLetterQuery, MessageHistory } from '../persistence/store.js';
import type { Admission } from './admission.js';

/** Message ids one `replay` call takes: a larger batch is the caller's loop, not one call's memory. */
export const MAX_REPLAY_IDS = 10_000;

/** What the read side needs from the dispatcher that wires it. */
export interface QueriesContext {
  readonly clock: Clock;
  readonly persistence: Persistence;
  readonly admission: Admission;
  /** The dispatcher-wide per-message defaults: a replay gets them, attempts from zero. */
  readonly perMessage: ResolvedSendOptions;
  assertOpen(): void;
}

/**
 * The read side of the dispatcher, as BullMQ splits its getters from its queue: dead letters,
 * a message's history, and replay (which reads a stored message and sends it again through
 * the same admission as a new send).
 */
export class MessageQueries {
  constructor(private readonly ctx: QueriesContext) {}

  /** Failed messages kept by the store, newest first: `{ origin?, reason?, limit?, cursor? }`. */
  deadLetters(query: unknown = {}): Promise<{ items: DeadLetter[]; cursor?: string }> {
    try {
      // The caller's object is read once, inside a guard: a getter or Proxy trap that throws is bad input.
      const checked: DeadLetterQuery = guarded('WD_INVALID_OPTIONS', 'the dead-letter query', () => deadLetterQuery(query));
      return this.ctx.persistence.deadLetters(checked);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A message's state and every attempt, while the store keeps it; `undefined` for an id it does not hold. */
  history(messageId: unknown): Promise<MessageHistory | undefined> {
    if (typeof messageId !== 'string') return Promise.reject(new WebhookError('WD_INVALID_OPTIONS', `Expected \`messageId\` to be a string, got ${describe(messageId)}`));
    return this.ctx.persistence.history(messageId);
  }

  /**
   * Sends stored messages again: each becomes a new message (a new `messageId`, attempts from
   * zero) with the same event id, body and endpoint, with its own terminal event. One result
   * per id, in order; an id the store does not hold gives `{ ok: false }`. A replayed dead
   * letter shows the new message id as `replayedAs` once `replay` resolves.
   */
  async replay(messageIds: unknown): Promise<PublishResult[]> {
    const ids = readIds(messageIds);
    this.ctx.assertOpen();
    const results: Promise<PublishResult>[] = [];
    for (const id of ids) results.push(this.#replayOne(id));
    return Promise.all(results);
  }

  async #replayOne(id: string): Promise<PublishResult> {
    const { clock, persistence, admission, perMessage } = this.ctx;
    try {
      const now = clock.now();
      const message = await persistence.replayable(id, uuidv7(now), now, perMessage.attempts, perMessage.ttlMs);
      if (message === undefined) return { ok: false, error: new WebhookError('WD_INVALID_OPTIONS', `Expected a message id the store holds, got ${describe(id)}`) };
      this.ctx.assertOpen();
      const receipt = await admission.admit(message, admission.actorWithRoom(message.endpoint.origin));
      // Once the replay is accepted (committed, with a durable store): the dead letter says so.
      await persistence.journal.replayed(id, receipt.messageId);
      return { ok: true, receipt };
    } catch (error) {
      return { ok: false, error: storeUnavailable(`Could not replay ${describe(id)}`, error) };
    }
  }
}

/**
 * The ids of a `replay` call, copied out of the caller's array by index: none of the array's
 * own methods is called (an array may carry its own `every` or `map`), holes and non-strings
 * are refused, and so is an array longer than {@link MAX_REPLAY_IDS} before anything is read.
 */
function readIds(value: unknown): string[] {
  return guarded('WD_INVALID_OPTIONS', '`messageIds`', () => {
    if (!Array.isArray(value)) throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`messageIds\` to be an array of strings, got ${describe(value)}`);
    const length: unknown = value.length;
    if (typeof length !== 'number' || length > MAX_REPLAY_IDS) {
      throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`messageIds\` to hold at most ${MAX_REPLAY_IDS} ids, got ${describe(length)}`);
    }
    const ids: string[] = [];
    for (let i = 0; i < length; i++) {
      const id: unknown = value[i];
      if (typeof id !== 'string') throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`messageIds[${i}]\` to be a message id (a string), got ${describe(id)}`);
      ids.push(id);
    }
    return ids;
  });
}

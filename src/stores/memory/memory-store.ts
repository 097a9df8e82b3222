import { WebhookError } from '../../core/errors.js';
import type { MessageRecord } from '../../model/message-record.js';
import { integer, readObject } from '../../core/option-checks.js';
import type { AttemptRecord, DeadLetter, DeadLetterQuery, MessageHistory, MessageStore, StoreOp } from '../../persistence/store.js';
import type { FailureReason } from '../../model/types.js';
import { NOT_FAILED, checkOps, encodeCursor, readDeadLetterQuery, readPendingQuery, readPruneCutoffs, type DeadLetterPosition } from '../common/store-query.js';
import { refusedOp } from '../../persistence/store-errors.js';
import { IdOrdered } from '../common/id-ordered.js';
import { deadLetter, historyAttempt } from '../common/store-views.js';

export interface MemoryStoreOptions {
  /** Dead letters kept (with their records, for replay); the oldest go first. From `0` to `1_000_000`. @default 10_000 */
  deadLetters?: number;
  /** Ended messages whose history is kept; the oldest go first. From `0` to `1_000_000`. @default 10_000 */
  history?: number;
  /**
   * Behave as a durable store: `send` waits for the write, a host's backlog beyond its window
   * is kept here instead of in the actor, and a new dispatcher given this same store recovers
   * what an earlier one left. For tests of an app's recovery; nothing survives the process.
   * @default false
   */
  durable?: boolean;
}

/** One message as this store keeps it. */
interface Entry {
  readonly id: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly url: string;
  readonly origin: string;
  readonly acceptedAt: number;
  /** The row, while `get` may give it: pending, or a kept dead letter. Else `null`: no body, no secrets. */
  record: MessageRecord | null;
  state: MessageHistory['state'];
  readonly attempts: AttemptRecord[];
  endedAt: number;
  reason: FailureReason | null;
  /** In the ring of recently ended messages (history). */
  inHistory: boolean;
  /** Among the kept dead letters. */
  inDead: boolean;
  /** Its newest replay's message id and when it was accepted (a failed message only). */
  replayedAs: string | null;
  replayedAt: number;
}

/** Oldest first: by end time, then id. */
const compare = (a: DeadLetterPosition, b: DeadLetterPosition) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const position = (e: Entry): DeadLetterPosition => ({ at: e.endedAt, id: e.id });

/**
 * The default store: everything in this process, nothing survives it. Pending messages are
 * kept in full; of ended ones, the newest dead letters (record included, body and all, for
 * `get` and replay: budget `deadLetters` × the typical body) and the history of the most
 * recently ended messages, so memory stays bounded. A write is a few map operations (about
 * 1.5 µs per message accepted and ended, 3 µs with history kept, most of it the garbage
 * collector moving kept history to the old generation): the dispatcher may write every
 * accept, attempt and end to it.
 */
export class MemoryStore implements MessageStore {
  readonly durable: boolean;
  readonly #deadLimit: number;
  readonly #historyLimit: number;
  #open = false;
  #closed = false;
  /** Every message kept: pending, ended with history kept, kept dead letters. One map, so an end moves nothing. */
  readonly #entries = new Map<string, Entry>();
  readonly #byOrigin = new Map<string, IdOrdered<Entry>>();
  // Recently ended, in a ring rather than in a map's own order: evicting a map's first key
  // again and again makes V8 step over every deleted slot to find it (7 µs at 10,000).
  readonly #ring: (Entry | undefined)[] = [];
  #ringNext = 0;
  /** Dead letters oldest first by (endedAt, id), live from `#deadHead`. */
  #dead: (Entry | undefined)[] = [];
  #deadHead = 0;

  constructor(options: MemoryStoreOptions = {}) {
    const get = readObject('MemoryStore options', options, ['deadLetters', 'history', 'durable'], '');
    const durable = get('durable');
    if (durable !== undefined && typeof durable !== 'boolean') throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`durable\` to be a boolean, got ${typeof durable}`);
    this.durable = durable ?? false;
    this.#deadLimit = integer('deadLetters', get('deadLetters'), 0, 1_000_000, 10_000);
    this.#historyLimit = integer('history', get('history'), 0, 1_000_000, 10_000);
  }

  async open(): Promise<void> {
    this.#open = true;
    this.#closed = false;
  }

  async close(): Promise<void> {
    this.#open = false;
    this.#closed = true;
  }

  async write(ops: readonly StoreOp[]): Promise<void> {
    this.#check();
    checkOps(ops);
    // Validate the whole batch first, then apply: nothing below can fail half way.
    const accepted = new Set<string>();
    const ended = new Set<string>();
    /** Failed by an end of this batch (made only when one is: the common batch has none). */
    let failed: Set<string> | undefined;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      if (op.op === 'replayed') {
        if (failed?.has(op.id) !== true && (ended.has(op.id) || accepted.has(op.id) || this.#entries.get(op.id)?.state !== 'failed')) throw refusedOp(ops, i, NOT_FAILED);
      } else if (op.op === 'accept') {
        const id = op.record.id;
        if (accepted.has(id) || this.#entries.has(id)) throw refusedOp(ops, i, 'names a message the store already holds');
        accepted.add(id);
      } else {
        if ((!accepted.has(op.id) && this.#entries.get(op.id)?.state !== 'pending') || ended.has(op.id)) throw refusedOp(ops, i, 'names a message that is not pending');
        if (op.op === 'end') ended.add(op.id);
        if (op.op === 'end' && op.outcome.state === 'failed') (failed ??= new Set()).add(op.id);
      }
    }
    for (const op of ops) {
      if (op.op === 'accept') this.#accept(op.record);
      else if (op.op === 'attempt') this.#attempt(op);
      else if (op.op === 'replayed') this.#replayed(op);
      else this.#end(op);
    }
  }

  async pending(query: { origin?: string; afterId?: string; limit: number }): Promise<MessageRecord[]> {
    this.#check();
    const { origin, afterId, limit } = readPendingQuery(query);
    let page: Entry[];
    if (origin !== undefined) page = this.#byOrigin.get(origin)?.page(afterId, limit) ?? [];
    // Across origins: the first `limit` of each, merged. Rare in memory: the dispatcher keeps its own queues.
    else page = [...this.#byOrigin.values()].flatMap((q) => q.page(afterId, limit)).sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, limit);
    return page.map((e) => ({ ...e.record! }));
  }

  async pendingOrigins(): Promise<{ origin: string; count: number }[]> {
    this.#check();
    return [...this.#byOrigin].map(([origin, q]) => ({ origin, count: q.size })).sort((a, b) => (a.origin < b.origin ? -1 : 1));
  }

  async get(messageId: string): Promise<MessageRecord | undefined> {
    this.#check();
    const record = this.#entries.get(messageId)?.record;
    return record == null ? undefined : { ...record };
  }

  async deadLetters(query?: DeadLetterQuery): Promise<{ items: DeadLetter[]; cursor?: string }> {
    this.#check();
    const { origin, reason, limit, after } = readDeadLetterQuery(query);
    const dead = this.#dead;
    // Newest first: walk down from the end, or from just below the cursor's position.
    let i = dead.length - 1;
    if (after !== undefined) {
      let lo = this.#deadHead;
      let hi = dead.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compare(position(dead[mid]!), after) < 0) lo = mid + 1;
        else hi = mid;
      }
      i = lo - 1;
    }
    const items: DeadLetter[] = [];
    let last: Entry | undefined;
    for (; i >= this.#deadHead; i--) {
      const e = dead[i]!;
      if ((origin !== undefined && e.origin !== origin) || (reason !== undefined && e.reason !== reason)) continue;
      if (items.length === limit) return { items, cursor: encodeCursor(position(last!)) };
      items.push(deadLetter({ ...e, attempts: e.record!.attempts, reason: e.reason!, last: e.record!.last, replayedAs: e.replayedAs, replayedAt: e.replayedAt }));
      last = e;
    }
    return { items };
  }

  async history(messageId: string): Promise<MessageHistory | undefined> {
    this.#check();
    const e = this.#entries.get(messageId);
    if (e === undefined) return undefined;
    const history: MessageHistory = { messageId: e.id, eventId: e.eventId, eventType: e.eventType, url: e.url, origin: e.origin, state: e.state, acceptedAt: new Date(e.acceptedAt), attempts: e.attempts.map(historyAttempt) };
    if (e.replayedAs !== null) history.replayedAs = e.replayedAs;
    return history;
  }

  async prune(cutoffs: { delivered: number; failed: number }): Promise<number> {
    this.#check();
    const before = readPruneCutoffs(cutoffs);
    let pruned = 0;
    for (const e of this.#entries.values()) {
      if (e.state !== 'pending' && e.endedAt < (e.state === 'delivered' ? before.delivered : before.failed)) {
        // Its ring slot stays until overwritten; `inHistory` tells the ring it is gone.
        e.inHistory = false;
        this.#entries.delete(e.id);
        pruned++;
      }
    }
    // Dead letters are sorted by end time: the pruned ones are a prefix.
    while (this.#deadHead < this.#dead.length && this.#dead[this.#deadHead]!.endedAt < before.failed) this.#dropOldestDead();
    return pruned;
  }

  #check(): void {
    if (!this.#open) throw new WebhookError('WD_STORE_UNAVAILABLE', `The memory store is ${this.#closed ? 'closed' : 'not open yet: call `open()` first'}`);
  }

  #accept(record: MessageRecord): void {
    const entry: Entry = {
      id: record.id, eventId: record.eventId, eventType: record.eventType, url: record.url, origin: record.origin, acceptedAt: record.acceptedAt,
      record: { ...record }, state: 'pending', attempts: [], endedAt: 0, reason: null, inHistory: false, inDead: false, replayedAs: null, replayedAt: 0,
    };
    this.#entries.set(entry.id, entry);
    let queue = this.#byOrigin.get(entry.origin);
    if (queue === undefined) this.#byOrigin.set(entry.origin, (queue = new IdOrdered<Entry>()));
    queue.add(entry);
  }

  #attempt(op: Extract<StoreOp, { op: 'attempt' }>): void {
    const entry = this.#entries.get(op.id)!;
    entry.attempts.push(op.attempt);
    const record = entry.record!;
    record.attempts = op.attempts;
    record.dueAt = op.dueAt;
    record.last = op.last;
  }

  #replayed(op: Extract<StoreOp, { op: 'replayed' }>): void {
    const entry = this.#entries.get(op.id)!;
    entry.replayedAs = op.as;
    entry.replayedAt = op.at;
  }

  #end(op: Extract<StoreOp, { op: 'end' }>): void {
    const entry = this.#entries.get(op.id)!;
    const queue = this.#byOrigin.get(entry.origin)!;
    queue.delete(op.id);
    if (queue.size === 0) this.#byOrigin.delete(entry.origin);
    if (op.attempt !== null) entry.attempts.push(op.attempt);
    entry.endedAt = op.at;
    entry.record!.attempts = op.attempts;
    if (op.outcome.state === 'delivered') {
      entry.state = 'delivered';
    } else {
      entry.state = 'failed';
      entry.reason = op.outcome.reason;
      entry.record!.last = op.outcome.last;
      if (this.#deadLimit > 0) this.#addDead(entry);
    }
    if (this.#historyLimit > 0) {
      const oldest = this.#ring[this.#ringNext];
      if (oldest !== undefined && oldest.inHistory) {
        oldest.inHistory = false;
        this.#release(oldest);
      }
      entry.inHistory = true;
      this.#ring[this.#ringNext] = entry;
      this.#ringNext = (this.#ringNext + 1) % this.#historyLimit;
    }
    this.#release(entry);
  }

  /** Lets go of what an ended entry no longer needs: its row unless a kept dead letter, the entry unless anything keeps it. */
  #release(entry: Entry): void {
    if (entry.inDead) return;
    entry.record = null;
    if (!entry.inHistory && this.#entries.get(entry.id) === entry) this.#entries.delete(entry.id);
  }

  #addDead(entry: Entry): void {
    const dead = this.#dead;
    let i = dead.length;
    // Ends arrive in time order almost always: the common case is an append.
    while (i > this.#deadHead && compare(position(dead[i - 1]!), position(entry)) > 0) i--;
    if (i === dead.length) dead.push(entry);
    else dead.splice(i, 0, entry);
    entry.inDead = true;
    if (dead.length - this.#deadHead > this.#deadLimit) this.#dropOldestDead();
  }

  #dropOldestDead(): void {
    const entry = this.#dead[this.#deadHead]!;
    this.#dead[this.#deadHead++] = undefined;
    entry.inDead = false;
    this.#release(entry);
    // Compact now and then, so dropping the oldest stays O(1) amortized.
    if (this.#deadHead > 1024 && this.#deadHead * 2 > this.#dead.length) {
      this.#dead = this.#dead.slice(this.#deadHead);
      this.#deadHead = 0;
    }
  }
}

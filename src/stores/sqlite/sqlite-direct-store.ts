import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import { WebhookError } from '../../core/errors.js';
import type { MessageRecord } from '../../model/message-record.js';
import { FieldSealer, type Sealer } from '../../signing/seal.js';
import type { DeadLetter, DeadLetterQuery, MessageHistory, MessageStore, StoreOp } from '../../persistence/store.js';
import { identify, prepareFile, restrictSideFiles, sameFile, type FileIdentity } from './sqlite-file.js';
import { registerHandle } from './sqlite-handle.js';
import { SQL, deadLetterSql, withFinal, type FinalColumns } from './sqlite-rows.js';
import { deadLetterOf, historyOf, recordOf } from '../common/store-rows.js';
import { applyBatch, encodeBatch, opAt, refusedAt, type FlatBatch } from './sqlite-batch.js';
import type { AttemptRow, DeadLetterRow, FactsRow, MessageRow } from '../common/store-rows.js';
import { configure, migrate } from './sqlite-schema.js';
import { checkOps, encodeCursor, readDeadLetterQuery, readPendingQuery, readPruneCutoffs } from '../common/store-query.js';
import { storeUnavailable } from '../../persistence/store-errors.js';

/**
 * The SQLite store proper: better-sqlite3, synchronous, on the thread that calls it. It runs on
 * the main thread by default and inside the store's worker with `sqliteStore({ worker: true })`.
 */

/** Rows deleted per transaction when pruning: the event loop breathes between chunks. */
const PRUNE_CHUNK = 500;

type Statement = BetterSqlite3.Statement<unknown[]>;

export class SqliteStore implements MessageStore {
  readonly durable = true;
  readonly #path: string;
  readonly #sealer: Sealer;
  readonly #fields: FieldSealer;
  readonly #synchronous: 'normal' | 'full';
  #db: BetterSqlite3.Database | undefined;
  #opening: Promise<void> | undefined;
  #closed = false;
  #file: FileIdentity | undefined;
  #s: Record<keyof typeof SQL, Statement> | undefined;
  readonly #deadLetterStatements = new Map<string, Statement>();
  #apply: ((batch: FlatBatch) => void) | undefined;
  /** The op the running batch is at (its index, and where it starts in the values), for the error that names it. */
  readonly #at = { at: 0, pos: 0 };

  constructor(path: string, sealer: Sealer, synchronous: 'normal' | 'full') {
    this.#path = path;
    this.#sealer = sealer;
    this.#fields = new FieldSealer(sealer);
    this.#synchronous = synchronous;
    registerHandle(this, () => this.#db);
  }

  open(): Promise<void> {
    if (this.#db !== undefined) return Promise.resolve();
    this.#opening ??= this.#open().finally(() => (this.#opening = undefined));
    return this.#opening;
  }

  async #open(): Promise<void> {
    let Database: typeof BetterSqlite3;
    try {
      Database = (await import('better-sqlite3')).default;
    } catch (error) {
      throw storeUnavailable('Cannot open the SQLite store: its driver, the optional dependency `better-sqlite3`, did not load (`npm install better-sqlite3`)', error);
    }
    prepareFile(this.#path);
    let db: BetterSqlite3.Database | undefined;
    try {
      // No busy wait: it would block the event loop, and the lock is ours alone once taken.
      db = new Database(this.#path, { timeout: 0, fileMustExist: true });
      configure(db, this.#synchronous);
      migrate(db, this.#sealer, this.#path);
      this.#s = Object.fromEntries(Object.entries(SQL).map(([name, sql]) => [name, db!.prepare(sql)])) as Record<keyof typeof SQL, Statement>;
      const s = this.#s;
      this.#apply = db.transaction((batch: FlatBatch) => applyBatch(s, this.#fields, batch, this.#at));
    } catch (error) {
      try {
        db?.close();
      } catch {
        // Already failing: the first error is the one to report.
      }
      const hint = (error as { code?: unknown }).code === 'SQLITE_BUSY' ? ': the file is in use (another process, perhaps another dispatcher, has it open)' : '';
      throw storeUnavailable(`Cannot open the SQLite store at \`${this.#path}\`${hint}`, error);
    }
    // The -wal file SQLite made, by path: opening the database file now would drop SQLite's lock.
    try {
      restrictSideFiles(this.#path);
    } catch (error) {
      db.close();
      throw error;
    }
    this.#file = identify(this.#path);
    this.#deadLetterStatements.clear();
    this.#db = db;
    this.#closed = false;
  }

  async close(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    const db = this.#db;
    this.#db = undefined;
    this.#closed = true;
    try {
      db?.close();
    } catch (error) {
      throw storeUnavailable(`Closing the SQLite store at \`${this.#path}\` failed`, error);
    }
  }

  async write(ops: readonly StoreOp[]): Promise<void> {
    this.#check();
    checkOps(ops);
    if (ops.length === 0) return;
    this.#write(encodeBatch(ops, false));
  }

  /**
   * {@link write} of a batch already checked and in the flat form (`encodeBatch`): what the
   * store's worker thread is handed. Resolves once committed.
   */
  async writeFlat(batch: FlatBatch): Promise<void> {
    this.#check();
    if (batch.count === 0) return;
    this.#write(batch);
  }

  #write(batch: FlatBatch): void {
    // SQLite would write on into a deleted file and call it a success. Checked before, not
    // after: a removal after this check is no different from one just after the commit.
    if (!sameFile(identify(this.#path), this.#file)) {
      throw new WebhookError('WD_STORE_UNAVAILABLE', `Writing to the SQLite store at \`${this.#path}\` failed: the database file was deleted or replaced while open; nothing was written`);
    }
    this.#at.at = 0;
    this.#at.pos = 0;
    try {
      this.#apply!(batch);
    } catch (error) {
      if (error instanceof WebhookError) throw error;
      const code = (error as { code?: unknown }).code;
      const op = opAt(batch, this.#at.pos);
      if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' && op.op === 'accept') throw refusedAt(batch, this.#at.at, this.#at.pos, 'names a message the store already holds');
      throw storeUnavailable(`Writing ${batch.count} operations to the SQLite store at \`${this.#path}\` failed (op ${this.#at.at + 1}, \`${op.op}\`), nothing of them applied`, error);
    }
  }

  async pending(query: { origin?: string; afterId?: string; limit: number }): Promise<MessageRecord[]> {
    const { origin, afterId, limit } = readPendingQuery(query);
    return this.#read('pending messages', (s) => {
      const rows = (origin === undefined ? s.pending.all(afterId, limit) : s.pendingOf.all(origin, afterId, limit)) as MessageRow[];
      return rows.map((row) => recordOf(row, this.#fields));
    });
  }

  async pendingOrigins(): Promise<{ origin: string; count: number }[]> {
    return this.#read('pending origins', (s) => s.pendingOrigins.all() as { origin: string; count: number }[]);
  }

  async get(messageId: string): Promise<MessageRecord | undefined> {
    return this.#read(`message \`${messageId}\``, (s) => {
      const row = s.get.get(messageId) as MessageRow | undefined;
      return row === undefined ? undefined : recordOf(row, this.#fields);
    });
  }

  async deadLetters(query?: DeadLetterQuery): Promise<{ items: DeadLetter[]; cursor?: string }> {
    const { origin, reason, limit, after } = readDeadLetterQuery(query);
    return this.#read('dead letters', () => {
      const key = `${origin !== undefined}${reason !== undefined}${after !== undefined}`;
      let statement = this.#deadLetterStatements.get(key);
      if (statement === undefined) this.#deadLetterStatements.set(key, (statement = this.#db!.prepare(deadLetterSql(origin !== undefined, reason !== undefined, after !== undefined))));
      const params: unknown[] = [];
      if (origin !== undefined) params.push(origin);
      if (reason !== undefined) params.push(reason);
      if (after !== undefined) params.push(after.at, after.id);
      // One more than asked: whether there is a next page.
      const rows = statement.all(...params, limit + 1) as DeadLetterRow[];
      const items = rows.slice(0, limit).map(deadLetterOf);
      const last = rows.length > limit ? rows[limit - 1]! : undefined;
      return last === undefined ? { items } : { items, cursor: encodeCursor({ at: last.ended_at, id: last.id }) };
    });
  }

  async history(messageId: string): Promise<MessageHistory | undefined> {
    return this.#read(`the history of message \`${messageId}\``, (s) => {
      const row = s.facts.get(messageId) as (FactsRow & FinalColumns) | undefined;
      return row === undefined ? undefined : historyOf(row, withFinal(s.attemptsOf.all(messageId) as AttemptRow[], row));
    });
  }

  async prune(cutoffs: { delivered: number; failed: number }): Promise<number> {
    const before = readPruneCutoffs(cutoffs);
    let pruned = 0;
    for (const [which, cutoff] of [['prunableDelivered', before.delivered], ['prunableFailed', before.failed]] as const) {
      for (;;) {
        const count = this.#prune(which, cutoff);
        pruned += count;
        if (count < PRUNE_CHUNK) break;
        await yieldToEventLoop();
      }
    }
    return pruned;
  }

  /** One chunk: at most `PRUNE_CHUNK` messages and their attempts, in one transaction. */
  #prune(which: 'prunableDelivered' | 'prunableFailed', cutoff: number): number {
    const db = this.#check();
    const s = this.#s!;
    try {
      return db.transaction(() => {
        const ids = s[which].pluck().all(cutoff, PRUNE_CHUNK) as string[];
        for (const id of ids) {
          s.deleteAttempts.run(id);
          s.deleteMessage.run(id);
        }
        return ids.length;
      })();
    } catch (error) {
      throw storeUnavailable(`Pruning the SQLite store at \`${this.#path}\` failed`, error);
    }
  }

  /** Runs a read; its failure becomes `WD_STORE_UNAVAILABLE` naming `what`. */
  #read<T>(what: string, fn: (s: Record<keyof typeof SQL, Statement>) => T): T {
    this.#check();
    try {
      return fn(this.#s!);
    } catch (error) {
      throw storeUnavailable(`Reading ${what} from the SQLite store at \`${this.#path}\` failed`, error);
    }
  }

  #check(): BetterSqlite3.Database {
    if (this.#db === undefined) {
      throw new WebhookError('WD_STORE_UNAVAILABLE', `The SQLite store at \`${this.#path}\` is ${this.#closed ? 'closed' : 'not open yet: call `open()` first'}`);
    }
    return this.#db;
  }
}

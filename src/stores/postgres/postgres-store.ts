import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { WebhookError, describe, invalidOptions } from '../../core/errors.js';
import type { MessageRecord } from '../../model/message-record.js';
import { integer, readObject } from '../../core/option-checks.js';
import { FieldSealer, Sealer, readEncryptionKey } from '../../signing/seal.js';
import type { ClaimedRecord, QueryClient, SharedStore } from '../../persistence/shared-store.js';
import type { AcceptLease, DeadLetter, DeadLetterQuery, MessageHistory, StoreOp } from '../../persistence/store.js';
import { DELIVERED, FAILED, SCHEMA_NAME, migrate, quoted } from './pg-schema.js';
import { INSERT_ROWS, statements, type Statements } from './pg-sql.js';
import { LeaseQueries } from './pg-leases.js';
import { insertRows, writeBatch } from './pg-writes.js';
import { batchStatement, batchValues, oneStatementShape, writeOneStatement } from './pg-batch.js';
import { ignore, pgReason, sqlState } from './pg-errors.js';
import { deadLetterOf, historyOf, recordOf } from '../common/store-rows.js';
import type { AttemptRow, DeadLetterRow, FactsRow, MessageRow } from '../common/store-rows.js';
import { checkOps, encodeCursor, readDeadLetterQuery, readPendingQuery, readPruneCutoffs } from '../common/store-query.js';
import { outcomeUnknown, storeUnavailable } from '../../persistence/store-errors.js';

export interface PostgresStoreOptions {
  /** A `pg.Pool` (the optional peer dependency `pg`) to the database. The store borrows it and never ends it. */
  pool: Pool;
  /**
   * 32 bytes, as a `Buffer` or a base64 string: seals endpoint secrets and headers at rest
   * (AES-256-GCM). Every process sharing the schema needs the same key; another key is refused.
   */
  encryptionKey: Buffer | string;
  /**
   * Milliseconds a process holds the messages it serves without renewing: a dead process's
   * messages are taken by the others this long after its last renewal (renewed every
   * `leaseMs / 3`). From `1_000` to `3_600_000`. @default 30_000
   */
  leaseMs?: number;
  /** The Postgres schema of the tables, created on first use: lowercase letters, digits and `_`. @default 'webhook_dispatcher' */
  schema?: string;
}

/** Rows deleted per statement when pruning. */
const PRUNE_CHUNK = 500;

/**
 * A {@link SharedStore} in PostgreSQL, for several dispatcher processes sharing one database:
 * each claims due messages under a lease it renews, new messages wake idle processes through
 * `LISTEN/NOTIFY`, and `send(…, { transaction })` writes with the caller's own client (a
 * transactional outbox). A batch of writes is one transaction: the common batch (accepts and
 * delivered ends) one statement, which is its own transaction (pg-batch.ts).
 * @example
 * const dispatcher = new Dispatcher({ store: postgresStore({ pool: new pg.Pool(), encryptionKey }) });
 */
export function postgresStore(options: PostgresStoreOptions): SharedStore {
  const get = readObject('postgresStore options', options, ['pool', 'encryptionKey', 'leaseMs', 'schema'], '');
  const pool = get('pool') as Partial<Pool> | undefined;
  if (typeof pool !== 'object' || pool === null || typeof pool.query !== 'function' || typeof pool.connect !== 'function') {
    throw invalidOptions('pool', 'a `pg.Pool` (an object with `query()` and `connect()`)', pool);
  }
  const key = readEncryptionKey(get('encryptionKey'));
  const leaseMs = integer('leaseMs', get('leaseMs'), 1_000, 3_600_000, 30_000);
  const schema = get('schema') ?? 'webhook_dispatcher';
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) throw invalidOptions('schema', 'a schema name of lowercase letters, digits and `_` (at most 63, not starting with a digit)', schema);
  return new PostgresStore(pool as Pool, new Sealer(key), leaseMs, schema);
}

class PostgresStore implements SharedStore {
  readonly durable = true;
  readonly #pool: Pool;
  readonly #sealer: Sealer;
  readonly #fields: FieldSealer;
  readonly #schema: string;
  readonly #sql: Statements;
  readonly #leases: LeaseQueries;
  readonly #batch: { name: string; text: string };
  #state: 'new' | 'open' | 'closed' = 'new';
  #opening: Promise<void> | undefined;

  constructor(
    pool: Pool,
    sealer: Sealer,
    readonly leaseMs: number,
    schema: string,
  ) {
    this.#pool = pool;
    this.#sealer = sealer;
    this.#fields = new FieldSealer(sealer);
    this.#schema = schema;
    this.#sql = statements(quoted(schema), leaseMs);
    this.#leases = new LeaseQueries(this.#sql, schema, this.#fields);
    this.#batch = batchStatement(quoted(schema), leaseMs);
  }

  open(): Promise<void> {
    if (this.#state === 'open') return Promise.resolve();
    this.#opening ??= this.#open().finally(() => (this.#opening = undefined));
    return this.#opening;
  }

  async #open(): Promise<void> {
    let client: PoolClient | undefined;
    try {
      client = await this.#pool.connect();
      client.on('error', ignore);
      await migrate(client, this.#schema, this.#sealer);
      client.removeListener('error', ignore);
      client.release();
    } catch (error) {
      client?.removeListener('error', ignore);
      client?.release(true);
      throw storeUnavailable(`Cannot open the Postgres store in schema \`${this.#schema}\``, pgReason(error));
    }
    this.#state = 'open';
  }

  async close(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    this.#state = 'closed';
    await this.#leases.unsubscribeAll();
  }

  async write(ops: readonly StoreOp[]): Promise<void> {
    this.#check();
    checkOps(ops);
    if (ops.length === 0) return;
    // The common batch is one statement; any other, or one the server refused, a transaction.
    if (oneStatementShape(ops) && (await writeOneStatement(this.#pool, this.#batch, batchValues(ops, this.#fields, this.#leases.channel), `Writing ${ops.length} operations in the Postgres store (schema \`${this.#schema}\`)`))) return;
    await this.#transaction(`Writing ${ops.length} operations`, (client) => writeBatch(client, this.#sql, this.#fields, ops, this.#leases.channel));
  }

  async insertWith(client: QueryClient, records: readonly { record: MessageRecord; lease: AcceptLease }[]): Promise<void> {
    this.#check();
    if (records.length === 0) return;
    try {
      for (let i = 0; i < records.length; i += INSERT_ROWS) {
        const rows = records.slice(i, i + INSERT_ROWS);
        // The caller's object is only duck-typed: a receipt is given only for rows it says it wrote.
        const inserted = rowCountOf(await insertRows(client, this.#sql, this.#fields, rows));
        if (inserted !== rows.length) throw new Error(`the client's \`query()\` answered ${inserted === undefined ? 'with no pg result (no numeric `rowCount`)' : `that it wrote ${inserted} row(s)`}, not ${rows.length}: nothing is known to be written`);
      }
      await client.query('SELECT pg_notify($1, $2)', [this.#leases.channel, '']);
    } catch (error) {
      throw storeUnavailable(`Writing ${records.length} message(s) with the caller's transaction to the Postgres store (schema \`${this.#schema}\`) failed; the transaction cannot commit them`, pgReason(error));
    }
  }

  async pending(query: { origin?: string; afterId?: string; limit: number }): Promise<MessageRecord[]> {
    const { origin, afterId, limit } = readPendingQuery(query);
    const rows = await this.#read<MessageRow>('pending messages', origin === undefined ? this.#sql.pending : this.#sql.pendingOf, origin === undefined ? [afterId, limit] : [origin, afterId, limit]);
    return rows.map((row) => recordOf(row, this.#fields));
  }

  pendingOrigins(): Promise<{ origin: string; count: number }[]> {
    return this.#read('pending origins', this.#sql.pendingOrigins, []);
  }

  async get(messageId: string): Promise<MessageRecord | undefined> {
    const [row] = await this.#read<MessageRow>(`message \`${messageId}\``, this.#sql.get, [messageId]);
    return row === undefined ? undefined : recordOf(row, this.#fields);
  }

  async deadLetters(query?: DeadLetterQuery): Promise<{ items: DeadLetter[]; cursor?: string }> {
    const { origin, reason, limit, after } = readDeadLetterQuery(query);
    const params: unknown[] = [];
    if (origin !== undefined) params.push(origin);
    if (reason !== undefined) params.push(reason);
    if (after !== undefined) params.push(after.at, after.id);
    // One more than asked: whether there is a next page.
    const rows = await this.#read<DeadLetterRow>('dead letters', this.#sql.deadLetters(origin !== undefined, reason !== undefined, after !== undefined), [...params, limit + 1]);
    const items = rows.slice(0, limit).map(deadLetterOf);
    const last = rows.length > limit ? rows[limit - 1]! : undefined;
    return last === undefined ? { items } : { items, cursor: encodeCursor({ at: last.ended_at, id: last.id }) };
  }

  async history(messageId: string): Promise<MessageHistory | undefined> {
    const [row] = await this.#read<FactsRow>(`the history of message \`${messageId}\``, this.#sql.facts, [messageId]);
    if (row === undefined) return undefined;
    return historyOf(row, await this.#read<AttemptRow>(`the attempts of message \`${messageId}\``, this.#sql.attemptsOf, [messageId]));
  }

  async prune(cutoffs: { delivered: number; failed: number }): Promise<number> {
    const before = readPruneCutoffs(cutoffs);
    let pruned = 0;
    for (const [state, cutoff] of [[DELIVERED, before.delivered], [FAILED, before.failed]] as const) {
      for (;;) {
        this.#check();
        let count: number;
        try {
          count = (await this.#pool.query(this.#sql.prune, [state, cutoff, PRUNE_CHUNK])).rowCount ?? 0;
        } catch (error) {
          throw storeUnavailable(`Pruning the Postgres store (schema \`${this.#schema}\`) failed`, pgReason(error));
        }
        pruned += count;
        if (count < PRUNE_CHUNK) break;
        await yieldToEventLoop();
      }
    }
    return pruned;
  }

  claim(owner: string, limit: number, now: number): Promise<ClaimedRecord[]> {
    this.#check();
    return this.#transaction(`Claiming up to ${limit} messages`, (client) => this.#leases.claim(client, owner, limit, now));
  }

  /** `now` is unused: leases run on the database's clock. */
  async renew(owner: string, _now: number): Promise<string[]> {
    const rows = await this.#read<{ id: string }>('leases to renew', this.#sql.renew, [owner]);
    return rows.map((row) => row.id);
  }

  async release(owner: string, messageIds?: readonly string[]): Promise<void> {
    await (messageIds === undefined ? this.#read('leases to release', this.#sql.releaseAll, [owner]) : this.#read('leases to release', this.#sql.releaseSome, [owner, messageIds]));
    await this.#pool.query('SELECT pg_notify($1, $2)', [this.#leases.channel, '']).catch(() => {});
  }

  subscribe(onNew: () => void, onLost?: () => void): Promise<() => Promise<void>> {
    this.#check();
    return this.#leases.subscribe(this.#pool, onNew, onLost);
  }

  /** Runs `fn` in one transaction on a client of its own; a failure rolls everything back and becomes `WD_STORE_UNAVAILABLE`. */
  async #transaction<T>(what: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw storeUnavailable(`${what} in the Postgres store (schema \`${this.#schema}\`) failed: no connection`, pgReason(error));
    }
    let broken: Error | undefined;
    // A checked-out client whose connection drops emits 'error'; with no listener that would
    // crash the process. The failed query reports it instead.
    client.on('error', ignore);
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      try {
        await client.query('COMMIT');
      } catch (error) {
        // An answer from the server (a SQLSTATE) means it rolled back; a connection that failed
        // while COMMIT was on its way leaves the outcome unknown: it may have been applied.
        if (sqlState(error) === undefined) {
          broken = error instanceof Error ? error : new Error(describe(error));
          throw outcomeUnknown(storeUnavailable(`${what} in the Postgres store (schema \`${this.#schema}\`): the connection failed while committing, so whether it applied is unknown`, pgReason(error)));
        }
        throw error;
      }
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((e: unknown) => (broken = e instanceof Error ? e : new Error(describe(e))));
      if (error instanceof WebhookError) throw error;
      throw storeUnavailable(`${what} in the Postgres store (schema \`${this.#schema}\`) failed, nothing of them applied`, pgReason(error));
    } finally {
      client.removeListener('error', ignore);
      client.release(broken);
    }
  }

  async #read<R extends QueryResultRow>(what: string, sql: string, params: unknown[]): Promise<R[]> {
    this.#check();
    try {
      return (await this.#pool.query<R>(sql, params)).rows;
    } catch (error) {
      throw storeUnavailable(`Reading ${what} from the Postgres store (schema \`${this.#schema}\`) failed`, pgReason(error));
    }
  }

  #check(): void {
    if (this.#state !== 'open') {
      throw new WebhookError('WD_STORE_UNAVAILABLE', `The Postgres store (schema \`${this.#schema}\`) is ${this.#state === 'closed' ? 'closed' : 'not open yet: call `open()` first'}`);
    }
  }
}

/** `rowCount` of what a caller's `query()` resolved with, when it is a pg result; `undefined` for anything else. */
function rowCountOf(result: unknown): number | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  try {
    const count = (result as { rowCount?: unknown }).rowCount;
    return typeof count === 'number' && Number.isInteger(count) && count >= 0 ? count : undefined;
  } catch {
    return undefined; // a getter that throws: not a pg result
  }
}

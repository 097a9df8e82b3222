import type { Notification, Pool, PoolClient } from 'pg';
import type { ClaimedRecord } from '../../persistence/shared-store.js';
import type { FieldSealer } from '../../signing/seal.js';
import type { Statements } from './pg-sql.js';
import { recordOf, type MessageRow } from '../common/store-rows.js';
import { storeUnavailable } from '../../persistence/store-errors.js';

type ClaimedRow = MessageRow & { lease_gen: number };

/**
 * The Postgres store's side of sharing: claiming under leases, and the `LISTEN` connection that
 * wakes a process when messages nobody owns are committed.
 */
export class LeaseQueries {
  /** The `NOTIFY` channel of this schema (at most 63 bytes, Postgres's limit for a name). */
  readonly channel: string;
  readonly #listeners = new Set<() => Promise<void>>();

  constructor(
    private readonly sql: Statements,
    private readonly schema: string,
    private readonly fields: FieldSealer,
  ) {
    this.channel = `wd_${schema}`.slice(0, 63);
  }

  /**
   * Inside the caller's transaction: takes the origin leases of ordered origins that are free,
   * then their messages in id order, then due unordered messages, `limit` in all.
   */
  async claim(client: PoolClient, owner: string, limit: number, now: number): Promise<ClaimedRecord[]> {
    // Lease times are the database's (see `DB_NOW`); `now` only says which retries are due.
    await client.query(this.sql.takeOrigins, [owner]);
    const ordered = (await client.query<ClaimedRow>(this.sql.claimOrdered, [owner, limit])).rows;
    const rest = limit - ordered.length;
    const free = rest > 0 ? (await client.query<ClaimedRow>(this.sql.claim, [owner, now, rest])).rows : [];
    // RETURNING gives rows in no particular order: ids are acceptance order.
    const rows = [...ordered, ...free].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return rows.map((row) => ({ ...recordOf(row, this.fields), leaseGen: row.lease_gen }));
  }

  /** A connection of `pool` kept for `LISTEN`; it is given back (closed) by the function returned. */
  async subscribe(pool: Pool, onNew: () => void, onLost?: () => void): Promise<() => Promise<void>> {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw storeUnavailable(`Listening for new messages in the Postgres store (schema \`${this.schema}\`) failed: no connection`, error);
    }
    const onNotification = (n: Notification) => {
      if (n.channel === this.channel) onNew();
    };
    let stopped = false;
    // A dropped connection must not crash the process: the caller polls meanwhile and may
    // subscribe again. Kept after release too, for an error on the way out.
    const onError = () => {
      if (stopped) return;
      void stop();
      onLost?.();
    };
    client.on('notification', onNotification);
    client.on('error', onError);
    try {
      await client.query(`LISTEN "${this.channel}"`);
    } catch (error) {
      client.release(true);
      throw storeUnavailable(`Listening for new messages in the Postgres store (schema \`${this.schema}\`) failed`, error);
    }
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      this.#listeners.delete(stop);
      client.removeListener('notification', onNotification);
      // Closed, not put back: a pooled connection must not keep listening for its next user.
      client.release(true);
    };
    this.#listeners.add(stop);
    return stop;
  }

  async unsubscribeAll(): Promise<void> {
    await Promise.all([...this.#listeners].map((stop) => stop()));
  }
}

/**
 * The Postgres store's sharing beyond the `SharedStore` contract (test/shared-store.contract.test.ts
 * runs that on it: claims, lapse and takeover whatever a claimer's clock says, renewal, release,
 * ordered origins, concurrent claimers, fencing): how long a lease runs on the database's clock,
 * what a fenced refusal says, NOTIFY for new unowned messages at commit, the outbox write inside
 * the caller's transaction, schema checks, and what its failures say. A lease is made to lapse
 * by moving its end back in the database (the database's clock cannot be injected), never by
 * waiting.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { SharedStore } from '../src/persistence/shared-store.js';
import type { StoreOp } from '../src/persistence/store.js';
import { postgresStore } from '../src/stores/postgres/postgres-store.js';
import { DB_NOW } from '../src/stores/postgres/pg-sql.js';
import { KEY, T0, delivered, fenced, record } from './support/store-fixtures.js';
import { pgAvailable, pgSkipNote, requirePostgresInCI, testDatabase } from './support/postgres.js';
import pg from 'pg';
import { randomBytes } from 'node:crypto';

const LEASE = 10_000;
const A = 'https://a.example';
const ids = (rs: { id: string }[]) => rs.map((r) => r.id);
const owned = (owner: string | null, until: number, ordered = false) => (r: ReturnType<typeof record>): StoreOp => ({ op: 'accept', record: r, lease: { owner, until, ordered } });
const unowned = (ordered = false) => owned(null, 0, ordered);

requirePostgresInCI('postgresStore leases');

describe.skipIf(!pgAvailable)(`postgresStore leases, NOTIFY, outbox and schema${pgSkipNote}`, () => {
  const db = testDatabase(10);
  const pool = db.pool;
  let store: SharedStore;
  let other: SharedStore;
  let schema = '';
  /** `owner`'s leases lapse now, on the database's clock (as if `leaseMs` went by without a renewal). */
  const lapse = async (owner: string) => {
    await pool.query(`UPDATE "${schema}".messages SET lease_until = lease_until - ${2 * LEASE} WHERE owner = $1`, [owner]);
    await pool.query(`UPDATE "${schema}".origin_leases SET lease_until = lease_until - ${2 * LEASE} WHERE owner = $1`, [owner]);
  };
  beforeEach(async () => {
    schema = db.schema();
    store = postgresStore({ pool, encryptionKey: KEY, leaseMs: LEASE, schema });
    other = postgresStore({ pool, encryptionKey: KEY, leaseMs: LEASE, schema });
    await Promise.all([store.open(), other.open()]);
    return async () => {
      await store.close();
      await other.close();
    };
  });

  it('a lease runs leaseMs from the accept, the claim or the renewal on the database\'s clock, whatever `until` the writer said', async () => {
    const [m, n] = [record(A), record(A)];
    // `until` is the writer's idea, long past: the database leases from its own clock.
    await store.write([owned('p1', 0)(m), unowned()(n)]);
    const left = async () => {
      const { rows } = await pool.query<{ id: string; left: number }>(`SELECT id, lease_until - ${DB_NOW} AS left FROM "${schema}".messages ORDER BY id`);
      return rows.map((r) => r.left);
    };
    const live = expect.toSatisfy((ms: number) => ms > LEASE - 2_000 && ms <= LEASE);
    expect(await left()).toEqual([live, expect.toSatisfy((ms: number) => ms < 0)]);
    await lapse('p1');
    expect(ids(await other.claim('p2', 10, T0))).toEqual(ids([m, n]));
    expect(await left()).toEqual([live, live]);
    await lapse('p2');
    expect(await left()).toEqual([expect.toSatisfy((ms: number) => ms < 0), expect.toSatisfy((ms: number) => ms < 0)]);
    await other.renew('p2', 0);
    expect(await left()).toEqual([live, live]);
  });

  it('a write refused by its fence says why: its writer no longer holds the message', async () => {
    const m = record(A);
    await store.write([owned('p1', 0)(m)]);
    await lapse('p1');
    expect(ids(await other.claim('p2', 10, T0))).toEqual([m.id]);
    await expect(store.write([fenced(delivered(m.id, 1, T0), { owner: 'p1', gen: 0 })])).rejects.toMatchObject({
      code: 'WD_STORE_UNAVAILABLE',
      message: expect.stringMatching(new RegExp(`op 1 of 1 \\(\`end\` of message \`${m.id}\`\\) .*no longer holds`)),
    });
  });

  it('NOTIFY wakes a subscriber for unowned messages, at commit; owned ones are silent', async () => {
    let woken = 0;
    let wake!: () => void;
    const stop = await other.subscribe(() => {
      woken++;
      wake?.();
    });
    const heard = new Promise<void>((resolve) => (wake = resolve));
    await store.write([owned('p1', T0 + LEASE)(record(A))]);
    await store.write([unowned()(record(A))]);
    await heard;
    expect(woken).toBe(1);
    await stop();
  });

  it('the outbox write joins the caller transaction: rolled back, nothing; committed, claimable', async () => {
    const client = await pool.connect();
    try {
      const [gone, kept] = [record(A), record(A)];
      await client.query('BEGIN');
      await store.insertWith(client, [{ record: gone, lease: { owner: null, until: 0, ordered: false } }]);
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await store.insertWith(client, [{ record: kept, lease: { owner: null, until: 0, ordered: false } }]);
      expect(await other.claim('p2', 10, T0)).toEqual([]); // not committed yet
      await client.query('COMMIT');
      expect(await store.get(gone.id)).toBeUndefined();
      expect(ids(await other.claim('p2', 10, T0))).toEqual([kept.id]);
    } finally {
      client.release();
    }
  });

  it('refuses a schema made with another key, a newer schema version, and another program\'s schema', async () => {
    await expect(postgresStore({ pool, encryptionKey: randomBytes(32), schema }).open()).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining('`encryptionKey` does not match') });
    await pool.query(`UPDATE "${schema}".meta SET value = '9' WHERE key = 'schema_version'`);
    await expect(postgresStore({ pool, encryptionKey: KEY, schema }).open()).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining('schema version 9 is newer') });
    const foreign = db.schema();
    await pool.query(`CREATE SCHEMA "${foreign}"; CREATE TABLE "${foreign}".users (id int)`);
    await expect(postgresStore({ pool, encryptionKey: KEY, schema: foreign }).open()).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining("another program's tables") });
  });

  it('says what failed when the server cannot be reached, and checks its options', async () => {
    const dead = new pg.Pool({ host: '127.0.0.1', port: 1, user: 'postgres', database: 'test', connectionTimeoutMillis: 2_000 });
    try {
      const s = postgresStore({ pool: dead, encryptionKey: KEY, schema: 'wd_unreachable' });
      await expect(s.open()).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringMatching(/Cannot open the Postgres store in schema `wd_unreachable`: connect ECONNREFUSED 127\.0\.0\.1:1/) });
    } finally {
      await dead.end();
    }
    expect(() => postgresStore({ pool: {} as pg.Pool, encryptionKey: KEY })).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('Expected `pool` to be a `pg.Pool`') }));
    expect(() => postgresStore({ pool, encryptionKey: KEY, schema: 'Robert"; DROP' })).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS' }));
    expect(() => postgresStore({ pool, encryptionKey: KEY, leaseMs: 10 })).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('`leaseMs`') }));
  });
});

/**
 * The Postgres store's sharing: claims under leases timed by the database's clock (a claimer's
 * own clock, however far off, never decides), fencing (a claim bumps the lease generation;
 * attempts and ends under a lost one are refused), SKIP LOCKED between concurrent claimers,
 * renewal, release, ordered origins served by one owner at a time, NOTIFY for new unowned
 * messages, and what its failures say. A lease is made to lapse by moving its end back in the
 * database (the database's clock cannot be injected), never by waiting.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { SharedStore } from '../src/persistence/shared-store.js';
import type { StoreOp } from '../src/persistence/store.js';
import { postgresStore } from '../src/stores/postgres/postgres-store.js';
import { KEY, T0, delivered, record } from './support/store-fixtures.js';
import { refusedOpOf } from '../src/persistence/store-errors.js';
import { dropSchemas, newPool, pgAvailable, pgSkipNote, requirePostgresInCI, schemaName } from './support/postgres.js';
import pg from 'pg';
import { randomBytes } from 'node:crypto';

const LEASE = 10_000;
const A = 'https://a.example';
const O = 'https://ordered.example';
const ids = (rs: { id: string }[]) => rs.map((r) => r.id);
const owned = (owner: string | null, until: number, ordered = false) => (r: ReturnType<typeof record>): StoreOp => ({ op: 'accept', record: r, lease: { owner, until, ordered } });
const unowned = (ordered = false) => owned(null, 0, ordered);
/** A claimed record without its lease generation: the record as written. */
/** A delivered end written under `fence`. */
const end = (id: string, attempts: number, fence: { owner: string; gen: number }): StoreOp => ({ ...(delivered(id, attempts, T0) as Extract<StoreOp, { op: 'end' }>), fence });
const plain = (rs: { leaseGen?: number }[]) => rs.map(({ leaseGen: _, ...r }) => r);
/** Ten minutes ahead of everything: a claimer whose clock is far off. */
const AHEAD = Date.now() + 600_000;

requirePostgresInCI('postgresStore leases');

describe.skipIf(!pgAvailable)(`postgresStore leases and claims${pgSkipNote}`, () => {
  const schemas = new Set<string>();
  const pool = pgAvailable ? newPool(10) : (undefined as unknown as pg.Pool);
  let store: SharedStore;
  let other: SharedStore;
  let schema = '';
  /** `owner`'s leases lapse now, on the database's clock (as if `leaseMs` went by without a renewal). */
  const lapse = async (owner: string) => {
    await pool.query(`UPDATE "${schema}".messages SET lease_until = lease_until - ${2 * LEASE} WHERE owner = $1`, [owner]);
    await pool.query(`UPDATE "${schema}".origin_leases SET lease_until = lease_until - ${2 * LEASE} WHERE owner = $1`, [owner]);
  };
  beforeEach(async () => {
    schema = schemaName();
    schemas.add(schema);
    store = postgresStore({ pool, encryptionKey: KEY, leaseMs: LEASE, schema });
    other = postgresStore({ pool, encryptionKey: KEY, leaseMs: LEASE, schema });
    await Promise.all([store.open(), other.open()]);
    return async () => {
      await store.close();
      await other.close();
    };
  });
  afterAll(async () => {
    await pool?.end();
    await dropSchemas(schemas);
  });

  it('a live lease is not taken, even by a claimer whose clock is far ahead; lapsed on the database clock, the next claimer takes it under a new generation', async () => {
    const rs = [record(A), record(A), record(A)];
    // `until` is the writer's idea; the database leases from its own clock and ignores it.
    await store.write(rs.map(owned('p1', 0)));
    expect(await other.claim('p2', 10, AHEAD)).toEqual([]);
    expect(await other.claim('p2', 10, Number.MAX_SAFE_INTEGER)).toEqual([]);
    await lapse('p1');
    const taken = await other.claim('p2', 10, T0);
    expect(plain(taken)).toEqual(rs); // whole records, secrets opened, in id order
    expect(taken.map((r) => r.leaseGen)).toEqual([1, 1, 1]);
    expect(await store.claim('p3', 10, AHEAD)).toEqual([]);
    await lapse('p2');
    expect((await store.claim('p3', 10, T0)).map((r) => r.leaseGen)).toEqual([2, 2, 2]);
    // A lease is `leaseMs` from the claim on the database's clock.
    const [row] = (await pool.query<{ left: number }>(`SELECT min(lease_until) - (extract(epoch from clock_timestamp()) * 1000) AS left FROM "${schema}".messages`)).rows;
    expect(row!.left).toBeGreaterThan(LEASE - 2_000);
    expect(row!.left).toBeLessThanOrEqual(LEASE);
  });

  it('claims unowned due messages in id order, up to the limit; not one waiting for a retry; not an ended one', async () => {
    const rs = Array.from({ length: 5 }, () => record(A));
    const later = record(A, { attempts: 1, dueAt: T0 + 5_000 });
    await store.write([...rs.map(unowned()), unowned()(later)]);
    await store.write([delivered(rs[4]!.id, 1, T0)]);
    expect(ids(await store.claim('p1', 3, T0))).toEqual(ids(rs.slice(0, 3)));
    expect(ids(await other.claim('p2', 10, T0))).toEqual([rs[3]!.id]);
    expect(ids(await other.claim('p2', 10, T0 + 5_000))).toEqual([later.id]);
  });

  it('renewal keeps every message of the owner, even past its lease when nobody took it, and lists them; release hands them back at once', async () => {
    const rs = [record(A), record(A)];
    await store.write(rs.map(owned('p1', 0)));
    await lapse('p1');
    expect((await store.renew('p1', T0)).sort()).toEqual(ids(rs).sort());
    expect(await other.claim('p2', 10, AHEAD)).toEqual([]);
    await store.release('p1', [rs[0]!.id]);
    expect(ids(await other.claim('p2', 10, T0))).toEqual([rs[0]!.id]);
    expect(await store.renew('p1', T0)).toEqual([rs[1]!.id]);
    await store.release('p1');
    expect(ids(await other.claim('p2', 10, T0))).toEqual([rs[1]!.id]);
    expect(await store.renew('p1', T0)).toEqual([]);
  });

  it('fencing: an attempt or end under a generation that is no longer held is refused (nothing of the batch applied); the holder\'s applies', async () => {
    const [m, n] = [record(A), record(A)];
    await store.write([m, n].map(owned('p1', 0)));
    await lapse('p1');
    expect((await other.claim('p2', 10, T0)).map((r) => r.leaseGen)).toEqual([1, 1]);
    const stale = { owner: 'p1', gen: 0 };
    const attempt: StoreOp = { op: 'attempt', id: m.id, attempt: { at: T0, status: 500, error: null, latencyMs: 3 }, attempts: 1, dueAt: T0, last: null, fence: stale };
    for (const ops of [[attempt], [end(m.id, 1, stale)], [end(n.id, 1, { owner: 'p2', gen: 1 }), end(m.id, 1, stale)]] as StoreOp[][]) {
      const error = await store.write(ops).then(() => undefined, (e: unknown) => e);
      expect(refusedOpOf(error)).toEqual({ index: ops.length - 1, messageId: m.id });
      expect((error as Error).message).toContain('no longer holds');
    }
    // Its own generation but another owner's name: refused too.
    await expect(store.write([end(m.id, 1, { owner: 'p1', gen: 1 })])).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE' });
    expect((await store.history(n.id))?.state).toBe('pending');
    expect(await store.renew('p1', T0)).toEqual([]);
    await other.write([{ ...attempt, fence: { owner: 'p2', gen: 1 } }, end(m.id, 2, { owner: 'p2', gen: 1 }), end(n.id, 1, { owner: 'p2', gen: 1 })]);
    expect((await store.history(m.id))?.state).toBe('delivered');
    expect((await store.history(m.id))?.attempts).toHaveLength(2);
    expect((await store.history(n.id))?.state).toBe('delivered');
  });

  it('two claimers at once get disjoint sets (SKIP LOCKED) that together are everything', async () => {
    const rs = Array.from({ length: 300 }, () => record(A));
    await store.write(rs.map(unowned()));
    const got: string[][] = [[], []];
    for (let round = 0; round < 10; round++) {
      const [x, y] = await Promise.all([store.claim('p1', 40, T0), other.claim('p2', 40, T0)]);
      got[0]!.push(...ids(x));
      got[1]!.push(...ids(y));
    }
    const all = [...got[0]!, ...got[1]!];
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort()).toEqual(ids(rs).sort());
    expect(got[0]!.length).toBeGreaterThan(0);
    expect(got[1]!.length).toBeGreaterThan(0);
  });

  it('an ordered origin is served by one owner at a time: its lease holder takes its messages in id order, due or not', async () => {
    const first = [record(O), record(O, { attempts: 1, dueAt: T0 + 60_000 }), record(O)];
    await store.write(first.map(unowned(true)));
    expect(ids(await store.claim('p1', 10, T0))).toEqual(ids(first));
    // New messages of the origin while p1 holds it: p2 does not get them, p1 does.
    const next = [record(O), record(O)];
    await other.write(next.map(unowned(true)));
    expect(await other.claim('p2', 10, AHEAD)).toEqual([]);
    expect(ids(await store.claim('p1', 1, T0))).toEqual([next[0]!.id]);
    await store.renew('p1', T0);
    expect(await other.claim('p2', 10, AHEAD)).toEqual([]);
    // p1 dies: once its lease lapses, p2 takes the origin, oldest first.
    await lapse('p1');
    expect(ids(await other.claim('p2', 10, T0))).toEqual(ids([...first, ...next]));
    expect(await store.claim('p1', 10, AHEAD)).toEqual([]);
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
    const schema = [...schemas].at(-1)!;
    await expect(postgresStore({ pool, encryptionKey: randomBytes(32), schema }).open()).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining('`encryptionKey` does not match') });
    await pool.query(`UPDATE "${schema}".meta SET value = '9' WHERE key = 'schema_version'`);
    await expect(postgresStore({ pool, encryptionKey: KEY, schema }).open()).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining('schema version 9 is newer') });
    const foreign = schemaName();
    schemas.add(foreign);
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

/**
 * Round trips per write in the Postgres store: the common batch (accepts and delivered ends of
 * distinct messages) is ONE statement, its own commit; any other shape is a transaction
 * (BEGIN … COMMIT); a batch the one statement refuses is written again as a transaction, which
 * names the refused op. Counted on the pool's clients: every `query` is one round trip. A
 * broken one-statement path would still write correctly (through the transaction), so only a
 * count can tell that it is taken.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { StoreOp } from '../src/persistence/store.js';
import { refusedOpOf } from '../src/persistence/store-errors.js';
import { postgresStore } from '../src/stores/postgres/postgres-store.js';
import { KEY, T0, accept, attempt, delivered, fenced, record } from './support/store-fixtures.js';
import { dropSchemas, newPool, pgAvailable, pgSkipNote, requirePostgresInCI, schemaName } from './support/postgres.js';

requirePostgresInCI('postgresStore round trips');

describe.skipIf(!pgAvailable)(`postgresStore round trips per write${pgSkipNote}`, () => {
  const schemas = new Set<string>();
  const pools: pg.Pool[] = [];
  afterEach(async () => {
    for (const pool of pools.splice(0)) await pool.end();
  });
  afterAll(() => dropSchemas(schemas));

  /** A store on a pool whose clients count their queries (the texts, BEGIN and COMMIT included). */
  async function counted() {
    const pool = newPool(2);
    pools.push(pool);
    const sent: string[] = [];
    const connect = pool.connect.bind(pool) as (...args: unknown[]) => Promise<pg.PoolClient>;
    const wrapped = new WeakSet<pg.PoolClient>();
    // The store's writes connect and query; `pool.query` (its reads) connects with a callback, uncounted.
    (pool as { connect: (...args: unknown[]) => unknown }).connect = (...args: unknown[]) => (args.length > 0 ? connect(...args) : wrap());
    const wrap = async () => {
      const client = await connect();
      if (wrapped.has(client)) return client;
      wrapped.add(client);
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        const [q] = args;
        sent.push(typeof q === 'string' ? q : (q as { name?: string; text: string }).name ?? (q as { text: string }).text);
        return query(...args);
      };
      return client;
    };
    const schema = schemaName();
    schemas.add(schema);
    const store = postgresStore({ pool, encryptionKey: KEY, leaseMs: 60_000, schema });
    await store.open();
    /** The queries one write sent. */
    const trips = async (ops: StoreOp[]) => {
      sent.length = 0;
      const error = await store.write(ops).then(() => undefined, (e: unknown) => e);
      return { sent: [...sent], error };
    };
    return { store, trips };
  }

  it('accepts and delivered ends of distinct messages, with the NOTIFY of unowned ones: one round trip, applied whole', async () => {
    const { store, trips } = await counted();
    const [m, n, o, p] = [record(), record(), record(), record()];
    expect((await trips([m, n].map(accept))).sent).toEqual([expect.stringMatching(/^wd_batch_/)]);
    const { sent, error } = await trips([delivered(m.id, 1, T0), accept(o), delivered(n.id, 1, T0), accept(p)]);
    expect(error).toBeUndefined();
    expect(sent).toEqual([expect.stringMatching(/^wd_batch_/)]);
    expect(await store.history(m.id)).toMatchObject({ state: 'delivered', attempts: [{ status: 200 }] });
    expect(await store.history(n.id)).toMatchObject({ state: 'delivered', attempts: [{ status: 200 }] });
    expect((await store.pending({ limit: 10 })).map((r) => r.id)).toEqual([o.id, p.id]);
  });

  it('other shapes are a transaction: an attempt, or two ops of one message (the later must see the earlier)', async () => {
    const { store, trips } = await counted();
    const m = record();
    const { sent } = await trips([accept(m), attempt(m.id, 1, T0)]);
    expect(sent[0]).toBe('BEGIN');
    expect(sent.at(-1)).toBe('COMMIT');
    expect(await store.history(m.id)).toMatchObject({ state: 'pending', attempts: [{ status: 503 }] });
  });

  it('an end the one statement refuses: nothing of it applied, then the transaction names the op', async () => {
    const { store, trips } = await counted();
    const [m, n] = [record(), record()];
    await store.write([accept(m)]);
    const { sent, error } = await trips([accept(n), fenced(delivered(m.id, 1, T0), { owner: 'p9', gen: 7 })]);
    expect(refusedOpOf(error)).toEqual({ index: 1, messageId: m.id });
    expect(sent[0]).toMatch(/^wd_batch_/);
    expect(sent.slice(1, 2)).toEqual(['BEGIN']);
    expect(sent.at(-1)).toBe('ROLLBACK');
    expect(await store.get(n.id)).toBeUndefined();
    expect(await store.history(m.id)).toMatchObject({ state: 'pending', attempts: [] });
  });
});

/**
 * The transactional outbox gives a receipt only for rows the caller's client says it wrote:
 * a `transaction` whose `query()` answers with something that is not a pg result (or a result
 * for fewer rows) is refused with `WD_STORE_UNAVAILABLE`, and a real pg client inside a real
 * transaction still works.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../src/index.js';
import { postgresStore } from '../src/stores/postgres/postgres-store.js';
import { newSecret, testDispatcher } from './helpers.js';
import { KEY } from './support/store-fixtures.js';
import { pgAvailable, pgSkipNote, requirePostgresInCI, testDatabase } from './support/postgres.js';

requirePostgresInCI('The outbox on postgresStore');

describe.skipIf(!pgAvailable)(`The outbox on postgresStore${pgSkipNote}`, () => {
  const db = testDatabase(5);
  const pool = db.pool;
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  });

  const endpoint = { url: 'http://127.0.0.1:9/hooks', secret: newSecret() };
  async function dispatcher(): Promise<{ d: Dispatcher; schema: string }> {
    const schema = db.schema();
    const d = testDispatcher({ store: postgresStore({ pool, encryptionKey: KEY, leaseMs: 1_000, schema }) });
    d.on('error', () => {});
    cleanup.push(() => d.close());
    await d.ready();
    return { d, schema };
  }
  const rows = async (schema: string) => (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".messages`)).rows[0]!.n;

  it('refuses a client whose query() answers with something that is not a pg result for the rows written', async () => {
    const { d, schema } = await dispatcher();
    const answers: [string, unknown][] = [
      ['undefined', undefined],
      ['an empty object', {}],
      ['null', null],
      ['a string rowCount', { rowCount: '1' }],
      ['no row written', { rowCount: 0, rows: [] }],
      ['a rowCount getter that throws', Object.defineProperty({}, 'rowCount', { get: () => { throw new Error('boom'); } })],
    ];
    for (const [what, answer] of answers) {
      const client = { query: async () => answer };
      const sent = d.send(endpoint, { type: 'order.paid', data: 1 }, { transaction: client });
      await expect(sent, what).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining('nothing is known to be written') });
    }
    const publishes = await d.publish({ type: 'order.paid', data: 2 }, [endpoint, endpoint], { transaction: { query: async () => ({ rows: [] }) } });
    expect(publishes.map((p) => p.ok)).toEqual([false, false]);
    expect(await rows(schema)).toBe(0);
    expect(d.stats().accepted).toBe(0);
  });

  it('gives receipts for a real pg client inside a real transaction, and the rows are there once it commits', async () => {
    const { d, schema } = await dispatcher();
    const client = await pool.connect();
    cleanup.push(async () => client.release());
    await client.query('BEGIN');
    const receipt = await d.send(endpoint, { type: 'order.paid', data: 1 }, { transaction: client });
    const published = await d.publish({ type: 'order.paid', data: 2 }, [endpoint, { ...endpoint, url: 'http://127.0.0.1:9/other' }], { transaction: client });
    expect(published.map((p) => p.ok)).toEqual([true, true]);
    expect(await rows(schema)).toBe(0); // not committed yet: another connection sees nothing
    await client.query('COMMIT');
    expect(await rows(schema)).toBe(3);
    expect((await pool.query(`SELECT id FROM "${schema}".messages WHERE id = $1`, [receipt.messageId])).rowCount).toBe(1);
  });
});

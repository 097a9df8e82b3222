/**
 * The Postgres store with the transactional outbox: the webhook is written in the app's own
 * transaction, so it exists only if that transaction commits. One order commits (its webhook
 * is delivered), one rolls back (nothing is ever sent for it).
 *
 *   node --import tsx examples/postgres-outbox.ts
 *
 * Uses the PostgreSQL at PG_URL (default postgres://postgres@127.0.0.1:5432/test), in schemas
 * of its own that it drops afterwards; without a server it says so and exits 0.
 * In an app: `import { postgresStore } from 'webhook-dispatcher/postgres'`.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Dispatcher } from '../src/index.js';
import { postgresStore } from '../src/stores/postgres/postgres-store.js';
import { startReceiver } from './local-receiver.js';

const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const pool = new pg.Pool({ connectionString: PG_URL, max: 4, connectionTimeoutMillis: 2_000 });
pool.on('error', () => {});
try {
  await pool.query('SELECT 1');
} catch (error) {
  console.log(`skipped: no PostgreSQL at ${PG_URL} (${(error as Error).message})`);
  await pool.end();
  process.exit(0);
}

const suffix = randomBytes(4).toString('hex');
const schema = `wd_example_${suffix}`; // the dispatcher's tables
const app = `wd_example_app_${suffix}`; // the app's own tables
const receiver = await startReceiver();
const dispatcher = new Dispatcher({
  allowPrivateNetworks: true,
  store: postgresStore({ pool, encryptionKey: randomBytes(32).toString('base64'), schema }),
});
try {
  await dispatcher.ready();
  await pool.query(`CREATE SCHEMA ${app}; CREATE TABLE ${app}.orders (id int PRIMARY KEY, paid boolean NOT NULL DEFAULT false)`);
  await pool.query(`INSERT INTO ${app}.orders (id) VALUES (1), (2)`);
  const endpoint = { url: receiver.url(), secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' };

  async function pay(id: number, outcome: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`UPDATE ${app}.orders SET paid = true WHERE id = $1`, [id]);
      await dispatcher.send(endpoint, { type: 'order.paid', data: { id } }, { transaction: client });
      await client.query(outcome);
    } finally {
      client.release();
    }
  }
  // A committed outbox row is claimed from the table by whichever process has room: here, this one.
  const delivered = new Promise((resolve) => dispatcher.once('delivered', resolve));
  await pay(1, 'COMMIT');
  await pay(2, 'ROLLBACK');
  await delivered;
  await dispatcher.onIdle();
  const ids = receiver.requests.map((r) => (JSON.parse(r.body.toString()) as { data: { id: number } }).data.id);
  console.log(`received order.paid for orders [${ids.join(', ')}]`);
  console.log(ids.length === 1 && ids[0] === 1 ? 'committed order delivered; rolled-back order sent nothing' : 'unexpected deliveries');
} finally {
  await dispatcher.close();
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${app} CASCADE`);
  await pool.end();
  await receiver.close();
}

/**
 * Schema upgrades of the durable stores, from data an earlier version wrote: SQLite from
 * version 1 (no `replayed_as`/`replayed_at`) and 2 (an end's attempt in `attempts`, not in
 * the row's `final_*` columns) to 3, Postgres from 2 (no replay columns) and 1
 * (no `lease_gen` either) to 3. The earlier schema is made by taking the newer one's added
 * columns away and setting the older version, which leaves what that version created. What
 * was written before the upgrade reads back the same, and a replay can be recorded after it.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageStore } from '../src/persistence/store.js';
import { postgresStore } from '../src/stores/postgres/postgres-store.js';
import { sqliteStore } from '../src/stores/sqlite/sqlite-store.js';
import { KEY, T0, accept, attempt, failed, newId, record, replayed, tempDir } from './support/store-fixtures.js';
import { pgAvailable, pgSkipNote, requirePostgresInCI, testDatabase } from './support/postgres.js';

requirePostgresInCI('postgresStore schema upgrades');

const cleanup: (() => Promise<unknown> | unknown)[] = [];

/** Each call opens a new store from `make` on the same data; every one is closed after the test. */
function opener<S extends MessageStore>(make: () => S): () => Promise<S> {
  return async () => {
    const s = make();
    cleanup.push(() => s.close());
    await s.open();
    return s;
  };
}
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const A = 'https://a.example';

/** Writes a pending message (with an attempt) and a dead letter; returns what the store answers about them. */
async function fill(store: MessageStore) {
  const [pending, dead] = [record(A), record(A)];
  await store.write([accept(pending), accept(dead), attempt(pending.id, 1, T0 + 1), failed(dead.id, 1, T0 + 2, 'rejected', 400)]);
  return { pending, dead, snapshot: await snapshot(store, [pending.id, dead.id]) };
}

async function snapshot(store: MessageStore, ids: string[]) {
  return { pending: await store.pending({ limit: 10 }), dead: await store.deadLetters({}), histories: await Promise.all(ids.map((id) => store.history(id))), records: await Promise.all(ids.map((id) => store.get(id))) };
}

/** After an upgrade: the same answers, and a replay recorded, and kept by a store opened after. */
async function expectUpgraded(open: () => Promise<MessageStore>, written: Awaited<ReturnType<typeof fill>>) {
  const store = await open();
  expect(await snapshot(store, [written.pending.id, written.dead.id])).toEqual(written.snapshot);
  const as = newId();
  await store.write([replayed(written.dead.id, as, T0 + 3)]);
  await store.close();
  const again = await open();
  expect((await again.deadLetters({})).items).toEqual([{ ...written.snapshot.dead.items[0], replayedAs: as, replayedAt: new Date(T0 + 3) }]);
  await again.close();
}

/**
 * A SQLite file written by this version, taken back to schema `version`: before 3 an end's
 * attempt was a row of `attempts` (written after the message's other attempts, so last in
 * rowid order, as here), and before 2 there were no replay columns.
 */
function sqliteAsVersion(path: string, version: 1 | 2): void {
  const db = new Database(path);
  db.exec(`INSERT INTO attempts (message_id, at, status, error_code, error_message, latency_ms)
    SELECT id, final_at, final_status, final_error_code, final_error_message, final_latency_ms FROM messages WHERE final_at IS NOT NULL ORDER BY id`);
  for (const column of ['final_at', 'final_status', 'final_error_code', 'final_error_message', 'final_latency_ms']) db.exec(`ALTER TABLE messages DROP COLUMN ${column}`);
  if (version === 1) db.exec('ALTER TABLE messages DROP COLUMN replayed_as; ALTER TABLE messages DROP COLUMN replayed_at');
  db.pragma(`user_version = ${version}`);
  const columns = (db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('messages') as string[]).slice(-3);
  expect(columns).toEqual(version === 1 ? ['last_body', 'reason', 'ended_at'] : ['ended_at', 'replayed_as', 'replayed_at']);
  db.close();
}

describe.each([1, 2] as const)('sqliteStore schema %i → 3', (version) => {
  it('adds the columns of the later versions to the file in place, keeping every row and every attempt', async () => {
    const tmp = tempDir();
    cleanup.push(tmp.cleanup);
    const path = tmp.file();
    const open = opener(() => sqliteStore({ path, encryptionKey: KEY }));
    const first = await open();
    const written = await fill(first);
    await first.close();
    sqliteAsVersion(path, version);

    await expectUpgraded(open, written);
    const after = new Database(path, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(3);
    expect((after.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('messages') as string[]).slice(-7)).toEqual([
      'replayed_as', 'replayed_at', 'final_at', 'final_status', 'final_error_code', 'final_error_message', 'final_latency_ms',
    ]);
    // The dead letter's end attempt stayed a row of `attempts`; nothing moved it.
    expect(after.prepare('SELECT count(*) AS n FROM messages WHERE final_at IS NOT NULL').get()).toEqual({ n: 0 });
    after.close();
  });
});

describe.skipIf(!pgAvailable)(`postgresStore schema upgrades${pgSkipNote}`, () => {
  const db = testDatabase(6);
  const pool = db.pool;

  /** A schema written by this version, then taken back to `version`. */
  async function older(version: 1 | 2) {
    const schema = db.schema();
    const open = opener(() => postgresStore({ pool, encryptionKey: KEY, schema }));
    const first = await open();
    const written = await fill(first);
    await first.close();
    await pool.query(`ALTER TABLE "${schema}".messages DROP COLUMN replayed_as, DROP COLUMN replayed_at${version === 1 ? ', DROP COLUMN lease_gen' : ''}`);
    await pool.query(`UPDATE "${schema}".meta SET value = $1 WHERE key = 'schema_version'`, [Buffer.from(String(version))]);
    return { schema, open, written };
  }

  const columns = async (schema: string) =>
    (await pool.query<{ c: string }>("SELECT column_name AS c FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'messages' AND column_name IN ('lease_gen', 'replayed_as', 'replayed_at') ORDER BY c", [schema])).rows.map((r) => r.c);
  const version = async (schema: string) => (await pool.query<{ v: Buffer }>(`SELECT value AS v FROM "${schema}".meta WHERE key = 'schema_version'`)).rows[0]!.v.toString();

  it('2 → 3: adds the replay columns, keeping every row, once when several processes open at the same time', async () => {
    const { schema, open, written } = await older(2);
    expect(await columns(schema)).toEqual(['lease_gen']);
    // Three processes starting together: the advisory lock lets one upgrade, the others see version 3.
    await Promise.all([open(), open(), open()]);
    expect(await version(schema)).toBe('3');
    expect(await columns(schema)).toEqual(['lease_gen', 'replayed_as', 'replayed_at']);
    await expectUpgraded(open, written);
  });

  it('1 → 3: the fencing token and the replay columns in one upgrade', async () => {
    const { schema, open, written } = await older(1);
    expect(await columns(schema)).toEqual([]);
    await expectUpgraded(open, written);
    expect(await version(schema)).toBe('3');
    expect(await columns(schema)).toEqual(['lease_gen', 'replayed_as', 'replayed_at']);
  });
});

/**
 * The local PostgreSQL the Postgres tests use (127.0.0.1:5432, user postgres, database test,
 * trust auth; `WD_TEST_PG_URL` points elsewhere), whether it answers, and a schema of its own
 * per test file, dropped after: other people's tests share the server.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, it } from 'vitest';

export const PG_URL = process.env.WD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function probe(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message || (error as { code?: string }).code || error.name : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Why PostgreSQL cannot be used, or `undefined` when it can. */
export const pgMissing = await probe();
export const pgAvailable = pgMissing === undefined;
export const pgSkipNote = pgAvailable ? '' : ` (skipped: no PostgreSQL at ${PG_URL}: ${pgMissing})`;

/** Under CI the server is part of the setup: its absence fails, by name. */
export function requirePostgresInCI(what: string): void {
  if (pgAvailable || process.env.CI !== 'true') return;
  describe(what, () => {
    it(`needs PostgreSQL at ${PG_URL}: CI runs one, so its absence is a failure there`, () => {
      throw new Error(`No PostgreSQL at ${PG_URL}: ${pgMissing}`);
    });
  });
}

export function newPool(max = 5): pg.Pool {
  const pool = new pg.Pool({ connectionString: PG_URL, max });
  pool.on('error', () => {}); // an idle connection dropped: the next query reports it
  return pool;
}

/** A fresh schema name, `wd_test_<random>`. */
export function schemaName(prefix = 'wd_t'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export async function dropSchemas(names: Iterable<string>): Promise<void> {
  const list = [...names];
  if (list.length === 0) return;
  const pool = newPool(1);
  try {
    for (const name of list) await pool.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  } finally {
    await pool.end();
  }
}

/**
 * The test server for a describe block (or a file): a pool of `max` connections, and a fresh
 * schema name per call of `schema()`; afterwards the pool ends and every schema named is
 * dropped. Without PostgreSQL the pool is a stand-in nothing uses (the suites are skipped).
 */
export function testDatabase(max: number): { pool: pg.Pool; schema(): string } {
  const schemas = new Set<string>();
  const pool = pgAvailable ? newPool(max) : (undefined as unknown as pg.Pool);
  afterAll(async () => {
    await pool?.end();
    await dropSchemas(schemas);
  });
  return {
    pool,
    schema() {
      const name = schemaName();
      schemas.add(name);
      return name;
    },
  };
}

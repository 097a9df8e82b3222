/**
 * The stores behind the `MessageStore` seam, each as a factory of fresh stores, for the store
 * contract: memory, SQLite (a temp file each) and Postgres (a schema each, dropped after the
 * file); and the stores behind the `SharedStore` seam (Postgres), each as a factory of shared
 * data that several processes join, for the shared-store contract. A new store joins a
 * contract by joining its list.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, it } from 'vitest';
import type { MessageStore } from '../../src/persistence/store.js';
import type { SharedStore } from '../../src/persistence/shared-store.js';
import { MemoryStore } from '../../src/stores/memory/memory-store.js';
import { postgresStore } from '../../src/stores/postgres/postgres-store.js';
import { DB_NOW } from '../../src/stores/postgres/pg-sql.js';
import { sqliteStore } from '../../src/stores/sqlite/sqlite-store.js';
import { KEY, tempDir } from './store-fixtures.js';
import type pg from 'pg';
import { dropSchemas, newPool, pgAvailable, pgSkipNote, requirePostgresInCI, schemaName } from './postgres.js';

export interface StoreUnderTest {
  store: MessageStore;
  /** A new store on the same data (durable stores only). */
  reopen(): Promise<MessageStore>;
  dispose(): Promise<void>;
}

export interface Implementation {
  name: string;
  /** Survives a new store on the same file or database. */
  durable: boolean;
  /** `get` still finds a delivered message (until pruned). */
  keepsDelivered: boolean;
  make(): Promise<StoreUnderTest>;
  /** A store not opened yet. */
  unopened(): MessageStore;
  /** Why it cannot run here (a service is missing); it is skipped with this in its name. */
  skip?: string;
}

/**
 * Every store, for one test file: call it at the file's top level. The Postgres pool and the
 * schemas it made are dropped after the file (other tests share the server).
 */
export function storeImplementations(): Implementation[] {
  const schemas = new Set<string>();
  const pgPool = pgAvailable ? newPool(8) : undefined;
  afterAll(async () => {
    await pgPool?.end();
    await dropSchemas(schemas);
  });
  requirePostgresInCI('postgresStore contract');
  return [
    {
      name: 'MemoryStore',
      durable: false,
      keepsDelivered: false,
      async make() {
        const store = new MemoryStore();
        await store.open();
        return { store, reopen: () => Promise.reject(new Error('not durable')), dispose: () => store.close() };
      },
      unopened: () => new MemoryStore(),
    },
    sqliteImplementation(false),
    sqliteImplementation(true),
    {
      name: `postgresStore (a schema per store)${pgSkipNote}`,
      durable: true,
      keepsDelivered: true,
      skip: pgAvailable ? undefined : pgSkipNote,
      async make() {
        const schema = schemaName();
        schemas.add(schema);
        return reopenable((encryptionKey) => postgresStore({ pool: pgPool!, encryptionKey, schema }));
      },
      unopened: () => postgresStore({ pool: pgPool!, encryptionKey: KEY, schema: 'wd_never_opened' }),
    },
  ];
}

/**
 * A contract's frame: a `describe` per implementation, in its name, or where its service is
 * missing one skipped test saying why (a skip in the summary always means a missing service).
 */
export function forEachImplementation<T extends { name: string; skip?: string | undefined }>(implementations: readonly T[], body: (impl: T) => void): void {
  describe.each(implementations)('$name', (impl) => {
    if (impl.skip !== undefined) {
      it.skip(`runs where its service is${impl.skip}`, () => {});
      return;
    }
    body(impl);
  });
}

/** {@link forEachImplementation} with a fresh store before each test, disposed after it; `current()` is the test's. */
export function describeEachStore(implementations: readonly Implementation[], body: (impl: Implementation, current: () => StoreUnderTest) => void): void {
  forEachImplementation(implementations, (impl) => {
    let under: StoreUnderTest | undefined;
    beforeEach(async () => {
      under = await impl.make();
    });
    afterEach(() => under?.dispose());
    body(impl, () => under!);
  });
}

/** SQLite on a temp file each, on the calling thread or (`worker`) on its worker thread. */
function sqliteImplementation(worker: boolean): Implementation {
  return {
    name: worker ? 'sqliteStore, worker thread (temp file)' : 'sqliteStore (temp file)',
    durable: true,
    keepsDelivered: true,
    async make() {
      const tmp = tempDir();
      const path = tmp.file();
      return reopenable((encryptionKey) => sqliteStore({ path, encryptionKey, worker }), () => tmp.cleanup());
    },
    unopened: () => sqliteStore({ path: join(tmpdir(), 'never-opened.db'), encryptionKey: KEY, worker }),
  };
}

/**
 * A durable store under test, opened: `reopen` closes it and opens a new one on the same data,
 * its key given as base64 text this time (the first has it as bytes: both forms must work).
 */
async function reopenable(open: (encryptionKey: Buffer | string) => MessageStore, cleanup?: () => void): Promise<StoreUnderTest> {
  let store = open(KEY);
  await store.open();
  return {
    get store() {
      return store;
    },
    async reopen() {
      await store.close();
      store = open(KEY.toString('base64'));
      await store.open();
      return store;
    },
    async dispose() {
      await store.close();
      cleanup?.();
    },
  };
}

/** Fresh data several processes share. */
export interface SharedData {
  /** One more process's store on the data (its own connections), opened. */
  join(): Promise<SharedStore>;
  /**
   * Makes `owner`'s leases (every owner's without one), of messages and of ordered origins,
   * lapse now on the store's own clock, as if `leaseMs` went by without a renewal; leases
   * taken or renewed afterwards run as usual. This is the contract's only way to let time pass
   * for leases: a store times them by its own clock, never by the `now` a claimer passes.
   */
  lapse(owner?: string): Promise<void>;
  dispose(): Promise<void>;
}

export interface SharedImplementation {
  name: string;
  make(leaseMs: number): Promise<SharedData>;
  /** Why it cannot run here (a service is missing); it is skipped with this in its name. */
  skip?: string;
}

/** Every shared store, for the shared-store contract: call it at the file's top level. */
export function sharedStoreImplementations(): SharedImplementation[] {
  requirePostgresInCI('postgresStore shared-store contract');
  return [
    {
      name: `postgresStore (a schema per test, a pool per process)${pgSkipNote}`,
      skip: pgAvailable ? undefined : pgSkipNote,
      async make(leaseMs) {
        const schema = schemaName();
        // The test's own connection, for moving lease ends back (the database's clock cannot be injected).
        const admin = newPool(1);
        const joined: { store: SharedStore; pool: pg.Pool }[] = [];
        return {
          async join() {
            const pool = newPool(4);
            const store = postgresStore({ pool, encryptionKey: KEY, leaseMs, schema });
            joined.push({ store, pool });
            await store.open();
            return store;
          },
          async lapse(owner) {
            // Just before now on the database's clock, in the store's own expression of it:
            // lapsed for the next claim, whatever the test's or the claimer's clock says.
            const which = 'WHERE owner IS NOT NULL AND ($1::text IS NULL OR owner = $1::text)';
            for (const table of ['messages', 'origin_leases']) {
              await admin.query(`UPDATE "${schema}".${table} SET lease_until = LEAST(lease_until, ${DB_NOW} - 1) ${which}`, [owner ?? null]);
            }
          },
          async dispose() {
            for (const { store, pool } of joined) {
              await store.close();
              await pool.end();
            }
            await admin.end();
            await dropSchemas([schema]);
          },
        };
      },
    },
  ];
}

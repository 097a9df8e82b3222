/**
 * The stores behind the `MessageStore` seam, each as a factory of fresh stores, for the store
 * contract: memory, SQLite (a temp file each) and Postgres (a schema each, dropped after the
 * file). A new store joins the contract by joining this list.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { MessageStore } from '../../src/persistence/store.js';
import { MemoryStore } from '../../src/stores/memory/memory-store.js';
import { postgresStore } from '../../src/stores/postgres/postgres-store.js';
import { sqliteStore } from '../../src/stores/sqlite/sqlite-store.js';
import { KEY, tempDir } from './store-fixtures.js';
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
    {
      name: 'sqliteStore (temp file)',
      durable: true,
      keepsDelivered: true,
      async make() {
        const tmp = tempDir();
        let store = sqliteStore({ path: tmp.file(), encryptionKey: KEY });
        await store.open();
        return {
          get store() {
            return store;
          },
          async reopen() {
            await store.close();
            store = sqliteStore({ path: tmp.file(), encryptionKey: KEY.toString('base64') });
            await store.open();
            return store;
          },
          async dispose() {
            await store.close();
            tmp.cleanup();
          },
        };
      },
      unopened: () => sqliteStore({ path: join(tmpdir(), 'never-opened.db'), encryptionKey: KEY }),
    },
    {
      name: 'sqliteStore, worker thread (temp file)',
      durable: true,
      keepsDelivered: true,
      async make() {
        const tmp = tempDir();
        let store = sqliteStore({ path: tmp.file(), encryptionKey: KEY, worker: true });
        await store.open();
        return {
          get store() {
            return store;
          },
          async reopen() {
            await store.close();
            store = sqliteStore({ path: tmp.file(), encryptionKey: KEY.toString('base64'), worker: true });
            await store.open();
            return store;
          },
          async dispose() {
            await store.close();
            tmp.cleanup();
          },
        };
      },
      unopened: () => sqliteStore({ path: join(tmpdir(), 'never-opened.db'), encryptionKey: KEY, worker: true }),
    },
    {
      name: `postgresStore (a schema per store)${pgSkipNote}`,
      durable: true,
      keepsDelivered: true,
      skip: pgAvailable ? undefined : pgSkipNote,
      async make() {
        const schema = schemaName();
        schemas.add(schema);
        let store = postgresStore({ pool: pgPool!, encryptionKey: KEY, schema });
        await store.open();
        return {
          get store() {
            return store;
          },
          async reopen() {
            await store.close();
            store = postgresStore({ pool: pgPool!, encryptionKey: KEY.toString('base64'), schema });
            await store.open();
            return store;
          },
          dispose: () => store.close(),
        };
      },
      unopened: () => postgresStore({ pool: pgPool!, encryptionKey: KEY, schema: 'wd_never_opened' }),
    },
  ];
}

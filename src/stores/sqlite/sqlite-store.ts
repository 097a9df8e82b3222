import { resolve } from 'node:path';
import { invalidOptions } from '../../core/errors.js';
import { readObject } from '../../core/option-checks.js';
import { Sealer, readEncryptionKey } from '../../signing/seal.js';
import type { MessageStore } from '../../persistence/store.js';
import { SqliteStore } from './sqlite-direct-store.js';
import { SqliteWorkerStore } from './sqlite-worker-store.js';

export interface SqliteStoreOptions {
  /** The database file. Created with mode 0600 when absent; an existing one is restricted to mode 0600. */
  path: string;
  /**
   * 32 bytes, as a `Buffer` or a base64 string: seals endpoint secrets and headers at rest
   * (AES-256-GCM). Keep it out of the database's backups; a store reopened with another key is refused.
   */
  encryptionKey: Buffer | string;
  /**
   * When a commit counts as durable. `'normal'`: it survives the process being killed at any
   * instant (`kill -9`), the contract of accepted messages; an OS crash or power loss may lose
   * the last commits. `'full'`: it also survives power loss, at the price of an fsync per commit.
   * @default 'normal'
   */
  synchronous?: 'normal' | 'full';
  /**
   * Runs the connection, the sealing of secrets and headers, row encoding and every commit on a
   * worker thread of its own: the main thread only hands it each group-commit batch. Every
   * promise stays: a write resolves once the worker's COMMIT returned, and a worker that dies
   * fails every pending and later call with `WD_STORE_UNAVAILABLE`.
   * @default false
   */
  worker?: boolean;
}

/**
 * A {@link MessageStore} in one SQLite file (better-sqlite3, an optional peer dependency), in
 * WAL mode, for one process at a time: a second store on the same file, in this process or
 * another, fails to open with `WD_STORE_UNAVAILABLE` while the first has it (SQLite's exclusive
 * lock, held from open to close and dropped by the OS when the holder dies, even by `kill -9`).
 * A batch is one transaction. Writes are synchronous and short on the main thread, or run on a
 * worker thread of the store's own with `worker: true`.
 * @example
 * const dispatcher = new Dispatcher({ store: sqliteStore({ path: './webhooks.db', encryptionKey }) });
 */
export function sqliteStore(options: SqliteStoreOptions): MessageStore {
  const get = readObject('sqliteStore options', options, ['path', 'encryptionKey', 'synchronous', 'worker'], '');
  const path = get('path');
  if (typeof path !== 'string' || path === '' || path === ':memory:' || path.includes('\0')) {
    throw invalidOptions('path', "a file path (a store in `':memory:'` is not durable: use the default store)", path);
  }
  const key = readEncryptionKey(get('encryptionKey'));
  const synchronous = get('synchronous') ?? 'normal';
  if (synchronous !== 'normal' && synchronous !== 'full') throw invalidOptions('synchronous', "`'normal'` or `'full'`", synchronous);
  const worker = get('worker') ?? false;
  if (typeof worker !== 'boolean') throw invalidOptions('worker', 'a boolean', worker);
  if (worker) return new SqliteWorkerStore(resolve(path), key, synchronous);
  return new SqliteStore(resolve(path), new Sealer(key), synchronous);
}


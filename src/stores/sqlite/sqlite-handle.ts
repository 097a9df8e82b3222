import type BetterSqlite3 from 'better-sqlite3';
import type { MessageStore } from '../../persistence/store.js';

/**
 * The connection behind a SQLite store, for tests that must reach under it (fill the disk with
 * `max_page_count`, force a checkpoint). Not exported by the package: `./sqlite` exposes only
 * `sqliteStore`.
 */
const handles = new WeakMap<MessageStore, () => BetterSqlite3.Database | undefined>();

export function registerHandle(store: MessageStore, connection: () => BetterSqlite3.Database | undefined): void {
  handles.set(store, connection);
}

/** The open connection of a store made by `sqliteStore`, if any. */
export function connectionOf(store: MessageStore): BetterSqlite3.Database | undefined {
  return handles.get(store)?.();
}

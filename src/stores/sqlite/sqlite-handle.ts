import type { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import type { MessageStore } from '../../persistence/store.js';

/**
 * The connection behind a SQLite store, for tests that must reach under it (fill the disk with
 * `max_page_count`, force a checkpoint), and the busy time of a worker store's thread, for the
 * benchmarks. Not exported by the package: `./sqlite` exposes only `sqliteStore`.
 */
const handles = new WeakMap<MessageStore, () => BetterSqlite3.Database | undefined>();
/** What a `worker: true` store shows of its thread. */
export interface WorkerView {
  /** Milliseconds its workers were busy (event-loop active time), every worker it started, up to now or its close. */
  busyMs(): number;
  /** The running worker, if any: tests kill it. */
  worker(): Worker | undefined;
}

const workers = new WeakMap<MessageStore, WorkerView>();

export function registerHandle(store: MessageStore, connection: () => BetterSqlite3.Database | undefined): void {
  handles.set(store, connection);
}

/** The open connection of a store made by `sqliteStore`, if any (none with `worker: true`: it lives on the worker's thread). */
export function connectionOf(store: MessageStore): BetterSqlite3.Database | undefined {
  return handles.get(store)?.();
}

export function registerWorker(store: MessageStore, view: WorkerView): void {
  workers.set(store, view);
}

/** The running worker thread of a `worker: true` store. */
export function workerOf(store: MessageStore): Worker | undefined {
  return workers.get(store)?.worker();
}

/**
 * Milliseconds the worker threads of a `worker: true` store were busy (event-loop active time,
 * every worker it started, up to now or its close); `undefined` for any other store.
 */
export function workerBusyMsOf(store: MessageStore): number | undefined {
  return workers.get(store)?.busyMs();
}

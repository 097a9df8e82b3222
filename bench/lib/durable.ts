/**
 * What the durable scenarios (12–15) share: a SQLite store in a temporary file of its own,
 * removed after; callers that send concurrently, each awaiting its own send as a request
 * handler would; and the cost of a run on the main thread.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dispatcher, Endpoint } from '../../src/index.js';
import type { MessageStore } from '../../src/persistence/store.js';
import { sqliteStore } from '../../src/stores/sqlite/sqlite-store.js';
import { EVENT } from './workload.js';

/** A SQLite file in a new temporary directory, with a random key; `remove()` deletes both. */
export interface TempStore {
  path: string;
  /** A new store on the file (each dispatcher takes its own; the file is reopened); `worker`: `sqliteStore`'s option. */
  open(options?: { worker?: boolean }): MessageStore;
  /** Bytes on disk: the database and its write-ahead log. */
  bytes(): number;
  remove(): void;
}

export function tempStore(label: string): TempStore {
  const dir = mkdtempSync(join(tmpdir(), `wd-bench-${label}-`));
  const path = join(dir, 'messages.db');
  const encryptionKey = randomBytes(32);
  const size = (p: string) => {
    try {
      return statSync(p).size;
    } catch {
      return 0;
    }
  };
  return {
    path,
    open: (options) => sqliteStore({ path, encryptionKey, ...options }),
    bytes: () => size(path) + size(`${path}-wal`),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Sends `total` messages to `endpoints` in turn from `callers` concurrent callers, each awaiting
 * its own `send` before the next (with a durable store a send resolves once committed, so
 * one awaiting caller would make every commit a batch of one). `tick` is called every 1,000.
 */
export async function produce(d: Dispatcher, endpoints: Endpoint[], total: number, callers: number, tick?: (n: number) => void): Promise<void> {
  let next = 0;
  const caller = async () => {
    while (next < total) {
      const i = next++;
      await d.send(endpoints[i % endpoints.length]!, EVENT);
      if (tick !== undefined && (i + 1) % 1_000 === 0) tick(1_000);
    }
  };
  await Promise.all(Array.from({ length: Math.min(callers, total) }, caller));
}

/** What a run cost: wall time, process CPU (user + system, every thread) and main-thread busy time and CPU. */
export interface Cost {
  ms: number;
  cpuUs: number;
  /** Event-loop active time: the main thread busy (better-sqlite3 writes run on it, synchronously, unless in a worker). */
  busyUs: number;
  /** CPU time of the main thread alone (Linux: its schedstat; elsewhere `NaN`). */
  mainCpuUs: number;
}

/**
 * Nanoseconds the main thread has run on a CPU: the first field of its `schedstat` (the main
 * thread's task id is the process id). `process.cpuUsage()` counts every thread: the store's
 * worker, libuv's pool, the garbage collector's helpers.
 */
function mainThreadCpuNs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
}

export async function costOf<T>(fn: () => Promise<T>): Promise<{ cost: Cost; value: T }> {
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const main0 = mainThreadCpuNs();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  const mainCpuUs = (mainThreadCpuNs() - main0) / 1000;
  return { cost: { ms, cpuUs: cpu.user + cpu.system, busyUs: elu.active * 1000, mainCpuUs }, value };
}

/** What a store was asked during a run: group-commit batches and messages read back from disk. */
export interface StoreCounts {
  /** `write` calls: one transaction each. */
  writes: number;
  /** Rows read by `pending` (a host's backlog past its in-memory window, paged back in). */
  paged: number;
}

/** Wraps `store` to count its writes and paged rows; the store itself is unchanged. */
export function counted(store: MessageStore): { store: MessageStore; counts: StoreCounts } {
  const counts: StoreCounts = { writes: 0, paged: 0 };
  const write = store.write.bind(store);
  const pending = store.pending.bind(store);
  store.write = (ops) => {
    counts.writes++;
    return write(ops);
  };
  store.pending = async (query) => {
    const rows = await pending(query);
    counts.paged += rows.length;
    return rows;
  };
  return { store, counts };
}

export const MIB = 2 ** 20;

/**
 * `sqliteStore({ worker: true })`: what the worker thread must not change. The store contract,
 * crash torture and the one-owner tests run it too (store-implementations.ts,
 * crash-torture.test.ts, sqlite-processes.test.ts); here: a worker that dies, the file's lock
 * held by the worker's connection within this process, and a process that never closes it.
 */
import { isOutcomeUnknown } from '../src/persistence/store-errors.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageStore } from '../src/persistence/store.js';
import { sqliteStore } from '../src/stores/sqlite/sqlite-store.js';
import { workerBusyMsOf, workerOf } from '../src/stores/sqlite/sqlite-handle.js';
import { KEY, T0, accept, delivered, record, tempDir } from './support/store-fixtures.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function opened(path: string, worker = true): Promise<MessageStore> {
  const store = sqliteStore({ path, encryptionKey: KEY, worker });
  cleanup.push(() => store.close().catch(() => undefined));
  await store.open();
  return store;
}

const unavailable = expect.objectContaining({ code: 'WD_STORE_UNAVAILABLE' });

describe('sqliteStore({ worker: true })', () => {
  it('refuses a non-boolean `worker` option', () => {
    expect(() => sqliteStore({ path: 'x.db', encryptionKey: KEY, worker: 'yes' as unknown as boolean })).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('`worker`') }));
  });

  it('a worker that dies mid-write fails that write and every later call with WD_STORE_UNAVAILABLE, applies none of the batch, and lets go of the file', async () => {
    const tmp = tempDir();
    cleanup.push(tmp.cleanup);
    const store = await opened(tmp.file());
    const kept = record();
    await store.write([accept(kept)]);
    // A batch long enough (sealing 5,000 records) to be under way when the worker is killed.
    const batch = Array.from({ length: 5_000 }, () => accept(record()));
    const writing = store.write(batch);
    const worker = workerOf(store)!;
    expect(worker).toBeDefined();
    await worker.terminate();
    await expect(writing).rejects.toEqual(unavailable);
    // The write on its way may have committed before the worker went: its outcome is unknown,
    // which the group commit settles by writing the accepts again (see group-commit.ts).
    expect(isOutcomeUnknown(await writing.catch((e: unknown) => e))).toBe(true);
    await expect(store.get(kept.id)).rejects.toEqual(expect.objectContaining({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining('exited') }));
    await expect(store.write([delivered(kept.id, 1, T0)])).rejects.toEqual(unavailable);
    await expect(store.pending({ limit: 10 })).rejects.toEqual(unavailable);
    expect(workerOf(store)).toBeUndefined();

    // The dead worker's connection is gone with it: another store opens the file, and finds the
    // first commit and nothing of the killed batch.
    const next = await opened(tmp.file(), false);
    expect((await next.pending({ limit: 10_000 })).map((r) => r.id)).toEqual([kept.id]);
  });

  it('holds the file against every other store in this process, worker or not, until it closes', async () => {
    const tmp = tempDir();
    cleanup.push(tmp.cleanup);
    const path = tmp.file();
    const first = await opened(path);
    await expect(sqliteStore({ path, encryptionKey: KEY }).open()).rejects.toEqual(expect.objectContaining({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining('the file is in use') }));
    await expect(sqliteStore({ path, encryptionKey: KEY, worker: true }).open()).rejects.toEqual(expect.objectContaining({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining('the file is in use') }));
    const r = record();
    await first.write([accept(r)]);
    expect(workerBusyMsOf(first)).toBeGreaterThan(0);
    await first.close();
    expect(workerOf(first)).toBeUndefined();
    // Its busy time outlives it (the benchmark reads it after close).
    expect(workerBusyMsOf(first)).toBeGreaterThan(0);
    await expect(first.get(r.id)).rejects.toEqual(expect.objectContaining({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining('closed') }));
    const second = await opened(path, false);
    const back = await second.get(r.id);
    expect(back?.body).toBeInstanceOf(Buffer);
    expect(back?.body.equals(r.body)).toBe(true);
    expect(back?.secrets).toEqual(r.secrets);
  });

  it('reports a bad key, from the worker, as WD_STORE_UNAVAILABLE, and can open again with the right one', async () => {
    const tmp = tempDir();
    cleanup.push(tmp.cleanup);
    const path = tmp.file();
    await (await opened(path)).close();
    const wrong = sqliteStore({ path, encryptionKey: Buffer.alloc(32, 9), worker: true });
    await expect(wrong.open()).rejects.toEqual(expect.objectContaining({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining('`encryptionKey` does not match') }));
    expect(workerOf(wrong)).toBeUndefined();
    const right = await opened(path);
    expect(await right.pendingOrigins()).toEqual([]);
  });

  it('lets a process that never closes it exit once its writes are done, its commit kept', async () => {
    const tmp = tempDir();
    cleanup.push(tmp.cleanup);
    const path = tmp.file();
    const fixture = fileURLToPath(new URL('./fixtures/worker-no-close.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, path, KEY.toString('base64')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(0);
    const id = out.trim();
    expect(id).toMatch(/^\S+$/);
    const store = await opened(path, false);
    expect((await store.pending({ limit: 10 })).map((r) => r.id)).toEqual([id]);
  }, 30_000);
});

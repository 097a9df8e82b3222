/**
 * One process per SQLite file, across processes: a second process is refused while the first
 * has the file open, however far the first got (opened, writing), and the file stays whole.
 * A process killed with SIGKILL lets go of it (the OS drops a dead process's locks).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqliteStore } from '../src/stores/sqlite/sqlite-store.js';
import { KEY, accept, record, tempDir } from './support/store-fixtures.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** The children's store: `sqliteStore({ worker: true })` when set (the fixtures read it from the environment). */
let childEnv: NodeJS.ProcessEnv = process.env;

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** A child on `fixture`, killed after the test if still running; `lines` gets its stdout lines as they come. */
function child(name: string, args: string[]): { proc: ChildProcessWithoutNullStreams; lines: string[]; next: (count: number) => Promise<void>; exited: Promise<number | string> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', fixture(name), ...args], { stdio: 'pipe', env: childEnv });
  proc.stderr.pipe(process.stderr);
  const lines: string[] = [];
  const waiting: { count: number; resolve: () => void }[] = [];
  let buffered = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
    for (const w of waiting.splice(0)) (lines.length >= w.count ? w.resolve() : waiting.push(w));
  });
  const exited = new Promise<number | string>((resolve) => proc.on('close', (code, signal) => resolve(signal ?? code ?? -1)));
  cleanup.push(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  });
  const next = (count: number) =>
    new Promise<void>((resolve, reject) => {
      if (lines.length >= count) return resolve();
      waiting.push({ count, resolve });
      void exited.then((how) => reject(new Error(`${name} exited with ${how} after ${lines.length} lines, before ${count}`)));
    });
  return { proc, lines, next, exited };
}

/** What a second process's open said: `via` the store's `open()` or a dispatcher's `ready()`. */
async function openFrom(path: string, via: 'store' | 'dispatcher'): Promise<{ ok?: true; code?: string; message?: string }> {
  const b = child('store-opener.ts', [path, KEY.toString('base64'), via]);
  await b.next(1);
  expect(await b.exited).toBe(0);
  return JSON.parse(b.lines[0]!) as { ok?: true; code?: string; message?: string };
}

const refused = expect.objectContaining({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining('the file is in use') });

function integrity(path: string): unknown {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma('integrity_check', { simple: true });
  } finally {
    db.close();
  }
}

// Several child processes start with tsx each: seconds apiece on a loaded two-core machine.
describe.each([{ worker: false }, { worker: true }])('a SQLite file in use by another process (worker thread: $worker)', ({ worker }) => {
  beforeEach(() => {
    childEnv = worker ? { ...process.env, WD_TEST_SQLITE_WORKER: '1' } : process.env;
  });

  it('is refused to a second process while the first keeps writing, stays whole, and opens once the first is killed', async () => {
    const tmp = tempDir();
    cleanup.push(tmp.cleanup);
    const path = tmp.file();
    const a = child('store-writer.ts', [path, KEY.toString('base64'), '50']);
    await a.next(5);
    expect(await openFrom(path, 'dispatcher')).toEqual(refused);
    expect(await openFrom(path, 'store')).toEqual(refused);
    // A is undisturbed: it goes on committing batches after B was refused.
    const seen = a.lines.length;
    await a.next(seen + 10);
    a.proc.kill('SIGKILL');
    expect(await a.exited).toBe('SIGKILL');

    expect(integrity(path)).toBe('ok');
    expect(await openFrom(path, 'dispatcher')).toEqual({ ok: true });
    // Every batch A reported as written is there, ended by the next one (the last maybe not yet).
    const db = new Database(path, { readonly: true });
    const delivered = new Set(db.prepare('SELECT id FROM messages WHERE state = 1').pluck().all() as string[]);
    db.close();
    const acked = a.lines.slice(0, -1).flatMap((line) => line.split(','));
    expect(acked.length).toBeGreaterThanOrEqual(14 * 50);
    expect(acked.filter((id) => !delivered.has(id))).toEqual([]);
  }, 120_000);

  it('is refused to a second process after the first finished opening it, and released by the first dying', async () => {
    const tmp = tempDir();
    cleanup.push(tmp.cleanup);
    const path = tmp.file();
    // Opening goes past every step that touches the file: none may let go of SQLite's lock.
    const a = child('store-opener.ts', [path, KEY.toString('base64'), 'hold']);
    await a.next(1);
    expect(JSON.parse(a.lines[0]!)).toEqual({ ok: true });
    expect(await openFrom(path, 'store')).toEqual(refused);
    a.proc.kill('SIGKILL');
    await a.exited;
    expect(await openFrom(path, 'store')).toEqual({ ok: true });
    expect(integrity(path)).toBe('ok');
  }, 120_000);

  it('stays refused to other processes after a second store in this process failed to open it', async () => {
    const tmp = tempDir();
    cleanup.push(tmp.cleanup);
    const path = tmp.file();
    const first = sqliteStore({ path, encryptionKey: KEY, worker });
    cleanup.push(() => first.close());
    await first.open();
    // The refused open must not touch the file in a way that drops the first store's lock.
    const second = sqliteStore({ path, encryptionKey: KEY, worker });
    await expect(second.open()).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE' });
    expect(await openFrom(path, 'store')).toEqual(refused);
    await first.write([accept(record())]);
    await first.close();
    expect(await openFrom(path, 'store')).toEqual({ ok: true });
  }, 120_000);
});

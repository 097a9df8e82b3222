/**
 * Crash torture: a child process sends at a steady rate on a SQLite store and is killed with
 * SIGKILL at random instants, ten times, restarting on the same file each time; a last run
 * recovers and drains. Every message whose receipt resolved reached the receiver at least once,
 * and the file ends with every message ended once and none pending.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { Receiver } from './receiver.js';

const fixture = fileURLToPath(new URL('./fixtures/durable-sender.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wd-torture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  receipts: string[];
  out: string;
}

/** Starts the sender; kills it `afterMs` after it is ready (or lets a drain run end). */
function runSender(args: string[], afterMs: number | undefined, worker: boolean): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: worker ? { ...process.env, WD_TEST_SQLITE_WORKER: '1' } : process.env });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const before = out;
      out += chunk.toString();
      if (afterMs !== undefined && !before.includes('ready') && out.includes('ready')) setTimeout(() => child.kill('SIGKILL'), afterMs);
    });
    child.on('error', reject);
    child.on('exit', () => {
      // Only whole lines count: a receipt cut mid-line by the kill was never fully reported.
      const receipts = out.split('\n').filter((l) => /^R \S+$/.test(l)).map((l) => l.slice(2));
      resolve({ receipts, out });
    });
  });
}

// `worker`: the sender's store runs its connection on a worker thread (`sqliteStore({ worker: true })`).
describe.each([{ worker: false }, { worker: true }])('crash torture on SQLite (worker thread: $worker)', ({ worker }) => {
  it('loses no message whose receipt resolved, across 10 SIGKILLs at random instants', async () => {
    const received = new Map<string, number>();
    const rx = await Receiver.start((request) => {
      const id = request.headers['webhook-id'] as string;
      received.set(id, (received.get(id) ?? 0) + 1);
      return { kind: 'status', status: 200 };
    });
    rx.keepRequests = false;
    const path = join(dir, `torture-${worker}.db`);
    const key = randomBytes(32).toString('base64');
    const resolved: string[] = [];
    try {
      for (let kill = 0; kill < 10; kill++) {
        const run = await runSender([path, key, rx.url(), 'send', String(kill * 1_000_000)], 150 + Math.floor(Math.random() * 400), worker);
        resolved.push(...run.receipts);
      }
      const drain = await runSender([path, key, rx.url(), 'drain', '0'], undefined, worker);
      expect(drain.out).toMatch(/D accepted=\d+/);
    } finally {
      await rx.stop();
    }
    expect(resolved.length).toBeGreaterThan(200);
    const lost = resolved.filter((id) => !received.has(id));
    expect(lost).toEqual([]);
    const db = new Database(path, { readonly: true });
    // state: 0 pending, 1 delivered, 2 failed. One row per message (the id is its key).
    const states = db.prepare('SELECT state, count(*) AS n FROM messages GROUP BY state').all() as { state: number; n: number }[];
    const rows = (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n;
    db.close();
    expect(states.find((s) => s.state === 0)).toBeUndefined();
    expect(states.find((s) => s.state === 2)).toBeUndefined();
    expect(rows).toBeGreaterThanOrEqual(resolved.length);
    // Duplicates only for messages in flight at a kill: at most concurrency (4) per kill, plus
    // whatever was delivered and not yet committed as ended in the same instant.
    const duplicates = [...received.values()].filter((n) => n > 1).length;
    expect(duplicates).toBeLessThanOrEqual(10 * 4 * 4);
  }, 120_000);
});

/**
 * Three dispatcher processes on one Postgres schema, one killed with SIGKILL while it sends:
 * every message committed by any of them reaches the receiver at least once, and the store
 * ends with exactly one terminal record per message and none pending.
 */
import { childWorker } from './support/child-worker.js';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Receiver } from './receiver.js';
import { PG_URL, dropSchemas, newPool, pgAvailable, pgSkipNote, requirePostgresInCI, schemaName } from './support/postgres.js';

const fixture = fileURLToPath(new URL('./fixtures/pg-worker.ts', import.meta.url));
requirePostgresInCI('dispatcher processes on postgresStore');


describe.skipIf(!pgAvailable)(`dispatcher processes on postgresStore${pgSkipNote}`, () => {
  const schema = schemaName();
  const pool = pgAvailable ? newPool(2) : undefined!;
  afterAll(async () => {
    await pool?.end();
    await dropSchemas([schema]);
  });

  it('one of three killed with SIGKILL mid-send: every committed message delivered, one terminal record each', async () => {
    const received = new Map<string, number>();
    let victimPid = '';
    let victimAlive = true;
    const rx = await Receiver.start((request) => {
      const id = request.headers['webhook-id'] as string;
      received.set(id, (received.get(id) ?? 0) + 1);
      // The victim's deliveries hang from its 40th message on while it lives (only it holds its
      // messages then): at the kill they are in flight or queued, and only a takeover delivers them.
      const [, pid, i] = id.split('-');
      if (victimAlive && pid === victimPid && Number(i) >= 40) return { kind: 'hang' };
      return { kind: 'status', status: 200 };
    });
    rx.keepRequests = false;
    const key = randomBytes(32).toString('base64');
    const workers = [0, 1, 2].map(() => childWorker(fixture, [PG_URL, schema, key, rx.url(), '300']));
    try {
      await Promise.all(workers.map((w) => w.until(() => w.out.includes('ready'))));
      const victim = workers[0]!;
      victimPid = String(victim.child.pid);
      await new Promise<void>((resolve) => {
        const check = () => (victim.lines('R').length >= 60 ? resolve() : setImmediate(check));
        check();
      });
      victimAlive = false;
      victim.child.kill('SIGKILL');
      await victim.exited;
      const survivors = workers.slice(1);
      await Promise.all(survivors.map((w) => w.until(() => w.out.includes('sent'))));
      const committed = workers.flatMap((w) => w.lines('R').map(([id]) => id!));
      // The victim's messages come back when its leases lapse (1 s), to whichever survivor claims them.
      await vi.waitFor(async () => {
        const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".messages WHERE state = 0`);
        expect(rows[0]!.n).toBe(0);
      }, { timeout: 20_000, interval: 100 });
      expect(committed.filter((id) => !received.has(id))).toEqual([]);
      const { rows } = await pool.query<{ state: number; n: number }>(`SELECT state, count(*)::int AS n FROM "${schema}".messages GROUP BY state`);
      expect(rows).toEqual([{ state: 1, n: expect.any(Number) }]);
      expect(rows[0]!.n).toBeGreaterThanOrEqual(committed.length);
      // One terminal event per message among the survivors (the victim's events died with it).
      const ended = survivors.flatMap((w) => w.lines('E').map(([id]) => id!));
      expect(new Set(ended).size).toBe(ended.length);
      const takenOver = survivors.flatMap((w) => w.out.split('\n').filter((l) => l.startsWith('E ') && l.includes(`evt-${victimPid}-`)));
      expect(takenOver.length).toBeGreaterThanOrEqual(20);
      const duplicates = [...received.values()].filter((n) => n > 1).length;
      // Sent twice only if in flight at the kill: at most its concurrency (4) and what was being recorded.
      expect(duplicates).toBeGreaterThanOrEqual(1);
      expect(duplicates).toBeLessThanOrEqual(20);
      for (const w of survivors) w.child.kill('SIGTERM');
      await Promise.all(survivors.map((w) => w.exited));
      console.log(`processes: ${committed.length} committed, ${received.size} received, ${takenOver.length} taken over from the killed one, ${duplicates} sent twice`);
    } finally {
      for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await rx.stop();
    }
  });
});

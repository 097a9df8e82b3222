/**
 * Two dispatcher processes on one Postgres schema (`leaseMs` 1,000); one is stopped with
 * SIGSTOP mid-queue, for as long as it takes the other to take over its messages and deliver
 * ten of them, then resumed with SIGCONT. Every message ends in exactly one terminal event
 * across both processes, and the receiver sees twice only attempts that were in flight at the
 * stall: the stalled process sends nothing it lost, and emits nothing for it.
 */
import { childWorker } from './support/child-worker.js';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PG_URL, dropSchemas, pgAvailable, pgSkipNote, requirePostgresInCI, schemaName } from './support/postgres.js';

const fixture = fileURLToPath(new URL('./fixtures/pg-stall-worker.ts', import.meta.url));
requirePostgresInCI('a dispatcher process stalled past its lease');

const COUNT = 50;
/** How long the receiver takes to answer: the queue drains slowly, so the stall finds one. */
const ANSWER_MS = 200;


/** One request as the receiver saw it: whose, and when it was answered. */
interface Arrival {
  id: string;
  from: string;
  arrivedAt: number;
}

describe.skipIf(!pgAvailable)(`a dispatcher process stalled past its lease${pgSkipNote}`, () => {
  const schemas: string[] = [];
  afterAll(() => dropSchemas(schemas));

  it('SIGSTOP for several leaseMs mid-queue, then SIGCONT: one terminal event per message across both; only in-flight attempts repeated', async () => {
    const schema = schemaName();
    schemas.push(schema);
    const arrivals: Arrival[] = [];
    const server: Server = createServer((req, res) => {
      arrivals.push({ id: String(req.headers['webhook-id']), from: String(req.headers['user-agent']), arrivedAt: Date.now() });
      req.resume();
      req.on('end', () => setTimeout(() => res.end('ok'), ANSWER_MS));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const key = randomBytes(32).toString('base64');
    const a = childWorker(fixture, [PG_URL, schema, key, target, String(COUNT), 'a']);
    const b = childWorker(fixture, [PG_URL, schema, key, target, '0', 'b']);
    try {
      await Promise.all([a.until(() => a.out.includes('sent')), b.until(() => b.out.includes('ready'))]);
      const fromA = () => arrivals.filter((x) => x.from === 'wd-a');
      await a.until(() => a.lines('E').length >= 6);

      a.child.kill('SIGSTOP');
      // What the stalled process had ended by then (its output may lag: this errs towards more).
      const endedBeforeStall = new Set(a.lines('E').map(([id]) => id));
      const stoppedAt = Date.now();
      // Stalled until the other process has taken over and delivered ten of its messages: the
      // leases lapsed (a second each) well before.
      await b.until(() => b.lines('E').length >= 10);
      const stalledMs = Date.now() - stoppedAt;
      a.child.kill('SIGCONT');
      const resumedAt = Date.now();

      const committed = a.lines('R').map(([id]) => id!);
      expect(committed).toHaveLength(COUNT);
      const ended = () => new Set([...a.lines('E'), ...b.lines('E')].map(([id]) => id));
      // Either process's output may bring the last end: both are watched.
      await Promise.race([a.until(() => committed.every((id) => ended().has(id))), b.until(() => committed.every((id) => ended().has(id)))]);
      // Both drain and exit: any late (second) terminal event is printed before that.
      for (const w of [a, b]) w.child.kill('SIGTERM');
      await Promise.all([a.exited, b.exited]);

      const terminals = new Map<string, number>();
      for (const [id] of [...a.lines('E'), ...b.lines('E')]) terminals.set(id!, (terminals.get(id!) ?? 0) + 1);
      const perMessage = committed.map((id) => terminals.get(id) ?? 0);
      // In flight at the stall: the stalled process's attempts that reached the receiver before it
      // resumed (it sent them before it stopped) and that it had not ended by then (the answer
      // may have come, but the end was not written: the store still held the message as pending).
      const inFlight = new Set(fromA().filter((x) => x.arrivedAt < resumedAt && !endedBeforeStall.has(x.id)).map((x) => x.id));
      const seen = new Map<string, number>();
      for (const x of arrivals) seen.set(x.id, (seen.get(x.id) ?? 0) + 1);
      const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
      // Sent by the stalled process after it resumed, of a message the other one took: none.
      const aAfter = fromA().filter((x) => x.arrivedAt >= resumedAt && twice.includes(x.id));
      console.log(
        `stall ${stalledMs} ms; terminal events per message: ${JSON.stringify(Object.fromEntries([...new Set(perMessage)].map((n) => [n, perMessage.filter((m) => m === n).length])))}; ` +
          `by a ${a.lines('E').length}, by b ${b.lines('E').length}; arrivals ${arrivals.length} for ${seen.size} messages, ${twice.length} twice (in flight at the stall: ${inFlight.size}); resumed after ${Date.now() - resumedAt} ms`,
      );
      expect(new Set(perMessage)).toEqual(new Set([1]));
      expect(terminals.size).toBe(COUNT);
      expect(seen.size).toBe(COUNT);
      for (const id of twice) {
        expect(inFlight.has(id), `${id} reached the receiver twice but was not in flight at the stall`).toBe(true);
        expect(seen.get(id)).toBe(2);
      }
      expect(aAfter).toEqual([]);
      // Two attempts at a time (`concurrency` 2), and answers whose ends were being written.
      expect(inFlight.size).toBeLessThanOrEqual(4);
    } finally {
      for (const w of [a, b]) {
        w.child.kill('SIGCONT');
        w.child.kill('SIGKILL');
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    }
  }, 60_000);
});

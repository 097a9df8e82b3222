/**
 * An answer that arrived in time is not a timeout because the app's own code held the event
 * loop past the deadline: timers run before the loop reads sockets, so the deadline check must
 * wait for one poll phase.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { Terminals, newSecret, testDispatcher } from './helpers.js';
import { ManualClock } from './support/clock.js';

const TIMEOUT_MS = 100;

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

/** Holds the thread, as a synchronous stretch of the app would. */
function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

it('delivers an answer that arrived in time while the app blocked the event loop past the deadline', async () => {
  const clock = new ManualClock(Date.now());
  const server = http.createServer((_req, res) => {
    // The answer is in the client's socket; then the app holds the loop, and the deadline falls
    // due in the next timers phase, which runs before the loop reads that socket.
    res.end('ok');
    setTimeout(() => clock.advance(TIMEOUT_MS + 1), 0);
    blockFor(5);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => server.close(resolve)));
  server.unref();
  const d = testDispatcher({ timeoutMs: TIMEOUT_MS, retry: { attempts: 1 } }, { clock });
  cleanup.push(() => d.close());
  const t = new Terminals(d);
  await d.send({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, secret: newSecret() }, { type: 't', data: 1 });
  await d.onIdle();
  expect(t.failed.map((f) => f.error?.code ?? f.reason)).toEqual([]);
  expect(t.delivered).toHaveLength(1);
});

/**
 * An answer that arrived in time is not a timeout because the app's own code held the event
 * loop past the deadline: timers run before the loop reads sockets, so the deadline check must
 * wait for one poll phase.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { Terminals, newSecret, testDispatcher } from './helpers.js';

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
  const server = http.createServer((_req, res) => {
    // The answer is in the client's socket before the block starts; the block outlasts the deadline.
    res.end('ok');
    blockFor(250);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => server.close(resolve)));
  server.unref();
  const d = testDispatcher({ timeoutMs: 100, retry: { attempts: 1 } });
  cleanup.push(() => d.close());
  const t = new Terminals(d);
  await d.send({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, secret: newSecret() }, { type: 't', data: 1 });
  await d.onIdle();
  expect(t.failed.map((f) => f.error?.code ?? f.reason)).toEqual([]);
  expect(t.delivered).toHaveLength(1);
});

/**
 * The dashboard's API says which dead letters were replayed, over real HTTP on 127.0.0.1 with a
 * real receiver: `replayedAs` and `replayedAt` on a dead letter (`null` when never replayed),
 * and `replayedAs` in the original's history. The page reads these to show "Replayed as" in
 * place of a second Replay button (test/dashboard.browser.test.ts clicks through it).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { dashboard } from '../src/dashboard/index.js';
import { newSecret, scoped } from './helpers.js';
import { ok, status } from './receiver.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const ADMIN = { cookie: 'session=admin' };

describe('the dashboard API on a replayed dead letter', () => {
  const { receiver, dispatcher: newDispatcher } = scoped();

  it('dead-letters shows replayedAs and replayedAt, null on the others; the history of the original names its replay', async () => {
    let fixed = false;
    const target = await receiver(() => (fixed ? ok : status(422, undefined, 'unknown customer')));
    const dispatcher = newDispatcher();
    const secret = newSecret();
    const [one, two] = [await dispatcher.send({ url: target.url(), secret }, { type: 'invoice.paid', data: 1 }), await dispatcher.send({ url: target.url(), secret }, { type: 'invoice.paid', data: 2 })];
    await dispatcher.onIdle();
    fixed = true;

    const handler = dashboard(dispatcher, { authorize: (req) => req.headers.cookie === 'session=admin' });
    const server = http.createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => handler.close(), () => new Promise<void>((resolve) => server.close(() => resolve())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const get = async <T>(path: string) => (await (await fetch(`${base}${path}`, { headers: ADMIN })).json()) as T;

    const replay = await fetch(`${base}/api/replay`, {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json', 'x-webhook-dashboard': '1', origin: base },
      body: JSON.stringify({ ids: [one.messageId] }),
    });
    const { results } = (await replay.json()) as { results: { ok: boolean; messageId: string }[] };
    expect(results).toEqual([{ id: one.messageId, ok: true, messageId: expect.any(String) }]);
    const as = results[0]!.messageId;

    type Page = { items: { messageId: string; replayedAs: string | null; replayedAt: string | null }[] };
    const { items } = await get<Page>('/api/dead-letters');
    const byId = Object.fromEntries(items.map((d) => [d.messageId, d]));
    expect(byId[one.messageId]).toMatchObject({ replayedAs: as, replayedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(byId[two.messageId]).toMatchObject({ replayedAs: null, replayedAt: null });
    expect(await get(`/api/messages/${one.messageId}`)).toMatchObject({ messageId: one.messageId, state: 'failed', replayedAs: as });
    expect(await get(`/api/messages/${two.messageId}`)).toMatchObject({ replayedAs: null });
    await dispatcher.onIdle();
    expect(target.count).toBe(3);
  });
});

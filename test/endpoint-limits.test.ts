/**
 * What holds one endpoint of a host without holding the others: its own `rateLimit` (counted on
 * a manual clock and a fake transport: exact, no wall clock) and its own breaker (a real
 * receiver on 127.0.0.1 whose /bad answers 500 while /good answers 200).
 */
import { describe, expect, it } from 'vitest';
import { Dispatcher, type BreakerChange, type DispatcherOptions, type WebhookError } from '../src/index.js';
import { ManualClock } from './support/clock.js';
import { FakeTransport } from './support/fake-transport.js';
import { maxInWindow } from './support/windows.js';
import { newSecret, scoped } from './helpers.js';
import { ok, status } from './receiver.js';

const secret = newSecret();
const HOST = 'http://hooks.test';
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Sends `perPath` messages to each path (with `limit` on each endpoint), answers every request
 * at once and moves the manual clock 10 ms at a time until all are answered. Returns each
 * path's send times (ms from the start).
 */
async function run(options: DispatcherOptions, paths: string[], perPath: number, limit?: { perSecond: number; burst?: number }) {
  const clock = new ManualClock();
  const transport = new FakeTransport();
  const d = new Dispatcher({ allowPrivateNetworks: true, concurrency: 50, ...options }, { clock, transport: () => transport });
  const start = clock.now();
  for (let i = 0; i < perPath; i++) {
    for (const p of paths) await d.send({ url: `${HOST}${p}`, secret, ...(limit ? { rateLimit: limit } : {}) }, { type: 't', data: i });
  }
  const sent = new Map<string, number[]>(paths.map((p) => [p, []]));
  let answered = 0;
  const total = perPath * paths.length;
  for (let step = 0; answered < total && step < 10_000; step++) {
    await settle();
    for (const r of [...transport.open]) {
      sent.get(r.path)!.push(clock.now() - start);
      r.answer({ status: 200 });
      answered++;
    }
    await settle();
    clock.advance(10);
  }
  await d.close();
  return { sent, lastAt: Math.max(...[...sent.values()].flat()) };
}

describe('rateLimit on an endpoint', () => {
  it('two endpoints at 5/s each get 5 (+ burst) per second each, and finish in about half the time one shared 5/s limit takes', async () => {
    const each = await run({}, ['/a', '/b'], 20, { perSecond: 5, burst: 1 });
    for (const p of ['/a', '/b']) {
      expect(each.sent.get(p)).toHaveLength(20);
      expect(maxInWindow(each.sent.get(p)!, 1_000)).toBeLessThanOrEqual(6);
      // Not slower than the limit either: 20 at 5/s after a burst of 1 take (20 - 1) / 5 s.
      expect(maxInWindow(each.sent.get(p)!, 1_000)).toBeGreaterThanOrEqual(5);
    }
    const shared = await run({ rateLimit: { perSecond: 5, burst: 1 } }, ['/a', '/b'], 20);
    expect(maxInWindow([...shared.sent.values()].flat().sort((x, y) => x - y), 1_000)).toBeLessThanOrEqual(6);
    const ratio = each.lastAt / shared.lastAt;
    expect(ratio).toBeGreaterThan(0.4);
    expect(ratio).toBeLessThan(0.6);
  });

  it('never lets the host limit be exceeded, whatever the endpoints allow', async () => {
    const { sent } = await run({ rateLimit: { perSecond: 5, burst: 2 } }, ['/a', '/b', '/c'], 10, { perSecond: 100, burst: 50 });
    const all = [...sent.values()].flat().sort((x, y) => x - y);
    expect(all).toHaveLength(30);
    expect(maxInWindow(all, 1_000)).toBeLessThanOrEqual(7);
  });

  it('an endpoint waiting for its permit does not hold another endpoint of its host', async () => {
    const clock = new ManualClock();
    const transport = new FakeTransport();
    const d = new Dispatcher({ allowPrivateNetworks: true, concurrency: 1, queueCapacity: 1_000 }, { clock, transport: () => transport });
    for (let i = 0; i < 10; i++) await d.send({ url: `${HOST}/slow`, secret, rateLimit: { perSecond: 1, burst: 1 } }, { type: 't', data: i });
    for (let i = 0; i < 10; i++) await d.send({ url: `${HOST}/fast`, secret }, { type: 't', data: i });
    const paths: string[] = [];
    // No clock movement: /slow has its one permit, /fast is never parked.
    for (let i = 0; i < 20 && transport.open.size > 0; i++) {
      const [r] = transport.open;
      paths.push(r!.path);
      r!.answer({ status: 200 });
      await settle();
    }
    expect(paths.filter((p) => p === '/slow')).toHaveLength(1);
    expect(paths.filter((p) => p === '/fast')).toHaveLength(10);
    // Visible: the held endpoint and the room it holds; /fast, done and unlimited, has no state left.
    expect(d.stats().hosts[HOST]).toMatchObject({ queued: 9, endpoints: 1, endpointsHeld: 1, held: [{ url: `${HOST}/slow`, why: 'rate', queued: 9 }], busiest: { url: `${HOST}/slow`, queued: 9, share: 9 / 1_000 } });
    clock.advance(1_000);
    await settle();
    expect(transport.open.size).toBe(1);
    await d.close();
  });

  it('is refused with WD_INVALID_ENDPOINT when malformed, with the host option\'s ranges', async () => {
    const d = new Dispatcher({ allowPrivateNetworks: true }, { clock: new ManualClock(), transport: () => new FakeTransport() });
    for (const rateLimit of [{ perSecond: 0 }, { perSecond: 'x' }, { perSecond: 1, burst: -1 }, { perSecond: 1, rate: 2 }, 7, { burst: 1 }]) {
      const error = await d.send({ url: `${HOST}/a`, secret, rateLimit } as never, { type: 't', data: 1 }).then(() => undefined, (e: WebhookError) => e);
      expect(error?.code).toBe('WD_INVALID_ENDPOINT');
      expect(error?.message).toMatch(/rateLimit/);
    }
    expect((await d.send({ url: `${HOST}/a`, secret, rateLimit: { perSecond: 0.01 } }, { type: 't', data: 1 })).origin).toBe(HOST);
    await d.close();
  });
});

describe('breakers per endpoint', () => {
  const { receiver, dispatcher } = scoped();

  it("/bad's 500s open its own breaker; /good on the same host is delivered at once", async () => {
    const r = await receiver((req) => (req.url.startsWith('/bad') ? status(500) : ok));
    // One at a time: nothing of /bad's is in flight when its breaker opens, so its count is exact.
    const d = dispatcher({ concurrency: 1, breaker: { failureThreshold: 2, cooldownMs: 60_000 }, retry: { attempts: 5, baseDelayMs: 1, maxDelayMs: 5 } });
    const changes: BreakerChange[] = [];
    d.on('breaker', (e) => changes.push(e));
    const opened = new Promise<void>((resolve) => d.on('breaker', (e) => e.state === 'open' && resolve()));
    for (let i = 0; i < 3; i++) await d.send({ url: r.url('/bad'), secret }, { type: 't', data: i });
    await opened;
    const badCount = r.count;
    const started = Date.now();
    let delivered = 0;
    const all = new Promise<void>((resolve) => d.on('delivered', () => ++delivered === 10 && resolve()));
    for (let i = 0; i < 10; i++) await d.send({ url: r.url('/good'), secret }, { type: 't', data: i });
    await all;
    // Held for 60 s by a host breaker, they would not be delivered at all within this test.
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(changes).toEqual([{ origin: r.origin, state: 'open', url: r.url('/bad') }]);
    expect(d.stats().hosts[r.origin]).toMatchObject({ breaker: 'closed', endpointsHeld: 1, held: [{ url: r.url('/bad'), why: 'breaker', queued: 3 }] });
    // /bad sends nothing while its breaker is open.
    expect(r.count).toBe(badCount + 10);
  });

  it('failures across several endpoints open the host breaker: each endpoint breaker that opens counts one', async () => {
    const clock = new ManualClock(undefined, [0, 0, 0, 0, 0, 0]);
    const transport = new FakeTransport();
    const d = new Dispatcher({ allowPrivateNetworks: true, concurrency: 1, breaker: { failureThreshold: 2, cooldownMs: 1_000 }, retry: { attempts: 10, baseDelayMs: 10, maxDelayMs: 10 } }, { clock, transport: () => transport });
    const changes: BreakerChange[] = [];
    d.on('breaker', (e) => changes.push(e));
    for (const p of ['/a', '/a', '/b', '/b']) await d.send({ url: `${HOST}${p}`, secret }, { type: 't', data: p });
    for (let i = 0; i < 4; i++) {
      const [r] = transport.open;
      r!.answer({ status: 500 });
      await settle();
    }
    expect(changes).toEqual([
      { origin: HOST, state: 'open', url: `${HOST}/a` },
      { origin: HOST, state: 'open', url: `${HOST}/b` },
      { origin: HOST, state: 'open' },
    ]);
    expect(d.stats().hosts[HOST]!.breaker).toBe('open');
    await d.close();
  });

  it('connection failures are the host\'s: they open its breaker, not the endpoint\'s', async () => {
    const clock = new ManualClock();
    const transport = new FakeTransport();
    const d = new Dispatcher({ allowPrivateNetworks: true, concurrency: 1, breaker: { failureThreshold: 2, cooldownMs: 1_000 } }, { clock, transport: () => transport });
    const changes: BreakerChange[] = [];
    d.on('breaker', (e) => changes.push(e));
    for (const p of ['/a', '/b']) await d.send({ url: `${HOST}${p}`, secret }, { type: 't', data: p });
    for (let i = 0; i < 2; i++) {
      const [r] = transport.open;
      r!.answer({ error: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' } });
      await settle();
    }
    expect(changes).toEqual([{ origin: HOST, state: 'open' }]);
    await d.close();
  });
});

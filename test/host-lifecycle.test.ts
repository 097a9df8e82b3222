/** Hosts come and go: what an idle host costs, when it is dropped, and the cap on how many there are. */
import { describe, expect, it } from 'vitest';
import { Dispatcher } from '../src/index.js';
import { ManualClock } from './support/clock.js';
import { FakeTransport } from './support/fake-transport.js';

const secret = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;

function fakeDispatcher(options: ConstructorParameters<typeof Dispatcher>[0] = {}) {
  const clock = new ManualClock();
  const transports = new Map<string, FakeTransport>();
  const d = new Dispatcher(
    { allowPrivateNetworks: true, ...options },
    {
      clock,
      transport: (origin) => {
        const t = new FakeTransport();
        transports.set(origin, t);
        return t;
      },
    },
  );
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  return { d, clock, transports, settle };
}

describe('idle hosts', () => {
  it('1,000 dead hosts whose breakers opened are all dropped once idle, not held forever', async () => {
    const { d, clock, transports, settle } = fakeDispatcher({ retry: { attempts: 1 }, breaker: { failureThreshold: 1, cooldownMs: 600_000 }, idleTimeoutMs: 60_000 });
    for (let i = 0; i < 1_000; i++) await d.send({ url: `http://h${i}.test/x`, secret }, { type: 't', data: i });
    for (const t of transports.values()) for (const r of [...t.open]) r.answer({ error: { code: 'ECONNREFUSED', message: 'refused' } });
    await settle();
    await d.onIdle();
    expect(Object.values(d.stats().hosts).filter((h) => h.breaker === 'open')).toHaveLength(1_000);
    clock.advance(60_000);
    expect(Object.keys(d.stats().hosts)).toHaveLength(0);
    await d.close();
  });

  it('an idle rate-limited host holds no timer', async () => {
    const { d, clock, transports, settle } = fakeDispatcher({ rateLimit: { perSecond: 100, burst: 10 }, idleTimeoutMs: 600_000 });
    // The store's pruning timer exists before any host does.
    const before = clock.pendingTimers;
    for (let i = 0; i < 100; i++) await d.send({ url: `http://h${i}.test/x`, secret }, { type: 't', data: i });
    for (const t of transports.values()) for (const r of [...t.open]) r.answer({ status: 200 });
    await settle();
    await d.onIdle();
    // Only the router's one sweep timer is left: no per-host timer ticks while nothing is queued.
    expect(clock.pendingTimers - before).toBe(1);
    await d.close();
  });
});

describe('maxHosts', () => {
  it('refuses a send to a new host beyond the cap with WD_QUEUE_FULL, and takes it again once an idle host is dropped', async () => {
    const { d, clock, transports, settle } = fakeDispatcher({ maxHosts: 2, idleTimeoutMs: 1_000 });
    await d.send({ url: 'http://a.test/x', secret }, { type: 't', data: 1 });
    await d.send({ url: 'http://b.test/x', secret }, { type: 't', data: 1 });
    // A known host is still served.
    await d.send({ url: 'http://a.test/x', secret }, { type: 't', data: 2 });
    await expect(d.send({ url: 'http://c.test/x', secret }, { type: 't', data: 1 })).rejects.toMatchObject({ code: 'WD_QUEUE_FULL', message: expect.stringContaining('maxHosts') });
    for (const t of transports.values()) for (const r of [...t.open]) r.answer({ status: 200 });
    await settle();
    for (const r of [...transports.get('http://a.test')!.open]) r.answer({ status: 200 });
    await settle();
    await d.onIdle();
    clock.advance(1_000);
    await expect(d.send({ url: 'http://c.test/x', secret }, { type: 't', data: 1 })).resolves.toMatchObject({ origin: 'http://c.test' });
    await d.close();
  });
});

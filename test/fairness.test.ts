/**
 * Fairness between hosts, proven by counts on a manual clock: a flood to a dead host shares the
 * event loop with a healthy, rate-limited host, and the healthy host still gets exactly what its
 * rate earns in clock time. A shared queue, or work per send that grows with another host's
 * backlog, would break the counts, whatever the machine's speed.
 */
import { describe, expect, it } from 'vitest';
import { Dispatcher } from '../src/index.js';
import { ManualClock } from './support/clock.js';
import { FakeTransport } from './support/fake-transport.js';

const secret = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
const HEALTHY = 'http://healthy.test';
const DEAD = 'http://dead.test';

describe('a flood to a dead host', () => {
  it('takes nothing from a healthy host: it sends exactly burst + perSecond · t, answered or not', async () => {
    const clock = new ManualClock();
    const transports = new Map<string, FakeTransport>();
    const perSecond = 100;
    const burst = 10;
    const capacity = 1_000;
    const d = new Dispatcher(
      { allowPrivateNetworks: true, queueCapacity: capacity, endpointQueueShare: 1, concurrency: 4, hosts: { [HEALTHY]: { rateLimit: { perSecond, burst }, queueCapacity: 10_000 } } },
      {
        clock,
        // Names resolve nowhere: the fake transport never connects.
        transport: (origin) => {
          const t = new FakeTransport();
          transports.set(origin, t);
          return t;
        },
      },
    );
    const healthy = { url: `${HEALTHY}/hook`, secret };
    const dead = { url: `${DEAD}/hook`, secret };
    for (let i = 0; i < 2_000; i++) await d.send(healthy, { type: 'healthy', data: i });
    let refused = 0;
    const rounds = 200;
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < 500; i++) {
        try {
          await d.send(dead, { type: 'flood', data: i });
        } catch (error) {
          if ((error as { code?: string }).code === 'WD_QUEUE_FULL') refused++;
        }
      }
      // The healthy host's receiver answers everything at once; the dead one never answers.
      for (const r of [...transports.get(HEALTHY)!.open]) r.answer({ status: 204 });
      await new Promise((resolve) => setImmediate(resolve));
      clock.advance(5);
    }
    const elapsedMs = rounds * 5;
    expect(refused).toBe(rounds * 500 - capacity - 4);
    expect(transports.get(DEAD)!.requests).toHaveLength(4);
    // The first `burst` go at once; then one per 10 ms of clock time.
    const expected = burst + (perSecond * elapsedMs) / 1000;
    expect(transports.get(HEALTHY)!.requests.length).toBeGreaterThanOrEqual(expected - 1);
    expect(transports.get(HEALTHY)!.requests.length).toBeLessThanOrEqual(expected);
    await d.close();
  });
});

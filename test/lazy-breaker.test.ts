/**
 * The breaker is made at a host's first failure. Attempts already in flight then carry the
 * ticket they got without one, and must count exactly as they would against a breaker made
 * with the host; successes before it must not be lost either. A host with the breaker off
 * never gets one.
 *
 * `stats()` reports `closed` both for a closed breaker and for none at all, so the breaker
 * module is wrapped to count the breakers made: the real class, counted.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { actorHarness } from './support/actor-harness.js';

const reset = { error: { code: 'ECONNRESET', message: 'socket hang up' } } as const;

const made = vi.hoisted(() => ({ count: 0 }));
vi.mock('../src/delivery/circuit-breaker.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/delivery/circuit-breaker.js')>();
  class CountedBreaker extends real.CircuitBreaker {
    constructor(...args: ConstructorParameters<typeof real.CircuitBreaker>) {
      super(...args);
      made.count++;
    }
  }
  return { ...real, CircuitBreaker: CountedBreaker };
});

describe('breaker made at the first failure', () => {
  beforeEach(() => void (made.count = 0));

  // Connection resets: the host's failures (a 5xx is its endpoint's, and makes the endpoint's breaker).
  it('is not made before a failure; counts the failures of attempts sent before it existed, and opens at the threshold', async () => {
    const h = actorHarness({ concurrency: 3, breaker: { failureThreshold: 3, cooldownMs: 1_000 }, retry: { attempts: 5, baseDelayMs: 10, maxDelayMs: 10 } }, [0, 0, 0, 0]);
    for (let i = 0; i < 4; i++) h.send();
    expect(h.actor.stats()).toMatchObject({ inFlight: 3, breaker: 'closed' });
    expect(made.count).toBe(0);
    h.transport.requests[0]!.answer(reset);
    await h.settle();
    expect(made.count).toBe(1);
    for (const r of h.transport.requests.slice(1, 3)) r.answer(reset);
    await h.settle();
    expect(made.count).toBe(1);
    expect(h.reports.filter((r) => r.kind === 'breaker')).toEqual([{ kind: 'breaker', state: 'open' }]);
    // Open: the fourth message waits, no request goes out until the cooldown ends.
    expect(h.transport.requests).toHaveLength(4);
    h.clock.advance(999);
    expect(h.transport.requests).toHaveLength(4);
  });

  it('a success after the first failure resets the count, as with a breaker made up front', async () => {
    const h = actorHarness({ concurrency: 3, breaker: { failureThreshold: 2, cooldownMs: 1_000 }, retry: { attempts: 5, baseDelayMs: 10_000, maxDelayMs: 10_000 } }, [0.5, 0.5, 0.5]);
    for (let i = 0; i < 3; i++) h.send();
    h.transport.requests[0]!.answer(reset);
    await h.settle();
    h.transport.requests[1]!.answer({ status: 200 });
    await h.settle();
    h.transport.requests[2]!.answer(reset);
    await h.settle();
    expect(made.count).toBe(1);
    expect(h.actor.stats().breaker).toBe('closed');
    expect(h.reports.filter((r) => r.kind === 'breaker')).toEqual([]);
  });

  it('never makes one for a host with the breaker off: more failures in a row than the default threshold all go out', async () => {
    const h = actorHarness({ concurrency: 2, breaker: false });
    // Twice the default threshold (5): a breaker made anyway, with the defaults, would open
    // and hold the rest.
    const n = 10;
    for (let i = 0; i < n; i++) h.send({ attempts: 1 });
    while (h.transport.open.size > 0) {
      for (const r of [...h.transport.open]) r.answer({ status: 500 });
      await h.settle();
    }
    expect(made.count).toBe(0);
    expect(h.transport.requests).toHaveLength(n);
    expect(h.reports.filter((r) => r.kind === 'failed')).toHaveLength(n);
    expect(h.reports.filter((r) => r.kind === 'breaker')).toEqual([]);
    expect(h.actor.stats().breaker).toBe('closed');
  });
});

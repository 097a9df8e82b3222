/**
 * The breaker is made at a host's first failure. Attempts already in flight then carry the
 * ticket they got without one, and must count exactly as they would against a breaker made
 * with the host; successes before it must not be lost either.
 */
import { describe, expect, it } from 'vitest';
import { actorHarness } from './support/actor-harness.js';

describe('breaker made at the first failure', () => {
  it('counts the failures of attempts sent before it existed, and opens at the threshold', async () => {
    const h = actorHarness({ concurrency: 3, breaker: { failureThreshold: 3, cooldownMs: 1_000 }, retry: { attempts: 5, baseDelayMs: 10, maxDelayMs: 10 } }, [0, 0, 0, 0]);
    for (let i = 0; i < 4; i++) h.send();
    expect(h.actor.stats()).toMatchObject({ inFlight: 3, breaker: 'closed' });
    for (const r of h.transport.requests.slice(0, 3)) r.answer({ status: 503 });
    await h.settle();
    expect(h.reports.filter((r) => r.kind === 'breaker')).toEqual([{ kind: 'breaker', state: 'open' }]);
    // Open: the fourth message waits, no request goes out until the cooldown ends.
    expect(h.transport.requests).toHaveLength(4);
    h.clock.advance(999);
    expect(h.transport.requests).toHaveLength(4);
  });

  it('a success after the first failure resets the count, as with a breaker made up front', async () => {
    const h = actorHarness({ concurrency: 3, breaker: { failureThreshold: 2, cooldownMs: 1_000 }, retry: { attempts: 5, baseDelayMs: 10_000, maxDelayMs: 10_000 } }, [0.5, 0.5, 0.5]);
    for (let i = 0; i < 3; i++) h.send();
    h.transport.requests[0]!.answer({ status: 500 });
    await h.settle();
    h.transport.requests[1]!.answer({ status: 200 });
    await h.settle();
    h.transport.requests[2]!.answer({ status: 500 });
    await h.settle();
    expect(h.actor.stats().breaker).toBe('closed');
    expect(h.reports.filter((r) => r.kind === 'breaker')).toEqual([]);
  });

  it('never makes one for a host with the breaker off', async () => {
    const h = actorHarness({ concurrency: 2, breaker: false, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    for (let i = 0; i < 2; i++) h.send();
    for (const r of h.transport.requests.slice(0, 2)) r.answer({ status: 500 });
    await h.settle();
    expect(h.actor.stats().breaker).toBe('closed');
    expect(h.reports.filter((r) => r.kind === 'breaker')).toEqual([]);
  });
});

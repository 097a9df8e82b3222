/**
 * The host actor's gates, driven on a manual clock and a fake transport: each test names the
 * gate, moves time by hand, and checks what was sent and reported. No network, no sleeps.
 */
import { describe, expect, it } from 'vitest';
import { actorHarness } from './support/actor-harness.js';

const ok = { status: 200 } as const;
const fail500 = { status: 500 } as const;
const refused = { error: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' } } as const;

describe('concurrency gate', () => {
  it('keeps at most `concurrency` in flight and sends the next as each answer lands', async () => {
    const h = actorHarness({ concurrency: 2 });
    for (let i = 0; i < 5; i++) h.send();
    expect(h.sent()).toEqual([0, 1]);
    h.transport.requests[0]!.answer(ok);
    await h.settle();
    expect(h.sent()).toEqual([0, 1, 2]);
    expect(h.actor.stats()).toMatchObject({ queued: 2, inFlight: 2 });
  });
});

describe('transport seam', () => {
  it('hands a transport with `sendTo` the attempt itself as listener, and one without a callback: the same outcomes either way', async () => {
    const outcomes = [];
    for (const listens of [true, false]) {
      const h = actorHarness({ concurrency: 2 }, [0.5], listens);
      for (let i = 0; i < 3; i++) h.send();
      h.transport.requests[0]!.answer(ok);
      h.transport.requests[1]!.answer({ status: 503 });
      await h.settle();
      h.transport.requests[2]!.answer(refused);
      await h.settle();
      expect(h.transport.calls).toEqual(listens ? { send: 0, sendTo: 3 } : { send: 3, sendTo: 0 });
      expect(h.actor.stats()).toMatchObject({ queued: 0, inFlight: 0, waiting: 2 });
      outcomes.push(h.reports.map((r) => ({ ...r, id: undefined })));
    }
    expect(outcomes[0]).toEqual(outcomes[1]);
    expect(outcomes[0]!.map((r) => r.kind)).toEqual(['delivered', 'retrying', 'retrying']);
  });
});

describe('rate gate', () => {
  it('sends the burst at once, then one per 1/perSecond, woken by its own timer', async () => {
    const h = actorHarness({ rateLimit: { perSecond: 10, burst: 2 }, concurrency: 100 });
    for (let i = 0; i < 6; i++) h.send();
    expect(h.transport.requests).toHaveLength(2);
    expect(h.clock.nextTimerAt! - h.clock.now()).toBe(100);
    h.clock.advance(99);
    expect(h.transport.requests).toHaveLength(2);
    h.clock.advance(1);
    expect(h.transport.requests).toHaveLength(3);
    h.clock.advance(300);
    expect(h.transport.requests).toHaveLength(6);
    // Nothing left to wait for: no timer, so an idle rate-limited host costs nothing.
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('is not asked while the host is paused: the pause holds the permits', async () => {
    const h = actorHarness({ rateLimit: { perSecond: 10, burst: 1 }, concurrency: 1, breaker: false });
    h.send();
    h.send();
    h.transport.requests[0]!.answer({ status: 429, retryAfter: '2' });
    await h.settle();
    // The retry waits 2 s; the second message may not slip out during the pause.
    h.clock.advance(1_999);
    expect(h.transport.requests).toHaveLength(1);
    h.clock.advance(1);
    expect(h.transport.requests).toHaveLength(2);
  });
});

describe('breaker gate', () => {
  // Connection failures are the host's (an endpoint's 5xx opens that endpoint's breaker: test/endpoint-breakers.test.ts).
  it('opens after the threshold, holds the queue with no timer but its reopening, and lets one probe through', async () => {
    const h = actorHarness({ concurrency: 1, breaker: { failureThreshold: 2, cooldownMs: 1_000 }, retry: { attempts: 10, baseDelayMs: 10, maxDelayMs: 10 } }, [0, 0, 0, 0]);
    h.send();
    h.send();
    h.transport.requests[0]!.answer(refused);
    await h.settle();
    h.transport.requests[1]!.answer(refused);
    await h.settle();
    expect(h.reports.filter((r) => r.kind === 'breaker')).toEqual([{ kind: 'breaker', state: 'open' }]);
    // Retries come due, but nothing is sent while open (cooldown 1,000 ms, jitter 0).
    h.clock.advance(999);
    expect(h.transport.requests).toHaveLength(2);
    h.clock.advance(1);
    expect(h.transport.requests).toHaveLength(3);
    expect(h.actor.stats().breaker).toBe('half-open');
    h.transport.requests[2]!.answer(ok);
    await h.settle();
    expect(h.actor.stats().breaker).toBe('closed');
    expect(h.transport.requests).toHaveLength(4);
  });

  it('does not count a request the client refused to send against the host', async () => {
    const h = actorHarness({ concurrency: 1, breaker: { failureThreshold: 1, cooldownMs: 60_000 } });
    const m = h.send();
    h.send();
    h.transport.requests[0]!.answer({ error: { code: 'UND_ERR_INVALID_ARG', message: 'invalid header value' } });
    await h.settle();
    expect(h.reports).toContainEqual({ kind: 'failed', id: m.id, reason: 'rejected', attempts: 1 });
    expect(h.actor.stats().breaker).toBe('closed');
    expect(h.transport.requests).toHaveLength(2);
  });
});

describe('pause gate', () => {
  it('a 429 with Retry-After holds the whole host, not only the message, and is no breaker failure', async () => {
    const h = actorHarness({ concurrency: 5, breaker: { failureThreshold: 1, cooldownMs: 60_000 } });
    h.send();
    h.transport.requests[0]!.answer({ status: 429, retryAfter: '3' });
    await h.settle();
    h.send();
    expect(h.transport.requests).toHaveLength(1);
    h.clock.advance(3_000);
    expect(h.transport.requests).toHaveLength(3);
    expect(h.actor.stats().breaker).toBe('closed');
  });
});

describe('ordered gate', () => {
  it('sends one at a time in acceptance order, and a retrying head holds the rest', async () => {
    const h = actorHarness({ ordered: true, concurrency: 10, breaker: false, retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 100 } }, [0.5]);
    for (let i = 0; i < 3; i++) h.send();
    expect(h.sent()).toEqual([0]);
    h.transport.requests[0]!.answer(fail500);
    await h.settle();
    expect(h.sent()).toEqual([0]);
    h.clock.advance(50);
    expect(h.sent()).toEqual([0, 0]);
    h.transport.requests[1]!.answer(ok);
    await h.settle();
    expect(h.sent()).toEqual([0, 0, 1]);
  });
});

describe('time-to-live gate', () => {
  it('fails a message held behind an open breaker as expired at its own deadline, with nothing sent', async () => {
    const h = actorHarness({ concurrency: 1, breaker: { failureThreshold: 1, cooldownMs: 600_000 }, retry: { attempts: 1 } }, [0]);
    h.send();
    h.transport.requests[0]!.answer(fail500);
    await h.settle();
    const held = h.send({ ttlMs: 5_000 });
    h.clock.advance(4_999);
    expect(h.reports.some((r) => r.kind === 'failed' && r.id === held.id)).toBe(false);
    h.clock.advance(1);
    expect(h.reports).toContainEqual({ kind: 'failed', id: held.id, reason: 'expired', attempts: 0 });
    expect(h.transport.requests).toHaveLength(1);
  });

  it('fails a retry that could only run after the deadline at once, without waiting for it', async () => {
    const h = actorHarness({ breaker: false, retry: { attempts: 5, baseDelayMs: 10_000, maxDelayMs: 10_000 } }, [0.9]);
    const m = h.send({ ttlMs: 1_000 });
    h.transport.requests[0]!.answer(fail500);
    await h.settle();
    expect(h.reports).toContainEqual({ kind: 'failed', id: m.id, reason: 'expired', attempts: 1 });
  });

  it('honours per-message attempts over the dispatcher default', async () => {
    const h = actorHarness({ breaker: false, retry: { attempts: 8, baseDelayMs: 0, maxDelayMs: 0 } });
    const m = h.send({ attempts: 2 });
    h.transport.requests[0]!.answer(fail500);
    await h.settle();
    h.clock.advance(0);
    h.transport.requests[1]!.answer(fail500);
    await h.settle();
    expect(h.reports.at(-1)).toEqual({ kind: 'failed', id: m.id, reason: 'exhausted', attempts: 2 });
  });
});

describe('long waits', () => {
  it('a time to live past 24.8 days (2^31 ms) ends the message at its deadline, not at once', async () => {
    const days30 = 30 * 86_400_000;
    const h = actorHarness({ ttlMs: days30 });
    h.actor.pause();
    const m = h.send();
    expect(h.clock.nextTimerAt! - h.clock.now()).toBe(days30);
    h.clock.advance(days30 - 1);
    expect(h.reports).toEqual([]);
    h.clock.advance(1);
    expect(h.reports).toEqual([{ kind: 'failed', id: m.id, reason: 'expired', attempts: 0 }]);
  });
});

describe('pause, resume and cancel', () => {
  it('a paused host sends nothing new, keeps its in-flight attempt, and sends in order on resume', async () => {
    const h = actorHarness({ concurrency: 5 });
    h.send();
    h.actor.pause();
    h.send();
    h.send();
    expect(h.sent()).toEqual([0]);
    expect(h.actor.stats()).toMatchObject({ paused: true, queued: 2, inFlight: 1 });
    h.transport.requests[0]!.answer(ok);
    await h.settle();
    expect(h.sent()).toEqual([0]);
    h.actor.resume();
    expect(h.sent()).toEqual([0, 1, 2]);
  });

  it('cancel ends queued and waiting messages with reason cancelled, and leaves in-flight ones to their answer', async () => {
    const h = actorHarness({ concurrency: 1, breaker: false, retry: { attempts: 5, baseDelayMs: 1_000, maxDelayMs: 1_000 } }, [0.5]);
    const a = h.send();
    const b = h.send();
    h.transport.requests[0]!.answer(fail500);
    await h.settle();
    // a waits for its retry; b is in flight.
    const c = h.send();
    expect(h.actor.cancel()).toBe(2);
    expect(h.reports.filter((r) => r.kind === 'failed')).toEqual([
      { kind: 'failed', id: c.id, reason: 'cancelled', attempts: 0 },
      { kind: 'failed', id: a.id, reason: 'cancelled', attempts: 1 },
    ]);
    h.transport.requests[1]!.answer(ok);
    await h.settle();
    expect(h.reports.at(-1)).toEqual({ kind: 'delivered', id: b.id, attempts: 1 });
  });

  it('waitForRoom resolves when a full queue drains below its capacity', async () => {
    const h = actorHarness({ concurrency: 1, queueCapacity: 2 });
    h.send();
    h.send();
    h.send();
    expect(h.actor.hasRoom).toBe(false);
    let room = false;
    void h.actor.waitForRoom().then(() => (room = true));
    await h.settle();
    expect(room).toBe(false);
    h.transport.requests[0]!.answer(ok);
    await h.settle();
    expect(room).toBe(true);
  });
});

describe('signing uses the injected clock', () => {
  it('stamps webhook-timestamp from the clock, not from Date.now', () => {
    const h = actorHarness();
    h.send();
    expect(h.transport.requests[0]!.headers['webhook-timestamp']).toBe(String(Math.floor(h.clock.now() / 1000)));
  });
});

import { describe, expect, it } from 'vitest';
import { systemClock, type BreakerState, type Clock, type Dispatcher } from '../src/index.js';
import { maxInWindow } from './support/windows.js';
import { newSecret, scoped, Terminals } from './helpers.js';
import { ShiftedClock } from './support/clock.js';
import { ok, status } from './receiver.js';

const { receiver, dispatcher } = scoped();
const secret = newSecret();
const until = (d: Dispatcher, name: 'breaker', state: BreakerState) =>
  new Promise<void>((resolve) => {
    const on = (e: { state: BreakerState }) => {
      if (e.state !== state) return;
      d.off(name, on);
      resolve();
    };
    d.on(name, on);
  });

describe('rate limits', () => {
  it('never lets a backlogged host see more than perSecond + burst in any second, at a real receiver', async () => {
    const r = await receiver();
    const perSecond = 200;
    const burst = 20;
    const concurrency = 8;
    const d = dispatcher({ rateLimit: { perSecond, burst }, concurrency });
    const n = 400;
    for (let i = 0; i < n; i++) await d.send({ url: r.url(), secret }, { type: 't', data: i });
    await d.onIdle();
    const times = r.requests.map((q) => q.at);
    expect(times).toHaveLength(n);
    // Sends never exceed perSecond + burst in a second; what arrives in a second is those sends
    // plus at most the requests already in flight when it began (concurrency), which a busy
    // event loop can deliver late and together.
    expect(maxInWindow(times, 1000)).toBeLessThanOrEqual(perSecond + burst + concurrency);
    // The initial bucket goes out at once; the rest never faster than the refill rate. That the
    // rate is also reached is proven on clock time (host-actor and limiter contract tests): on a
    // real clock a loaded machine can only be slower.
    const achieved = (n - burst) / ((times.at(-1)! - times[0]!) / 1000);
    expect(achieved / perSecond).toBeLessThan(1.1);
  });

  it('does not limit other hosts, and a hosts override applies to its origin only', async () => {
    const slow = await receiver();
    const fast = await receiver();
    const d = dispatcher({ hosts: { [slow.origin]: { rateLimit: { perSecond: 2, burst: 1 } } } });
    const t = new Terminals(d);
    await d.send({ url: slow.url(), secret }, { type: 't', data: 0 });
    await d.send({ url: slow.url(), secret }, { type: 't', data: 1 });
    for (let i = 0; i < 50; i++) await d.send({ url: fast.url(), secret }, { type: 't', data: i });
    await new Promise<void>((resolve) => {
      d.on('delivered', () => t.delivered.filter((e) => e.origin === fast.origin).length === 50 && resolve());
    });
    // All 50 fast deliveries finished while the slow host, at 2/s with a burst of 1, had had at most 2.
    expect(slow.count).toBeLessThanOrEqual(2);
    await d.onIdle();
    expect(slow.count).toBe(2);
  });

  it('treats a 429 as a reason to slow the whole host, honouring Retry-After, and not as a breaker failure', async () => {
    let slowedAt = 0;
    const r = await receiver((_req, i) => {
      if (i === 0) {
        slowedAt = Date.now();
        return status(429, { 'retry-after': '1' });
      }
      return ok;
    });
    const d = dispatcher({ concurrency: 1, breaker: { failureThreshold: 1, cooldownMs: 60_000 } });
    const breaker: BreakerState[] = [];
    d.on('breaker', (e) => breaker.push(e.state));
    const t = new Terminals(d);
    for (let i = 0; i < 4; i++) await d.send({ url: r.url(), secret }, { type: 't', data: i });
    await d.onIdle();
    expect(t.delivered).toHaveLength(4);
    expect(breaker).toEqual([]);
    const later = r.requests.slice(1).map((q) => q.at - slowedAt);
    expect(Math.min(...later)).toBeGreaterThanOrEqual(950);
  });
});

describe('circuit breaker', () => {
  // An endpoint's 5xx open that endpoint's own breaker (the `breaker` events carry its `url`);
  // the host's breaker counts one failure for it and stays closed below its threshold.
  it('opens after consecutive failures, sends nothing but one probe while open, and closes when the endpoint recovers', async () => {
    let broken = true;
    const r = await receiver(() => (broken ? status(500) : ok));
    const other = await receiver();
    // The cooldown passes on the dispatcher's clock, moved by hand: however slow the machine,
    // nothing reopens the breaker before the test says so.
    const clock = new ShiftedClock();
    const d = dispatcher({ concurrency: 1, breaker: { failureThreshold: 2, cooldownMs: 60_000 }, retry: { attempts: 20, baseDelayMs: 1, maxDelayMs: 5 } }, { clock });
    const t = new Terminals(d);
    const states: BreakerState[] = [];
    // Listeners only record: an expect() thrown inside one would be caught by the listener guard.
    const origins = new Set<string>();
    const urls = new Set<string | undefined>();
    d.on('breaker', (e) => {
      origins.add(e.origin);
      urls.add(e.url);
      states.push(e.state);
    });
    const opened = until(d, 'breaker', 'open');
    for (let i = 0; i < 5; i++) await d.send({ url: r.url(), secret }, { type: 't', data: i });
    await opened;
    expect(d.stats().hosts[r.origin]!.breaker).toBe('closed');
    const countAtOpen = r.count;
    // Another host is not held up by this one's breaker.
    await d.send({ url: other.url(), secret }, { type: 't', data: 'x' });
    await new Promise<void>((resolve) => d.once('delivered', () => resolve()));
    expect(r.count).toBe(countAtOpen);

    broken = false;
    // Past the cooldown and its jitter (at most +20%); a new send wakes the host.
    clock.offset += 75_000;
    const closed = until(d, 'breaker', 'closed');
    await d.send({ url: r.url(), secret }, { type: 't', data: 5 });
    await closed;
    await d.onIdle();
    expect(t.delivered.filter((e) => e.origin === r.origin)).toHaveLength(6);
    expect(states).toEqual(['open', 'half-open', 'closed']);
    expect([...origins]).toEqual([r.origin]);
    expect([...urls]).toEqual([new URL(r.url()).href]);
    // One probe, then the five messages still held.
    expect(r.count).toBe(countAtOpen + 1 + 5);
  });

  it('fails messages waiting behind an open breaker as expired once their time to live passes', async () => {
    const r = await receiver(() => status(500));
    const d = dispatcher({ ttlMs: 200, breaker: { failureThreshold: 1, cooldownMs: 60_000 }, concurrency: 1 });
    const t = new Terminals(d);
    for (let i = 0; i < 3; i++) await d.send({ url: r.url(), secret }, { type: 't', data: i });
    const started = Date.now();
    await d.onIdle();
    expect(t.failed.map((e) => e.reason)).toEqual(['expired', 'expired', 'expired']);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(r.count).toBe(1);
  });
});

describe('retries', () => {
  it('keep one timer per host however many messages wait', async () => {
    // The dispatcher's own timers, counted through its clock: the process's timer list also
    // holds the receiver's keep-alive timers, which come and go with its sockets.
    let armed = 0;
    const counting: Clock = {
      now: systemClock.now,
      // The top of the jitter range: every retry waits about a minute, none comes due during the test.
      random: () => 0.99,
      setTimer(fn, ms, keepAlive) {
        armed++;
        let live = true;
        const end = () => {
          if (live) armed--;
          live = false;
        };
        const timer = systemClock.setTimer(() => (end(), fn()), ms, keepAlive);
        return { cancel: () => (end(), timer.cancel()) };
      },
    };
    const r = await receiver(() => status(503));
    const d = dispatcher({ breaker: false, concurrency: 50, retry: { attempts: 2, baseDelayMs: 60_000, maxDelayMs: 60_000 } }, { clock: counting });
    const waiting = new Promise<void>((resolve) => {
      let n = 0;
      d.on('retry', () => ++n === 100 && resolve());
    });
    for (let i = 0; i < 100; i++) await d.send({ url: r.url(), secret }, { type: 't', data: i });
    await waiting;
    expect(d.stats().hosts[r.origin]).toMatchObject({ waiting: 100, inFlight: 0, queued: 0 });
    // The host's retry timer, the idle sweep, the store's pruning and the attempts' deadline.
    expect(armed).toBeLessThanOrEqual(4);
  });
});

describe('ordered hosts', () => {
  it('deliver one at a time in acceptance order; a retrying message holds the ones behind it', async () => {
    const tries = new Map<string, number>();
    const successes: number[] = [];
    const seen: number[] = [];
    const r = await receiver((req) => {
      const id = String(req.headers['webhook-id']);
      const n = (tries.get(id) ?? 0) + 1;
      tries.set(id, n);
      const index = JSON.parse(req.body).data as number;
      seen.push(index);
      // Every message fails its first try; every third fails twice.
      if (n === 1 || (index % 3 === 0 && n === 2)) return status(503);
      successes.push(index);
      return ok;
    });
    const d = dispatcher({ ordered: true, concurrency: 8, breaker: false });
    for (let i = 0; i < 12; i++) await d.send({ url: r.url(), secret }, { type: 't', data: i });
    await d.onIdle();
    expect(successes).toEqual([...Array(12).keys()]);
    // Nothing behind a message was even tried before it ended.
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });
});

describe('idle eviction', () => {
  it('drops idle host actors, also one whose breaker is open (nothing is queued for it to protect)', async () => {
    const good = await receiver();
    const bad = await receiver(() => status(500));
    const clock = new ShiftedClock();
    const d = dispatcher({ idleTimeoutMs: 60_000, retry: { attempts: 1 }, breaker: { failureThreshold: 1, cooldownMs: 600_000 } }, { clock });
    await d.send({ url: good.url(), secret }, { type: 't', data: 1 });
    await d.send({ url: bad.url(), secret }, { type: 't', data: 1 });
    await d.onIdle();
    expect(d.stats().hosts[bad.origin]!.breaker).toBe('open');
    expect(d.evictIdle()).toBe(0);
    clock.offset += 60_000;
    expect(d.evictIdle()).toBe(2);
    expect(d.stats().hosts).toEqual({});
  });

  it('keeps a rate-limited actor until its bucket has refilled', async () => {
    const r = await receiver();
    const clock = new ShiftedClock();
    const d = dispatcher({ idleTimeoutMs: 1, rateLimit: { perSecond: 1, burst: 1 } }, { clock });
    await d.send({ url: r.url(), secret }, { type: 't', data: 1 });
    await d.onIdle();
    clock.offset += 10;
    expect(d.evictIdle()).toBe(0);
    clock.offset += 2_000;
    expect(d.evictIdle()).toBe(1);
  });
});

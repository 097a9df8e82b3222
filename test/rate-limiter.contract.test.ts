/**
 * One contract for every rate limiter behind the actor's `admit` seam. Each implementation is
 * driven the way a backlogged host drives it and must keep every window under
 * `perSecond + burst` while still delivering the rate it promises. The local limiter runs on
 * fake timers; the Redis limiter's round trips and server clock do not advance under fake
 * timers, so it runs on the real clock for short spells, and its lower bound allows for a busy
 * machine (a loaded machine only makes a limiter slower, never faster).
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { maxInWindow } from './support/windows.js';
import { systemClock } from '../src/core/clock.js';
import { LocalRateLimiter } from '../src/limits/local-rate-limiter.js';
import type { RateLimit } from '../src/config/options.js';
import type { RateLimiter } from '../src/limits/rate-limiter.js';
import { RedisRateLimiter } from '../src/cluster/redis-rate-limiter.js';
import { describeRedis, dropKeys, link, redisAvailable, testPrefix } from './support/redis.js';

type Factory = (limit: Required<RateLimit>, now: number, wake: () => void) => RateLimiter;

interface Implementation {
  name: string;
  make: Factory;
  /** Fake timers, or the real clock. */
  fake: boolean;
  /**
   * The share of the promised rate a backlogged host must get at least. On fake timers that is
   * exact; on the real clock it allows for a loaded machine, and the benchmark measures the rate.
   */
  floor: number;
  /** How long each rate is driven. */
  ms: number;
}

const implementations: Implementation[] = [
  { name: 'LocalRateLimiter', make: (limit, now) => new LocalRateLimiter(limit, now), fake: true, floor: 0.95, ms: 4_000 },
];

// The Redis limiter (server clock, real round trips) runs on the real clock too; each limiter
// gets its own origin, so its own bucket, under this file's own key prefix.
const prefix = testPrefix('contract');
const redis = redisAvailable ? await link(prefix) : undefined;
afterAll(async () => {
  await redis?.link.close();
  await dropKeys(prefix);
});
let origins = 0;
if (redis !== undefined) {
  implementations.push({
    name: 'RedisRateLimiter (one bucket in Redis)',
    make: (limit, now, wake) => new RedisRateLimiter(limit, now, wake, redis.link, `http://contract-${origins++}.test`, systemClock),
    fake: false,
    // Real round trips on the real clock. Measured over 1.5 s spells on the shared 2-core
    // machine (load average 10–14): 92–103% of the rate beside one CPU burner (5 runs, and 5
    // more at or above 70%), 60–103% beside two (10 runs). A limiter granting half the rate gets
    // 53–57% (its burst included), one that stalls less: both fail. Benchmark 19 measures the
    // rate it sustains (100.1–100.2% at 10, 100 and 1,000/s across 3 processes).
    floor: 0.6,
    ms: 1_500,
  });
} else describeRedis('RedisRateLimiter (one bucket in Redis)', () => it('runs the contract', () => {}));

const advance = (fake: boolean, ms: number) => (fake ? vi.advanceTimersByTimeAsync(ms) : new Promise((resolve) => setTimeout(resolve, ms)));

/** Sends as fast as the limiter admits, for `ms`, with `backlog` always waiting; returns the send times. */
async function drive({ make: factory, fake }: Implementation, limit: Required<RateLimit>, ms: number, backlog: number): Promise<{ times: number[]; limiter: RateLimiter; start: number }> {
  const start = Date.now();
  const times: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  const pump = () => {
    clearTimeout(timer);
    for (;;) {
      const now = Date.now();
      if (now - start >= ms) return;
      const wait = limiter.admit(now, backlog);
      if (wait === 0) {
        times.push(now - start);
        continue;
      }
      if (Number.isFinite(wait)) timer = setTimeout(pump, wait);
      return;
    }
  };
  const limiter = factory(limit, start, pump);
  pump();
  await advance(fake, ms);
  clearTimeout(timer);
  return { times, limiter, start };
}


describe.each(implementations)('$name', (impl) => {
  afterEach(() => void vi.useRealTimers());
  const start = () => impl.fake && vi.useFakeTimers({ now: 1_800_000_000_000 });

  it.each([
    { perSecond: 10, burst: 1 },
    { perSecond: 100, burst: 10 },
    { perSecond: 1_000, burst: 100 },
  ])('never lets more than perSecond + burst through in any second, and sustains the rate ($perSecond/s)', async (limit) => {
    start();
    const { times, limiter } = await drive(impl, limit, impl.ms, 1_000_000);
    await limiter.close();
    expect(maxInWindow(times, 1000)).toBeLessThanOrEqual(limit.perSecond + limit.burst);
    // What the rate earned over the spell, less the floor's allowance; and always past the first bucket.
    expect(times.length).toBeGreaterThanOrEqual(Math.floor(((limit.perSecond * impl.ms) / 1000) * impl.floor));
    expect(times.length).toBeGreaterThan(limit.burst);
  });

  it('is settled only once a quiet spell has refilled it', async () => {
    start();
    const limit = { perSecond: 100, burst: 10 };
    const { limiter, times, start: startedAt } = await drive(impl, limit, 300, 50);
    limiter.idle();
    // At the last send it had just spent a token. (Asked at Date.now() instead, a machine that
    // starved the event loop past a refill would already find it full.)
    expect(times.length).toBeGreaterThan(0);
    expect(limiter.settled(startedAt + times.at(-1)!)).toBe(false);
    await advance(impl.fake, 500);
    expect(limiter.settled(Date.now())).toBe(true);
    await limiter.close();
  });
});

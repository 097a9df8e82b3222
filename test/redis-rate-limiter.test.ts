/**
 * The Redis limiter across instances: several limiters, each on its own connection as separate
 * processes would be, share one origin's bucket. The server's TIME is the clock, so these run
 * over real windows and count, with slack only on the lower side (a busy machine is slower,
 * never faster). Also: unspent permits go back, and an outage falls back to a local limit with
 * a warning and shares again when Redis is back.
 */
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../src/core/clock.js';
import type { RateLimit } from '../src/config/options.js';
import { bucketShape, type RateLimiter } from '../src/limits/rate-limiter.js';
import { RedisLink } from '../src/cluster/redis-link.js';
import { RedisRateLimiter, redisBucketShape } from '../src/cluster/redis-rate-limiter.js';
import type { ClusterWarning } from '../src/model/types.js';
import { RedisProxy, connect, describeRedis, dropKeys, link, testPrefix } from './support/redis.js';
import { maxInWindow } from './support/windows.js';

const prefix = testPrefix('limiter');
const closing: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of closing.splice(0).reverse()) await fn();
});
afterAll(() => dropKeys(prefix));
let origins = 0;

/** Drives `limiter` as a backlogged actor does until `until`, recording admit times into `times`. */
function drive(make: (wake: () => void) => RateLimiter, until: number, times: number[]): RateLimiter {
  let timer: NodeJS.Timeout | undefined;
  const pump = () => {
    clearTimeout(timer);
    for (;;) {
      const now = Date.now();
      if (now >= until) return;
      const wait = limiter.admit(now, 1_000_000);
      if (wait === 0) {
        times.push(now);
        continue;
      }
      if (Number.isFinite(wait)) timer = setTimeout(pump, Math.min(wait, until - now));
      return;
    }
  };
  const limiter = make(pump);
  closing.push(() => clearTimeout(timer));
  pump();
  return limiter;
}

/** `n` limiters for one origin, each on a connection of its own. */
async function instances(n: number, limit: Required<RateLimit>, origin: string) {
  const made: { limiter: (wake: () => void) => RateLimiter; link: RedisLink; warnings: ClusterWarning[] }[] = [];
  for (let i = 0; i < n; i++) {
    const l = await link(prefix);
    closing.push(() => l.link.close());
    made.push({ link: l.link, warnings: l.warnings, limiter: (wake) => new RedisRateLimiter(limit, Date.now(), wake, l.link, origin, systemClock) });
  }
  return made;
}

describe('redisBucketShape', () => {
  it('leaves room for the hold in the burst: any second sees at most perSecond + burst, whole permits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 100_000 }), (perSecond, burst) => {
        const shape = redisBucketShape({ perSecond, burst });
        // Sends in a second come from permits taken within the second and the hold before it.
        const most = Math.floor(shape.capacity + (perSecond * (1000 + shape.holdMs)) / 1000 + 1e-9);
        // The local limiter's own bound: its bucket holds max(burst, one refill), and a refill
        // is at least 20 ms of the rate, so above 50/s with a tiny burst it is over the burst.
        expect(most).toBeLessThanOrEqual(perSecond + bucketShape({ perSecond, burst }).capacity);
        expect(shape.batch).toBeGreaterThanOrEqual(1);
        expect(shape.batch).toBeLessThanOrEqual(Math.max(1, shape.capacity));
        expect(shape.capacity).toBeGreaterThanOrEqual(1);
      }),
    );
  });
});

describeRedis('RedisRateLimiter shared by several instances', () => {
  it.each([
    { perSecond: 100, burst: 10, n: 3 },
    { perSecond: 1_000, burst: 100, n: 3 },
    { perSecond: 20, burst: 2, n: 2 },
  ])('$n instances at $perSecond/s together admit at most perSecond + burst in any second, and about the rate', async ({ n, ...limit }) => {
    const made = await instances(n, limit, `http://shared-${origins++}.test`);
    const times: number[] = [];
    const ms = 2_500;
    const until = Date.now() + ms;
    const limiters = made.map((m) => drive(m.limiter, until, times));
    await new Promise((resolve) => setTimeout(resolve, ms + 20));
    await Promise.all(limiters.map((l) => l.close()));
    expect(maxInWindow([...times].sort((a, b) => a - b), 1_000)).toBeLessThanOrEqual(limit.perSecond + limit.burst);
    // Never more than the bucket allows over the whole spell; on a loaded machine, less.
    expect(times.length).toBeLessThanOrEqual(redisBucketShape(limit).capacity + Math.ceil((limit.perSecond * ms) / 1000) + limit.burst);
    expect(times.length).toBeGreaterThanOrEqual(Math.floor(((limit.perSecond * ms) / 1000) * 0.7));
    expect(made.flatMap((m) => m.warnings)).toEqual([]);
  });

  it('gives unspent permits back when the backlog empties, so another instance can use them at once', async () => {
    const limit = { perSecond: 100, burst: 20 };
    const shape = redisBucketShape(limit);
    const origin = `http://idle-${origins++}.test`;
    const [a] = await instances(1, limit, origin);
    let woke!: () => void;
    const arrived = new Promise<void>((resolve) => (woke = resolve));
    const limiter = a!.limiter(() => woke());
    expect(limiter.admit(Date.now(), 100)).toBe(Infinity);
    await arrived;
    expect(limiter.admit(Date.now(), 100)).toBe(0);
    const reader = await connect();
    closing.push(() => reader.disconnect());
    const key = `${prefix}rate:${origin}`;
    const before = Number(await reader.hget(key, 'n'));
    expect(before).toBeLessThanOrEqual(shape.capacity - shape.batch + 1);
    limiter.idle();
    // The give-back is one command on the same connection: a command after it sees its effect.
    await a!.link.client.ping();
    const after = Number(await reader.hget(key, 'n'));
    expect(after).toBeGreaterThanOrEqual(before + shape.batch - 1);
    await limiter.close();
  });

  it('falls back to a local limit with one warning while Redis is away, and shares again once it is back', async () => {
    const proxy = await RedisProxy.start();
    closing.push(() => proxy.cut());
    const client = await connect({ port: proxy.port });
    const warnings: ClusterWarning[] = [];
    const l = new RedisLink({ client, owned: true, keyPrefix: prefix }, systemClock, (w) => warnings.push(w));
    closing.push(() => l.close());
    const limit = { perSecond: 200, burst: 20 };
    const times: number[] = [];
    const limiter = drive((wake) => new RedisRateLimiter(limit, Date.now(), wake, l, `http://outage-${origins++}.test`, systemClock), Date.now() + 60_000, times);
    closing.push(() => limiter.close());
    const waitFor = async (check: () => boolean) => {
      while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
    };
    await waitFor(() => times.length >= 50);
    await proxy.cut();
    await waitFor(() => warnings.length === 1);
    expect(warnings[0]).toMatchObject({ kind: 'cluster-unavailable' });
    // Sends go on without Redis: the local bucket admits the rate.
    const during = times.length;
    await waitFor(() => times.length >= during + 50);
    await proxy.restore();
    await waitFor(() => warnings.length === 2);
    expect(warnings[1]).toMatchObject({ kind: 'cluster-restored' });
    const after = times.length;
    await waitFor(() => times.length >= after + 50);
    expect(warnings).toHaveLength(2);
    expect(JSON.stringify(warnings)).not.toMatch(/password|redis:\/\//i);
  });
});

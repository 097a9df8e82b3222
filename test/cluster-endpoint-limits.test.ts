/**
 * An endpoint's own `rateLimit` shared through Redis: two dispatchers (each on a connection of
 * its own, as two processes would be) sending to one endpoint URL keep its limit together, not
 * one limit each; another endpoint of the same host keeps its own bucket; and the URL's path and
 * query (where some receivers put a token) never appear in a Redis key.
 */
import { afterAll, afterEach, expect, it } from 'vitest';
import { bucketName } from '../src/cluster/redis-rate-limiter.js';
import { Terminals, newSecret, scoped } from './helpers.js';
import { maxInWindow } from './support/windows.js';
import { connect, describeRedis, dropKeys, testPrefix } from './support/redis.js';

const prefix = testPrefix('endpoint-limits');
const { receiver, dispatcher } = scoped();
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanup.splice(0)) fn();
});
afterAll(() => dropKeys(prefix));

const until = async (check: () => boolean) => {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
};

describeRedis('an endpoint rateLimit shared through Redis', () => {
  it('two dispatchers keep one endpoint limit between them, and a sibling endpoint has its own bucket', async () => {
    const rx = await receiver();
    const token = `tok_${newSecret().slice(-12)}`;
    const limited = rx.url(`/in?token=${token}`);
    const [ca, cb] = [await connect(), await connect()];
    cleanup.push(() => ca.disconnect(), () => cb.disconnect());
    const a = dispatcher({ cluster: { redis: ca, keyPrefix: prefix }, concurrency: 20 });
    const b = dispatcher({ cluster: { redis: cb, keyPrefix: prefix }, concurrency: 20 });
    await Promise.all([a.ready(), b.ready()]);
    const [ta, tb] = [new Terminals(a), new Terminals(b)];
    const rateLimit = { perSecond: 20, burst: 2 };
    const perDispatcher = 20;
    const start = Date.now();
    for (let i = 0; i < perDispatcher; i++) {
      await a.send({ url: limited, secret: newSecret(), rateLimit }, { type: 't', data: i });
      await b.send({ url: limited, secret: newSecret(), rateLimit }, { type: 't', data: i });
    }
    // The sibling: its own 20/s bucket, so it is not held behind the first endpoint's backlog.
    for (let i = 0; i < 10; i++) await a.send({ url: rx.url('/other'), secret: newSecret(), rateLimit }, { type: 't', data: i });
    await until(() => ta.delivered.length === perDispatcher + 10 && tb.delivered.length === perDispatcher);

    const at = (path: string) => rx.requests.filter((r) => r.url.startsWith(path)).map((r) => r.at - start).sort((x, y) => x - y);
    const shared = at('/in');
    expect(shared).toHaveLength(2 * perDispatcher);
    // Together at 20/s: 40 messages, 2 of them on the burst, take at least 1.9 s. A bucket per
    // dispatcher would let each spend 20/s (40/s in all) and finish in about 0.9 s.
    expect(shared.at(-1)!).toBeGreaterThanOrEqual(1_500);
    // No one second above the limit and its burst, plus the tenth a receiver can see more
    // (permits come in tenths of a second); two unshared buckets would reach 44.
    expect(maxInWindow(shared, 1_000)).toBeLessThanOrEqual(20 + 2 + 2 + 2);
    const sibling = at('/other');
    expect(sibling).toHaveLength(10);
    expect(sibling.at(-1)!).toBeLessThan(shared.at(-1)!);

    // Keys: endpoint buckets are named by origin and digest, never by path or query (the
    // sibling's bucket may have expired already: it ends once full again).
    const keys = await ca.keys(`${prefix}*`);
    expect(keys).toContain(`${prefix}rate:${bucketName(limited)}`);
    for (const key of keys.filter((k) => k.startsWith(`${prefix}rate:`))) expect(key).toMatch(/\|[\w-]{22}$/);
    for (const key of keys) {
      expect(key).not.toContain(token);
      expect(key).not.toContain('/in');
    }
    await Promise.all([a.close(), b.close()]);
  });

});

it('names a host bucket by its origin, and each endpoint URL by its origin and a digest of the whole URL', () => {
  expect(bucketName('https://hooks.example.com')).toBe('https://hooks.example.com');
  const one = bucketName('https://hooks.example.com/in?token=abc');
  expect(one).toMatch(/^https:\/\/hooks\.example\.com\|[\w-]{22}$/);
  expect(one).not.toContain('abc');
  expect(bucketName('https://hooks.example.com/in?token=abd')).not.toBe(one);
  expect(bucketName('https://hooks.example.com/in?token=abc')).toBe(one);
});

/**
 * A Redis rate bucket whose stored time is ahead of the Redis server's clock (a clock that
 * stepped back, a failover to a replica whose clock is behind, a hostile write) still refills:
 * its time is taken as the server's now, at the configured rate, with one `warning`.
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, expect, it } from 'vitest';
import type { RedisLink } from '../src/cluster/redis-link.js';
import type { ClusterWarning } from '../src/model/types.js';
import { connect, describeRedis, dropKeys, link, testPrefix } from './support/redis.js';

const prefix = testPrefix('skew');
const closing: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of closing.splice(0).reverse()) await fn();
});
afterAll(() => dropKeys(prefix));

/** The Redis server's clock, in ms. */
async function serverNow(client: Redis): Promise<number> {
  const [s, us] = await client.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/**
 * Takes permits `want` at a time, as fast as round trips go, for `ms` of the server's clock:
 * how many came, over how long. A bucket of `capacity` >> `want` keeps what a slow round trip
 * (a busy machine) let pile up, so the count follows the server's clock, not the machine's speed.
 */
async function permitsOver(l: RedisLink, client: Redis, key: string, perMs: number, capacity: number, want: number, ms: number): Promise<{ granted: number; elapsed: number }> {
  const start = await serverNow(client);
  let granted = 0;
  for (;;) {
    granted += (await l.bucket(key, perMs, capacity, want)).granted;
    const elapsed = (await serverNow(client)) - start;
    if (elapsed >= ms) return { granted, elapsed };
  }
}

describeRedis('a Redis rate bucket stored ahead of the server clock', () => {
  async function setup(): Promise<{ l: RedisLink; client: Redis; warnings: ClusterWarning[] }> {
    const { link: l, warnings } = await link(prefix);
    const client = await connect();
    closing.push(() => l.close(), async () => client.disconnect());
    return { l, client, warnings };
  }

  it('refills at the configured rate from the server\'s now, and warns once', async () => {
    const { l, client, warnings } = await setup();
    const perSecond = 200;
    const keys = [l.key('rate', 'https://a.example'), l.key('rate', 'https://b.example')];
    // Ten minutes ahead and empty: without the correction it never refills.
    for (const key of keys) await client.hset(key, 't', String((await serverNow(client)) + 600_000), 'n', '0');

    const { granted, elapsed } = await permitsOver(l, client, keys[0]!, perSecond / 1000, 100, 10, 400);
    const expected = (elapsed * perSecond) / 1000;
    // The bucket starts empty: never more than the rate; less by at most a batch and a round trip.
    expect(granted).toBeLessThanOrEqual(Math.ceil(expected));
    expect(granted).toBeGreaterThanOrEqual(Math.floor(expected * 0.8) - 10);
    // The stored time is the server's now again, and the key expires as a normal one does.
    const [t] = await client.hmget(keys[0]!, 't');
    expect(Number(t)).toBeLessThanOrEqual(await serverNow(client));
    expect(await client.pttl(keys[0]!)).toBeLessThanOrEqual(2_000);

    // A second bucket ahead is corrected too, without another warning.
    expect((await permitsOver(l, client, keys[1]!, perSecond / 1000, 100, 1, 50)).granted).toBeGreaterThan(0);
    expect(warnings.map((w) => w.kind)).toEqual(['cluster-clock-skew']);
    expect(warnings[0]!.message).toMatch(/ahead of|ms ahead/);
    expect(warnings[0]!.message).toContain(keys[0]);
  });

  it('says nothing for a bucket in step with the server', async () => {
    const { l, client, warnings } = await setup();
    const { granted } = await permitsOver(l, client, l.key('rate', 'https://c.example'), 0.2, 2, 1, 50);
    expect(granted).toBeGreaterThan(0);
    expect(warnings).toEqual([]);
  });
});

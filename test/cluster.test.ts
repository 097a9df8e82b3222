/**
 * Dispatchers sharing one Redis, as processes of one service would (each with connections of
 * its own): a breaker one opens holds the host for the other until its probe has answered;
 * an outage (a TCP proxy in front of Redis, cut and restored) falls back to local limits with
 * a warning, refuses nothing, loses nothing, and shares again once Redis is back.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, expect, it } from 'vitest';
import type { BreakerChange, Dispatcher, DispatcherWarning } from '../src/index.js';
import { Terminals, newSecret, scoped } from './helpers.js';
import { ok, status, type Received } from './receiver.js';
import { REDIS, RedisProxy, connect, describeRedis, dropKeys, testPrefix } from './support/redis.js';

const prefix = testPrefix('cluster');
const { receiver, dispatcher } = scoped();
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
afterAll(() => dropKeys(prefix));

const until = async (check: () => boolean) => {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
};
const event = <T>(d: Dispatcher, name: 'breaker' | 'warning', match: (e: T) => boolean) =>
  new Promise<T>((resolve) => {
    const listener = (e: T) => {
      if (!match(e)) return;
      d.off(name, listener as never);
      resolve(e);
    };
    d.on(name, listener as never);
  });

describeRedis('dispatchers sharing Redis', () => {
  it('a breaker opened by one dispatcher holds the host for the other until its probe', async () => {
    let healthy = false;
    const rx = await receiver(() => (healthy ? ok : status(500)));
    // Connected clients of their own, as two processes would have: nothing is sent before the
    // link is up (while connecting, each would decide alone).
    const [ca, cb] = [await connect(), await connect()];
    cleanup.push(() => ca.disconnect(), () => cb.disconnect());
    const breaker = { failureThreshold: 1, cooldownMs: 800 };
    const a = dispatcher({ cluster: { redis: ca, keyPrefix: prefix }, breaker, retry: { attempts: 10 } });
    const b = dispatcher({ cluster: { redis: cb, keyPrefix: prefix }, breaker, retry: { attempts: 10 } });
    const endpoint = (from: string) => ({ url: rx.url(), secret: newSecret(), headers: { 'x-from': from } });
    const opened = event<BreakerChange>(a, 'breaker', (e) => e.state === 'open');
    // One message: nothing of A's is in flight when its breaker opens.
    await a.send(endpoint('a'), { type: 't', data: 0 });
    await opened;
    // B has not sent to the host before: its first send waits for what Redis says about it.
    const bDone = new Terminals(b);
    for (let i = 0; i < 5; i++) await b.send(endpoint('b'), { type: 't', data: i });
    await until(() => b.stats().hosts[rx.origin]?.breaker === 'open');
    healthy = true;
    await event<BreakerChange>(a, 'breaker', (e) => e.state === 'closed');
    await until(() => bDone.delivered.length === 5);
    const from = (r: Received) => r.headers['x-from'];
    expect(rx.requests.map(from).slice(0, 2)).toEqual(['a', 'a']);
    const [failure, probe] = rx.requests as [Received, Received];
    // The probe came after the cooldown, and nothing from B reached the host before it.
    expect(probe.at - failure.at).toBeGreaterThanOrEqual(breaker.cooldownMs - 5);
    expect(rx.requests.slice(2).map(from)).toEqual(['b', 'b', 'b', 'b', 'b']);
    await a.onIdle();
  });

  it('leaves a client it was given open, and closes the ones it made', async () => {
    const client = await connect();
    cleanup.push(() => client.disconnect());
    const d = dispatcher({ cluster: { redis: client, keyPrefix: prefix } });
    await d.close();
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
  });

  it('Redis going away: local limits with a warning, nothing refused or lost, shared again when it is back', async () => {
    const proxy = await RedisProxy.start();
    cleanup.push(() => proxy.cut());
    const rx = await receiver(() => ok);
    rx.keepRequests = false;
    const d = dispatcher({ cluster: { redis: { ...REDIS, port: proxy.port, retryStrategy: () => 20 }, keyPrefix: prefix }, rateLimit: { perSecond: 200, burst: 20 } });
    const warnings: DispatcherWarning[] = [];
    d.on('warning', (w) => warnings.push(w));
    const done = new Terminals(d);
    const endpoint = { url: rx.url(), secret: newSecret() };
    let sent = 0;
    const send = async (n: number) => {
      for (let i = 0; i < n; i++, sent++) await d.send(endpoint, { type: 't', data: sent });
    };
    await send(60);
    await until(() => done.delivered.length >= 40);
    // The limit was shared: the host's bucket is in Redis.
    const reader = await connect();
    cleanup.push(() => reader.disconnect());
    expect(await reader.exists(`${prefix}rate:${rx.origin}`)).toBe(1);
    await proxy.cut();
    await send(100);
    await until(() => warnings.length >= 1);
    expect(warnings[0]!.kind).toBe('cluster-unavailable');
    await until(() => done.delivered.length >= 140);
    await proxy.restore();
    // Redis is asked again when there is something to send: keep sending until it answers.
    while (warnings.length < 2) {
      await send(5);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(warnings[1]!.kind).toBe('cluster-restored');
    await send(60);
    await d.onIdle();
    expect(done.delivered).toHaveLength(sent);
    expect(done.failed).toEqual([]);
    expect(done.duplicates()).toEqual([]);
    expect(warnings).toHaveLength(2);
    expect(rx.count).toBe(sent);
  });

  it('ready() waits for the first Redis connection, so the first sends already share the limits', async () => {
    const client = new Redis({ ...REDIS, lazyConnect: true });
    cleanup.push(() => void client.disconnect());
    const d = dispatcher({ cluster: { redis: client, keyPrefix: prefix } });
    expect(client.status).not.toBe('ready');
    await d.ready();
    expect(client.status).toBe('ready');
  });

  it('ready() still resolves when Redis refuses the first connection: the process starts on local limits', async () => {
    const warnings: DispatcherWarning[] = [];
    // Port 1 on loopback: refused at once, nothing listens there.
    const d = dispatcher({ cluster: { redis: { host: '127.0.0.1', port: 1, retryStrategy: () => null }, keyPrefix: prefix } });
    d.on('warning', (w) => warnings.push(w));
    await d.ready();
    expect(warnings.map((w) => w.kind)).toEqual(['cluster-unavailable']);
  });
});

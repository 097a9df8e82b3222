/**
 * Real Redis for the cluster tests: 127.0.0.1:6379, shared with other people's tests, so every
 * test file works under its own random key prefix and deletes its keys afterwards. Without
 * Redis the suites are skipped, saying why, except in CI, where its absence is a failure.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { describe, it } from 'vitest';
import { systemClock, type Clock } from '../../src/core/clock.js';
import { RedisLink } from '../../src/cluster/redis-link.js';
import type { ClusterWarning } from '../../src/model/types.js';

export const REDIS = { host: '127.0.0.1', port: 6379 } as const;

async function probe(): Promise<boolean> {
  const client = new Redis({ ...REDIS, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export const redisAvailable = await probe();

/** `describe`, skipped with the reason when Redis is absent; in CI a failing test instead. */
export function describeRedis(name: string, body: () => void): void {
  if (!redisAvailable && process.env.CI === 'true') {
    describe(name, () => it(`needs Redis on ${REDIS.host}:${REDIS.port}: CI starts it, so its absence is a failure there`, () => {
      throw new Error(`No Redis on ${REDIS.host}:${REDIS.port}`);
    }));
    return;
  }
  describe.skipIf(!redisAvailable)(`${name}${redisAvailable ? '' : ` (skipped: no Redis on ${REDIS.host}:${REDIS.port})`}`, body);
}

/** A key prefix no other test file uses. */
export function testPrefix(name: string): string {
  return `wdtest:${name}:${randomBytes(6).toString('hex')}:`;
}

/** A connected client of its own (not shared with any other instance). */
export async function connect(options: { port?: number } = {}): Promise<Redis> {
  const client = new Redis({ ...REDIS, ...options, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('end', () => reject(new Error('no connection')));
  });
  return client;
}

/** A link on its own connection; warnings are collected in `warnings`. */
export async function link(prefix: string, clock: Clock = systemClock): Promise<{ link: RedisLink; client: Redis; warnings: ClusterWarning[] }> {
  const client = await connect();
  const warnings: ClusterWarning[] = [];
  return { link: new RedisLink({ client, owned: true, keyPrefix: prefix }, clock, (w) => warnings.push(w)), client, warnings };
}

/** Deletes every key under `prefix`. */
export async function dropKeys(prefix: string): Promise<void> {
  if (!redisAvailable) return;
  const client = await connect();
  try {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
  } finally {
    client.disconnect();
  }
}

/**
 * A TCP proxy on 127.0.0.1 in front of Redis: `cut()` closes it and every connection through
 * it (Redis "goes away" for the clients behind it, and only for them); `restore()` listens on
 * the same port again.
 */
export class RedisProxy {
  #server: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();
  port = 0;

  static async start(): Promise<RedisProxy> {
    const proxy = new RedisProxy();
    await proxy.restore();
    return proxy;
  }

  async restore(): Promise<void> {
    const server = net.createServer((inbound) => {
      const outbound = net.connect(REDIS.port, REDIS.host);
      for (const s of [inbound, outbound]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

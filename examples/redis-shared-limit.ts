/**
 * Two processes sharing one host's rate limit through Redis: each child process runs its own
 * dispatcher with `cluster: { redis }` and sends 20 messages to one receiver limited to 20/s;
 * together they stay within the limit, so 40 messages take about two seconds.
 *
 *   node --import tsx examples/redis-shared-limit.ts
 *
 * Uses the Redis at 127.0.0.1:6379 under a key prefix of its own, deleted afterwards; without
 * Redis it says so and exits 0.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Dispatcher } from '../src/index.js';
import { startReceiver } from './local-receiver.js';

const REDIS = { host: '127.0.0.1', port: 6379 };
const PER_SECOND = 20;
const EACH = 20;

/** A child: one dispatcher in a process of its own, sharing the host's limit through Redis. */
async function child(url: string, keyPrefix: string): Promise<void> {
  const origin = new URL(url).origin;
  const dispatcher = new Dispatcher({
    allowPrivateNetworks: true,
    cluster: { redis: REDIS, keyPrefix },
    hosts: { [origin]: { rateLimit: { perSecond: PER_SECOND } } }, // the same limit in every process
  });
  await dispatcher.ready(); // the first Redis connection, so the first sends already share the limit
  for (let i = 0; i < EACH; i++) await dispatcher.send({ url, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }, { type: 'tick', data: { pid: process.pid, i } });
  await dispatcher.onIdle();
  await dispatcher.close();
}

function run(args: string[]): Promise<number> {
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
  return new Promise((resolve) => proc.on('exit', (code) => resolve(code ?? 1)));
}

async function parent(): Promise<void> {
  const redis = new Redis({ ...REDIS, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch {
    console.log(`skipped: no Redis on ${REDIS.host}:${REDIS.port}`);
    redis.disconnect();
    return;
  }
  const keyPrefix = `wd-example-${randomBytes(4).toString('hex')}:`;
  const arrivals: number[] = [];
  const receiver = await startReceiver(() => (arrivals.push(performance.now()), 200));
  try {
    const codes = await Promise.all([run(['child', receiver.url(), keyPrefix]), run(['child', receiver.url(), keyPrefix])]);
    if (codes.some((code) => code !== 0)) throw new Error(`a child process exited with ${codes.join(', ')}`);
    // The busiest one-second window the receiver saw.
    let busiest = 0;
    for (let i = 0, j = 0; i < arrivals.length; i++) {
      while (arrivals[i]! - arrivals[j]! >= 1_000) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    const seconds = (arrivals.at(-1)! - arrivals[0]!) / 1000;
    console.log(`2 processes delivered ${arrivals.length} in ${seconds.toFixed(1)} s; busiest second at the receiver ${busiest} (shared limit ${PER_SECOND}/s, burst ${PER_SECOND / 10})`);
  } finally {
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await receiver.close();
  }
}

if (process.argv[2] === 'child') await child(process.argv[3]!, process.argv[4]!);
else await parent();

/**
 * A host rate limit as Bottleneck, the peer of scenario 20, written the way a user would: one
 * Bottleneck per host whose reservoir has the same shape as the project's token bucket
 * (`bucketShape`: starts full at `capacity`, `amount` added every `intervalMs`, capped at
 * `capacity`), and the signed loop gated by it, one Bottleneck job per message.
 */
import Bottleneck from 'bottleneck';
import { Pool } from 'undici';
import { bucketShape, type RateLimit } from '../../src/limits/rate-limiter.js';
import { envelope, signedRequest } from './signed.js';
import { POOL_TIMEOUTS } from './workload.js';

/** A limit with the dispatcher's default burst (one refill: a tenth of the rate, at least 1). */
export function hostLimit(perSecond: number): Required<RateLimit> {
  return { perSecond, burst: Math.max(1, perSecond / 10) };
}

/**
 * A Bottleneck holding `limit` as a reservoir, running at most `maxConcurrent` jobs at once.
 * Bottleneck adds to a reservoir only on its heartbeat: without `heartbeatMs`, its default
 * (250 ms), so a refill due every 100 ms comes every 250 ms.
 */
export function hostBottleneck(limit: Required<RateLimit>, maxConcurrent: number, heartbeatMs?: number): Bottleneck {
  const { amount, intervalMs, capacity } = bucketShape(limit);
  return new Bottleneck({
    maxConcurrent,
    reservoir: capacity,
    reservoirIncreaseAmount: amount,
    reservoirIncreaseInterval: intervalMs,
    reservoirIncreaseMaximum: capacity,
    ...(heartbeatMs === undefined ? {} : { heartbeatInterval: heartbeatMs }),
  });
}

/**
 * A heartbeat fine enough for the reservoir: a tenth of its refill interval, 5 to 100 ms
 * (what this project set when its limiter ran on Bottleneck). Each beat costs a timer.
 */
export function tunedHeartbeat(limit: Required<RateLimit>): number {
  return Math.min(100, Math.max(5, Math.round(bucketShape(limit).intervalMs / 10)));
}

export interface GatedLoop {
  /** Resolves with the deliveries once every worker has stopped and the pool is closed. */
  readonly done: Promise<number>;
  /** No worker starts another message; those already scheduled finish. */
  stop(): void;
}

/**
 * The signed loop of signed.ts with a Bottleneck in front: `perHost` workers, each waiting for
 * `limiter.schedule` to run its next signed `pool.request`, until `count` messages or `stop()`.
 */
export function gatedLoop(origin: string, key: Buffer, limiter: Bottleneck, perHost: number, count = Infinity): GatedLoop {
  const pool = new Pool(origin, { connections: perHost, ...POOL_TIMEOUTS });
  let left = count;
  let stopped = false;
  let delivered = 0;
  const send = async () => {
    const { id, body } = envelope();
    const res = await pool.request(signedRequest(key, id, body));
    await res.body.dump();
    if (res.statusCode < 300) delivered++;
  };
  const worker = async () => {
    while (!stopped && left > 0) {
      left--;
      await limiter.schedule(send);
    }
  };
  const workers = Array.from({ length: Math.min(perHost, count) }, worker);
  const done = Promise.all(workers).then(async () => {
    await pool.close();
    return delivered;
  });
  return { done, stop: () => void (stopped = true) };
}

/** Jobs per second a Bottleneck runs when the jobs do nothing: `workers` closed loops, `count` jobs. */
export async function emptyJobsPerSecond(limiter: Bottleneck, count: number, workers = 8): Promise<number> {
  let left = count;
  const noop = () => Promise.resolve();
  const worker = async () => {
    while (left > 0) {
      left--;
      await limiter.schedule(noop);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: workers }, worker));
  const ms = performance.now() - t0;
  await limiter.disconnect();
  return (count / ms) * 1000;
}

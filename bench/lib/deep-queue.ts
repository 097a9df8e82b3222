/**
 * Deep-queue runs: every message is handed over before the first is sent, then the queue is
 * drained. The closed-loop runs (throughput.ts) await each `send`, so the dispatcher never
 * holds more than a few messages; an app that enqueues a burst (a batch job, a backlog after
 * a deploy) makes it hold them all. The signed loop's queue is an array of envelopes per host,
 * serialized up front as the dispatcher serializes at `send`, then signed and sent by
 * `perHost` workers per host.
 */
import { type Jobs, EVENT, POOL_TIMEOUTS } from './workload.js';
import { Pool } from 'undici';
import { Dispatcher } from '../../src/index.js';
import { endpointSource, type EndpointMode } from './fresh-endpoints.js';
import { envelope, signedRequest } from './signed.js';

/** Hands every job to `send` without awaiting, then waits for idle. Returns deliveries. */
export async function dispatcherDeepQueue(urls: string[], jobs: Jobs, secret: string, perHost: number, mode: EndpointMode): Promise<number> {
  const d = new Dispatcher({ allowPrivateNetworks: true, concurrency: perHost, queueCapacity: jobs.length + 1, endpointQueueShare: 1 });
  let delivered = 0;
  let failed = 0;
  d.on('delivered', () => delivered++);
  d.on('failed', () => failed++);
  const endpoint = endpointSource(urls, secret, mode);
  const receipts: Promise<unknown>[] = new Array(jobs.length);
  for (let i = 0; i < jobs.length; i++) receipts[i] = d.send(endpoint(jobs[i]!), EVENT);
  await Promise.all(receipts);
  await d.onIdle();
  await d.close();
  if (failed > 0) throw new Error(`dispatcher: ${failed} of ${jobs.length} messages failed against a healthy receiver`);
  return delivered;
}

/** The signed loop over a queue built first: envelopes per host, then `perHost` workers per host drain them. */
export async function signedDeepQueue(origins: string[], jobs: Jobs, perHost: number, key: Buffer): Promise<number> {
  const queues: { id: string; body: string }[][] = origins.map(() => []);
  for (const h of jobs) queues[h]!.push(envelope());
  const pools = origins.map((o) => new Pool(o, { connections: perHost, ...POOL_TIMEOUTS }));
  let delivered = 0;
  const worker = async (pool: Pool, queue: { id: string; body: string }[], next: { i: number }) => {
    while (next.i < queue.length) {
      const { id, body } = queue[next.i++]!;
      const res = await pool.request(signedRequest(key, id, body));
      await res.body.dump();
      if (res.statusCode < 300) delivered++;
    }
  };
  await Promise.all(
    pools.flatMap((pool, h) => {
      const queue = queues[h]!;
      const next = { i: 0 };
      return Array.from({ length: Math.min(perHost, queue.length) }, () => worker(pool, queue, next));
    }),
  );
  await Promise.all(pools.map((p) => p.close()));
  return delivered;
}

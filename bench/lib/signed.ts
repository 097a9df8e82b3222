/**
 * The signed baselines: what a user would write instead of the dispatcher, doing the same work
 * per message (JSON envelope, HMAC-SHA256, Standard Webhooks headers) at the same concurrency.
 * - signed loop: `pool.request()` + `body.dump()` in per-host loops. No queue, no retries, no
 *   events: the least a correct signed sender does. The throughput target is measured against it.
 * - p-queue: one `PQueue` per host with `concurrency: perHost`, each job a signed
 *   `pool.request()`, retried on 5xx or a network error with a doubling sleep.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import PQueue from 'p-queue';
import { Pool } from 'undici';
import { EVENT, POOL_TIMEOUTS, type Jobs } from './workload.js';

/** The secret's key bytes, as a Standard Webhooks sender decodes them once. */
export function keyOf(secret: string): Buffer {
  return Buffer.from(secret.slice('whsec_'.length), 'base64');
}

/** The body of one new event, serialized once, as a caller does when the event happens. */
export function envelope(): { id: string; body: string } {
  const id = `evt_${randomUUID()}`;
  return { id, body: JSON.stringify({ id, type: EVENT.type, timestamp: new Date().toISOString(), data: EVENT.data }) };
}

/** One signed request for an envelope: signed at send time so the timestamp is fresh on a retry. */
export function signedRequest(key: Buffer, id: string, body: string) {
  const ts = Math.floor(Date.now() / 1000);
  const signature = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
  return {
    method: 'POST' as const,
    path: '/hook',
    headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': `v1,${signature}` },
    body,
  };
}

function perHostCounts(hosts: number, jobs: Jobs): number[] {
  const counts: number[] = new Array(hosts).fill(0);
  for (const h of jobs) counts[h]!++;
  return counts;
}

/** The signed loop: `perHost` workers per origin, each sending its host's next message. Resolves with deliveries. */
export async function signedLoop(origins: string[], jobs: Jobs, perHost: number, key: Buffer): Promise<number> {
  const pools = origins.map((o) => new Pool(o, { connections: perHost, ...POOL_TIMEOUTS }));
  const counts = perHostCounts(origins.length, jobs);
  let delivered = 0;
  const worker = async (pool: Pool, left: { n: number }) => {
    while (left.n > 0) {
      left.n--;
      const { id, body } = envelope();
      const res = await pool.request(signedRequest(key, id, body));
      await res.body.dump();
      if (res.statusCode < 300) delivered++;
    }
  };
  await Promise.all(
    pools.flatMap((pool, h) => {
      const left = { n: counts[h]! };
      return Array.from({ length: Math.min(perHost, left.n) }, () => worker(pool, left));
    }),
  );
  await Promise.all(pools.map((p) => p.close()));
  return delivered;
}

const ATTEMPTS = 3;
const BASE_DELAY_MS = 100;

/** One message through p-queue: signed request, retried on 5xx or a network error. True when delivered. */
async function attemptAll(pool: Pool, key: Buffer, id: string, body: string): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await pool.request(signedRequest(key, id, body));
      await res.body.dump();
      if (res.statusCode < 500) return res.statusCode < 300;
    } catch {
      // A reset or timeout: retried like a 5xx.
    }
    if (attempt + 1 >= ATTEMPTS) return false;
    await sleep(BASE_DELAY_MS * 2 ** attempt);
  }
}

/** A PQueue per host, every job added up front (p-queue has no bound), then `onIdle()`. Resolves with deliveries. */
export async function pQueueSender(origins: string[], jobs: Jobs, perHost: number, key: Buffer): Promise<number> {
  const pools = origins.map((o) => new Pool(o, { connections: perHost, ...POOL_TIMEOUTS }));
  const queues = origins.map(() => new PQueue({ concurrency: perHost }));
  let delivered = 0;
  for (const h of jobs) {
    const { id, body } = envelope();
    void queues[h]!.add(async () => {
      if (await attemptAll(pools[h]!, key, id, body)) delivered++;
    });
  }
  await Promise.all(queues.map((q) => q.onIdle()));
  await Promise.all(pools.map((p) => p.close()));
  return delivered;
}

/**
 * The unsigned baselines every throughput scenario runs beside the dispatcher (the signed
 * ones, the signed loop and p-queue, are in signed.ts).
 * - raw-undici: `Pool.request` in tight loops at the same total concurrency. No signing, no
 *   queue, no retries: the practical ceiling of this machine.
 * - naive: the source tutorial's approach, in Node: per message `fetch` with an HMAC header,
 *   retry with sleep, fan-out with `Promise.all` (in chunks as wide as the others' concurrency).
 */
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { BODY, POOL_TIMEOUTS, type Jobs } from './workload.js';

/** Sends every job through one keep-alive pool per origin; resolves with the deliveries made. */
export async function rawUndici(origins: string[], jobs: Jobs, perHost: number): Promise<number> {
  const pools = origins.map((o) => new Pool(o, { connections: perHost, pipelining: 1, ...POOL_TIMEOUTS }));
  const byHost: number[] = new Array(origins.length).fill(0);
  for (const h of jobs) byHost[h]!++;
  let delivered = 0;
  const body = Buffer.from(BODY);
  const worker = async (pool: Pool, left: { n: number }) => {
    while (left.n > 0) {
      left.n--;
      const res = await pool.request({ method: 'POST', path: '/hook', headers: ['content-type', 'application/json'], body });
      await res.body.dump();
      if (res.statusCode < 300) delivered++;
    }
  };
  await Promise.all(
    pools.flatMap((pool, h) => {
      const left = { n: byHost[h]! };
      return Array.from({ length: Math.min(perHost, left.n) }, () => worker(pool, left));
    }),
  );
  await Promise.all(pools.map((p) => p.close()));
  return delivered;
}

async function naiveSend(url: string, payload: unknown, secret: string): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const body = JSON.stringify(payload);
    const signature = createHmac('sha256', secret).update(body).digest('hex');
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature': signature }, body });
      await res.arrayBuffer();
      if (res.ok) return true;
    } catch {
      // The tutorial retries on any failure.
    }
    await sleep(100 * 2 ** attempt);
  }
  return false;
}

/** The tutorial's way: fetch per message, Promise.all over chunks of `width`. */
export async function naive(urls: string[], jobs: Jobs, width: number, secret: string): Promise<number> {
  const payload = JSON.parse(BODY) as unknown;
  let delivered = 0;
  for (let i = 0; i < jobs.length; i += width) {
    const chunk = jobs.slice(i, i + width);
    const results = await Promise.all(chunk.map((h) => naiveSend(urls[h]!, payload, secret)));
    delivered += results.filter(Boolean).length;
  }
  return delivered;
}

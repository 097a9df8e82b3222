/**
 * The two baselines every throughput scenario runs beside the dispatcher.
 * - raw-undici: `Pool.request` in tight loops at the same total concurrency. No signing, no
 *   queue, no retries: the practical ceiling of this machine.
 * - naive: the source tutorial's approach, in Node: per message `fetch` with an HMAC header,
 *   retry with sleep, fan-out with `Promise.all` (in chunks as wide as the others' concurrency).
 */
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

/** One message: the index of the host it goes to. */
export type Jobs = number[];

export const BODY = JSON.stringify({ id: 'evt_bench', type: 'bench.event', timestamp: new Date(0).toISOString(), data: { order: 12345, amount: 4200, currency: 'EUR', note: 'x'.repeat(120) } });

/** Sends every job through one keep-alive pool per origin; resolves with the deliveries made. */
export async function rawUndici(origins: string[], jobs: Jobs, perHost: number): Promise<number> {
  const pools = origins.map((o) => new Pool(o, { connections: perHost, pipelining: 1, headersTimeout: 10_000, bodyTimeout: 10_000 }));
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

/**
 * The least any signed sender must do per message, hand-rolled on `Pool.dispatch`: serialize
 * the envelope, HMAC it, send it. No queue, no retries, no events. It shows how much of the gap
 * to raw-undici is the signing and serializing every webhook needs, and how much is ours.
 */
export async function signedLoop(origins: string[], jobs: Jobs, perHost: number, secretKey: Buffer): Promise<number> {
  const { createHmac: hmac } = await import('node:crypto');
  const pools = origins.map((o) => new Pool(o, { connections: perHost, pipelining: 1 }));
  const queues: number[] = new Array(origins.length).fill(0);
  for (const h of jobs) queues[h]!++;
  const payload = JSON.parse(BODY) as { data: unknown };
  let delivered = 0;
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    let outstanding = 0;
    const next = (h: number): void => {
      if (queues[h]! <= 0) {
        if (outstanding === 0) resolve();
        return;
      }
      queues[h]!--;
      outstanding++;
      const id = `evt_${n++}`;
      const ts = Math.floor(Date.now() / 1000);
      const body = Buffer.from(JSON.stringify({ id, type: 'bench.event', timestamp: new Date().toISOString(), data: payload.data }));
      const signature = hmac('sha256', secretKey).update(`${id}.${ts}.`).update(body).digest('base64');
      pools[h]!.dispatch(
        { method: 'POST', path: '/hook', headers: ['content-type', 'application/json', 'webhook-id', id, 'webhook-timestamp', String(ts), 'webhook-signature', `v1,${signature}`], body },
        {
          onRequestStart() {},
          onResponseStart() {},
          onResponseData() {},
          onResponseEnd() {
            outstanding--;
            delivered++;
            next(h);
          },
          onResponseError(_c, error) {
            reject(error);
          },
        },
      );
    };
    pools.forEach((_, h) => {
      for (let i = 0; i < perHost; i++) next(h);
    });
  });
  await Promise.all(pools.map((p) => p.close()));
  return delivered;
}

/**
 * Scenario 23: many customers' endpoints on one host (issue 21).
 * - Slack-style: N endpoints on one host, each sent 1 message a second with `rateLimit` 1/s,
 *   beside one endpoint flooded with a backlog; the quiet endpoints' p99 (send to `delivered`)
 *   with the flood beside their p99 without it, and every endpoint's most requests in any one
 *   second at the receiver (an in-process receiver on 127.0.0.1 that stamps each arrival).
 * - Cost: closed-loop throughput to one host with 1 endpoint and with 1,000, each ÷ the signed
 *   loop in the same round (alternating, median of the rounds' ratios).
 * - Memory: 100,000 endpoints with one message each queued on one host (a receiver that never
 *   answers), heap after GC per endpoint, beside 100,000 messages to one endpoint.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Dispatcher } from '../../src/index.js';
import type { Context, ScenarioResult } from '../lib/context.js';
import { runDispatcher } from '../lib/dispatcher-run.js';
import { Receivers } from '../lib/receivers.js';
import { keyOf, signedLoop } from '../lib/signed.js';
import { gcHeap, histogram, median } from '../lib/stats.js';
import { measureRate } from '../lib/throughput.js';
import { EVENT } from '../lib/workload.js';

/** A receiver in this process: answers 200 at once, stamps each arrival per path. */
async function stampingReceiver() {
  const arrivals = new Map<string, number[]>();
  const server = http.createServer((req, res) => {
    const at = performance.now();
    req.resume();
    req.on('end', () => {
      const path = req.url ?? '';
      let list = arrivals.get(path);
      if (list === undefined) arrivals.set(path, (list = []));
      list.push(at);
      res.end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, arrivals, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The most arrivals in any window of 1,000 ms (times ascending). */
function maxPerSecond(times: number[]): number {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 1_000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/** N quiet endpoints at 1/s for `seconds`, with or without a flood of `flood` messages to one more endpoint. */
async function slack(ctx: Context, n: number, seconds: number, flood: number) {
  const rx = await stampingReceiver();
  const d = new Dispatcher({ allowPrivateNetworks: true, concurrency: 16, queueCapacity: flood + n * seconds + 1_000, endpointQueueShare: 1 });
  const started = new Map<string, number>();
  const floodUrl = `${rx.origin}/flood`;
  const latency = histogram();
  let pending = 0;
  let done: () => void = () => {};
  // A delivery may land before its send's promise has handed back the receipt: either order is counted.
  const landed = new Map<string, number>();
  const record = (us: number) => {
    latency.recordValue(Math.max(1, Math.round(us)));
    if (--pending === 0) done();
  };
  d.on('delivered', (e) => {
    if (e.url === floodUrl) return;
    const t = started.get(e.messageId);
    if (t === undefined) return void landed.set(e.messageId, performance.now());
    started.delete(e.messageId);
    record((performance.now() - t) * 1000);
  });
  const quiet = Array.from({ length: n }, (_, i) => ({ url: `${rx.origin}/q${i}`, secret: ctx.secret, rateLimit: { perSecond: 1, burst: 1 } }));
  const floodEndpoint = { url: floodUrl, secret: ctx.secret };
  for (let i = 0; i < flood; i++) await d.send(floodEndpoint, EVENT);
  const total = n * seconds;
  const t0 = performance.now();
  // Endpoint i is sent at i/n of every second: 1 a second each, spread evenly.
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * n) / 1000));
      for (; sent < due; sent++) {
        pending++;
        const at = performance.now();
        void d.send(quiet[sent % n]!, EVENT).then((receipt) => {
          const end = landed.get(receipt.messageId);
          if (end === undefined) return void started.set(receipt.messageId, at);
          landed.delete(receipt.messageId);
          record((end - at) * 1000);
        });
      }
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  await new Promise<void>((resolve) => (pending === 0 ? resolve() : (done = resolve)));
  const floodLeft = d.stats().hosts[rx.origin]?.queued ?? 0;
  await d.close();
  await rx.stop();
  let worstQuiet = 0;
  for (let i = 0; i < n; i++) worstQuiet = Math.max(worstQuiet, maxPerSecond(rx.arrivals.get(`/q${i}`) ?? []));
  const floodDelivered = rx.arrivals.get('/flood')?.length ?? 0;
  return { p50: latency.getValueAtPercentile(50) / 1000, p99: latency.getValueAtPercentile(99) / 1000, worstQuiet, floodDelivered, floodLeft };
}

/** Throughput to one host with 1 and with `many` endpoints, each ÷ the signed loop of its round. */
async function cost(ctx: Context, many: number, messages: number, rounds: number) {
  const rx = await Receivers.start(1);
  const key = keyOf(ctx.secret);
  const jobs = Array.from({ length: messages }, () => 0);
  const one = [rx.url(0)];
  const lots = Array.from({ length: many }, (_, i) => rx.url(0, `/e${i}`));
  const manyJobs = Array.from({ length: messages }, (_, i) => i % many);
  const rates = { one: [] as number[], many: [] as number[], signed: [] as number[] };
  const runs = {
    one: () => measureRate(rx, '23 one endpoint', messages, () => runDispatcher(one, jobs, ctx.secret, { concurrency: 16 }), ctx.secret),
    many: () => measureRate(rx, `23 ${many} endpoints`, messages, () => runDispatcher(lots, manyJobs, ctx.secret, { concurrency: 16 }), ctx.secret),
    signed: () => measureRate(rx, '23 signed loop', messages, () => signedLoop([rx.origin(0)], jobs, 16, key), ctx.secret),
  };
  const names = Object.keys(runs) as (keyof typeof runs)[];
  for (let r = 0; r <= rounds; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]!);
    if (r % 2 === 1) order.reverse();
    const line: string[] = [];
    for (const name of order) {
      const rate = await runs[name]();
      if (r > 0) rates[name].push(rate);
      line.push(`${name} ${Math.round(rate)}/s`);
    }
    ctx.note(`${r === 0 ? 'warm-up' : `round ${r}/${rounds}`}: ${line.join(', ')}`);
  }
  await rx.stop();
  const ratio = (name: 'one' | 'many') => median(rates[name].map((x, i) => x / rates.signed[i]!));
  return { one: median(rates.one), many: median(rates.many), signed: median(rates.signed), oneRatio: ratio('one'), manyRatio: ratio('many') };
}

/** Heap after GC with `count` messages queued on one host that never answers, to `endpoints` distinct URLs. */
async function queuedHeap(ctx: Context, count: number, endpoints: number): Promise<number> {
  const rx = await Receivers.start(1);
  await rx.configure({ silent: true });
  const d = new Dispatcher({ allowPrivateNetworks: true, concurrency: 10, queueCapacity: count + 1, endpointQueueShare: 1, timeoutMs: 600_000 });
  const list = Array.from({ length: endpoints }, (_, i) => ({ url: rx.url(0, `/e${i}`), secret: ctx.secret }));
  // The caller's endpoint objects are made before the first reading: only the dispatcher's part is counted.
  const before = gcHeap();
  for (let sent = 0; sent < count; sent++) await d.send(list[sent % endpoints]!, EVENT);
  const after = gcHeap();
  const held = d.stats().pending;
  if (held !== count) throw new Error(`expected ${count} held, got ${held}`);
  await d.close();
  await rx.stop();
  return (after - before) / count;
}

export async function run(ctx: Context): Promise<ScenarioResult> {
  const n = ctx.pick(1_000, 1_000);
  const seconds = ctx.pick(5, 20);
  // Enough to outlast the quiet endpoints' sending at the host's full speed (~18,000/s on 2 cores).
  const flood = ctx.pick(100_000, 400_000);
  const bar = ctx.progress('endpoint fairness', 5);
  const calm = await slack(ctx, n, seconds, 0);
  bar.tick();
  ctx.note(`without flood: p50 ${calm.p50.toFixed(1)} ms, p99 ${calm.p99.toFixed(1)} ms, worst quiet ${calm.worstQuiet}/s`);
  const flooded = await slack(ctx, n, seconds, flood);
  bar.tick();
  ctx.note(`with flood: p50 ${flooded.p50.toFixed(1)} ms, p99 ${flooded.p99.toFixed(1)} ms, worst quiet ${flooded.worstQuiet}/s, flood delivered ${flooded.floodDelivered}`);
  const c = await cost(ctx, 1_000, ctx.pick(10_000, 50_000), ctx.pick(2, 5));
  bar.tick();
  const endpoints = ctx.pick(100_000, 100_000);
  const perOneEndpoint = await queuedHeap(ctx, endpoints, 1);
  bar.tick();
  const perManyEndpoints = await queuedHeap(ctx, endpoints, endpoints);
  bar.tick();
  bar.stop();
  const perEndpoint = perManyEndpoints - perOneEndpoint;
  return {
    id: '23',
    title: `${n.toLocaleString('en-US')} endpoints on one host`,
    rows: [
      { metric: `quiet p99, no flood (${n} × 1/s)`, unit: 'ms', dispatcher: calm.p99 },
      { metric: `quiet p99, beside a flood of ${flood.toLocaleString('en-US')}`, unit: 'ms', dispatcher: flooded.p99 },
      { metric: 'quiet p50, no flood', unit: 'ms', dispatcher: calm.p50 },
      { metric: 'quiet p50, beside the flood', unit: 'ms', dispatcher: flooded.p50 },
      { metric: 'most requests in any second, one quiet endpoint (1/s, burst 1)', unit: '/s', dispatcher: flooded.worstQuiet, target: '≤ 2', pass: flooded.worstQuiet <= 2 },
      { metric: 'flood delivered meanwhile (of the flood)', unit: '', dispatcher: flooded.floodDelivered },
      { metric: 'deliveries/s, 1 endpoint', unit: '/s', dispatcher: c.one, signedLoop: c.signed },
      { metric: 'deliveries/s, 1,000 endpoints', unit: '/s', dispatcher: c.many, signedLoop: c.signed },
      { metric: '1 endpoint ÷ signed loop', unit: '×', dispatcher: c.oneRatio, target: '≥ 0.95', pass: c.oneRatio >= 0.95 },
      { metric: '1,000 endpoints ÷ signed loop', unit: '×', dispatcher: c.manyRatio },
      { metric: `heap per queued message, ${endpoints.toLocaleString('en-US')} to one endpoint`, unit: 'B', dispatcher: perOneEndpoint },
      { metric: `heap per endpoint, ${endpoints.toLocaleString('en-US')} endpoints × 1 message`, unit: 'B', dispatcher: perManyEndpoints },
      { metric: 'of which the endpoint (lane) itself', unit: 'B', dispatcher: perEndpoint },
    ],
    details: { n, seconds, flood, calm, flooded, cost: c, perOneEndpoint, perManyEndpoints },
  };
}

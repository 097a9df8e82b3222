/**
 * Scenario 20: the host rate limit as the project's token bucket (`LocalRateLimiter`, inside
 * the real Dispatcher) and as Bottleneck (one per host, its reservoir shaped like the bucket,
 * in front of the signed loop: bench/lib/bottleneck-host.ts), side by side in alternating rounds.
 *
 * - Throughput under a limit that never binds (100,000/s, one host on 127.0.0.1): what the
 *   limiter itself costs. Bottleneck's local datastore serialises submissions and yields with
 *   `setTimeout(0)` at each step, so it runs a few hundred jobs a second whatever its settings;
 *   the same with jobs that do nothing, under four settings, shows that it is not the I/O.
 * - Rate accuracy at 10, 100 and 1,000/s (the three hosts at once): steady rate past the first
 *   second and the busiest one-second window, Bottleneck with a heartbeat fine enough for its
 *   reservoir (a tenth of a refill interval).
 * - Under-delivery: 10/s with Bottleneck's default 250 ms heartbeat, a refill due every 100 ms
 *   lands every 250 ms: 40% of the rate, and nothing reports it.
 * - Idle cost of 10,000 limiters of each kind (a 10/s host limit, Bottleneck on its default
 *   heartbeat): heap per limiter after a forced GC, and CPU per second while nothing is sent.
 *
 * Ratios are ours ÷ Bottleneck, the median of each round's ratio.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import Bottleneck from 'bottleneck';
import { Dispatcher } from '../../src/index.js';
import { LocalRateLimiter } from '../../src/limits/local-rate-limiter.js';
import { emptyJobsPerSecond, gatedLoop, hostBottleneck, hostLimit, tunedHeartbeat } from '../lib/bottleneck-host.js';
import type { Context, Row, ScenarioResult } from '../lib/context.js';
import { runDispatcher } from '../lib/dispatcher-run.js';
import { Receivers } from '../lib/receivers.js';
import { keyOf } from '../lib/signed.js';
import { gcHeap, median, rateAccuracy } from '../lib/stats.js';
import { measureRate } from '../lib/throughput.js';
import { EVENT } from '../lib/workload.js';

const PER_HOST = 8;
const HIGH = 100_000;
const RATES = [10, 100, 1_000];
const IDLE_LIMITERS = 10_000;

type Kind = 'ours' | 'bottleneck';
/** Even rounds run ours first, odd rounds Bottleneck first. */
const order = (round: number): Kind[] => (round % 2 === 0 ? ['ours', 'bottleneck'] : ['bottleneck', 'ours']);

/** Alternating rounds on port 0 (ports 1..3 take the three rates, 1 and 2 the heartbeat run); deliveries/s per round. */
async function throughputRounds(ctx: Context, rx: Receivers, key: Buffer): Promise<Record<Kind, number[]>> {
  const messages = ctx.pick(800, 4_000);
  const rounds = ctx.pick(3, 5);
  const origin = rx.origin(0);
  const limit = hostLimit(HIGH);
  const run: Record<Kind, (n: number) => Promise<number>> = {
    ours: (n) => measureRate(rx, '20 token bucket', n, () => runDispatcher([rx.url(0)], new Array<number>(n).fill(0), ctx.secret, { concurrency: PER_HOST, hosts: { [origin]: { rateLimit: limit } } }), ctx.secret),
    bottleneck: (n) =>
      measureRate(
        rx,
        '20 Bottleneck',
        n,
        async () => {
          const limiter = hostBottleneck(limit, PER_HOST);
          const delivered = await gatedLoop(origin, key, limiter, PER_HOST, n).done;
          await limiter.disconnect();
          return delivered;
        },
        ctx.secret,
      ),
  };
  const out: Record<Kind, number[]> = { ours: [], bottleneck: [] };
  const bar = ctx.progress('throughput, 100,000/s limit', (rounds + 1) * 2);
  for (let r = 0; r <= rounds; r++) {
    const line: string[] = [];
    for (const kind of order(r)) {
      // One unrecorded round warms the JIT and the connections: a full one for the dispatcher,
      // whose short runs are mostly warm-up, a quarter for Bottleneck, whose runs are long.
      const rate = await run[kind](r === 0 && kind === 'bottleneck' ? messages / 4 : messages);
      if (r > 0) out[kind].push(rate);
      line.push(`${kind} ${Math.round(rate).toLocaleString('en-US')}/s`);
      bar.tick();
    }
    ctx.note(`throughput ${r === 0 ? 'warm-up' : `round ${r}/${rounds}`}: ${line.join(', ')}`);
  }
  bar.stop();
  return out;
}

/**
 * Starts backlogged hosts at ports `first`.. limited to `rates`, with one kind of limiter;
 * resolves with the function that stops them. Bottleneck's heartbeat comes from `heartbeat`.
 */
async function startHosts(ctx: Context, rx: Receivers, key: Buffer, kind: Kind, rates: number[], first: number, seconds: number, heartbeat: (perSecond: number) => number | undefined): Promise<() => Promise<void>> {
  if (kind === 'ours') {
    const hosts = Object.fromEntries(rates.map((perSecond, i) => [rx.origin(first + i), { rateLimit: hostLimit(perSecond) }]));
    const d = new Dispatcher({ allowPrivateNetworks: true, concurrency: PER_HOST, queueCapacity: 1_000_000, hosts });
    for (let i = 0; i < rates.length; i++) {
      const ep = { url: rx.url(first + i), secret: ctx.secret };
      const backlog = Math.ceil(rates[i]! * seconds * 1.2) + 10;
      for (let n = 0; n < backlog; n++) await d.send(ep, EVENT);
    }
    return () => d.close();
  }
  const loops = rates.map((perSecond, i) => {
    const limiter = hostBottleneck(hostLimit(perSecond), PER_HOST, heartbeat(perSecond));
    return { limiter, loop: gatedLoop(rx.origin(first + i), key, limiter, PER_HOST) };
  });
  return async () => {
    for (const { loop } of loops) loop.stop();
    await Promise.all(loops.map(async ({ limiter, loop }) => (await loop.done, await limiter.disconnect())));
  };
}

/** Runs what `starts` start for `seconds` against a freshly counted receiver; the arrival times (ms, sorted) at each port. */
async function arrivals(rx: Receivers, seconds: number, ports: number[], starts: (() => Promise<() => Promise<void>>)[]): Promise<number[][]> {
  await rx.configure({}, { recordTimes: true });
  await rx.reset();
  const stops = await Promise.all(starts.map((start) => start()));
  await sleep(seconds * 1000);
  const stats = await rx.stats();
  await Promise.all(stops.map((stop) => stop()));
  return ports.map((i) => (stats.times[rx.ports[i]!] ?? []).sort((a, b) => a - b));
}

/** Heap per limiter and CPU (ms per second) of `count` idle limiters of one kind. */
async function idleCost(kind: Kind, count: number, windowMs: number): Promise<{ bytes: number; cpuMsPerS: number }> {
  const limit = hostLimit(10);
  const before = gcHeap();
  const limiters: (LocalRateLimiter | Bottleneck)[] = [];
  for (let i = 0; i < count; i++) limiters.push(kind === 'ours' ? new LocalRateLimiter(limit, Date.now()) : hostBottleneck(limit, 1));
  const bytes = (gcHeap() - before) / count;
  // The forced GC sweeps on helper threads afterwards, which process.cpuUsage() counts: let it finish.
  await sleep(250);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(windowMs);
  const { user, system } = process.cpuUsage(cpu0);
  const cpuMsPerS = (user + system) / 1000 / ((performance.now() - t0) / 1000);
  await Promise.all(limiters.map((l) => (l instanceof Bottleneck ? l.disconnect() : l.close())));
  return { bytes, cpuMsPerS };
}

export async function run(ctx: Context): Promise<ScenarioResult> {
  const rx = await Receivers.start(1 + RATES.length);
  const key = keyOf(ctx.secret);
  try {
    const tp = await throughputRounds(ctx, rx, key);
    const jobs = ctx.pick(200, 1_000);
    const settings: [string, () => Bottleneck][] = [
      ['defaults', () => new Bottleneck()],
      ['maxConcurrent 8', () => new Bottleneck({ maxConcurrent: PER_HOST })],
      ['reservoir of 100,000/s', () => hostBottleneck(hostLimit(HIGH), PER_HOST)],
      ['minTime 0, heartbeat 5 ms', () => new Bottleneck({ minTime: 0, heartbeatInterval: 5 })],
    ];
    const empty: Record<string, number> = {};
    for (const [name, make] of settings) empty[name] = await emptyJobsPerSecond(make(), jobs, PER_HOST);
    ctx.note(`Bottleneck, jobs doing nothing: ${Object.entries(empty).map(([name, rate]) => `${name} ${Math.round(rate)}/s`).join(', ')}`);

    const seconds = ctx.pick(4, 10);
    const accuracyRounds = ctx.pick(1, 2);
    const acc: Record<Kind, { achieved: number; worst: number }[][]> = { ours: [], bottleneck: [] };
    const bar = ctx.progress('rate accuracy', accuracyRounds * 2 + 1);
    for (let r = 0; r < accuracyRounds; r++) {
      for (const kind of order(r)) {
        const start = () => startHosts(ctx, rx, key, kind, RATES, 1, seconds, (perSecond) => tunedHeartbeat(hostLimit(perSecond)));
        const times = await arrivals(rx, seconds, [1, 2, 3], [start]);
        acc[kind].push(times.map((t, i) => rateAccuracy(t, RATES[i]!)));
        ctx.note(`accuracy ${kind}: ${acc[kind].at(-1)!.map((x, i) => `${RATES[i]}/s ${(x.achieved * 100).toFixed(1)}% (most in 1 s ${x.worst})`).join(', ')}`);
        bar.tick();
      }
    }
    // The heartbeat run: Bottleneck on its default heartbeat (port 1) beside ours (port 2), both 10/s; the load is light.
    const [slowBn, oursAt10] = await arrivals(rx, seconds, [1, 2], [
      () => startHosts(ctx, rx, key, 'bottleneck', [10], 1, seconds, () => undefined),
      () => startHosts(ctx, rx, key, 'ours', [10], 2, seconds, () => undefined),
    ]);
    bar.tick();
    bar.stop();
    const heartbeat = { bottleneck: rateAccuracy(slowBn!, 10).achieved, ours: rateAccuracy(oursAt10!, 10).achieved };
    ctx.note(`10/s, Bottleneck on its default heartbeat ${(heartbeat.bottleneck * 100).toFixed(1)}%, token bucket beside it ${(heartbeat.ours * 100).toFixed(1)}%`);

    const idleWindow = ctx.pick(1_500, 5_000);
    const idle: Record<Kind, { bytes: number; cpuMsPerS: number }[]> = { ours: [], bottleneck: [] };
    for (let r = 0; r < ctx.pick(1, 3); r++) {
      for (const kind of order(r)) {
        const cost = await idleCost(kind, IDLE_LIMITERS, idleWindow);
        idle[kind].push(cost);
        ctx.note(`idle ${kind}: ${Math.round(cost.bytes)} B per limiter, ${cost.cpuMsPerS.toFixed(2)} ms CPU per s`);
      }
    }

    return report(tp, empty, acc, heartbeat, idle, { messages: ctx.pick(800, 4_000), jobs, seconds, idleWindow });
  } finally {
    await rx.stop();
  }
}

function report(
  tp: Record<Kind, number[]>,
  empty: Record<string, number>,
  acc: Record<Kind, { achieved: number; worst: number }[][]>,
  heartbeat: Record<Kind, number>,
  idle: Record<Kind, { bytes: number; cpuMsPerS: number }[]>,
  settings: Record<string, number>,
): ScenarioResult {
  const throughputRatio = median(tp.ours.map((x, i) => x / tp.bottleneck[i]!));
  const rows: Row[] = [
    { metric: `deliveries/s, ${HIGH.toLocaleString('en-US')}/s limit, token bucket (dispatcher)`, unit: '/s', dispatcher: median(tp.ours) },
    { metric: `deliveries/s, ${HIGH.toLocaleString('en-US')}/s limit, Bottleneck (signed loop)`, unit: '/s', dispatcher: median(tp.bottleneck) },
    { metric: 'throughput, ours ÷ Bottleneck', unit: '×', dispatcher: throughputRatio, target: '≥ 5', pass: throughputRatio >= 5 },
    ...Object.entries(empty).map(([name, rate]): Row => ({ metric: `Bottleneck jobs/s, jobs doing nothing, ${name}`, unit: '/s', dispatcher: rate })),
  ];
  RATES.forEach((perSecond, i) => {
    const at = (kind: Kind) => acc[kind].map((round) => round[i]!);
    const achieved = (kind: Kind) => median(at(kind).map((x) => x.achieved));
    const worst = (kind: Kind) => Math.max(...at(kind).map((x) => x.worst));
    const ceiling = perSecond + hostLimit(perSecond).burst;
    const ours = achieved('ours');
    rows.push(
      { metric: `${perSecond}/s: achieved ÷ configured, token bucket`, unit: '%', dispatcher: ours, target: '≥ 95%', pass: ours >= 0.95 },
      { metric: `${perSecond}/s: achieved ÷ configured, Bottleneck (heartbeat ${tunedHeartbeat(hostLimit(perSecond))} ms)`, unit: '%', dispatcher: achieved('bottleneck') },
      { metric: `${perSecond}/s: achieved, ours ÷ Bottleneck`, unit: '×', dispatcher: median(at('ours').map((x, r) => x.achieved / at('bottleneck')[r]!.achieved)) },
      { metric: `${perSecond}/s: most in any 1 s, token bucket (limit ${ceiling})`, unit: 'count', dispatcher: worst('ours'), target: `≤ ${ceiling}`, pass: worst('ours') <= ceiling },
      { metric: `${perSecond}/s: most in any 1 s, Bottleneck`, unit: 'count', dispatcher: worst('bottleneck') },
    );
  });
  const cost = (kind: Kind, key: 'bytes' | 'cpuMsPerS') => median(idle[kind].map((x) => x[key]));
  const ratio = (key: 'bytes' | 'cpuMsPerS') => median(idle.ours.map((x, i) => x[key] / idle.bottleneck[i]![key]));
  const n = IDLE_LIMITERS.toLocaleString('en-US');
  const idleCpu = ratio('cpuMsPerS');
  rows.push(
    { metric: '10/s, Bottleneck on its default 250 ms heartbeat: achieved ÷ configured', unit: '%', dispatcher: heartbeat.bottleneck },
    { metric: '10/s beside it, token bucket: achieved ÷ configured', unit: '%', dispatcher: heartbeat.ours, target: '≥ 95%', pass: heartbeat.ours >= 0.95 },
    { metric: `heap per idle limiter (${n}), token bucket`, unit: 'B', dispatcher: cost('ours', 'bytes'), target: '≤ 256 B', pass: cost('ours', 'bytes') <= 256 },
    { metric: `heap per idle limiter (${n}), Bottleneck`, unit: 'B', dispatcher: cost('bottleneck', 'bytes') },
    { metric: 'heap per idle limiter, ours ÷ Bottleneck', unit: '×', dispatcher: ratio('bytes') },
    // Ours owns no timer: what it shows is the process's own idle noise, so the target is a ratio.
    { metric: `CPU of ${n} idle limiters (whole process), token bucket`, unit: 'ms/s', dispatcher: cost('ours', 'cpuMsPerS') },
    { metric: `CPU of ${n} idle limiters (whole process), Bottleneck`, unit: 'ms/s', dispatcher: cost('bottleneck', 'cpuMsPerS') },
    { metric: 'idle CPU, ours ÷ Bottleneck', unit: '×', dispatcher: idleCpu, target: '≤ 0.25', pass: idleCpu <= 0.25 },
  );
  return { id: '20', title: 'token bucket vs Bottleneck', rows, details: { ...settings, perHost: PER_HOST, throughput: tp, emptyJobs: empty, accuracy: acc, heartbeat, idle } };
}

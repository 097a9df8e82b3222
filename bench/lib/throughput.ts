/**
 * The closed-loop throughput comparison shared by the one-host and many-host scenarios: the
 * dispatcher, the signed loop, p-queue, raw-undici and naive take turns in every round at the
 * same total concurrency, after one unrecorded warm-up round; each rate is the median round,
 * each ratio the median of the rounds' ratios.
 * The dispatcher's target is a ratio to the signed loop (the same signing work, hand-written),
 * so a slow or busy machine moves both sides alike.
 */
import { naive, rawUndici } from './contenders.js';
import type { Context, ScenarioResult } from './context.js';
import { runPublish, timed } from './dispatcher-run.js';
import { runDispatcherWith } from './fresh-endpoints.js';
import { Receivers } from './receivers.js';
import { keyOf, pQueueSender, signedLoop } from './signed.js';
import { gcHeap, median } from './stats.js';
import type { Jobs } from './workload.js';

export interface ThroughputPlan {
  id: string;
  title: string;
  hosts: number;
  perHost: number;
  messages: number;
  /** The naive sender is slow: it gets fewer messages, and its rate is compared. */
  naiveMessages: number;
  rounds: number;
  /** Each event goes to every host at once (`publish`), instead of one message per event. */
  fanOut?: boolean;
  /** The least dispatcher ÷ signed loop this scenario must reach; no target row without it. */
  signedTarget?: number;
  /**
   * Also runs the dispatcher with a new endpoint object per send (`dispatcherFresh`), as an app
   * reading endpoints from a database row does, beside the reused objects of `dispatcher`.
   */
  fresh?: boolean;
}

function spread(hosts: number, n: number): Jobs {
  return Array.from({ length: n }, (_, i) => i % hosts);
}

/**
 * Runs one contender against a freshly counted receiver and checks every message arrived (and,
 * with `secret`, that a sample of the signatures verifies); returns messages per second.
 */
export async function measureRate(rx: Receivers, label: string, count: number, send: () => Promise<number>, secret?: string): Promise<number> {
  await rx.configure({}, secret === undefined ? {} : { secret, verifyEvery: 97 });
  await rx.reset();
  // The previous contender's garbage is collected first, not charged to this one.
  gcHeap();
  const { ms, value: delivered } = await timed(send);
  const stats = await rx.stats();
  if (delivered !== count || stats.count !== count) throw new Error(`${label}: sent ${count}, delivered ${delivered}, received ${stats.count}`);
  if (secret !== undefined && (stats.verifyFailed > 0 || stats.verified === 0)) throw new Error(`${label}: ${stats.verifyFailed} of ${stats.verified + stats.verifyFailed} sampled signatures failed`);
  return (count / ms) * 1000;
}

export async function throughput(ctx: Context, plan: ThroughputPlan): Promise<ScenarioResult> {
  const rx = await Receivers.start(plan.hosts);
  const origins = rx.ports.map((_, i) => rx.origin(i));
  const urls = rx.ports.map((_, i) => rx.url(i));
  // The warm-up round sends a quarter as much (in whole rounds of the hosts, for fan-out).
  const quarter = (n: number) => Math.ceil(n / 4 / plan.hosts) * plan.hosts;
  const full = { jobs: spread(plan.hosts, plan.messages), naive: spread(plan.hosts, plan.naiveMessages) };
  const warm = { jobs: spread(plan.hosts, quarter(plan.messages)), naive: spread(plan.hosts, quarter(plan.naiveMessages)) };
  const width = plan.hosts * plan.perHost;
  const key = keyOf(ctx.secret);

  const measured = (name: string, count: number, verify: boolean, send: () => Promise<number>): Promise<number> =>
    measureRate(rx, `${plan.id} ${name}`, count, send, verify ? ctx.secret : undefined);
  type Lists = typeof full;
  const contenders = {
    dispatcher: ({ jobs }: Lists) =>
      measured('dispatcher', jobs.length, true, () =>
        plan.fanOut ? runPublish(urls, jobs.length / plan.hosts, ctx.secret, { concurrency: plan.perHost }) : runDispatcherWith(urls, jobs, ctx.secret, { concurrency: plan.perHost }, 'reused'),
      ),
    dispatcherFresh: ({ jobs }: Lists) =>
      measured('dispatcher, fresh endpoints', jobs.length, true, () => runDispatcherWith(urls, jobs, ctx.secret, { concurrency: plan.perHost }, 'fresh')),
    signedLoop: ({ jobs }: Lists) => measured('signed loop', jobs.length, true, () => signedLoop(origins, jobs, plan.perHost, key)),
    pQueue: ({ jobs }: Lists) => measured('p-queue', jobs.length, true, () => pQueueSender(origins, jobs, plan.perHost, key)),
    rawUndici: ({ jobs }: Lists) => measured('raw-undici', jobs.length, false, () => rawUndici(origins, jobs, plan.perHost)),
    naive: ({ naive: jobs }: Lists) => measured('naive', jobs.length, false, () => naive(urls, jobs, width, ctx.secret)),
  };
  type Name = keyof typeof contenders;
  const names = (Object.keys(contenders) as Name[]).filter((n) => n !== 'dispatcherFresh' || (plan.fresh === true && plan.fanOut !== true));

  // One unrecorded round warms the JIT and the connections of every contender alike. The order
  // rotates each round and every other round runs backwards, so no contender always runs right
  // after the same one (and, say, the naive sender's idle keep-alive sockets).
  const bar = ctx.progress(plan.title, (plan.rounds + 1) * names.length);
  const rounds: Record<Name, number[]> = { dispatcher: [], dispatcherFresh: [], signedLoop: [], pQueue: [], rawUndici: [], naive: [] };
  for (let r = 0; r <= plan.rounds; r++) {
    const line: string[] = [];
    const order = names.map((_, i) => names[(i + r) % names.length]!);
    if (r % 2 === 1) order.reverse();
    for (const name of order) {
      const rate = await contenders[name](r === 0 ? warm : full);
      if (r > 0) rounds[name].push(rate);
      line.push(`${name} ${Math.round(rate).toLocaleString('en-US')}/s`);
      bar.tick();
    }
    ctx.note(`${r === 0 ? 'warm-up' : `round ${r}/${plan.rounds}`}: ${line.join(', ')}`);
  }
  bar.stop();
  await rx.stop();

  const d = median(rounds.dispatcher);
  const signed = median(rounds.signedLoop);
  const pq = median(rounds.pQueue);
  const raw = median(rounds.rawUndici);
  const nv = median(rounds.naive);
  const all = { signedLoop: signed, pQueue: pq, rawUndici: raw, naive: nv };
  // A ratio is the median of each round's ratio: both sides of one round ran seconds apart, so
  // a neighbour's load that comes and goes between rounds cancels out.
  const ratio = (other: Name, ours: Name = 'dispatcher') => median(rounds[ours].map((x, i) => x / rounds[other][i]!));
  const target = plan.signedTarget;
  const vsSigned = ratio('signedLoop');
  const withFresh = rounds.dispatcherFresh.length > 0;
  const freshVsSigned = withFresh ? ratio('signedLoop', 'dispatcherFresh') : Number.NaN;
  const freshRows = withFresh
    ? [
        { metric: 'deliveries/s, fresh endpoint object per send', unit: '/s', dispatcher: median(rounds.dispatcherFresh) },
        { metric: 'fresh endpoints: dispatcher ÷ signed loop', unit: '×', dispatcher: freshVsSigned, ...(target === undefined ? {} : { target: `≥ ${target.toFixed(2)}`, pass: freshVsSigned >= target }) },
        { metric: 'fresh endpoints ÷ reused', unit: '×', dispatcher: ratio('dispatcher', 'dispatcherFresh') },
      ]
    : [];
  const vsNaive = ratio('naive');
  return {
    id: plan.id,
    title: plan.title,
    rows: [
      { metric: 'deliveries/s', unit: '/s', dispatcher: d, ...all },
      ...(plan.fanOut ? [{ metric: `events/s (× ${plan.hosts} endpoints)`, unit: '/s', dispatcher: d / plan.hosts, signedLoop: signed / plan.hosts, pQueue: pq / plan.hosts, rawUndici: raw / plan.hosts, naive: nv / plan.hosts }] : []),
      { metric: 'dispatcher ÷ signed loop', unit: '×', dispatcher: vsSigned, ...(target === undefined ? {} : { target: `≥ ${target.toFixed(2)}`, pass: vsSigned >= target }) },
      ...freshRows,
      { metric: 'dispatcher ÷ p-queue', unit: '×', dispatcher: ratio('pQueue') },
      { metric: 'dispatcher ÷ raw-undici (unsigned ceiling)', unit: '×', dispatcher: ratio('rawUndici') },
      { metric: 'dispatcher ÷ naive', unit: '×', dispatcher: vsNaive, target: '≥ 5', pass: vsNaive >= 5 },
    ],
    details: { ...plan, rounds },
  };
}

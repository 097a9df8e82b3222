/** The closed-loop throughput comparison shared by the one-host and many-host scenarios. */
import { naive, rawUndici, signedLoop, type Jobs } from './contenders.js';
import type { Context, ScenarioResult } from './context.js';
import { runDispatcher, runPublish, timed } from './dispatcher-run.js';
import { Receivers } from './receivers.js';
import { median } from './stats.js';

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
}

function spread(hosts: number, n: number): Jobs {
  return Array.from({ length: n }, (_, i) => i % hosts);
}

export async function throughput(ctx: Context, plan: ThroughputPlan): Promise<ScenarioResult> {
  const rx = await Receivers.start(plan.hosts);
  const origins = rx.ports.map((_, i) => rx.origin(i));
  const urls = rx.ports.map((_, i) => rx.url(i));
  const jobs = spread(plan.hosts, plan.messages);
  const naiveJobs = spread(plan.hosts, plan.naiveMessages);
  const width = plan.hosts * plan.perHost;
  const key = Buffer.from(ctx.secret.slice('whsec_'.length), 'base64');

  /** Runs one contender against a freshly counted receiver and checks every message arrived. */
  const measured = async (name: string, count: number, verify: boolean, send: () => Promise<number>): Promise<number> => {
    await rx.configure({}, verify ? { secret: ctx.secret, verifyEvery: 97 } : {});
    await rx.reset();
    const { ms, value: delivered } = await timed(send);
    const stats = await rx.stats();
    if (delivered !== count || stats.count !== count) throw new Error(`${plan.id} ${name}: sent ${count}, delivered ${delivered}, received ${stats.count}`);
    if (verify && (stats.verifyFailed > 0 || stats.verified === 0)) throw new Error(`${plan.id} ${name}: ${stats.verifyFailed} of ${stats.verified + stats.verifyFailed} sampled signatures failed`);
    return (count / ms) * 1000;
  };
  const contenders = {
    dispatcher: () =>
      measured('dispatcher', jobs.length, true, () =>
        plan.fanOut ? runPublish(urls, jobs.length / plan.hosts, ctx.secret, { concurrency: plan.perHost }) : runDispatcher(urls, jobs, ctx.secret, { concurrency: plan.perHost }),
      ),
    rawUndici: () => measured('raw-undici', jobs.length, false, () => rawUndici(origins, jobs, plan.perHost)),
    signedLoop: () => measured('signed-loop', jobs.length, true, () => signedLoop(origins, jobs, plan.perHost, key)),
    naive: () => measured('naive', naiveJobs.length, false, () => naive(urls, naiveJobs, width, ctx.secret)),
  };

  // One unrecorded round warms the JIT and the connections of every contender alike.
  const bar = ctx.progress(plan.title, (plan.rounds + 1) * Object.keys(contenders).length);
  const rounds: Record<keyof typeof contenders, number[]> = { dispatcher: [], rawUndici: [], signedLoop: [], naive: [] };
  for (let r = 0; r <= plan.rounds; r++) {
    for (const key of Object.keys(contenders) as (keyof typeof contenders)[]) {
      const rate = await contenders[key]();
      if (r > 0) rounds[key].push(rate);
      bar.tick();
    }
  }
  bar.stop();
  await rx.stop();

  const d = median(rounds.dispatcher);
  const raw = median(rounds.rawUndici);
  const nv = median(rounds.naive);
  const floor = median(rounds.signedLoop);
  return {
    id: plan.id,
    title: plan.title,
    rows: [
      { metric: 'deliveries/s', unit: '/s', dispatcher: d, rawUndici: raw, naive: nv },
      ...(plan.fanOut ? [{ metric: `events/s (× ${plan.hosts} endpoints)`, unit: '/s', dispatcher: d / plan.hosts, rawUndici: raw / plan.hosts, naive: nv / plan.hosts }] : []),
      { metric: 'dispatcher ÷ raw-undici', unit: '×', dispatcher: d / raw, target: '≥ 0.90', pass: d / raw >= 0.9 },
      { metric: 'dispatcher ÷ naive', unit: '×', dispatcher: d / nv, target: '≥ 5', pass: d / nv >= 5 },
      { metric: 'signed undici loop (the floor for signing)', unit: '/s', dispatcher: floor },
      { metric: 'dispatcher ÷ signed undici loop', unit: '×', dispatcher: d / floor },
    ],
    details: { ...plan, rounds },
  };
}

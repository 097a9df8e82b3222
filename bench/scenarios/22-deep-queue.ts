/**
 * Scenario 22: deep-queue throughput. All messages are handed over first, then drained, at 1
 * host (16 in flight) and at 200 hosts (2 in flight each): the dispatcher with one endpoint
 * object per host (reused) and with a new object per send (fresh, as read from a database
 * row), beside the signed loop draining a queue built the same way (see deep-queue.ts).
 * The contenders take turns in every round after one unrecorded warm-up round; the order
 * rotates and every other round runs backwards. Each ratio is the median of the rounds' ratios.
 * Target: dispatcher ÷ signed loop ≥ 0.95, fresh and reused, at both sizes.
 *
 * First, without the network (see send-cpu.ts): CPU per accepted send to 50 paused hosts,
 * fresh against reused endpoint objects in alternating pairs; the difference is what
 * resolving a new object with known content costs.
 */
import type { Context, Row, ScenarioResult } from '../lib/context.js';
import { dispatcherDeepQueue, signedDeepQueue } from '../lib/deep-queue.js';
import { timed } from '../lib/dispatcher-run.js';
import { Receivers } from '../lib/receivers.js';
import { sendCpu } from '../lib/send-cpu.js';
import { keyOf } from '../lib/signed.js';
import { gcHeap, median } from '../lib/stats.js';

const TARGET = 0.95;
type Name = 'reused' | 'fresh' | 'signedLoop';

async function size(ctx: Context, hosts: number, perHost: number, messages: number, roundsWanted: number): Promise<{ rows: Row[]; rounds: Record<Name, number[]> }> {
  const rx = await Receivers.start(hosts);
  await rx.configure({}, { secret: ctx.secret, verifyEvery: 97 });
  const urls = rx.ports.map((_, i) => rx.url(i));
  const origins = rx.ports.map((_, i) => rx.origin(i));
  const key = keyOf(ctx.secret);
  const jobsOf = (n: number) => Array.from({ length: n }, (_, i) => i % hosts);
  const run: Record<Name, (jobs: number[]) => Promise<number>> = {
    reused: (jobs) => dispatcherDeepQueue(urls, jobs, ctx.secret, perHost, 'reused'),
    fresh: (jobs) => dispatcherDeepQueue(urls, jobs, ctx.secret, perHost, 'fresh'),
    signedLoop: (jobs) => signedDeepQueue(origins, jobs, perHost, key),
  };
  const names = Object.keys(run) as Name[];
  const rounds: Record<Name, number[]> = { reused: [], fresh: [], signedLoop: [] };
  const bar = ctx.progress(`deep queue, ${hosts} host${hosts === 1 ? '' : 's'}`, (roundsWanted + 1) * names.length);
  for (let r = 0; r <= roundsWanted; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]!);
    if (r % 2 === 1) order.reverse();
    const jobs = jobsOf(r === 0 ? Math.ceil(messages / 4) : messages);
    const line: string[] = [];
    for (const name of order) {
      await rx.reset();
      gcHeap();
      const { ms, value: delivered } = await timed(() => run[name](jobs));
      const stats = await rx.stats();
      if (delivered !== jobs.length || stats.count !== jobs.length || stats.verifyFailed > 0) {
        throw new Error(`22 ${name} at ${hosts} hosts: sent ${jobs.length}, delivered ${delivered}, received ${stats.count}, ${stats.verifyFailed} bad signatures`);
      }
      const rate = (jobs.length / ms) * 1000;
      if (r > 0) rounds[name].push(rate);
      line.push(`${name} ${Math.round(rate).toLocaleString('en-US')}/s`);
      bar.tick();
    }
    ctx.note(`${hosts} hosts, ${r === 0 ? 'warm-up' : `round ${r}/${roundsWanted}`}: ${line.join(', ')}`);
  }
  bar.stop();
  await rx.stop();
  const ratio = (a: Name, b: Name) => median(rounds[a].map((x, i) => x / rounds[b][i]!));
  const at = `${hosts} host${hosts === 1 ? '' : 's'}`;
  const reused = ratio('reused', 'signedLoop');
  const fresh = ratio('fresh', 'signedLoop');
  return {
    rounds,
    rows: [
      { metric: `deliveries/s, ${at}, reused endpoints`, unit: '/s', dispatcher: median(rounds.reused), signedLoop: median(rounds.signedLoop) },
      { metric: `deliveries/s, ${at}, fresh endpoint per send`, unit: '/s', dispatcher: median(rounds.fresh), signedLoop: median(rounds.signedLoop) },
      { metric: `${at}, reused: dispatcher ÷ signed loop`, unit: '×', dispatcher: reused, target: `≥ ${TARGET.toFixed(2)}`, pass: reused >= TARGET },
      { metric: `${at}, fresh: dispatcher ÷ signed loop`, unit: '×', dispatcher: fresh, target: `≥ ${TARGET.toFixed(2)}`, pass: fresh >= TARGET },
      { metric: `${at}, fresh ÷ reused`, unit: '×', dispatcher: ratio('fresh', 'reused') },
    ],
  };
}

/** Alternating pairs of paused-host runs: CPU per send, fresh and reused, and the median difference. */
async function sendPath(ctx: Context): Promise<{ rows: Row[]; pairs: { fresh: number; reused: number }[] }> {
  const urls = Array.from({ length: 50 }, (_, i) => `http://127.0.0.1:${40_000 + i}/hook`);
  const count = ctx.pick(20_000, 100_000);
  await sendCpu(urls, ctx.secret, count / 4, 'fresh');
  await sendCpu(urls, ctx.secret, count / 4, 'reused');
  const pairs: { fresh: number; reused: number }[] = [];
  for (let i = 0; i < ctx.pick(7, 15); i++) {
    const first = i % 2 === 0 ? 'fresh' : 'reused';
    const a = await sendCpu(urls, ctx.secret, count, first);
    const b = await sendCpu(urls, ctx.secret, count, first === 'fresh' ? 'reused' : 'fresh');
    pairs.push(first === 'fresh' ? { fresh: a, reused: b } : { fresh: b, reused: a });
  }
  ctx.note(`send path, µs CPU per send (fresh/reused): ${pairs.map((p) => `${p.fresh.toFixed(2)}/${p.reused.toFixed(2)}`).join(', ')}`);
  return {
    pairs,
    rows: [
      { metric: 'CPU per accepted send, paused hosts, reused endpoints', unit: 'µs', dispatcher: median(pairs.map((p) => p.reused)) },
      { metric: 'CPU per accepted send, paused hosts, fresh endpoint per send', unit: 'µs', dispatcher: median(pairs.map((p) => p.fresh)) },
      { metric: 'CPU per send, fresh − reused', unit: 'µs', dispatcher: median(pairs.map((p) => p.fresh - p.reused)) },
    ],
  };
}

export async function run(ctx: Context): Promise<ScenarioResult> {
  const messages = ctx.pick(20_000, 100_000);
  const rounds = ctx.pick(3, 5);
  const send = await sendPath(ctx);
  const one = await size(ctx, 1, 16, messages, rounds);
  const many = await size(ctx, 200, 2, messages, rounds);
  return {
    id: '22',
    title: 'deep queue: all queued, then drained',
    rows: [...send.rows, ...one.rows, ...many.rows],
    details: { messages, sendPath: send.pairs, rounds: { oneHost: one.rounds, twoHundredHosts: many.rounds } },
  };
}

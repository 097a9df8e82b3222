/**
 * Scenario 16: what group commit buys. The dispatcher with `sqliteStore` (64 callers each
 * awaiting its own send, as in scenario 12) beside the naive durable loop written by hand on
 * better-sqlite3 (sqlite-loop.ts: INSERT, signed request, UPDATE, one transaction per write),
 * at the same total concurrency against the same receivers (10 hosts, 8 connections each), in
 * alternating rounds after an unrecorded warm-up round; each on a fresh temporary file,
 * deleted after. Rates are the median round, the ratio the median of each round's.
 * The naive loop does less per message (no sealing, no attempt rows, no events, no retries);
 * the dispatcher batches its writes. No BullMQ-like peer: none is installed.
 */
import { Dispatcher } from '../../src/index.js';
import type { Context, ScenarioResult } from '../lib/context.js';
import { costOf, counted, produce, tempStore } from '../lib/durable.js';
import { Receivers } from '../lib/receivers.js';
import { keyOf } from '../lib/signed.js';
import { sqliteLoop } from '../lib/sqlite-loop.js';
import { gcHeap, median } from '../lib/stats.js';

const HOSTS = 10;
const PER_HOST = 8;
const CALLERS = 64;

type Name = 'dispatcher' | 'naive';
interface Round {
  rate: number;
  /** Store transactions per message. */
  commits: number;
}

export async function run(ctx: Context): Promise<ScenarioResult> {
  const messages = ctx.pick(5_000, 30_000);
  const rounds = ctx.pick(3, 5);
  const rx = await Receivers.start(HOSTS);
  const endpoints = rx.ports.map((_, i) => ({ url: rx.url(i), secret: ctx.secret }));
  const origins = rx.ports.map((_, i) => rx.origin(i));
  const key = keyOf(ctx.secret);

  const contenders: Record<Name, (path: string, total: number, open: () => ReturnType<typeof counted>) => Promise<{ delivered: number; commits: number }>> = {
    dispatcher: async (_path, total, open) => {
      const { store, counts } = open();
      const d = new Dispatcher({ allowPrivateNetworks: true, concurrency: PER_HOST, queueCapacity: total + 1, endpointQueueShare: 1, store });
      let delivered = 0;
      d.on('delivered', () => delivered++);
      await d.ready();
      await produce(d, endpoints, total, CALLERS);
      await d.onIdle();
      await d.close();
      return { delivered, commits: counts.writes };
    },
    // Two transactions per delivered message: the INSERT and the UPDATE.
    naive: async (path, total) => {
      const delivered = await sqliteLoop(path, origins, Array.from({ length: total }, (_, i) => i % HOSTS), PER_HOST, key);
      return { delivered, commits: 2 * total };
    },
  };

  /** One run on a fresh file; checks every message arrived. */
  const measured = async (name: Name, total: number): Promise<Round> => {
    await rx.configure({}, { secret: ctx.secret, verifyEvery: 97 });
    await rx.reset();
    const file = tempStore('group-commit');
    try {
      gcHeap();
      const { cost, value } = await costOf(() => contenders[name](file.path, total, () => counted(file.open())));
      const stats = await rx.stats();
      if (value.delivered !== total || stats.count !== total) throw new Error(`16 ${name}: sent ${total}, delivered ${value.delivered}, received ${stats.count}`);
      if (stats.verifyFailed > 0 || stats.verified === 0) throw new Error(`16 ${name}: ${stats.verifyFailed} of ${stats.verified + stats.verifyFailed} sampled signatures failed`);
      return { rate: (total / cost.ms) * 1000, commits: value.commits / total };
    } finally {
      file.remove();
    }
  };

  const bar = ctx.progress('group commit vs naive SQLite', (rounds + 1) * 2);
  const results: Record<Name, Round[]> = { dispatcher: [], naive: [] };
  for (let r = 0; r <= rounds; r++) {
    const order: Name[] = r % 2 === 0 ? ['dispatcher', 'naive'] : ['naive', 'dispatcher'];
    const line: string[] = [];
    for (const name of order) {
      const round = await measured(name, r === 0 ? messages / 4 : messages);
      if (r > 0) results[name].push(round);
      line.push(`${name} ${Math.round(round.rate).toLocaleString('en-US')}/s`);
      bar.tick();
    }
    ctx.note(`${r === 0 ? 'warm-up' : `round ${r}/${rounds}`}: ${line.join(', ')}`);
  }
  bar.stop();
  await rx.stop();

  const m = (name: Name, f: (x: Round) => number) => median(results[name].map(f));
  const ratio = median(results.dispatcher.map((x, i) => x.rate / results.naive[i]!.rate));
  return {
    id: '16',
    title: `group commit vs naive SQLite loop, ${HOSTS} hosts`,
    rows: [
      { metric: 'deliveries/s (both durable)', unit: '/s', dispatcher: m('dispatcher', (x) => x.rate), naive: m('naive', (x) => x.rate) },
      { metric: 'dispatcher ÷ naive SQLite loop', unit: '×', dispatcher: ratio },
      { metric: 'messages per store transaction', unit: 'count', dispatcher: m('dispatcher', (x) => 1 / x.commits), naive: m('naive', (x) => 1 / x.commits) },
    ],
    details: { hosts: HOSTS, perHost: PER_HOST, callers: CALLERS, messages, rounds: results },
  };
}

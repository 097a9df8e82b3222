/**
 * Scenario 12: durable throughput. The same dispatcher with `sqliteStore` (a temporary file,
 * deleted after) and with the default memory store take turns in every round, against the same
 * receivers (10 hosts, 8 connections each), after one unrecorded warm-up round. 64 callers send
 * concurrently, each awaiting its own `send` (with SQLite a send resolves once committed, so
 * concurrent callers are what group commit batches); a run ends when `close()` has written the
 * last ends. The store is opened (`ready()`) before the clock starts.
 *
 * Per run: deliveries/s, process CPU per message (user + system, every thread) and main-thread
 * busy time per message (event-loop active time: better-sqlite3 writes on the main thread; it is
 * wall time, so on a loaded machine it counts the thread's waits for a core too).
 * Figures are the median round; the ratio is the median of each round's.
 * Also shown: messages per store transaction (what group commit batched) and the share of
 * messages read back from disk: callers outrun delivery, so a host's backlog passes its
 * in-memory window and the rest is paged back in, as it would in any burst.
 * Target: SQLite ≥ 0.70× memory. A last pair of runs with one awaiting caller (a commit per
 * message) is shown without a target.
 */
import { Dispatcher } from '../../src/index.js';
import type { Context, ScenarioResult } from '../lib/context.js';
import { costOf, counted, produce, tempStore, type Cost, type StoreCounts } from '../lib/durable.js';
import { Receivers } from '../lib/receivers.js';
import { gcHeap, median } from '../lib/stats.js';

const HOSTS = 10;
const PER_HOST = 8;
const CALLERS = 64;

type Mode = 'memory' | 'sqlite';

export async function run(ctx: Context): Promise<ScenarioResult> {
  const messages = ctx.pick(10_000, 50_000);
  const rounds = ctx.pick(3, 5);
  const oneCaller = ctx.pick(2_000, 10_000);
  const rx = await Receivers.start(HOSTS);
  const endpoints = rx.ports.map((_, i) => ({ url: rx.url(i), secret: ctx.secret }));

  /** One run of one mode on a fresh dispatcher (and a fresh file); checks every message arrived. */
  const measured = async (mode: Mode, total: number, callers: number): Promise<Cost & Partial<StoreCounts>> => {
    await rx.configure({}, { secret: ctx.secret, verifyEvery: 97 });
    await rx.reset();
    const file = mode === 'sqlite' ? tempStore('throughput') : undefined;
    try {
      const store = file === undefined ? undefined : counted(file.open());
      const d = new Dispatcher({ allowPrivateNetworks: true, concurrency: PER_HOST, queueCapacity: total + 1, ...(store ? { store: store.store } : {}) });
      let delivered = 0;
      let failed = 0;
      d.on('delivered', () => delivered++);
      d.on('failed', () => failed++);
      await d.ready();
      gcHeap();
      const { cost } = await costOf(async () => {
        await produce(d, endpoints, total, callers);
        await d.onIdle();
        await d.close();
      });
      const stats = await rx.stats();
      if (failed > 0 || delivered !== total || stats.count !== total) throw new Error(`12 ${mode}: sent ${total}, delivered ${delivered}, failed ${failed}, received ${stats.count}`);
      if (stats.verifyFailed > 0 || stats.verified === 0) throw new Error(`12 ${mode}: ${stats.verifyFailed} of ${stats.verified + stats.verifyFailed} sampled signatures failed`);
      return { ...cost, ...store?.counts };
    } finally {
      file?.remove();
    }
  };

  const bar = ctx.progress('SQLite vs memory', (rounds + 2) * 2);
  const results: Record<Mode, (Cost & Partial<StoreCounts>)[]> = { memory: [], sqlite: [] };
  for (let r = 0; r <= rounds; r++) {
    // A quarter-size warm-up round first; then the order alternates so neither mode always
    // runs right after the other's garbage.
    const order: Mode[] = r % 2 === 0 ? ['memory', 'sqlite'] : ['sqlite', 'memory'];
    const line: string[] = [];
    for (const mode of order) {
      const cost = await measured(mode, r === 0 ? messages / 4 : messages, CALLERS);
      if (r > 0) results[mode].push(cost);
      line.push(`${mode} ${Math.round(((r === 0 ? messages / 4 : messages) / cost.ms) * 1000).toLocaleString('en-US')}/s`);
      bar.tick();
    }
    ctx.note(`${r === 0 ? 'warm-up' : `round ${r}/${rounds}`}: ${line.join(', ')}`);
  }
  const single: Record<Mode, Cost> = { memory: await measured('memory', oneCaller, 1), sqlite: await measured('sqlite', oneCaller, 1) };
  bar.tick(2);
  bar.stop();
  ctx.note(`one awaiting caller: memory ${Math.round((oneCaller / single.memory.ms) * 1000)}/s, sqlite ${Math.round((oneCaller / single.sqlite.ms) * 1000)}/s`);
  await rx.stop();

  const rate = (c: Cost) => (messages / c.ms) * 1000;
  const m = (mode: Mode, f: (c: Cost & Partial<StoreCounts>) => number) => median(results[mode].map(f));
  // Ratio and difference per round (both modes ran seconds apart), then the median.
  const paired = (f: (sqlite: Cost, memory: Cost) => number) => median(results.sqlite.map((s, i) => f(s, results.memory[i]!)));
  const ratio = paired((s, mem) => rate(s) / rate(mem));
  const cpu = (c: Cost) => c.cpuUs / messages;
  const busy = (c: Cost) => c.busyUs / messages;
  return {
    id: '12',
    title: `durable throughput (SQLite), ${HOSTS} hosts`,
    rows: [
      { metric: 'deliveries/s, SQLite store', unit: '/s', dispatcher: m('sqlite', rate) },
      { metric: 'deliveries/s, memory store', unit: '/s', dispatcher: m('memory', rate) },
      { metric: 'SQLite ÷ memory', unit: '×', dispatcher: ratio, target: '≥ 0.70', pass: ratio >= 0.7 },
      { metric: 'CPU per message, SQLite store', unit: 'µs', dispatcher: m('sqlite', cpu) },
      { metric: 'CPU per message, memory store', unit: 'µs', dispatcher: m('memory', cpu) },
      { metric: 'CPU per message, added by SQLite', unit: 'µs', dispatcher: paired((s, mem) => cpu(s) - cpu(mem)) },
      { metric: 'main-thread busy per message, added (wall time)', unit: 'µs', dispatcher: paired((s, mem) => busy(s) - busy(mem)) },
      { metric: 'SQLite: messages per commit (group commit)', unit: 'count', dispatcher: m('sqlite', (c) => messages / (c.writes ?? NaN)) },
      { metric: 'SQLite: share read back from disk (backlog past the window)', unit: '%', dispatcher: m('sqlite', (c) => (c.paged ?? NaN) / messages) },
      { metric: `one awaiting caller: SQLite ÷ memory`, unit: '×', dispatcher: oneCaller / single.sqlite.ms / (oneCaller / single.memory.ms) },
    ],
    details: { hosts: HOSTS, perHost: PER_HOST, callers: CALLERS, messages, oneCaller, rounds: results, single },
  };
}

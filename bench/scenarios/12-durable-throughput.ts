/**
 * Scenario 12: durable throughput. The same dispatcher with `sqliteStore` (a temporary file,
 * deleted after) and with the default memory store take turns in every round, against the same
 * receivers (10 hosts, 8 connections each), after one unrecorded warm-up round. 64 callers send
 * concurrently, each awaiting its own `send` (with SQLite a send resolves once committed, so
 * concurrent callers are what group commit batches); a run ends when `close()` has written the
 * last ends. The store is opened (`ready()`) before the clock starts.
 *
 * Four modes: the memory store; the floor, a memory store that says it is durable (the
 * dispatcher's whole durable path: records, group commit, sends awaiting commits, with no disk
 * behind it: what no store can go below); `sqliteStore` on the main thread (the default); and
 * `sqliteStore({ worker: true })`, whose connection, sealing and commits run on a worker thread.
 * Per run: deliveries/s, process CPU per message (user + system, every thread), the main
 * thread's own CPU per message (its schedstat on Linux), the store worker's busy time per
 * message (its event-loop active time) and main-thread busy time per message (event-loop active
 * time). Both busy times are wall time: on a loaded machine they count a thread's waits for a
 * core too, so the worker's CPU is better read as every thread's CPU minus the main thread's.
 * Figures are the median round; the ratio is the median of each round's.
 * Also shown: messages per store transaction (what group commit batched) and the share of
 * messages read back from disk: callers outrun delivery, so a host's backlog passes its
 * in-memory window and the rest is paged back in, as it would in any burst.
 * Targets (issue 22), for the worker store: SQLite ≥ 0.85× memory, and main-thread CPU per
 * message ≤ 1.15× the memory store's. A last run of each mode with one awaiting caller (a commit
 * per message) is shown without a target.
 */
import { Dispatcher, MemoryStore } from '../../src/index.js';
import type { Context, ScenarioResult } from '../lib/context.js';
import { workerBusyMsOf } from '../../src/stores/sqlite/sqlite-handle.js';
import { costOf, counted, produce, tempStore, type Cost, type StoreCounts } from '../lib/durable.js';
import { Receivers } from '../lib/receivers.js';
import { gcHeap, median } from '../lib/stats.js';

const HOSTS = 10;
const PER_HOST = 8;
const CALLERS = 64;

type Mode = 'memory' | 'floor' | 'sqlite' | 'worker';
const MODES: Mode[] = ['memory', 'floor', 'sqlite', 'worker'];
type Run = Cost & Partial<StoreCounts> & { workerUs?: number };

export async function run(ctx: Context): Promise<ScenarioResult> {
  const messages = ctx.pick(10_000, 50_000);
  const rounds = ctx.pick(3, 5);
  const oneCaller = ctx.pick(2_000, 10_000);
  const rx = await Receivers.start(HOSTS);
  const endpoints = rx.ports.map((_, i) => ({ url: rx.url(i), secret: ctx.secret }));

  /** One run of one mode on a fresh dispatcher (and a fresh file); checks every message arrived. */
  const measured = async (mode: Mode, total: number, callers: number): Promise<Run> => {
    await rx.configure({}, { secret: ctx.secret, verifyEvery: 97 });
    await rx.reset();
    const file = mode === 'sqlite' || mode === 'worker' ? tempStore('throughput') : undefined;
    try {
      const store = file === undefined ? undefined : counted(file.open({ worker: mode === 'worker' }));
      const d = new Dispatcher({ allowPrivateNetworks: true, concurrency: PER_HOST, queueCapacity: total + 1, endpointQueueShare: 1, ...(store ? { store: store.store } : mode === 'floor' ? { store: new MemoryStore({ durable: true }) } : {}) });
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
      const workerMs = store === undefined ? undefined : workerBusyMsOf(store.store);
      return { ...cost, ...store?.counts, ...(workerMs !== undefined && { workerUs: workerMs * 1000 }) };
    } finally {
      file?.remove();
    }
  };

  const bar = ctx.progress('SQLite vs memory', (rounds + 2) * MODES.length);
  const results: Record<Mode, Run[]> = { memory: [], floor: [], sqlite: [], worker: [] };
  for (let r = 0; r <= rounds; r++) {
    // A quarter-size warm-up round first; then the order rotates so no mode always runs right
    // after the same other's garbage.
    const order: Mode[] = MODES.map((_, i) => MODES[(i + r) % MODES.length]!);
    const line: string[] = [];
    for (const mode of order) {
      const cost = await measured(mode, r === 0 ? messages / 4 : messages, CALLERS);
      if (r > 0) results[mode].push(cost);
      line.push(`${mode} ${Math.round(((r === 0 ? messages / 4 : messages) / cost.ms) * 1000).toLocaleString('en-US')}/s`);
      bar.tick();
    }
    ctx.note(`${r === 0 ? 'warm-up' : `round ${r}/${rounds}`}: ${line.join(', ')}`);
  }
  const single = {} as Record<Mode, Cost>;
  for (const mode of MODES) single[mode] = await measured(mode, oneCaller, 1);
  bar.tick(MODES.length);
  bar.stop();
  ctx.note(`one awaiting caller: ${MODES.map((mode) => `${mode} ${Math.round((oneCaller / single[mode].ms) * 1000)}/s`).join(', ')}`);
  await rx.stop();

  const rate = (c: Cost) => (messages / c.ms) * 1000;
  const m = (mode: Mode, f: (c: Run) => number) => median(results[mode].map(f));
  // Ratio and difference per round (the modes ran seconds apart), then the median.
  const paired = (mode: Mode, f: (store: Run, memory: Run) => number) => median(results[mode].map((s, i) => f(s, results.memory[i]!)));
  const ratio = paired('worker', (s, mem) => rate(s) / rate(mem));
  const cpu = (c: Cost) => c.cpuUs / messages;
  const mainCpu = (c: Cost) => c.mainCpuUs / messages;
  const busy = (c: Cost) => c.busyUs / messages;
  const mainRatio = paired('worker', (s, mem) => mainCpu(s) / mainCpu(mem));
  const name = { sqlite: 'SQLite, main thread', worker: 'SQLite, worker thread' } as const;
  const perStore = (mode: 'sqlite' | 'worker') => [
    { metric: `deliveries/s, ${name[mode]}`, unit: '/s', dispatcher: m(mode, rate) },
    { metric: `${name[mode]} ÷ memory`, unit: '×', dispatcher: paired(mode, (s, mem) => rate(s) / rate(mem)), ...(mode === 'worker' && { target: '≥ 0.85', pass: ratio >= 0.85 }) },
    { metric: `CPU per message (every thread), ${name[mode]}`, unit: 'µs', dispatcher: m(mode, cpu) },
    { metric: `main-thread CPU per message, ${name[mode]}`, unit: 'µs', dispatcher: m(mode, mainCpu) },
    { metric: `main-thread CPU ÷ memory's, ${name[mode]}`, unit: '×', dispatcher: paired(mode, (s, mem) => mainCpu(s) / mainCpu(mem)), ...(mode === 'worker' && { target: '≤ 1.15', pass: mainRatio <= 1.15 }) },
    { metric: `CPU per message added (every thread), ${name[mode]}`, unit: 'µs', dispatcher: paired(mode, (s, mem) => cpu(s) - cpu(mem)) },
    { metric: `main-thread busy per message added (wall time), ${name[mode]}`, unit: 'µs', dispatcher: paired(mode, (s, mem) => busy(s) - busy(mem)) },
    { metric: `messages per commit (group commit), ${name[mode]}`, unit: 'count', dispatcher: m(mode, (c) => messages / (c.writes ?? NaN)) },
    { metric: `share read back from disk (backlog past the window), ${name[mode]}`, unit: '%', dispatcher: m(mode, (c) => (c.paged ?? NaN) / messages) },
    { metric: `one awaiting caller: ${name[mode]} ÷ memory`, unit: '×', dispatcher: oneCaller / single[mode].ms / (oneCaller / single.memory.ms) },
  ];
  return {
    id: '12',
    title: `durable throughput (SQLite), ${HOSTS} hosts`,
    rows: [
      { metric: 'deliveries/s, memory store', unit: '/s', dispatcher: m('memory', rate) },
      { metric: 'CPU per message (every thread), memory store', unit: 'µs', dispatcher: m('memory', cpu) },
      { metric: 'main-thread CPU per message, memory store', unit: 'µs', dispatcher: m('memory', mainCpu) },
      { metric: 'floor: memory store as durable (the dispatcher’s durable path, no disk) ÷ memory', unit: '×', dispatcher: paired('floor', (s, mem) => rate(s) / rate(mem)) },
      { metric: 'floor: main-thread CPU per message', unit: 'µs', dispatcher: m('floor', mainCpu) },
      { metric: 'floor: main-thread CPU ÷ memory’s', unit: '×', dispatcher: paired('floor', (s, mem) => mainCpu(s) / mainCpu(mem)) },
      ...perStore('sqlite'),
      ...perStore('worker'),
      { metric: 'store worker busy per message (its event loop active)', unit: 'µs', dispatcher: m('worker', (c) => (c.workerUs ?? NaN) / messages) },
    ],
    details: { hosts: HOSTS, perHost: PER_HOST, callers: CALLERS, messages, oneCaller, rounds: results, single },
  };
}

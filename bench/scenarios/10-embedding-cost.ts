/**
 * Scenario 10: embedding cost. The dispatcher lives inside a busy process; what it takes from
 * that process's event loop is what its users pay. An app sends at a paced 4,000 messages/s to
 * 50 hosts (receivers in the other process), through the dispatcher and through the signed
 * loop written by hand on `pool.request()` (see signed.ts), paced the same way, in alternating
 * rounds, each kept alive for the whole scenario as an embedded sender would be.
 *
 * Per round: CPU per delivered message (`process.cpuUsage()` user + system from the first send
 * to the last delivery, ÷ deliveries) and the event-loop delay p99 (`monitorEventLoopDelay`
 * sampling every 1 ms, so an idle loop reads about 1 ms). Figures are the median round; the
 * ratio and the difference are the median of each round's.
 * The dispatcher runs twice: handed one endpoint object per host (reused), and a new object
 * per send (fresh, as an app reading endpoints from a database row does).
 * Targets, both ways: CPU ≤ 1.10× the signed loop's, event-loop p99 at most 1 ms above it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Pool } from 'undici';
import { Dispatcher } from '../../src/index.js';
import type { Context, ScenarioResult } from '../lib/context.js';
import { endpointSource } from '../lib/fresh-endpoints.js';
import { Receivers } from '../lib/receivers.js';
import { envelope, keyOf, signedRequest } from '../lib/signed.js';
import { gcHeap, median } from '../lib/stats.js';
import { EVENT, POOL_TIMEOUTS } from '../lib/workload.js';

const RATE = 4_000;
const HOSTS = 50;
const PER_HOST = 8;

/** Counts deliveries; `until(n)` resolves once `n` are in, and rejects on the first failure. */
class Tally {
  count = 0;
  #want = Infinity;
  #error: Error | undefined;
  #resolve?: () => void;
  #reject?: (error: Error) => void;
  add = (): void => {
    if (++this.count >= this.#want) this.#resolve?.();
  };
  fail = (error: unknown): void => {
    this.#error ??= error instanceof Error ? error : new Error(String(error));
    this.#reject?.(this.#error);
  };
  until(n: number): Promise<void> {
    this.#want = n;
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.count >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }
}

interface Contender {
  tally: Tally;
  /** Starts message `i` (to host `i % HOSTS`) and returns at once, as an app's request handler would. */
  send(i: number): void;
}

interface Round {
  cpuUsPerMessage: number;
  eldP99Ms: number;
}

/** Sends `RATE × seconds` messages at a steady pace, waits for every delivery, measures. */
async function paced(c: Contender, seconds: number): Promise<Round> {
  const total = Math.floor(RATE * seconds);
  c.tally.count = 0;
  gcHeap();
  const eld = monitorEventLoopDelay({ resolution: 1 });
  const cpu0 = process.cpuUsage();
  eld.enable();
  const t0 = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * RATE) / 1000));
      for (; sent < due; sent++) c.send(sent);
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  await c.tally.until(total);
  eld.disable();
  const cpu = process.cpuUsage(cpu0);
  return { cpuUsPerMessage: (cpu.user + cpu.system) / total, eldP99Ms: eld.percentile(99) / 1e6 };
}

export async function run(ctx: Context): Promise<ScenarioResult> {
  const seconds = ctx.pick(2, 10);
  const rounds = ctx.pick(3, 5);
  const rx = await Receivers.start(HOSTS);
  await rx.configure({}, { secret: ctx.secret, verifyEvery: 97 });

  const urls = rx.ports.map((_, i) => rx.url(i));
  /** The dispatcher, handed one endpoint object per host (`reused`) or a new one per send (`fresh`, as from a database row). */
  const embedded = (mode: 'reused' | 'fresh'): { d: Dispatcher; contender: Contender } => {
    const d = new Dispatcher({ allowPrivateNetworks: true, concurrency: PER_HOST });
    const contender: Contender = { tally: new Tally(), send: () => {} };
    const endpoint = endpointSource(urls, ctx.secret, mode);
    d.on('delivered', contender.tally.add);
    d.on('failed', (e) => contender.tally.fail(new Error(`dispatcher: message failed (${e.reason}) against a healthy receiver`)));
    contender.send = (i) => void d.send(endpoint(i % HOSTS), EVENT).catch(contender.tally.fail);
    return { d, contender };
  };
  const ours = embedded('reused');
  const oursFresh = embedded('fresh');

  const key = keyOf(ctx.secret);
  const pools = rx.ports.map((_, i) => new Pool(rx.origin(i), { connections: PER_HOST, ...POOL_TIMEOUTS }));
  const theirs: Contender = { tally: new Tally(), send: () => {} };
  const deliver = async (pool: Pool): Promise<void> => {
    const { id, body } = envelope();
    const res = await pool.request(signedRequest(key, id, body));
    await res.body.dump();
    if (res.statusCode >= 300) throw new Error(`signed loop: status ${res.statusCode} from a healthy receiver`);
  };
  theirs.send = (i) => void deliver(pools[i % HOSTS]!).then(theirs.tally.add, theirs.tally.fail);

  const measured = async (name: string, c: Contender, s: number): Promise<Round> => {
    await rx.reset();
    const round = await paced(c, s);
    const stats = await rx.stats();
    const total = Math.floor(RATE * s);
    if (stats.count !== total || stats.verifyFailed > 0) throw new Error(`10 ${name}: sent ${total}, received ${stats.count}, ${stats.verifyFailed} bad signatures`);
    return round;
  };
  type Name = 'dispatcher' | 'dispatcherFresh' | 'signedLoop';
  const names: Name[] = ['dispatcher', 'dispatcherFresh', 'signedLoop'];
  const contenders: Record<Name, Contender> = { dispatcher: ours.contender, dispatcherFresh: oursFresh.contender, signedLoop: theirs };
  const results: Record<Name, Round[]> = { dispatcher: [], dispatcherFresh: [], signedLoop: [] };
  const bar = ctx.progress(`paced ${RATE}/s to ${HOSTS} hosts`, (rounds + 1) * names.length);
  for (let r = 0; r <= rounds; r++) {
    // A short warm-up round first (JIT, connections); then the order rotates and every other
    // round runs backwards, so no side always runs right after another's garbage.
    const s = r === 0 ? 1 : seconds;
    const order = names.map((_, i) => names[(i + r) % names.length]!);
    if (r % 2 === 1) order.reverse();
    const line: string[] = [];
    for (const name of order) {
      const round = await measured(name, contenders[name], s);
      if (r > 0) results[name].push(round);
      line.push(`${name} ${round.cpuUsPerMessage.toFixed(0)} µs/message, loop p99 ${round.eldP99Ms.toFixed(2)} ms`);
      bar.tick();
    }
    ctx.note(`${r === 0 ? 'warm-up' : `round ${r}/${rounds}`}: ${line.join('; ')}`);
  }
  bar.stop();
  await ours.d.close();
  await oursFresh.d.close();
  await Promise.all(pools.map((p) => p.close()));
  await rx.stop();

  const cpu = (name: keyof typeof results) => median(results[name].map((x) => x.cpuUsPerMessage));
  const eld = (name: keyof typeof results) => median(results[name].map((x) => x.eldP99Ms));
  // Ratio and difference per round (both sides ran seconds apart), then the median.
  const paired = (f: (ours: Round, theirs: Round) => number, name: Name = 'dispatcher', other: Name = 'signedLoop') =>
    median(results[name].map((x, i) => f(x, results[other][i]!)));
  const cpuRatio = paired((a, b) => a.cpuUsPerMessage / b.cpuUsPerMessage);
  const eldAdded = paired((a, b) => a.eldP99Ms - b.eldP99Ms);
  const freshCpuRatio = paired((a, b) => a.cpuUsPerMessage / b.cpuUsPerMessage, 'dispatcherFresh');
  const freshEldAdded = paired((a, b) => a.eldP99Ms - b.eldP99Ms, 'dispatcherFresh');
  const freshVsReused = paired((a, b) => a.cpuUsPerMessage / b.cpuUsPerMessage, 'dispatcherFresh', 'dispatcher');
  return {
    id: '10',
    title: `embedding cost at ${RATE.toLocaleString('en-US')}/s to ${HOSTS} hosts`,
    rows: [
      { metric: 'CPU per delivered message', unit: 'µs', dispatcher: cpu('dispatcher'), signedLoop: cpu('signedLoop') },
      { metric: 'CPU ÷ signed loop', unit: '×', dispatcher: cpuRatio, target: '≤ 1.10', pass: cpuRatio <= 1.1 },
      { metric: 'event-loop delay p99', unit: 'ms', dispatcher: eld('dispatcher'), signedLoop: eld('signedLoop') },
      { metric: 'event-loop delay p99, added', unit: 'ms', dispatcher: eldAdded, target: '≤ 1 ms', pass: eldAdded <= 1 },
      { metric: 'CPU per delivered message, fresh endpoint object per send', unit: 'µs', dispatcher: cpu('dispatcherFresh'), signedLoop: cpu('signedLoop') },
      { metric: 'fresh endpoints: CPU ÷ signed loop', unit: '×', dispatcher: freshCpuRatio, target: '≤ 1.10', pass: freshCpuRatio <= 1.1 },
      { metric: 'fresh endpoints: CPU ÷ reused', unit: '×', dispatcher: freshVsReused },
      { metric: 'fresh endpoints: event-loop delay p99, added', unit: 'ms', dispatcher: freshEldAdded, target: '≤ 1 ms', pass: freshEldAdded <= 1 },
    ],
    details: { rate: RATE, hosts: HOSTS, perHost: PER_HOST, seconds, rounds: results },
  };
}

/**
 * Scenario 18: many processes on one Postgres schema (`postgresStore`).
 *
 * Throughput: N messages to 10 hosts (receivers in their own process, 8 connections per host
 * and process), taking turns in every round after one unrecorded quarter-size warm-up round
 * (the order rotates, every other round backwards):
 * - one in-process dispatcher with the memory store;
 * - one dispatcher process on Postgres (`pg1`);
 * - three processes sharing the schema, each sending a third, with the same 64 callers in all
 *   (`pg3`: the same load as one process, the target's comparison);
 * - the same three with 64 callers each (`pg3each`: three web processes with their own handlers).
 * A caller awaits its own send (with Postgres a send resolves once committed: concurrent callers
 * are what group commit batches). A Postgres run is timed from the first send to the receiver's
 * N-th request; the processes are started once and open a fresh schema per run
 * (`wd_bench_18_<random>`, migrated before the clock starts, dropped after). Figures are the
 * median round; ratios the median of each round's. Target: 3 processes ≥ 1 process with the same
 * callers (the issue: on this 2-core machine three must reach at least the throughput of one).
 * What limits them is shown beside: CPU per message of the dispatcher processes and of the
 * Postgres server (/proc), messages per write transaction, the round trips each took, and claim
 * queries (counted in the processes), and how busy the whole machine was (/proc/stat).
 *
 * Takeover: a process holds N messages to a receiver that answers nothing (its requests hang,
 * the rest wait their turn), another process serves the same schema; the first is killed with
 * SIGKILL, the receiver answers again, and the clock runs from the kill until the receiver has
 * had all N from the survivor. With `leaseMs` L the leases lapse between 2L/3 and L after the
 * kill (renewed every L/3) and the survivor's tick (every L/3) claims them.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Dispatcher } from '../../src/index.js';
import { Child, type Reply } from '../lib/child.js';
import type { Context, ScenarioResult } from '../lib/context.js';
import { produce } from '../lib/durable.js';
import { machineCpu, postgresCpuUs, postgresTicks, until } from '../lib/machine.js';
import { Receivers } from '../lib/receivers.js';
import { gcHeap, median } from '../lib/stats.js';

const PG_URL = process.env.WD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const HOSTS = 10;
const PER_HOST = 8;
const CALLERS = 64;
const PROCESSES = 3;
const LEASE_MS = 2_000;

/** `pg3` shares the 64 callers among the 3 processes (the same load as `pg1`); `pg3each` gives each process 64, as three web processes would have their own. */
type Mode = 'memory' | 'pg1' | 'pg3' | 'pg3each';
interface Run {
  ms: number;
  /** CPU of the dispatcher processes (µs, user + system), all of them. */
  cpuUs: number;
  /** Share of the machine's cores busy during the run (every program). */
  machineBusy: number;
  /** CPU of the Postgres server's processes (µs; other users' queries too). */
  pgCpuUs: number;
  /** Claim queries and write transactions of the dispatcher processes (Postgres only). */
  claims: number;
  writes: number;
  /** Round trips to the server made by those writes (BEGIN and COMMIT included). */
  writeTrips: number;
}

export async function run(ctx: Context): Promise<ScenarioResult> {
  const messages = ctx.pick(4_000, 20_000);
  const rounds = ctx.pick(3, 5);
  const takeovers = ctx.pick(2, 3);
  const held = ctx.pick(200, 1_000);
  const admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
  admin.on('error', () => {});
  try {
    await admin.query('SELECT 1');
  } catch (error) {
    await admin.end();
    throw new Error(`18: expected PostgreSQL at ${PG_URL}, got ${(error as Error).message}`);
  }
  const key = randomBytes(32).toString('base64');
  const schemas: string[] = [];
  const children: Child[] = [];
  const rx = await Receivers.start(HOSTS);
  const urls = rx.ports.map((_, i) => rx.url(i));
  const open = (w: Child, schema: string, list: string[], timeoutMs: number) =>
    w.ask({ cmd: 'open', pgUrl: PG_URL, schema, key, secret: ctx.secret, urls: list, leaseMs: LEASE_MS, perHost: PER_HOST, timeoutMs }, 'ready');
  const newSchema = () => {
    const name = `wd_bench_18_${randomBytes(6).toString('hex')}`;
    schemas.push(name);
    return name;
  };
  const drop = (schema: string) => admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  const count = async () => (await rx.stats()).count;

  try {
    const workers = Array.from({ length: PROCESSES }, () => new Child('./pg-worker.ts'));
    children.push(...workers);

    const checked = async (name: string, total: number, delivered: number, failed: number) => {
      const stats = await rx.stats();
      if (failed > 0 || delivered !== total || stats.count !== total) throw new Error(`18 ${name}: sent ${total}, delivered ${delivered}, failed ${failed}, received ${stats.count}`);
      if (stats.verifyFailed > 0 || stats.verified === 0) throw new Error(`18 ${name}: ${stats.verifyFailed} of ${stats.verified + stats.verifyFailed} sampled signatures failed`);
    };

    const memory = async (total: number): Promise<Run> => {
      const d = new Dispatcher({ allowPrivateNetworks: true, concurrency: PER_HOST, queueCapacity: total + 1, endpointQueueShare: 1 });
      let delivered = 0;
      let failed = 0;
      d.on('delivered', () => delivered++);
      d.on('failed', () => failed++);
      const endpoints = urls.map((url) => ({ url, secret: ctx.secret }));
      const [cpu0, m0, p0, t0] = [process.cpuUsage(), machineCpu(), postgresTicks(), performance.now()];
      await produce(d, endpoints, total, CALLERS);
      await d.onIdle();
      await d.close();
      const [ms, cpu, m1, p1] = [performance.now() - t0, process.cpuUsage(cpu0), machineCpu(), postgresTicks()];
      await checked('memory', total, delivered, failed);
      return { ms, cpuUs: cpu.user + cpu.system, machineBusy: (m1.busy - m0.busy) / (m1.total - m0.total), pgCpuUs: postgresCpuUs(p0, p1), claims: NaN, writes: NaN, writeTrips: NaN };
    };

    /** `k` processes share `total` messages and `callers` callers (split as evenly as whole numbers allow). */
    const postgres = async (k: number, total: number, callers: number): Promise<Run> => {
      const schema = newSchema();
      const active = workers.slice(0, k);
      await Promise.all(active.map((w) => open(w, schema, urls, 15_000)));
      const [m0, p0, t0] = [machineCpu(), postgresTicks(), performance.now()];
      const share = (n: number, i: number) => Math.floor(n / k) + (i < n % k ? 1 : 0);
      const sent = active.map((w, i) => w.ask({ cmd: 'send', total: share(total, i), callers: share(callers, i) }, 'sent'));
      await until(`18: ${total} deliveries from ${k} process(es)`, async () => (await count()) >= total);
      const [ms, m1, p1] = [performance.now() - t0, machineCpu(), postgresTicks()];
      await Promise.all(sent);
      const closed: Reply[] = await Promise.all(active.map((w) => w.ask({ cmd: 'close' }, 'closed')));
      const sum = (f: string) => closed.reduce((n, r) => n + (r[f] as number), 0);
      await checked(`Postgres × ${k}`, total, sum('delivered'), sum('failed'));
      await drop(schema);
      return { ms, cpuUs: sum('cpuUs'), machineBusy: (m1.busy - m0.busy) / (m1.total - m0.total), pgCpuUs: postgresCpuUs(p0, p1), claims: sum('claims'), writes: sum('writes'), writeTrips: sum('writeTrips') };
    };

    const modes: Mode[] = ['memory', 'pg1', 'pg3', 'pg3each'];
    const results: Record<Mode, Run[]> = { memory: [], pg1: [], pg3: [], pg3each: [] };
    const bar = ctx.progress('Postgres, 1 and 3 processes', (rounds + 1) * modes.length + takeovers);
    for (let r = 0; r <= rounds; r++) {
      const order = modes.map((_, i) => modes[(i + r) % modes.length]!);
      if (r % 2 === 1) order.reverse();
      const n = r === 0 ? messages / 4 : messages;
      const line: string[] = [];
      for (const mode of order) {
        await rx.configure({}, { secret: ctx.secret, verifyEvery: 97 });
        await rx.reset();
        gcHeap();
        const result =
          mode === 'memory' ? await memory(n) : mode === 'pg1' ? await postgres(1, n, CALLERS) : await postgres(PROCESSES, n, mode === 'pg3' ? CALLERS : CALLERS * PROCESSES);
        if (r > 0) results[mode].push(result);
        const store = mode === 'memory' ? '' : `, ${result.claims} claims, ${(n / result.writes).toFixed(1)} per commit, ${(result.writeTrips / result.writes).toFixed(2)} round trips per commit`;
        line.push(`${mode} ${Math.round((n / result.ms) * 1000).toLocaleString('en-US')}/s (machine ${Math.round(result.machineBusy * 100)}% busy, Postgres ${Math.round(result.pgCpuUs / n)} µs/msg${store})`);
        bar.tick();
      }
      ctx.note(`${r === 0 ? 'warm-up' : `round ${r}/${rounds}`}: ${line.join(', ')}`);
    }

    // Takeover: a new victim each time (it is killed), the first worker as the survivor.
    const takeover: { firstMs: number; allMs: number; inFlightAtKill: number }[] = [];
    for (let t = 0; t < takeovers; t++) {
      const schema = newSchema();
      const victim = new Child('./pg-worker.ts');
      children.push(victim);
      const survivor = workers[0]!;
      await rx.configure({ silent: true });
      await rx.reset();
      await Promise.all([open(victim, schema, [rx.url(0)], 30_000), open(survivor, schema, [rx.url(0)], 30_000)]);
      await victim.ask({ cmd: 'send', total: held, callers: 16 }, 'sent');
      await until(`18: the victim's ${PER_HOST} requests in flight`, async () => (await count()) >= PER_HOST);
      const inFlightAtKill = await count();
      await victim.kill('SIGKILL');
      const t0 = performance.now();
      await rx.configure({}, { secret: ctx.secret, verifyEvery: 7 });
      await rx.reset();
      let firstMs = NaN;
      await until(`18: the survivor's ${held} deliveries`, async () => {
        const c = await count();
        if (c > 0 && Number.isNaN(firstMs)) firstMs = performance.now() - t0;
        return c >= held;
      }, 60_000);
      const allMs = performance.now() - t0;
      const closed = await survivor.ask({ cmd: 'close' }, 'closed');
      await checked('takeover', held, closed.delivered as number, closed.failed as number);
      await drop(schema);
      takeover.push({ firstMs, allMs, inFlightAtKill });
      ctx.note(`takeover ${t + 1}/${takeovers}: ${held} messages held by a killed process (${inFlightAtKill} in flight): first delivered by another after ${(firstMs / 1000).toFixed(2)} s, all after ${(allMs / 1000).toFixed(2)} s (leaseMs ${LEASE_MS})`);
      bar.tick();
    }
    bar.stop();

    const rate = (mode: Mode) => median(results[mode].map((x) => (messages / x.ms) * 1000));
    const ratio = (a: Mode, b: Mode) => median(results[a].map((x, i) => results[b][i]!.ms / x.ms));
    const perMessage = (mode: Mode) => median(results[mode].map((x) => x.cpuUs / messages));
    const busy = (mode: Mode) => median(results[mode].map((x) => x.machineBusy));
    const per = (mode: Mode, f: (x: Run) => number) => median(results[mode].map(f));
    const scale = ratio('pg3', 'pg1');
    return {
      id: '18',
      title: `Postgres store, 1 and ${PROCESSES} processes`,
      rows: [
        { metric: 'deliveries/s, memory store (one process)', unit: '/s', dispatcher: rate('memory') },
        { metric: 'deliveries/s, Postgres × 1 process', unit: '/s', dispatcher: rate('pg1') },
        { metric: `deliveries/s, Postgres × ${PROCESSES} processes (${CALLERS} callers in all)`, unit: '/s', dispatcher: rate('pg3') },
        { metric: `Postgres × ${PROCESSES} ÷ Postgres × 1 (the same ${CALLERS} callers in all)`, unit: '×', dispatcher: scale, target: '≥ 1', pass: scale >= 1 },
        { metric: `deliveries/s, Postgres × ${PROCESSES}, ${CALLERS} callers each`, unit: '/s', dispatcher: rate('pg3each') },
        { metric: `Postgres × ${PROCESSES} (${CALLERS} callers each) ÷ Postgres × 1`, unit: '×', dispatcher: ratio('pg3each', 'pg1') },
        { metric: 'Postgres × 1 ÷ memory', unit: '×', dispatcher: ratio('pg1', 'memory') },
        { metric: 'CPU per message, Postgres × 1 (dispatcher process)', unit: 'µs', dispatcher: perMessage('pg1') },
        { metric: `CPU per message, Postgres × ${PROCESSES} (dispatcher processes)`, unit: 'µs', dispatcher: perMessage('pg3') },
        { metric: 'Postgres server CPU per message, × 1', unit: 'µs', dispatcher: per('pg1', (x) => x.pgCpuUs / messages) },
        { metric: `Postgres server CPU per message, × ${PROCESSES}`, unit: 'µs', dispatcher: per('pg3', (x) => x.pgCpuUs / messages) },
        { metric: 'messages per write transaction, × 1', unit: 'count', dispatcher: per('pg1', (x) => messages / x.writes) },
        { metric: `messages per write transaction, × ${PROCESSES} (each process commits its own)`, unit: 'count', dispatcher: per('pg3', (x) => messages / x.writes) },
        { metric: `messages per write transaction, × ${PROCESSES} with ${CALLERS} callers each`, unit: 'count', dispatcher: per('pg3each', (x) => messages / x.writes) },
        { metric: 'round trips per write transaction, × 1', unit: 'count', dispatcher: per('pg1', (x) => x.writeTrips / x.writes) },
        { metric: `round trips per write transaction, × ${PROCESSES}`, unit: 'count', dispatcher: per('pg3', (x) => x.writeTrips / x.writes) },
        { metric: 'claim queries per 1,000 messages, × 1', unit: 'count', dispatcher: per('pg1', (x) => (x.claims * 1000) / messages) },
        { metric: `claim queries per 1,000 messages, × ${PROCESSES}`, unit: 'count', dispatcher: per('pg3', (x) => (x.claims * 1000) / messages) },
        { metric: 'machine busy during Postgres × 1 (every program, all cores)', unit: '%', dispatcher: busy('pg1') },
        { metric: `machine busy during Postgres × ${PROCESSES} (every program, all cores)`, unit: '%', dispatcher: busy('pg3') },
        { metric: `takeover: first of a killed process's messages delivered (leaseMs ${LEASE_MS.toLocaleString('en-US')})`, unit: 's', dispatcher: median(takeover.map((x) => x.firstMs)) / 1000 },
        { metric: `takeover: all ${held} delivered by another process (leaseMs ${LEASE_MS.toLocaleString('en-US')})`, unit: 's', dispatcher: median(takeover.map((x) => x.allMs)) / 1000 },
      ],
      details: { hosts: HOSTS, perHost: PER_HOST, callers: CALLERS, processes: PROCESSES, messages, leaseMs: LEASE_MS, held, rounds: results, takeover },
    };
  } finally {
    await Promise.all(children.map((c) => c.kill()));
    await rx.stop();
    for (const schema of schemas) await drop(schema).catch(() => {});
    await admin.end();
  }
}

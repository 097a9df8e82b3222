/**
 * Scenario 19: one host limit shared by three processes through Redis (`cluster: { redis }`).
 * Three dispatcher processes of one cluster (a random key prefix, its keys deleted after) have
 * the same host limits: 10, 100 and 1,000 per second (burst a tenth, at least 1), one receiver
 * port each (in the receivers' own process). For each limit in turn, every process sends a
 * third of `perSecond × seconds + burst` messages at once, so all three stay backlogged, and
 * the receiver records each arrival. Per limit: the sustained rate the receiver saw (from one
 * second after the first arrival, past the burst and the connections being opened, to the
 * last) as a share of the limit, target ≥ 95%; and the most arrivals in any one-second window,
 * against `perSecond + burst`.
 * First an unrecorded warm-up of about a second at 100/s to a port of its own (JIT, connections,
 * Redis scripts). It also lets each dispatcher's Redis connection come up: `ready()` does not
 * wait for it, and until it is ready a process paces alone, each with its own burst (measured
 * here without the warm-up: 13 in the first second at 10/s, burst 1, 3 processes).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Child } from '../lib/child.js';
import type { Context, Row, ScenarioResult } from '../lib/context.js';
import { Receivers } from '../lib/receivers.js';
import { rateAccuracy } from '../lib/stats.js';

const REDIS = { host: '127.0.0.1', port: 6379 } as const;
const PROCESSES = 3;
/** Per process and host: the library's default. */
const CONCURRENCY = 10;
const LIMITS = [10, 100, 1_000];
/** The warm-up's limit, on a port after the measured ones. */
const WARM = 100;

export async function run(ctx: Context): Promise<ScenarioResult> {
  const seconds = ctx.pick(4.5, 15);
  const redis = new Redis({ ...REDIS, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new Error(`19: expected Redis on ${REDIS.host}:${REDIS.port}, got ${(error as Error).message}`);
  }
  const keyPrefix = `wd-bench-19-${randomBytes(4).toString('hex')}:`;
  const rx = await Receivers.start(LIMITS.length + 1);
  const children: Child[] = [];
  try {
    const burstOf = (perSecond: number) => Math.max(1, perSecond / 10);
    const hosts = Object.fromEntries([...LIMITS, WARM].map((perSecond, i) => [rx.origin(i), { perSecond, burst: burstOf(perSecond) }]));
    children.push(...Array.from({ length: PROCESSES }, () => new Child('./cluster-worker.ts')));
    await Promise.all(children.map((c) => c.ask({ cmd: 'open', keyPrefix, hosts, concurrency: CONCURRENCY }, 'ready')));

    const rows: Row[] = [];
    const details: Record<string, unknown> = { seconds, processes: PROCESSES, concurrency: CONCURRENCY };
    const bar = ctx.progress('3 processes, one limit', LIMITS.length + 1);
    const phases = [{ perSecond: WARM, i: LIMITS.length, warm: true }, ...LIMITS.map((perSecond, i) => ({ perSecond, i, warm: false }))];
    for (const { perSecond, i, warm } of phases) {
      const burst = burstOf(perSecond);
      const total = Math.ceil(perSecond * (warm ? 1 : seconds)) + burst;
      await rx.configure({}, { recordTimes: true, secret: ctx.secret, verifyEvery: 97 });
      await rx.reset();
      const shares = children.map((_, k) => Math.floor(total / PROCESSES) + (k < total % PROCESSES ? 1 : 0));
      const done = await Promise.all(children.map((c, k) => c.ask({ cmd: 'send', url: rx.url(i), secret: ctx.secret, total: shares[k] }, 'done', 120_000)));
      const stats = await rx.stats();
      const delivered = done.reduce((n, r) => n + (r.delivered as number), 0);
      const failed = done.reduce((n, r) => n + (r.failed as number), 0);
      if (failed > 0 || delivered !== total || stats.count !== total) throw new Error(`19 ${perSecond}/s: sent ${total}, delivered ${delivered}, failed ${failed}, received ${stats.count}`);
      if (stats.verifyFailed > 0) throw new Error(`19 ${perSecond}/s: ${stats.verifyFailed} sampled signatures failed`);

      if (warm) {
        ctx.note(`warm-up: ${total} at ${perSecond}/s`);
        bar.tick();
        continue;
      }
      const times = (stats.times[rx.ports[i]!] ?? []).sort((a, b) => a - b);
      const { achieved, span, worst } = rateAccuracy(times, perSecond);
      // Where the busiest second was: its arrivals, in ms after the first (kept for small limits only).
      const at = times.findIndex((t, j) => j + worst <= times.length && times[j + worst - 1]! - t < 1000);
      const busiest = worst <= 20 ? times.slice(at, at + worst).map((t) => t - times[0]!) : { fromMs: times[at]! - times[0]! };
      details[`${perSecond}/s`] = { burst, arrivals: times.length, span, achieved, worst, busiest, perProcess: done.map((r) => r.delivered) };
      const where = Array.isArray(busiest) ? `arrivals at ${busiest.join(', ')} ms` : `from ${busiest.fromMs} ms`;
      ctx.note(`${perSecond}/s (burst ${burst}): ${total} arrivals, ${(achieved * perSecond).toFixed(1)}/s sustained (${(achieved * 100).toFixed(1)}%), at most ${worst} in any second (limit ${perSecond + burst}; ${where})`);
      rows.push(
        { metric: `${perSecond}/s across ${PROCESSES} processes: achieved ÷ configured`, unit: '%', dispatcher: achieved, target: '≥ 95%', pass: achieved >= 0.95 },
        { metric: `${perSecond}/s across ${PROCESSES} processes: most in any 1 s (limit ${perSecond + burst})`, unit: 'count', dispatcher: worst, target: `≤ ${perSecond + burst}`, pass: worst <= perSecond + burst },
      );
      bar.tick();
    }
    bar.stop();
    const closed = await Promise.all(children.map((c) => c.ask({ cmd: 'close' }, 'closed')));
    const warnings = closed.flatMap((r) => r.warnings as string[]);
    details.warnings = warnings;
    if (warnings.length > 0) ctx.note(`warnings from the processes: ${warnings.join(', ')} (Redis was lost: each paced alone for a while)`);
    return { id: '19', title: `shared rate limit, ${PROCESSES} processes (Redis)`, rows, details };
  } finally {
    await Promise.all(children.map((c) => c.kill()));
    await rx.stop();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1_000).catch(() => ['0', []] as [string, string[]]);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys).catch(() => 0);
    } while (cursor !== '0');
    redis.disconnect();
  }
}

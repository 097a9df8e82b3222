/**
 * Scenario 8: latency at about half the measured peak, open loop: the dispatcher's send() to
 * `delivered`, beside raw-undici's request start to body end, at the same rate. Added p50
 * (target ≤ 0.3 ms) and added p99 (target ≤ 5 ms).
 */
import { Pool } from 'undici';
import { Dispatcher } from '../../src/index.js';
import type { Context, ScenarioResult } from '../lib/context.js';
import { Receivers } from '../lib/receivers.js';
import { histogram } from '../lib/stats.js';
import { BODY, EVENT } from '../lib/workload.js';

type Start = (done: () => void) => void;

/** Calls `start` `rate` times a second for `seconds`; each call's `done` records its latency in µs. */
async function openLoop(rate: number, seconds: number, start: Start, record: (us: number) => unknown): Promise<void> {
  let sent = 0;
  let finished = 0;
  const total = Math.floor(rate * seconds);
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000));
      for (; sent < due; sent++) {
        const began = performance.now();
        start(() => {
          record((performance.now() - began) * 1000);
          if (++finished === total) resolve();
        });
      }
      if (sent >= total) clearInterval(tick);
    }, 1);
  });
}

export async function run(ctx: Context): Promise<ScenarioResult> {
  const peak = ctx.shared.peakOneHost ?? 10_000;
  const rate = Math.round(peak / 2);
  const seconds = ctx.pick(2, 10);
  const rounds = ctx.pick(2, 3);
  const rx = await Receivers.start(1);
  const ours = histogram();
  const theirs = histogram();
  const bar = ctx.progress(`open loop at ${rate}/s`, (rounds + 1) * 2);
  // Round 0 (one second) warms the JIT of both contenders and is not recorded: the figures
  // are steady-state latency.
  for (let r = 0; r <= rounds; r++) {
    const keep = r > 0;
    const s = keep ? seconds : 1;
    const d = new Dispatcher({ allowPrivateNetworks: true, concurrency: 16, queueCapacity: 1_000_000 });
    const waiting = new Map<string, () => void>();
    d.on('delivered', (e) => {
      waiting.get(e.messageId)?.();
      waiting.delete(e.messageId);
    });
    const ep = { url: rx.url(0), secret: ctx.secret };
    await openLoop(rate, s, (done) => void d.send(ep, EVENT).then((receipt) => waiting.set(receipt.messageId, done)), (us) => keep && ours.recordValue(us));
    await d.close();
    bar.tick();

    const pool = new Pool(rx.origin(0), { connections: 16 });
    const body = Buffer.from(BODY);
    await openLoop(rate, s, (done) => {
      void pool.request({ method: 'POST', path: '/hook', headers: ['content-type', 'application/json'], body }).then(async (res) => {
        await res.body.dump();
        done();
      });
    }, (us) => keep && theirs.recordValue(us));
    await pool.close();
    bar.tick();
    ctx.note(`${keep ? `round ${r}/${rounds}` : 'warm-up'}: ${s} s each at ${rate}/s`);
  }
  bar.stop();
  await rx.stop();
  const ms = (h: ReturnType<typeof histogram>, p: number) => h.getValueAtPercentile(p) / 1000;
  const addedP50 = ms(ours, 50) - ms(theirs, 50);
  const addedP99 = ms(ours, 99) - ms(theirs, 99);
  return {
    id: '8',
    title: `latency at ${rate.toLocaleString('en-US')}/s (half of peak)`,
    rows: [
      { metric: 'p50', unit: 'ms', dispatcher: ms(ours, 50), rawUndici: ms(theirs, 50) },
      { metric: 'p99', unit: 'ms', dispatcher: ms(ours, 99), rawUndici: ms(theirs, 99) },
      { metric: 'added p50', unit: 'ms', dispatcher: addedP50, target: '≤ 0.3 ms', pass: addedP50 <= 0.3 },
      { metric: 'added p99', unit: 'ms', dispatcher: addedP99, target: '≤ 5 ms', pass: addedP99 <= 5 },
    ],
    details: { rate, seconds, rounds, samples: ours.totalCount },
  };
}
